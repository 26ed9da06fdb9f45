"""The pure core: decisions over values. No Flask, no files, no sockets, no clock, no env.

Only ``airlock.errors`` (itself free of I/O) is imported from the rest of Airlock.
"""
