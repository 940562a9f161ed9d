"""``flask scrub INPUT OUTPUT``: clean one file exactly as an upload is cleaned.

For editors and operators who want to check what the portal does with a file, or to
clean a file that reached them another way. The command calls the same
:func:`portal.cleaning.clean_file` with the same default limits as an upload.

Behaviour, chosen to fail closed:

* Exit 0: OUTPUT holds the cleaned file. stdout says what it is and what was removed
  (``--report`` adds one JSON line). The cleaned file may be of another format than
  INPUT (a HEIC photo becomes a JPEG); OUTPUT is written under exactly the name given,
  and a warning on stderr says when its extension does not match the real format.
* Exit 1: the file was refused. One line on stderr gives the reason code and its
  meaning. OUTPUT does not exist afterwards, even if it existed before and ``--force``
  was given: after a write was attempted, OUTPUT exists if and only if the exit code
  is 0, so a script cannot mistake an old file for a cleaned one.
* Exit 2: the command was used wrongly (missing INPUT, OUTPUT is a folder or its
  folder is missing, INPUT and OUTPUT are the same file, or OUTPUT exists and
  ``--force`` was not given). Nothing is written or removed.

Only OUTPUT's folder is written to (a hidden temporary name beside it, renamed into
place), never the portal's data folder.
"""

from __future__ import annotations

import json
import mimetypes
import os
import secrets
from pathlib import Path

import click

from portal.cleaning import Cleaned, Limits, Refusal, RefusalCode, clean_file
from portal.storage import fsync_dir

#: Plain-English meaning of each refusal code, for the operator reading stderr.
REFUSAL_REASONS: dict[RefusalCode, str] = {
    RefusalCode.UNKNOWN_TYPE: "the file's type is not one the portal can clean",
    RefusalCode.ARCHIVE: "archives (zip, rar, 7z, tar, gzip, ...) are not accepted",
    RefusalCode.ACTIVE_CONTENT: "web pages, SVG, XML and scripts are not accepted",
    RefusalCode.EXECUTABLE: "programs and scripts are not accepted",
    RefusalCode.MALFORMED: "the file is damaged, truncated or not what it claims to be",
    RefusalCode.TOO_LARGE: "the file is too large or expands to too much data",
    RefusalCode.TOO_COMPLEX: "the file is too complex to clean within its resource budget",
    RefusalCode.ENCRYPTED: "the file is password-protected and cannot be inspected",
    RefusalCode.EMPTY: "the file is empty",
    RefusalCode.CLEANING_FAILED: "the file could not be cleaned with certainty",
}

#: Extensions that name the same format as the cleaner's canonical one.
_EXTENSION_ALIASES: dict[str, set[str]] = {
    "jpg": {"jpg", "jpeg", "jpe", "jfif"},
    "tif": {"tif", "tiff"},
    "htm": {"htm", "html"},
    "mpg": {"mpg", "mpeg"},
    "ogg": {"ogg", "oga", "ogv", "opus"},
    "txt": {"txt", "text"},
}


def extension_matches(name: str, result: Cleaned) -> bool:
    """Whether a file called ``name`` would be taken for the cleaned format."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if not suffix:
        return False
    wanted = result.extension.lower()
    if suffix == wanted:
        return True
    for aliases in _EXTENSION_ALIASES.values():
        if suffix in aliases and wanted in aliases:
            return True
    return mimetypes.guess_type(f"x.{suffix}", strict=False)[0] == result.mime


def describe(result: Cleaned) -> str:
    removed = ", ".join(sorted(result.removed)) or "nothing identifying was found"
    # format names what was read (HEIC); mime and extension what was written (JPEG)
    return (
        f"cleaned: {result.format} {result.kind}, written as {result.mime} "
        f"(.{result.extension}); removed: {removed}"
    )


def report_json(result: Cleaned) -> str:
    return json.dumps(
        {
            "format": result.format,
            "mime": result.mime,
            "kind": result.kind,
            "extension": result.extension,
            "removed": sorted(result.removed),
        },
        sort_keys=True,
    )


def refusal_line(exc: Refusal) -> str:
    line = f"refused ({exc.code.value}): {REFUSAL_REASONS.get(exc.code, 'refused')}"
    if exc.detail:
        # detail names internals only, never the file's content or name
        line += f" [{exc.detail}]"
    return line.replace("\n", " ")


def _usage_error(message: str) -> click.exceptions.Exit:
    click.echo(f"error: {message}", err=True)
    return click.exceptions.Exit(2)


def _place(temp: Path, output: Path, force: bool) -> None:
    """Move the cleaned temp file to OUTPUT; without ``force`` never replace a file
    that appeared meanwhile (a hard link fails atomically if the name exists)."""
    if force:
        os.replace(temp, output)
        return
    try:
        os.link(temp, output)
    except FileExistsError:
        raise
    except OSError:
        # file systems without hard links: fall back to a check, then a rename
        if output.exists() or output.is_symlink():
            raise FileExistsError(output) from None
        os.replace(temp, output)
        return
    temp.unlink()
    fsync_dir(output.parent)


@click.command("scrub")
@click.argument("input_path", metavar="INPUT", type=click.Path(path_type=Path))
@click.argument("output_path", metavar="OUTPUT", type=click.Path(path_type=Path))
@click.option("--report", is_flag=True, help="Also print one JSON line describing the result.")
@click.option("--force", is_flag=True, help="Replace OUTPUT if it exists (removed on refusal).")
def scrub_command(input_path: Path, output_path: Path, report: bool, force: bool) -> None:
    """Clean INPUT into OUTPUT exactly as an uploaded file is cleaned.

    Exit 0 when cleaned, 1 when the file is refused (OUTPUT then does not exist),
    2 when used wrongly. OUTPUT is never overwritten without --force.
    """
    if not input_path.is_file():
        raise _usage_error(f"INPUT is not a readable file: {input_path}")
    if output_path.is_dir():
        raise _usage_error(f"OUTPUT is a folder: {output_path}")
    if not output_path.parent.is_dir():
        raise _usage_error(f"OUTPUT's folder does not exist: {output_path.parent}")
    existed = output_path.exists() or output_path.is_symlink()
    if existed and output_path.exists() and os.path.samefile(input_path, output_path):
        raise _usage_error("INPUT and OUTPUT are the same file")
    if existed and not force:
        raise _usage_error(f"OUTPUT exists (use --force to replace it): {output_path}")

    temp = output_path.with_name(f".{output_path.name}.{secrets.token_hex(4)}.scrub")
    try:
        result = clean_file(input_path, temp, Limits())
        _place(temp, output_path, force)
    except Refusal as exc:
        if force:
            output_path.unlink(missing_ok=True)
        click.echo(refusal_line(exc), err=True)
        raise click.exceptions.Exit(1) from None
    except FileExistsError:
        raise _usage_error(f"OUTPUT appeared meanwhile, not replaced: {output_path}") from None
    except OSError as exc:
        click.echo(f"error: could not write OUTPUT: {exc.strerror or type(exc).__name__}", err=True)
        raise click.exceptions.Exit(1) from None
    finally:
        temp.unlink(missing_ok=True)

    click.echo(describe(result))
    if not extension_matches(output_path.name, result):
        click.echo(
            f"warning: {output_path.name} was written as {result.format} ({result.mime}); "
            f"its name does not say so, consider the extension .{result.extension}",
            err=True,
        )
    if report:
        click.echo(report_json(result))
