"""The one build step pyproject.toml cannot declare: templates, static files and
compiled catalogues go into the package.

The design keeps ``templates/``, ``static/`` and ``translations/`` at the top of the
repository. A wheel carries them inside the package as ``portal/templates``,
``portal/static`` and ``portal/translations`` (``.mo`` files only: the running portal
compiles nothing, and ``portal/paths.py`` finds either layout). An editable install
(``pip install -e .``, as in the README) compiles the catalogues in place instead, so
a fresh clone runs in every language right after it; ``flask translate compile`` does
the same by hand.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COPIED = ("templates", "static")
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


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            for po_path in source_catalogues():
                compile_catalogue(po_path, po_path.with_suffix(".mo"))
            return
        package = Path(self.build_lib) / "portal"
        for name in COPIED:
            shutil.rmtree(package / name, ignore_errors=True)
            shutil.copytree(ROOT / name, package / name)
        shutil.rmtree(package / "translations", ignore_errors=True)
        for po_path in source_catalogues():
            relative = po_path.relative_to(ROOT / "translations").with_suffix(".mo")
            compile_catalogue(po_path, package / "translations" / relative)


setup(cmdclass={"build_py": BuildWithData})
