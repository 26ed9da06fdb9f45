"""The HTTP edge: Flask blueprints that parse requests, call the service and render."""
