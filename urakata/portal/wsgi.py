"""WSGI entry point for gunicorn: ``gunicorn urakata.portal.wsgi:app``."""

from urakata.portal import create_app

app = create_app()
