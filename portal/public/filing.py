"""Filing a submission, or a tipster's later message in its thread, atomically and
encrypted: all of it or nothing.

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
3. the row, with the note, links and contact sealed, is committed, provided the
   inbox key everything was sealed to still exists (:func:`hold_key`: a key rotation
   that ran meanwhile and deleted it would leave a tip no key opens, so the filing
   fails and the tipster is told to send again). If the commit fails, the folder is
   removed.

So at any crash point there is either nothing, a stray folder under tmp/ or staging/,
or a folder under submissions/ with no row; :mod:`portal.housekeeping` removes those.
A later message (:func:`file_message`) moves its files one by one into the existing
folder before its rows are committed; a crash in between leaves files without rows,
which housekeeping removes too.
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
from portal.crypto.keyring import Content, KeyRetired, current_key, hold_key
from portal.crypto.phrase import PhraseKeys
from portal.crypto.streaming import StreamedEncryption
from portal.inbox.thumbnails import write_thumbnail
from portal.models import StoredFile, Submission, ThreadMessage, db, new_id, utcnow
from portal.public.uploads import TempUpload, is_out_of_space

log = logging.getLogger(__name__)


class FilingFailed(Exception):
    """The submission could not be saved; nothing of it was kept."""

    @property
    def status(self) -> int:
        """503 when sending again soon can work (the disk was full; the inbox key
        was rotated while this was filed), else 500."""
        if is_out_of_space(self.__cause__) or isinstance(self.__cause__, KeyRetired):
            return 503
        return 500


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


def _discard_all(uploads: Sequence[TempUpload]) -> None:
    for upload in uploads:
        upload.discard()


def _clean_into_staging(
    data_dir: Path,
    uploads: Sequence[TempUpload],
    limits: Limits,
    tmp_dir: Path,
    work_dir: Path | None,
    key_id: int,
    recipient: age.Recipient,
) -> tuple[Path, list[FileOutcome], list[StoredFile]]:
    """Clean and encrypt ``uploads`` into a new staging folder; on failure nothing
    is left (the uploads, the plaintext work folder and the staging folder go). The
    plaintext work folder is made inside ``work_dir`` (the request's locked folder,
    see :class:`portal.storage.WorkFolder`) when given, else under tmp/."""
    staging: Path | None = None
    work: Path | None = None
    try:
        staging = storage.new_staging_dir(data_dir)
        work = storage.new_work_dir(data_dir, tmp_dir, within=work_dir)
        outcomes, stored = _clean_all(staging, work, uploads, limits, key_id, recipient)
    except BaseException as exc:
        if staging is not None:
            storage.remove_tree(staging)
        _discard_all(uploads)
        if isinstance(exc, Exception):
            _log_failure("cleaning", exc)
            raise FilingFailed from exc
        raise
    finally:
        if work is not None:
            storage.remove_tree(work)
    return staging, outcomes, stored


def _inbox_key(uploads: Sequence[TempUpload]) -> tuple[int, age.Recipient]:
    try:
        return current_key()
    except BaseException:
        _discard_all(uploads)
        raise


def file_submission(
    data_dir: Path,
    *,
    locale: str,
    note: str,
    links: Sequence[str],
    contact: str,
    uploads: Sequence[TempUpload],
    limits: Limits | None = None,
    tmp_dir: Path,
    work_dir: Path | None = None,
    phrase: PhraseKeys | None = None,
) -> FilingResult:
    """Clean ``uploads`` and file everything, encrypted, or nothing.

    A submission is filed when anything is left after cleaning: a note, a link or an
    accepted file. With ``phrase``, the thread can be found and replied to with the
    follow-up phrase those keys came from. Raises
    :class:`portal.crypto.keyring.NoInboxKey` before touching anything when no editor
    has created the inbox key yet, and :class:`FilingFailed` if saving failed; then
    nothing of this submission remains on disk or in the database. ``work_dir``: see
    :func:`_clean_into_staging`.
    """
    limits = limits or Limits()
    key_id, recipient = _inbox_key(uploads)
    staging, outcomes, stored = _clean_into_staging(
        data_dir, uploads, limits, tmp_dir, work_dir, key_id, recipient
    )
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
        lookup=phrase.lookup if phrase else None,
        tipster_key=str(phrase.recipient) if phrase else None,
    )
    try:
        db.session.add(submission)
        hold_key(key_id)  # everything here is sealed to it: a rotation must see it
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        _remove_quietly(data_dir, submission_id)
        if isinstance(exc, Exception):
            _log_failure("commit", exc)
            raise FilingFailed from exc
        raise
    return FilingResult(filed=True, files=tuple(outcomes))


def file_message(
    data_dir: Path,
    submission_id: str,
    *,
    note: str,
    links: Sequence[str],
    uploads: Sequence[TempUpload],
    limits: Limits | None = None,
    tmp_dir: Path,
    work_dir: Path | None = None,
) -> FilingResult:
    """A tipster's later message in thread ``submission_id``, filed as a tip is:
    cleaned, encrypted to the inbox key, all of it or nothing. Its files join the
    submission's folder (each renamed into it once encrypted and fsynced) and are
    numbered after the files already there; the thread is marked unread and moves
    to the top of the inbox. Raises like :func:`file_submission` (and
    :class:`FilingFailed` when the thread is gone or closed)."""
    limits = limits or Limits()
    key_id, recipient = _inbox_key(uploads)
    staging, outcomes, stored = _clean_into_staging(
        data_dir, uploads, limits, tmp_dir, work_dir, key_id, recipient
    )
    if not (note or links or stored):
        storage.remove_tree(staging)
        return FilingResult(filed=False, files=tuple(outcomes))

    moved: list[str] = []
    try:
        submission = db.session.get(Submission, submission_id)
        if submission is None or submission.is_closed:
            raise FilingFailed("the thread is gone or closed")
        moved = storage.publish_files(data_dir, staging, submission_id)
        message = ThreadMessage(
            id=new_id(),
            author=ThreadMessage.TIPSTER,
            sealed=Content(note, tuple(links), "").seal(recipient),
            key_id=key_id,
            link_count=len(links),
            refused=[o.refusal.value for o in outcomes if o.refusal is not None],
        )
        # Rows are written together at the commit, the message's before its files'
        # (they refer to it: PostgreSQL checks that at each insert, SQLite without
        # PRAGMA foreign_keys never), so nothing may flush a file on its own before.
        with db.session.no_autoflush:
            after = max((f.position for f in submission.files), default=0)
            for number, stored_file in enumerate(stored, start=1):
                stored_file.position = after + number
                stored_file.message = message
                submission.files.append(stored_file)
            submission.messages.append(message)
        submission.is_read = False
        submission.last_activity_at = utcnow()
        hold_key(key_id)
        db.session.commit()
    except BaseException as exc:
        db.session.rollback()
        storage.remove_tree(staging)
        storage.remove_stored_files(data_dir, submission_id, moved)
        if isinstance(exc, FilingFailed):
            raise
        if isinstance(exc, Exception):
            _log_failure("filing a message", exc)
            raise FilingFailed from exc
        raise
    return FilingResult(filed=True, files=tuple(outcomes))


def clean_encrypted(
    src: Path, plain: Path, target: Path, recipient: age.Recipient, limits: Limits
) -> tuple[Cleaned, int]:
    """Clean ``src`` and store the cleaned copy at ``target``, encrypted to
    ``recipient``: the result and the cleaned size. Afterwards ``plain`` (in the
    request's temporary folder) holds the cleaned plaintext, for a thumbnail; the
    caller deletes it. Raises :class:`Refusal` as :func:`clean_file` does; on any
    failure ``plain`` is gone.

    Audio and video are encrypted as the muxer writes them
    (:mod:`portal.crypto.streaming`); everything else, and a stream that could not
    hold, is encrypted from ``plain`` once it is clean.
    """
    streamed = StreamedEncryption(target, recipient)
    try:
        # Not fsynced: this plaintext copy only lives until the caller is done.
        result = clean_file(src, plain, limits, durable=False, through=streamed)
        size = streamed.finish()
        if size is None:
            size = encrypt_file(plain, target, recipient)
        return result, size
    except BaseException:
        plain.unlink(missing_ok=True)  # cleaned, then not stored: nothing to keep
        raise
    finally:
        streamed.discard()


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
        name = f"{token}.age"
        try:
            upload.close()
            result, cleaned_size = clean_encrypted(
                upload.path, plain, staging / name, recipient, limits
            )
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
        thumbnail = None
        try:
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
