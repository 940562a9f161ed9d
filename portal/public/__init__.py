"""The tipsters' side: the language redirect, the tip form and the receipt."""

from __future__ import annotations

from flask import Blueprint, abort, g, redirect, render_template, url_for

from portal.config import Settings
from portal.i18n import available_locales, negotiate_locale


def make_blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("public", __name__)

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

    @bp.get("/<lang>/")
    def index():
        return render_template("public/index.html")

    return bp
