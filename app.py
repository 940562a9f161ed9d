"""The portal as a WSGI app, so ``flask run`` and ``gunicorn app:app`` work from here."""

from portal import create_app

app = create_app()
