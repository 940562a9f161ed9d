"""Units of portal.storage's path checks: every path it builds stays inside its folder,
whatever name it is given and whatever a symbolic link on disk points to; names and
extensions outside the allowed shapes are refused. No app, no database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portal import storage

SUBMISSION = "0123456789abcdef0123456789abcdef"

UNSAFE_NAMES = [
    "",
    ".",
    "..",
    "../secret_key",
    "a/b",
    "/etc/passwd",
    ".hidden",
    "-rf",
    "_x",
    "Photo.jpg",  # capitals: never generated
    "a b",
    "a\\b",
    "abc\n",  # a regex's $ matches before a final newline
    "\nabc",
    "abc\x00",
    "ñandú",
    "a" * 65,
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    return folder


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_submission_names_are_refused(data_dir: Path, name: str) -> None:
    with pytest.raises(ValueError):
        storage.submission_dir(data_dir, name)


@pytest.mark.parametrize("name", UNSAFE_NAMES)
def test_unsafe_stored_names_are_refused(data_dir: Path, name: str) -> None:
    with pytest.raises(ValueError):
        storage.stored_file_path(data_dir, SUBMISSION, name)


@pytest.mark.parametrize("name", ["a", SUBMISSION, "f.jpg", "0.tar.gz", "a-b_c.d", "a" * 64])
def test_generated_shapes_are_accepted_and_stay_inside(data_dir: Path, name: str) -> None:
    root = (data_dir / "submissions").resolve()
    assert storage.submission_dir(data_dir, name) == root / name
    assert storage.stored_file_path(data_dir, SUBMISSION, name) == root / SUBMISSION / name


def test_a_link_out_of_a_submission_folder_is_refused(data_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"not a tipster's file")
    folder = storage.submission_dir(data_dir, SUBMISSION)
    folder.mkdir()
    os.symlink(outside, folder / "evil.jpg")
    with pytest.raises(ValueError):
        storage.stored_file_path(data_dir, SUBMISSION, "evil.jpg")


def test_a_submission_folder_that_is_a_link_elsewhere_is_refused(
    data_dir: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.symlink(elsewhere, storage.submissions_root(data_dir) / SUBMISSION)
    with pytest.raises(ValueError):
        storage.submission_dir(data_dir, SUBMISSION)
    with pytest.raises(ValueError):
        storage.stored_file_path(data_dir, SUBMISSION, "f.jpg")


def test_a_link_to_a_sibling_inside_the_folder_is_followed(data_dir: Path) -> None:
    """Resolved, a link within the same folder stays inside it: the check is on where
    the path leads, not on its spelling."""
    folder = storage.submission_dir(data_dir, SUBMISSION)
    folder.mkdir()
    (folder / "real.jpg").write_bytes(b"x")
    os.symlink("real.jpg", folder / "alias.jpg")
    assert storage.stored_file_path(data_dir, SUBMISSION, "alias.jpg") == folder / "real.jpg"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "../x", "/etc"])
def test_removing_an_entry_never_leaves_submissions(data_dir: Path, name: str) -> None:
    keep = data_dir / "keep"
    keep.write_bytes(b"x")
    with pytest.raises(ValueError):
        storage.remove_submission_entry(data_dir, name)
    assert keep.exists()
    assert storage.submissions_root(data_dir).is_dir()


def test_removing_an_entry_with_any_name_inside_works(data_dir: Path, tmp_path: Path) -> None:
    """Leftovers with names no id has (made by hand, by a crash) are removable; a link
    is removed itself, not what it points to."""
    root = storage.submissions_root(data_dir)
    (root / "Not An Id").mkdir()
    (root / "Not An Id" / "f").write_bytes(b"x")
    target = tmp_path / "target"
    target.mkdir()
    os.symlink(target, root / "link")
    storage.remove_submission_entry(data_dir, "Not An Id")
    storage.remove_submission_entry(data_dir, "link")
    assert storage.submission_folders(data_dir) == []
    assert target.is_dir()


@pytest.mark.parametrize("extension", ["jpg", "mp4", "docx", "m4a", "a", "0123456789"])
def test_safe_extensions(extension: str) -> None:
    assert storage.is_safe_extension(extension)


@pytest.mark.parametrize(
    "extension", ["", "JPG", "jp g", "jpg\n", "tar.gz", "../x", "01234567890", "jpg;", "ñ"]
)
def test_unsafe_extensions(extension: str) -> None:
    assert not storage.is_safe_extension(extension)


def test_folders_are_private(data_dir: Path, tmp_path: Path) -> None:
    roots = (
        storage.submissions_root(data_dir),
        storage.tmp_root(data_dir, data_dir / "tmp" / "host"),
        storage.staging_root(data_dir),
        storage.tmp_root(data_dir, tmp_path / "elsewhere"),
    )
    for folder in roots:
        assert folder.stat().st_mode & 0o777 == 0o700, folder
    staging = storage.new_staging_dir(data_dir)
    assert staging.parent == storage.staging_root(data_dir)
    work = storage.new_work_dir(data_dir, tmp_path / "elsewhere")
    assert work.parent == storage.tmp_root(data_dir, tmp_path / "elsewhere")
    for folder in (staging, work):
        assert folder.stat().st_mode & 0o777 == 0o700, folder


def test_deleting_a_submission_while_a_message_files_into_it_removes_all(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor deletes a thread as the tipster's later message renames its files
    into the folder: the folder is not empty at the end of the first pass. It used to
    fail the editor's request with ENOTEMPTY, after deleting some files and no row."""
    folder = storage.submission_dir(data_dir, SUBMISSION)
    folder.mkdir()
    for n in range(3):
        (folder / f"{n}.age").write_bytes(b"x")
    arriving = data_dir / "arriving.age"
    arriving.write_bytes(b"y")
    unlink = os.unlink

    def a_file_arrives_meanwhile(path, *args, **kwargs):
        if arriving.exists():
            os.rename(arriving, folder / "late.age")  # as storage.publish_files does
        return unlink(path, *args, **kwargs)

    monkeypatch.setattr(os, "unlink", a_file_arrives_meanwhile)
    storage.delete_submission_files(data_dir, SUBMISSION)
    monkeypatch.undo()
    assert not arriving.exists()  # it did arrive, during the deletion
    assert not folder.exists()
