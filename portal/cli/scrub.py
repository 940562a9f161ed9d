"""``flask scrub``: clean files exactly as uploads are cleaned.

For editors and operators who want to check what the portal does with a file, or to
clean files that reached them another way (a folder of photos from a USB stick). The
command calls the same :func:`portal.cleaning.clean_file` with the same default
limits as an upload. Two forms:

* ``flask scrub INPUT OUTPUT``: one file, written under exactly the name given.
* ``flask scrub INPUT... --out DIR``: any number of files (a folder given as INPUT
  stands for the files directly in it), cleaned one after another in one process,
  each written into DIR under its own name with the cleaned format's extension
  (``IMG_0001.HEIC`` becomes ``IMG_0001.jpg``; a name already used in this run gets
  ``-2``, ``-3``, ...).

Behaviour, chosen to fail closed:

* Exit 0: every output holds a cleaned file. stdout says what each is and what was
  removed. The cleaned file may be of another format than INPUT (a HEIC photo becomes
  a JPEG); with ``INPUT OUTPUT`` a warning on stderr says when OUTPUT's extension does
  not match the format written.
* Exit 1: at least one file was refused, or could not be written. One line on stderr
  per such file gives the reason code and its meaning. A refused file's output does
  not exist afterwards, even if it existed before and ``--force`` was given: after a
  write was attempted, an output exists if and only if its file was cleaned, so a
  script cannot mistake an old file for a cleaned one. The other files are cleaned.
* Exit 2: the command was used wrongly (a missing INPUT, OUTPUT is a folder or its
  folder is missing, INPUT and OUTPUT are the same file, OUTPUT exists and ``--force``
  was not given, DIR is not a folder). Nothing is written or removed. With ``--out``,
  an output name that exists already is not replaced without ``--force``: that file
  is reported and the exit code is 1.

``--report`` prints one JSON line per file on stdout, refusals included: ``input``,
``output`` (null when refused), ``status`` (``cleaned`` or ``refused``), and either
``format``, ``written_format``, ``mime``, ``kind``, ``extension``, ``removed`` and
``altered``, or ``code`` and ``reason``. With ``--out`` the JSON lines are all that
goes to stdout (what a person would read goes to stderr).

Only the outputs' folder is written to (a hidden temporary name beside each output,
renamed into place), never the portal's data folder.
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


#: The name of a written format, by its extension, where it is not the extension
#: in capitals.
_FORMAT_NAMES = {"jpg": "JPEG", "tif": "TIFF", "mka": "MKA", "txt": "TXT"}


def written_format(result: Cleaned) -> str:
    """The name of the format that was written ("JPEG" for a HEIC photo)."""
    return _FORMAT_NAMES.get(result.extension, result.extension.upper())


def describe(result: Cleaned) -> str:
    removed = ", ".join(sorted(result.removed)) or "nothing identifying was found"
    # format names what was read (HEIC); mime and extension what was written (JPEG)
    line = (
        f"cleaned: {result.format} {result.kind}, written as {result.mime} "
        f"(.{result.extension}); removed: {removed}"
    )
    if result.altered:
        line += f"; altered: {', '.join(sorted(result.altered))}"
    return line


def report_json(result: Cleaned, **where: str | None) -> str:
    return json.dumps(
        {
            **where,
            "status": "cleaned",
            "format": result.format,
            "written_format": written_format(result),
            "mime": result.mime,
            "kind": result.kind,
            "extension": result.extension,
            "removed": sorted(result.removed),
            "altered": sorted(result.altered),
        },
        sort_keys=True,
    )


def refusal_json(exc: Refusal, **where: str | None) -> str:
    return json.dumps(
        {
            **where,
            "output": None,
            "status": "refused",
            "code": exc.code.value,
            "reason": REFUSAL_REASONS.get(exc.code, "refused"),
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


def _clean_to(input_path: Path, output_path: Path, force: bool) -> Cleaned:
    """Clean INPUT into OUTPUT. Raises Refusal (OUTPUT then does not exist if
    ``force``), FileExistsError (OUTPUT left alone) or OSError."""
    temp = output_path.with_name(f".{output_path.name}.{secrets.token_hex(4)}.scrub")
    try:
        result = clean_file(input_path, temp, Limits())
        _place(temp, output_path, force)
        return result
    except Refusal:
        if force:
            output_path.unlink(missing_ok=True)
        raise
    finally:
        temp.unlink(missing_ok=True)


def _write_error(exc: OSError) -> str:
    return f"error: could not write the output: {exc.strerror or type(exc).__name__}"


@click.command("scrub")
@click.argument("paths", metavar="INPUT... [OUTPUT]", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    metavar="DIR",
    type=click.Path(path_type=Path),
    help="Clean every INPUT into this folder, each under its own name.",
)
@click.option("--report", is_flag=True, help="Also print one JSON line per file.")
@click.option("--force", is_flag=True, help="Replace outputs that exist (removed on refusal).")
def scrub_command(paths: tuple[Path, ...], out_dir: Path | None, report: bool, force: bool) -> None:
    """Clean files exactly as uploaded files are cleaned: INPUT OUTPUT for one file,
    or INPUT... --out DIR for many (a folder as INPUT means the files in it).

    Exit 0 when every file was cleaned, 1 when any was refused or not written (its
    output then does not exist), 2 when used wrongly. Outputs are never overwritten
    without --force.
    """
    if out_dir is None:
        if len(paths) != 2:
            raise _usage_error("give INPUT OUTPUT, or INPUT... --out DIR")
        _scrub_one(paths[0], paths[1], report, force)
    else:
        _scrub_many(paths, out_dir, report, force)


def _scrub_one(input_path: Path, output_path: Path, report: bool, force: bool) -> None:
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

    where = {"input": str(input_path)}
    try:
        result = _clean_to(input_path, output_path, force)
    except Refusal as exc:
        click.echo(refusal_line(exc), err=True)
        if report:
            click.echo(refusal_json(exc, **where))
        raise click.exceptions.Exit(1) from None
    except FileExistsError:
        raise _usage_error(f"OUTPUT appeared meanwhile, not replaced: {output_path}") from None
    except OSError as exc:
        click.echo(_write_error(exc), err=True)
        raise click.exceptions.Exit(1) from None

    click.echo(describe(result))
    if not extension_matches(output_path.name, result):
        click.echo(
            f"warning: {output_path.name} was written as {written_format(result)} "
            f"({result.mime}); its name does not say so, consider the extension "
            f".{result.extension}",
            err=True,
        )
    if report:
        click.echo(report_json(result, **where, output=str(output_path)))


def _inputs(paths: tuple[Path, ...]) -> list[Path]:
    """Every file to clean: files as given, folders as the files directly in them."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
            )
        elif path.is_file():
            files.append(path)
        else:
            raise _usage_error(f"INPUT is not a readable file or folder: {path}")
    if not files:
        raise _usage_error("no INPUT files to clean")
    return files


def _free_name(out_dir: Path, stem: str, extension: str, taken: set[str]) -> Path:
    """``stem.extension`` in ``out_dir``, or ``stem-2.extension``, ... if an earlier
    file of this run took that name."""
    name, number = f"{stem}.{extension}", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}.{extension}"
    taken.add(name)
    return out_dir / name


def _scrub_many(paths: tuple[Path, ...], out_dir: Path, report: bool, force: bool) -> None:
    if not out_dir.is_dir():
        raise _usage_error(f"DIR is not a folder: {out_dir}")
    files = _inputs(paths)
    # A person reads stderr when stdout carries the JSON lines for a script.
    say = (lambda line: click.echo(line, err=True)) if report else click.echo
    taken: set[str] = set()
    failed = 0
    for input_path in files:
        where = {"input": str(input_path)}
        # The cleaned format, and so the extension, is known only after cleaning:
        # clean into a hidden name first, then give it its own.
        staged = _free_name(out_dir, f".{secrets.token_hex(8)}", "scrub-out", set())
        try:
            result = _clean_to(input_path, staged, force=False)
        except Refusal as exc:
            failed += 1
            click.echo(f"{input_path}: {refusal_line(exc)}", err=True)
            if report:
                click.echo(refusal_json(exc, **where))
            continue
        except OSError as exc:
            failed += 1
            click.echo(f"{input_path}: {_write_error(exc)}", err=True)
            continue
        output = _free_name(out_dir, input_path.stem, result.extension, taken)
        try:
            if output.exists() and os.path.samefile(input_path, output):
                raise FileExistsError(output)
            _place(staged, output, force)
        except FileExistsError:
            failed += 1
            click.echo(
                f"{input_path}: error: {output} exists (use --force to replace it)", err=True
            )
            continue
        except OSError as exc:
            failed += 1
            click.echo(f"{input_path}: {_write_error(exc)}", err=True)
            continue
        finally:
            staged.unlink(missing_ok=True)
        say(f"{input_path} -> {output}: {describe(result)}")
        if report:
            click.echo(report_json(result, **where, output=str(output)))
    if failed:
        raise click.exceptions.Exit(1)
