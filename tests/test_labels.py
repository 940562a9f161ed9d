"""Plain-words labels for every cleaner code, and sizes in each language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.cleaning import Category, RefusalCode
from portal.labels import (
    CATEGORY_LABELS,
    EDITOR_REFUSAL_LABELS,
    KIND_LABELS,
    REFUSAL_LABELS,
    category_label,
    format_limit,
    format_size,
    kind_label,
    refusal_label,
)


def test_every_category_and_refusal_has_its_own_label(app):
    assert set(CATEGORY_LABELS) == set(Category)
    assert set(REFUSAL_LABELS) == set(RefusalCode)
    assert set(EDITOR_REFUSAL_LABELS) == set(RefusalCode)  # the inbox's words for editors
    with app.test_request_context("/en/"):
        categories = [str(category_label(c.value)) for c in Category]
        refusals = [str(refusal_label(r.value)) for r in RefusalCode]
        assert len(set(categories)) == len(categories)
        assert len(set(refusals)) == len(refusals)
        assert all(text and "_" not in text for text in categories + refusals)
        assert str(category_label("gps")) == "GPS location"
        assert str(refusal_label("no_such_code")) == str(refusal_label("unknown_type"))
        assert {k: str(kind_label(k)) for k in KIND_LABELS} == {
            "image": "photo",
            "video": "video",
            "audio": "audio",
            "document": "document",
            "text": "text",
        }


@pytest.mark.parametrize(
    ("size", "en", "es"),
    [
        (0, "0 bytes", "0 bytes"),
        (1, "1 byte", "1 byte"),
        (999, "999 bytes", "999 bytes"),
        (2_300_000, "2.3 MB", "2.3 MB"),
        (161_700, "161.7 kB", "161.7 kB"),
        (1_500, "1.5 kB", "1.5 kB"),
        (12_345_000_000, "12.3 GB", "12.3 GB"),
        (2_147_483_648, "2.1 GB", "2.1 GB"),
    ],
)
def test_format_size_follows_the_language_as_mexico_writes_it(app, size, en, es):
    nbsp = "\u00a0"
    with app.test_request_context("/es/"):
        assert format_size(size) == es.replace(" ", nbsp)
    with app.test_request_context("/en/"):
        assert format_size(size) == en.replace(" ", nbsp)
    # Spain's conventions would be "2,3 MB": the region, not only the language, decides.
    with app.test_request_context("/"), force_locale("es"):
        assert format_size(2_300_000) == f"2,3{nbsp}MB"


@pytest.mark.parametrize(
    ("limit", "shown"),
    [
        (2048 * 1024 * 1024, "2 GB"),  # 2 GiB: the round number, not "2.1 GB"
        (4096 * 1024 * 1024, "4 GB"),
        (1536 * 1024 * 1024, "1.5 GB"),
        (1024 * 1024, "1 MB"),
        (1_000_000, "1 MB"),
        (3_000_000, "3 MB"),
        (400_000, "400 kB"),
        (4_299_999_999, "4.2 GB"),  # neither round: rounded down, never up
        (1_999_999, "1.9 MB"),
    ],
)
def test_limits_are_round_numbers_never_rounded_up(app, limit, shown):
    with app.test_request_context("/en/"):
        assert format_limit(limit) == shown.replace(" ", "\u00a0")
