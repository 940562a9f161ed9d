"""Translated error pages. Every HTTP error a visitor can meet renders the same
template in the visitor's language instead of the framework's English default."""

from __future__ import annotations

from flask import Flask, render_template
from flask.typing import ResponseReturnValue
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

ERROR_TEXTS = {
    400: (
        _l("We could not read what you sent"),
        _l(
            "Part of it may have been damaged on the way. Nothing was saved. Please go "
            "back, reload the page and try again."
        ),
    ),
    403: (_l("Not allowed"), _l("You are not allowed to see this page.")),
    404: (_l("Page not found"), _l("There is nothing at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (
        _l("Too large"),
        _l(
            "What you sent is larger than the portal accepts. Nothing was saved. "
            "Please send fewer or smaller files."
        ),
    ),
    429: (_l("Too many attempts"), _l("Please wait a while before trying again.")),
    500: (
        _l("There was an error on the site"),
        _l(
            "It is not your fault. The portal could not finish what you asked, and nothing "
            "was saved. Please wait a few minutes and try again."
        ),
    ),
}


COOKIE_NOT_RETURNED = (
    _l("Your browser did not send back this site's cookie"),
    _l(
        "This form works only if your browser keeps the one cookie this site sets to "
        "protect it, and sends it back with the form. Nothing was saved. If you block "
        "cookies, allow them for this site, open the form again and send it once more."
    ),
)


def render_cookie_not_returned() -> ResponseReturnValue:
    """The page for a form posted without the session cookie its page had set."""
    title, message = COOKIE_NOT_RETURNED
    return render_template("error.html", code=400, title=title, message=message), 400


def render_error(code: int) -> ResponseReturnValue:
    """The error page for ``code`` (an unknown code gets the 500 text)."""
    title, message = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    return render_template("error.html", code=code, title=title, message=message), code


def init_app(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        # An unhandled exception reaches this handler too, wrapped by Flask in an
        # InternalServerError (a subclass of HTTPException).
        return render_error(exc.code or 500)
