"""The WSGI entry point: `gunicorn wsgi:app`."""

from lumo.app import create_app
from lumo.logs import configure_logging

configure_logging()
app = create_app()
