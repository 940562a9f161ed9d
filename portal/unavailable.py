"""The pages nginx serves by itself, when the portal cannot answer, in every language.

nginx answers some requests without the portal: a body declared larger than nginx
accepts (413), a request it cannot read (400; an address or headers too long, 414
and 494, get the same page), the portal down or restarting (502, 503), the portal
too slow to answer (504), or nginx itself failing (500, for example when its folder
for request bodies is full). Its own pages are English only and name nginx.
``deploy/nginx/portal-proxy.conf`` serves these instead: static files rendered from
``templates/unavailable.html`` and the catalogues, one folder per language
(``static/unavailable/es/502.html``). nginx picks the language much as the portal
does: the address's first segment, else the browser's first language, else Spanish
(``deploy/nginx/portal-http.conf``).

The pages are committed, as ``messages.pot`` is, so a fresh checkout has them before
anything runs. ``flask translate compile`` writes them again after compiling the
catalogues, and a test fails when the committed pages differ from what the templates
and catalogues give.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, render_template
from flask_babel import lazy_gettext as _l

from portal.errors import ERROR_TEXTS
from portal.i18n import available_locales
from portal.paths import STATIC

#: where the pages are, one folder per language (nginx's root is its parent)
FOLDER = STATIC / "unavailable"

_NOT_ANSWERING = (
    _l("The portal is not answering right now"),
    _l(
        "It may be restarting. If you were sending something, it was most likely not "
        "saved: please wait a few minutes and send it again."
    ),
)

#: what each status nginx may answer by itself says, as (title, message)
PAGES = {
    400: ERROR_TEXTS[400],
    404: ERROR_TEXTS[404],  # a direct request for one of these pages
    413: ERROR_TEXTS[413],
    500: ERROR_TEXTS[500],
    502: _NOT_ANSWERING,
    503: _NOT_ANSWERING,
    504: (
        _l("The portal took too long to answer"),
        _l(
            "We cannot tell whether what you sent was saved: it may still arrive. You "
            "may send it again; if both arrive, the editors will see it twice, which "
            "does no harm."
        ),
    ),
}


def render_pages(app: Flask) -> dict[str, str]:
    """Every page, in every language the portal offers, by its path under the
    pages' folder (``es/502.html``)."""
    pages: dict[str, str] = {}
    with app.app_context():
        languages = available_locales()
    for lang in languages:
        for code, (title, message) in PAGES.items():
            # A request of its own (and so a fresh app context: Flask-Babel keeps the
            # locale there) whose address names the language, as a visitor's does.
            with app.test_request_context(f"/{lang}/unavailable"):
                html = render_template(
                    "unavailable.html",
                    code=code,
                    title=title,
                    message=message,
                    language_versions=list,  # no other version: not a portal address
                )
            pages[f"{lang}/{code}.html"] = html
    return pages


def write_pages(app: Flask, folder: Path = FOLDER) -> list[Path]:
    """Write :func:`render_pages` under ``folder``; stale files there are removed."""
    pages = render_pages(app)
    written = []
    for relative, html in pages.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
        written.append(path)
    for path in folder.glob("*/*.html"):
        if path.relative_to(folder).as_posix() not in pages:
            path.unlink()
    return written
