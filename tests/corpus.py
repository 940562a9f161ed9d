"""Where the shared corpus of real files lives, and how tests skip without it."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

CORPUS_DIR = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def corpus_available() -> bool:
    return (CORPUS_DIR / "METADATA.tsv").is_file()


def require_corpus() -> Path:
    """The corpus folder, or a skip that says why."""
    if not corpus_available():
        pytest.skip(f"shared corpus not found at {CORPUS_DIR} (a clone outside the workplace)")
    return CORPUS_DIR


def corpus_files() -> list[str]:
    """Names of every corpus file, for parametrising (empty without the corpus)."""
    if not corpus_available():
        return []
    with open(CORPUS_DIR / "METADATA.tsv", newline="") as fh:
        return [row["file"] for row in csv.DictReader(fh, delimiter="\t")]


def corpus_params(*suffixes: str) -> list:
    """Corpus file names ending in one of ``suffixes`` (case-insensitive), for
    ``parametrize``; without the corpus, one parameter that is skipped saying why."""
    if not corpus_available():
        reason = f"shared corpus not found at {CORPUS_DIR} (a clone outside the workplace)"
        return [pytest.param("(corpus absent)", marks=pytest.mark.skip(reason=reason))]
    return [name for name in corpus_files() if name.lower().endswith(suffixes)]


def corpus_file(name: str) -> Path:
    return require_corpus() / name
