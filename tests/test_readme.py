"""README.md documents every setting the portal reads."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from portal.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_in_the_readme_table():
    documented = set(re.findall(r"^\| `(PORTAL_[A-Z_]+)` \|", README.read_text(), re.MULTILINE))
    expected = {f"PORTAL_{field.name.upper()}" for field in fields(Settings)}
    assert documented == expected
