"""Serving the app in production: gunicorn's configuration (the one module that imports gunicorn)."""
