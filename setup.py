"""The one build step pyproject.toml cannot declare: compiling the translation
catalogues.

The running portal compiles nothing (see portal/i18n.py). Installing does: ``pip
install -e .`` (as in the README) compiles each ``translations/*/LC_MESSAGES/
messages.po`` in place, so a fresh clone runs in every language right after it;
``flask translate compile`` does the same by hand.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DOMAIN = "messages"


def compile_catalogue(po_path: Path, mo_path: Path) -> None:
    """``pybabel compile`` one catalogue, as ``flask translate compile`` does; a
    catalogue it skips (marked fuzzy) or cannot compile fails the build."""
    from babel.messages.frontend import CommandLineInterface

    mo_path.parent.mkdir(parents=True, exist_ok=True)
    lang = po_path.parent.parent.name
    args = ["pybabel", "compile", "-D", DOMAIN, "-l", lang, "-i", str(po_path), "-o", str(mo_path)]
    if CommandLineInterface().run(args) or not mo_path.is_file():
        raise SystemExit(f"could not compile {po_path}")


def source_catalogues() -> list[Path]:
    found = sorted((ROOT / "translations").glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return [path for path in found if not path.parent.parent.name.startswith(("_", "."))]


class BuildWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        for po_path in source_catalogues():
            compile_catalogue(po_path, po_path.with_suffix(".mo"))


setup(cmdclass={"build_py": BuildWithCatalogues})
