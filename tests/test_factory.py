"""The app factory under gunicorn: several workers start at once on a fresh data
folder, and every one of them must come up."""

from __future__ import annotations

import multiprocessing
from pathlib import Path


def _start(data_dir: str, results) -> None:
    try:
        from portal import create_app
        from portal.config import Settings

        create_app(Settings(data_dir=Path(data_dir), secret_key="k"))
        results.put("ok")
    except Exception as exc:
        results.put(repr(exc))


def test_workers_starting_together_on_a_fresh_folder_all_start(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for attempt in range(3):
        results = context.Queue()
        workers = [
            context.Process(target=_start, args=(str(tmp_path / f"d{attempt}"), results))
            for _ in range(6)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        outcomes = [results.get(timeout=5) for _ in workers]
        assert outcomes == ["ok"] * len(workers)
