"""Where the portal's non-Python folders are: templates, static files, catalogues.

In a checkout (and an editable install) they are the repository's top-level
``templates/``, ``static/`` and ``translations/``, beside ``portal/``. A wheel ships
them inside the package (setup.py copies them there, with the catalogues compiled),
so an installed portal finds them beside its own modules, whatever the current folder.
"""

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
#: the repository's root in a checkout (site-packages in an installed wheel)
ROOT = PACKAGE.parent


def _folder(name: str) -> Path:
    shipped = PACKAGE / name
    return shipped if shipped.is_dir() else ROOT / name


TEMPLATES = _folder("templates")
STATIC = _folder("static")
TRANSLATIONS = _folder("translations")
