"""Plain-words labels for every cleaner code, and sizes in each language."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.cleaning import Category, RefusalCode
from portal.labels import (
    CATEGORY_LABELS,
    KIND_LABELS,
    REFUSAL_LABELS,
    category_label,
    format_size,
    kind_label,
    refusal_label,
)


def test_every_category_and_refusal_has_its_own_label(app):
    assert set(CATEGORY_LABELS) == set(Category)
    assert set(REFUSAL_LABELS) == set(RefusalCode)
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
        (2_300_000, "2.3 MB", "2,3 MB"),
        (1_500, "1.5 kB", "1,5 kB"),
        (12_345_000_000, "12.3 GB", "12,3 GB"),
    ],
)
def test_format_size_follows_the_language(app, size, en, es):
    with app.test_request_context("/"):
        with force_locale("en"):
            assert format_size(size) == en
        with force_locale("es"):
            assert format_size(size) == es


def test_limits_are_rounded_down_never_up(app):
    with app.test_request_context("/"), force_locale("en"):
        assert format_size(4096 * 1024 * 1024) == "4.3 GB"
        assert format_size(4096 * 1024 * 1024, round_down=True) == "4.2 GB"
