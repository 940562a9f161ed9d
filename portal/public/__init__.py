"""The tipsters' side: the language redirect, the tip form and the receipt.

Modules: :mod:`.uploads` receives files without holding them in memory,
:mod:`.forms` defines the form, :mod:`.filing` cleans and files a submission
atomically, :mod:`.views` ties them to URLs.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, request, url_for
from flask.typing import ResponseReturnValue

from portal.config import Settings
from portal.i18n import available_locales, current_language, negotiate_locale
from portal.public import views
from portal.public.uploads import UploadRequest


def make_blueprint(settings: Settings) -> Blueprint:
    bp = Blueprint("public", __name__)

    # Uploads must stream to disk from the first byte, so the app's request class
    # has to be ours before any request is parsed.
    bp.record_once(lambda state: setattr(state.app, "request_class", UploadRequest))

    @bp.url_value_preprocessor
    def take_language(endpoint: str | None, values: dict[str, Any] | None) -> None:
        if values and "lang" in values:
            g.lang = values.pop("lang")
            if g.lang not in available_locales():
                abort(404)

    @bp.url_defaults
    def add_language(endpoint: str, values: dict[str, Any]) -> None:
        if "lang" not in values and g.get("lang"):
            values["lang"] = g.lang

    @bp.get("/")
    def root() -> ResponseReturnValue:
        return redirect(url_for("public.index", lang=negotiate_locale()), code=302)

    @bp.app_context_processor
    def language_facts() -> dict[str, object]:
        return {"language_versions": language_versions}

    views.register(bp, settings)
    return bp


def language_versions() -> list[tuple[str, str]]:
    """(language, URL) of this page in every other language, for the switch link and
    ``hreflang``. An error page that no view answered (a 404, a 405) links to the form.
    Empty on another blueprint's pages (the inbox has its own switch)."""
    if request.blueprint not in (None, "public"):
        return []
    if request.blueprint is None:
        for other in current_app.blueprints.values():
            prefix = (other.url_prefix or "").rstrip("/")
            if prefix and (request.path == prefix or request.path.startswith(prefix + "/")):
                return []
    rule = request.url_rule
    # this page's endpoint, when it can be asked for in another language
    view = (
        rule.endpoint if request.blueprint == "public" and rule and "lang" in rule.arguments else ""
    )
    current = current_language()
    return [
        (
            code,
            url_for(view, **{**(request.view_args or {}), "lang": code})
            if view
            else url_for("public.index", lang=code),
        )
        for code in available_locales()
        if code != current
    ]
