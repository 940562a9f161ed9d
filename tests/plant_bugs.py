"""Plant known bugs in a copy of the repository, one at a time, and run the tests that
must catch each: a check that the suite fails when the product is wrong (issue 16).

Each bug below is a small edit to the product that once passed every test claiming to
cover it. For each, this script copies the working tree (the shared corpus is linked,
not copied) to a temporary folder, makes the edit there, runs the named tests with
this interpreter, and reports which tests failed. A bug that no test catches is a
hole in the suite; a bug that can no longer be planted (its code moved) says so, and
its entry below needs updating.

Run from the repository root, in the test virtualenv::

    .venv/bin/python tests/plant_bugs.py            # every bug
    .venv/bin/python tests/plant_bugs.py --list     # the bugs and their tests
    .venv/bin/python tests/plant_bugs.py --only totp-replay --baseline

``--baseline`` first runs each bug's tests on an unmodified copy, which must pass.
The exit status is 0 only if every bug was planted and caught.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: what is never copied: the virtualenv, git's data, caches, test output
SKIPPED = {".venv", ".git", ".hypothesis", ".pytest_cache", ".ruff_cache", ".mypy_cache",
           ".cache", "__pycache__", "test-artifacts", "instance", "build", "dist"}  # fmt: skip


class CannotPlant(Exception):
    """The code the bug is planted in has changed: update the bug's entry."""


def replace_once(old: str, new: str) -> Callable[[str], str]:
    def plant(text: str) -> str:
        if text.count(old) != 1:
            raise CannotPlant(f"expected exactly one {old!r}, found {text.count(old)}")
        return text.replace(old, new)

    return plant


def first_line_of_body(pattern: str, line: str) -> Callable[[str], str]:
    """Make ``line`` the first statement of the function whose ``def`` the regex
    ``pattern`` finds first (its signature may span lines)."""

    def plant(text: str) -> str:
        match = re.search(pattern, text, re.MULTILINE)
        if match is None:
            raise CannotPlant(f"nothing matches {pattern!r}")
        def_start = text.rfind("\n", 0, match.end() - 1) + 1
        indent = re.match(r"[ ]*", text[def_start:]).group(0) + "    "
        signature_end = re.compile(r"\)\s*(?:->[^:]*)?:[ \t]*(?:#.*)?\n").search(text, match.end())
        if signature_end is None:
            raise CannotPlant(f"no end to the signature after {pattern!r}")
        at = signature_end.end()
        return text[:at] + indent + line + "\n" + text[at:]

    return plant


@dataclass(frozen=True)
class Bug:
    name: str
    description: str
    path: str
    plant: Callable[[str], str]
    tests: tuple[str, ...]


BUGS = [
    Bug(
        "inbox-no-headers",
        "no security headers at all on inbox pages",
        "portal/security.py",
        first_line_of_body(
            r"def set_security_headers\(", 'if request.blueprint == "inbox": return response'
        ),
        ("tests/test_headers.py", "tests/inbox"),
    ),
    Bug(
        "file-csp-no-sandbox",
        "file downloads' CSP loses `sandbox`",
        "portal/inbox/files.py",
        replace_once(
            "FILE_CSP = \"default-src 'none'; sandbox\"", "FILE_CSP = \"default-src 'none'\""
        ),
        ("tests/inbox/test_files.py", "tests/inbox/test_thumbnails.py", "tests/test_headers.py"),
    ),
    Bug(
        "receipt-six-categories",
        "the receipt leaves out six categories (EXIF, XMP, IPTC, serial, hidden data, "
        "colour profile)",
        "templates/public/receipt.html",
        replace_once(
            "{%- for category in in_display_order(item.cleaned.removed) %}",
            "{%- for category in in_display_order(item.cleaned.removed) if category not in "
            '["exif", "xmp", "iptc", "serial", "hidden_data", "icc_profile"] %}',
        ),
        ("tests/public", "tests/inbox"),
    ),
    Bug(
        "jpeg-index-error",
        "every fuzzed JPEG raises `IndexError` inside the cleaner",
        "portal/cleaning/jpeg.py",
        first_line_of_body(
            r"^class JpegCleaner\b(?:.*\n)*?\s+def clean\(", 'raise IndexError("planted")'
        ),
        ("tests/cleaning/test_fuzz.py",),
    ),
    Bug(
        "totp-replay",
        "`matching_totp_step` accepts the last used step again",
        "portal/inbox/credentials.py",
        replace_once("if step > after_step and", "if step >= after_step and"),
        ("tests/inbox/test_credentials.py", "tests/inbox/test_sign_in.py"),
    ),
]


def copy_tree(destination: Path) -> Path:
    """The working tree (as it is, uncommitted changes included) under
    ``destination/checkout``, with ``destination/shared`` linking the shared corpus
    (tests find it beside the checkout)."""
    checkout = destination / "checkout"
    shutil.copytree(
        ROOT,
        checkout,
        ignore=lambda _dir, names: [n for n in names if n in SKIPPED or n.endswith(".egg-info")],
    )
    shared = ROOT.parent / "shared"
    if shared.exists():
        os.symlink(shared, destination / "shared")
    return checkout


def run_tests(checkout: Path, tests: tuple[str, ...]) -> tuple[int, list[str], float]:
    """Run ``tests`` in ``checkout``: exit status, the failed tests, seconds."""
    env = {**os.environ, "PYTHONPATH": str(checkout), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("FUZZ_EXAMPLES", None)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:randomly", "-p", "no:cacheprovider",
         "-m", "not browser", "-W", "ignore", *tests],
        cwd=checkout, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    failed = sorted(
        {
            line.removeprefix("FAILED ").split(" - ", 1)[0]
            for line in result.stdout.splitlines()
            if line.startswith("FAILED ")
        }
    )
    if result.returncode not in (0, 1):
        failed.append(
            f"(pytest exit {result.returncode}: {result.stdout[-500:]}{result.stderr[-500:]})"
        )
    return result.returncode, failed, time.monotonic() - started


def check(bug: Bug, baseline: bool) -> bool:
    with tempfile.TemporaryDirectory(prefix=f"plant-{bug.name}-") as folder:
        checkout = copy_tree(Path(folder))
        if baseline:
            status, failed, seconds = run_tests(checkout, bug.tests)
            if status != 0:
                print(f"## {bug.name}: the tests fail WITHOUT the bug ({seconds:.0f} s)")
                print("\n".join(f"- {name}" for name in failed))
                return False
        target = checkout / bug.path
        try:
            target.write_text(bug.plant(target.read_text()))
        except (CannotPlant, FileNotFoundError) as exc:
            print(f"## {bug.name}: CANNOT PLANT in {bug.path}: {exc}")
            return False
        status, failed, seconds = run_tests(checkout, bug.tests)
    verdict = "caught" if status == 1 and failed else "NOT CAUGHT"
    print(f"## {bug.name}: {verdict} by {len(failed)} test(s) in {seconds:.0f} s")
    print(f"{bug.description} ({bug.path}); ran {' '.join(bug.tests)}")
    print("\n".join(f"- {name}" for name in failed))
    print(flush=True)
    return verdict == "caught"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the bugs and exit")
    parser.add_argument("--only", action="append", help="plant only this bug (repeatable)")
    parser.add_argument("--baseline", action="store_true", help="first check the tests pass")
    args = parser.parse_args()
    bugs = [bug for bug in BUGS if not args.only or bug.name in args.only]
    if args.list or not bugs:
        for bug in BUGS:
            print(f"{bug.name}: {bug.description}\n    {bug.path}; {' '.join(bug.tests)}")
        return 0 if args.list else 2
    results = [check(bug, args.baseline) for bug in bugs]
    print(f"{sum(results)} of {len(results)} planted bugs caught")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
