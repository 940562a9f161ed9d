"""The tipsters' side: the language redirect, the tip form and the receipt.

Modules: :mod:`.uploads` receives files without holding them in memory,
:mod:`.forms` defines the form, :mod:`.filing` cleans and files a submission
atomically, :mod:`.views` ties them to URLs.
"""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, url_for

from portal.config import Settings
from portal.i18n import available_locales, negotiate_locale
from portal.public import views
from portal.public.uploads import UploadRequest


def make_blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("public", __name__)

    # Uploads must stream to disk from the first byte, so the app's request class
    # has to be ours before any request is parsed.
    bp.record_once(lambda state: setattr(state.app, "request_class", UploadRequest))

    @bp.url_value_preprocessor
    def take_language(endpoint, values) -> None:
        if values and "lang" in values:
            g.lang = values.pop("lang")
            if g.lang not in available_locales():
                abort(404)

    @bp.url_defaults
    def add_language(endpoint, values) -> None:
        if "lang" not in values and g.get("lang"):
            values["lang"] = g.lang

    @bp.get("/")
    def root():
        return redirect(url_for("public.index", lang=negotiate_locale()), code=302)

    views.register(bp, settings)
    return bp
