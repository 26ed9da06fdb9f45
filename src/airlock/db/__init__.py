"""Metadata in SQL: schema, frozen records, repositories, migrations. SQLite or PostgreSQL."""
