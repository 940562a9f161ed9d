"""Filing a submission atomically and encrypted: all of it or nothing.

A submission is a database row plus a folder of cleaned files, everything a tipster
sent encrypted to the inbox's public key (:func:`portal.crypto.keyring.current_key`;
nothing here can decrypt). Filing:

1. every upload is cleaned into a private work folder under tmp/ (plaintext, possibly
   on a tmpfs: ``PORTAL_TMP_DIR``), then encrypted as an age file into a private
   staging folder under staging/ and fsynced; the original and the plaintext cleaned
   copy are deleted as soon as each file is done, and the work folder on every path;
   each cleaned image's thumbnail is made from its plaintext and encrypted beside it
   (:func:`portal.inbox.thumbnails.write_thumbnail`), so the inbox never decodes a
   full image to preview it;
2. the staging folder is fsynced and renamed to submissions/<id> in one step (staging/
   and submissions/ are on one filesystem, wherever tmp/ is);
3. the row, with the note, links and contact sealed, is committed. If the commit
   fails, the folder is removed.

So at any crash point there is either nothing, a stray folder under tmp/ or staging/,
or a folder under submissions/ with no row; :mod:`portal.housekeeping` removes those.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from portal import storage
from portal.cleaning import Cleaned, Kind, Limits, Refusal, RefusalCode, clean_file
from portal.crypto import age
from portal.crypto.files import encrypt_file
from portal.crypto.keyring import Content, current_key
from portal.inbox.thumbnails import write_thumbnail
from portal.models import StoredFile, Submission, db, new_id
from portal.public.uploads import TempUpload, is_out_of_space

log = logging.getLogger(__name__)


class FilingFailed(Exception):
    """The submission could not be saved; nothing of it was kept."""

    @property
    def out_of_space(self) -> bool:
        return is_out_of_space(self.__cause__)


@dataclass(frozen=True)
class FileOutcome:
    """What happened to one uploaded file, for the receipt."""

    position: int  # 1-based, in the order the files arrived
    size: int  # bytes received
    cleaned: Cleaned | None = None
    refusal: RefusalCode | None = None
    #: bytes filed after cleaning (what editors receive), for an accepted file
    cleaned_size: int | None = None


@dataclass(frozen=True)
class FilingResult:
    filed: bool
    files: tuple[FileOutcome, ...]

    @property
    def accepted(self) -> list[FileOutcome]:
        return [f for f in self.files if f.cleaned is not None]

    @property
    def refused(self) -> list[FileOutcome]:
        return [f for f in self.files if f.refusal is not None]


def file_submission(
    data_dir: Path,
    *,
    locale: str,
    note: str,
    links: Sequence[str],
    contact: str,
    uploads: Sequence[TempUpload],
    limits: Limits | None = None,
    tmp_dir: Path | None = None,
    work_dir: Path | None = None,
) -> FilingResult:
    """Clean ``uploads`` and file everything, encrypted, or nothing.

    A submission is filed when anything is left after cleaning: a note, a link or an
    accepted file. Raises :class:`portal.crypto.keyring.NoInboxKey` before touching
    anything when no editor has created the inbox key yet, and
    :class:`FilingFailed` if saving failed; then nothing of this submission remains
    on disk or in the database. The plaintext work folder is made inside
    ``work_dir`` (the request's locked folder, see :class:`portal.storage.WorkFolder`)
    when given, else under tmp/.
    """
    limits = limits or Limits()
    try:
        key_id, recipient = current_key()
    except BaseException:
        for upload in uploads:
            upload.discard()
        raise
    staging: Path | None = None
    work: Path | None = None
    try:
        staging = storage.new_staging_dir(data_dir)
        work = storage.new_work_dir(data_dir, tmp_dir, within=work_dir)
        outcomes, stored = _clean_all(staging, work, uploads, limits, key_id, recipient)
    except BaseException as exc:
        if staging is not None:
            storage.remove_tree(staging)
        for upload in uploads:
            upload.discard()
        if isinstance(exc, Exception):
            _log_failure("cleaning", exc)
            raise FilingFailed from exc
        raise
    finally:
        if work is not None:
            storage.remove_tree(work)

    if not (note or links or stored):
        storage.remove_tree(staging)
        return FilingResult(filed=False, files=tuple(outcomes))

    submission_id = new_id()
    try:
        storage.publish_staging(data_dir, staging, submission_id)
    except BaseException as exc:
        storage.remove_tree(staging)
        _remove_quietly(data_dir, submission_id)
        if isinstance(exc, Exception):
            _log_failure("publishing", exc)
            raise FilingFailed from exc
        raise

    submission = Submission(
        id=submission_id,
        locale=locale,
        sealed=Content(note, tuple(links), contact).seal(recipient),
        key_id=key_id,
        link_count=len(links),
        refused=[o.refusal.value for o in outcomes if o.refusal is not None],
        files=stored,
    )
    try:
        db.session.add(submission)
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        _remove_quietly(data_dir, submission_id)
        if isinstance(exc, Exception):
            _log_failure("commit", exc)
            raise FilingFailed from exc
        raise
    return FilingResult(filed=True, files=tuple(outcomes))


def _clean_all(
    staging: Path,
    work: Path,
    uploads: Sequence[TempUpload],
    limits: Limits,
    key_id: int,
    recipient: age.Recipient,
) -> tuple[list[FileOutcome], list[StoredFile]]:
    outcomes: list[FileOutcome] = []
    stored: list[StoredFile] = []
    for position, upload in enumerate(uploads, start=1):
        token = new_id()
        plain = work / token
        try:
            upload.close()
            # Not fsynced: this plaintext copy is encrypted and deleted just below.
            result = clean_file(upload.path, plain, limits, durable=False)
        except Refusal as refusal:
            if is_out_of_space(refusal):
                # Not the file's fault: refusing it would file the rest without it.
                raise
            outcomes.append(FileOutcome(position, upload.size, refusal=refusal.code))
            # Only the code: a detail may quote a library message about the file's bytes.
            log.info("file refused: %s", refusal.code.value)
            continue
        finally:
            upload.discard()
        name = f"{token}.age"
        thumbnail = None
        try:
            cleaned_size = encrypt_file(plain, staging / name, recipient)
            if result.kind == Kind.IMAGE:
                thumbnail = write_thumbnail(plain, staging, recipient, limits)
        finally:
            plain.unlink(missing_ok=True)
        stored.append(
            StoredFile(
                position=len(stored) + 1,
                stored_name=name,
                kind=result.kind.value,
                format=result.format,
                mime=result.mime,
                extension=result.extension,
                size=cleaned_size,
                key_id=key_id,
                removed=sorted(c.value for c in result.removed),
                altered=sorted(a.value for a in result.altered),
                thumbnail_name=thumbnail,
            )
        )
        outcomes.append(
            FileOutcome(position, upload.size, cleaned=result, cleaned_size=cleaned_size)
        )
    return outcomes, stored


def _remove_quietly(data_dir: Path, submission_id: str) -> None:
    try:
        storage.delete_submission_files(data_dir, submission_id)
    except OSError:
        log.error("could not remove an unfiled submission folder; the next start sweeps it")


def _log_failure(stage: str, exc: BaseException) -> None:
    # Only the exception's type: database errors quote the parameters (the note,
    # the contact) in their message, and those must never reach a log.
    log.error("filing failed while %s: %s", stage, type(exc).__name__)
