"""The FFmpeg decoding path for HEIC (portal.cleaning.hevc) against libheif, the
decoder it stands in for: the same picture to within two levels per channel, for
grids, rotations and mirrorings built here and for the corpus's phone photos; and
a decline, never a picture, for what it does not handle whole (the cleaner then
asks libheif, as before)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pillow_heif
import pytest
from PIL import Image, ImageChops, ImageStat

from portal.cleaning import Limits, clean_file, hevc
from tests.cleaning import imagegen
from tests.corpus import corpus_file, corpus_params

LIMITS = Limits()


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, version: int, flags: int, *parts: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *parts)


def _tile_of(data: bytes, tmp_path: Path) -> tuple[bytes, bytes, bytes, bytes]:
    """hvcC, ispe and colr bodies and the coded data of a one-image HEIC."""
    path = tmp_path / "tile.heic"
    path.write_bytes(data)
    meta = hevc._meta(data)
    primary, items = hevc._items(data, meta)
    item = items[primary]
    with path.open("rb") as fh:
        coded = hevc._data(fh, data, meta, item)
    found = {kind: body for kind, body, _ in item.properties}
    return found[b"hvcC"], found[b"ispe"], found.get(b"colr", b""), coded


def grid_heic(
    tmp_path: Path,
    *,
    columns: int = 2,
    rows: int = 2,
    output: tuple[int, int] = (120, 100),
    transforms: tuple[bytes, ...] = (),
    extra_property: bytes = b"",
) -> Path:
    """A HEIC whose primary item is a grid of copies of one 64x64 HEVC tile, with
    the ``irot``/``imir`` boxes in ``transforms`` applied in that order."""
    hvcc, ispe, colr, coded = _tile_of(imagegen.heic_bytes((64, 64)), tmp_path)
    count = columns * rows
    properties = [
        _box(b"hvcC", hvcc),
        _box(b"ispe", ispe),
        _full(b"ispe", 0, 0, struct.pack(">II", *output)),
        *([_box(b"colr", colr)] if colr else []),
        *transforms,
        *([extra_property] if extra_property else []),
    ]
    grid_props = [3] + ([4] if colr else [])
    first_transform = len(properties) - len(transforms) - (1 if extra_property else 0) + 1
    grid_props += list(range(first_transform, first_transform + len(transforms)))
    grid_entries = [(index, False) for index in grid_props]
    if extra_property:
        grid_entries.append((len(properties), True))
    ipma_entries = [struct.pack(">HB", 1, len(grid_entries))] + [
        struct.pack(">B", (0x80 if essential else 0) | index) for index, essential in grid_entries
    ]
    for number in range(2, 2 + count):
        ipma_entries.append(struct.pack(">HBBB", number, 2, 0x81, 2))
    descriptor = struct.pack(">BBBBHH", 0, 0, rows - 1, columns - 1, *output)

    def meta(mdat_data_at: int) -> bytes:
        infe = [_full(b"infe", 2, 0, struct.pack(">HH4s", 1, 0, b"grid"), b"\0")]
        infe += [
            _full(b"infe", 2, 0, struct.pack(">HH4s", n, 0, b"hvc1"), b"\0")
            for n in range(2, 2 + count)
        ]
        locations = [struct.pack(">HHHHII", 1, 1, 0, 1, 0, len(descriptor))]
        locations += [
            struct.pack(">HHHHII", n, 0, 0, 1, mdat_data_at + (n - 2) * len(coded), len(coded))
            for n in range(2, 2 + count)
        ]
        return _full(
            b"meta", 0, 0,
            _full(b"hdlr", 0, 0, b"\0\0\0\0pict" + bytes(12) + b"\0"),
            _full(b"pitm", 0, 0, struct.pack(">H", 1)),
            _full(b"iinf", 0, 0, struct.pack(">H", len(infe)), *infe),
            _full(b"iloc", 1, 0, bytes([0x44, 0x00]), struct.pack(">H", 1 + count), *locations),
            _full(b"iref", 0, 0, _box(b"dimg", struct.pack(">HH", 1, count),
                  *(struct.pack(">H", n) for n in range(2, 2 + count)))),
            _box(b"iprp", _box(b"ipco", *properties),
                 _full(b"ipma", 0, 0, struct.pack(">I", 1 + count), *ipma_entries)),
            _box(b"idat", descriptor),
        )  # fmt: skip

    ftyp = _box(b"ftyp", b"heic", bytes(4), b"mif1heic")
    head = len(ftyp) + len(meta(0)) + 8
    data = ftyp + meta(head) + _box(b"mdat", coded * count)
    path = tmp_path / "grid.heic"
    path.write_bytes(data)
    return path


def _libheif(path: Path) -> Image.Image:
    heif = pillow_heif.open_heif(path, convert_hdr_to_8bit=True)
    return heif[heif.primary_index].to_pillow().convert("RGB")


def assert_as_libheif(path: Path) -> None:
    reference = _libheif(path)
    ours = hevc.decode_primary(path, reference.size, LIMITS.max_pixels)
    assert ours is not None, "the FFmpeg path declined a file it should take"
    assert ours.size == reference.size
    assert ours.mode == "RGBX"  # RGB as Pillow holds it, written to JPEG as RGB
    extrema = ImageStat.Stat(ImageChops.difference(reference, ours.convert("RGB"))).extrema
    assert max(high for _, high in extrema) <= 2, extrema


def test_a_single_image_decodes_as_libheif_decodes_it(tmp_path) -> None:
    path = tmp_path / "one.heic"
    path.write_bytes(imagegen.heic_bytes((64, 48)))
    assert_as_libheif(path)


@pytest.mark.parametrize(
    "transforms",
    [
        (),
        (b"\x00\x00\x00\x09irot\x01",),
        (b"\x00\x00\x00\x09irot\x03",),
        (b"\x00\x00\x00\x09imir\x00",),
        (b"\x00\x00\x00\x09imir\x01",),
        (b"\x00\x00\x00\x09irot\x01", b"\x00\x00\x00\x09imir\x01"),
    ],
)
def test_a_grid_decodes_as_libheif_decodes_it(tmp_path, transforms) -> None:
    assert_as_libheif(grid_heic(tmp_path, transforms=transforms))


@pytest.mark.corpus
@pytest.mark.parametrize("name", corpus_params(".heic"))
def test_phone_photos_decode_as_libheif_decodes_them(name) -> None:
    assert_as_libheif(corpus_file(name))


def test_an_unknown_essential_property_is_left_to_libheif(tmp_path) -> None:
    odd = _full(b"zzzz", 0, 0, b"\x01")
    assert (
        hevc.decode_primary(grid_heic(tmp_path, extra_property=odd), (120, 100), LIMITS.max_pixels)
        is None
    )


def test_damaged_pixels_give_a_whole_picture_or_are_left_to_libheif(tmp_path) -> None:
    """Both decoders conceal damage to the coded pixels they do not stop at, each in
    its own way; what matters is a picture of the right size, or a decline."""
    path = grid_heic(tmp_path)
    data = bytearray(path.read_bytes())
    for cut in (40, 400, 2000):
        data[-cut:] = bytes(cut)  # the end of the last tile's slice data
        path.write_bytes(bytes(data))
        ours = hevc.decode_primary(path, (120, 100), LIMITS.max_pixels)
        assert ours is None or ours.size == (120, 100)


def test_the_structure_is_read_as_libheif_reads_it(tmp_path) -> None:
    """One byte of the item structure changed at a time: whatever this path still
    decodes, it decodes as libheif does (or libheif refuses it first)."""
    data = grid_heic(tmp_path, transforms=(b"\x00\x00\x00\x09irot\x01",)).read_bytes()
    meta_end = data.index(b"mdat") - 4
    path = tmp_path / "mutant.heic"
    compared = 0
    for at in range(8, meta_end, 3):
        mutant = bytearray(data)
        mutant[at] ^= 0x41
        path.write_bytes(bytes(mutant))
        try:
            reference = _libheif(path)
        except (OSError, ValueError, RuntimeError, SyntaxError, IndexError):
            continue  # libheif refuses it; the cleaner would too, before decoding
        ours = hevc.decode_primary(path, reference.size, LIMITS.max_pixels)
        if ours is not None:
            compared += 1
            difference = ImageChops.difference(reference, ours.convert("RGB"))
            extrema = ImageStat.Stat(difference).extrema
            assert max(high for _, high in extrema) <= 2, at
    assert compared > 10


def test_tiles_that_do_not_fit_the_grid_are_left_to_libheif(tmp_path) -> None:
    # Four 64x64 tiles cannot make a 200x100 picture, nor a 40x40 one.
    for output in ((200, 100), (40, 40)):
        path = grid_heic(tmp_path, output=output)
        assert hevc.decode_primary(path, output, LIMITS.max_pixels) is None


def test_what_would_decode_over_the_pixel_budget_is_left_to_libheif(tmp_path) -> None:
    path = grid_heic(tmp_path)
    assert hevc.decode_primary(path, (120, 100), 4 * 64 * 64) is not None
    # the picture fits, the four tiles do not
    assert hevc.decode_primary(path, (120, 100), 4 * 64 * 64 - 1) is None
    # nor the picture itself
    assert hevc.decode_primary(path, (120, 100), 120 * 100 - 1) is None


def test_a_tile_coded_larger_than_it_says_is_refused_before_decoding(tmp_path) -> None:
    """A tile's ``ispe`` says 64x64 while its coded picture is 64x64 too; claiming
    32x32 must not make FFmpeg decode the larger picture."""
    path = grid_heic(tmp_path, columns=1, rows=1, output=(32, 32))
    data = path.read_bytes().replace(struct.pack(">II", 64, 64), struct.pack(">II", 32, 32), 1)
    path.write_bytes(data)
    assert hevc.decode_primary(path, (32, 32), LIMITS.max_pixels) is None


def test_a_repeated_box_is_left_to_libheif(tmp_path) -> None:
    data = grid_heic(tmp_path).read_bytes()
    pitm = data.index(b"pitm") - 4
    twice = data[:pitm] + data[pitm : pitm + 14] + data[pitm:]
    # the meta box grows by the copied pitm box
    meta = data.index(b"meta") - 4
    size = struct.unpack_from(">I", twice, meta)[0]
    twice = twice[:meta] + struct.pack(">I", size + 14) + twice[meta + 4 :]
    path = tmp_path / "twice.heic"
    path.write_bytes(twice)
    assert hevc.decode_primary(path, (120, 100), LIMITS.max_pixels) is None


def test_a_size_other_than_libheifs_is_left_to_libheif(tmp_path) -> None:
    assert hevc.decode_primary(grid_heic(tmp_path), (100, 120), LIMITS.max_pixels) is None


def test_what_is_not_heif_at_all_is_declined(tmp_path) -> None:
    png = io.BytesIO()
    imagegen.pattern().save(png, "PNG")
    for data in (b"", b"\0\0\0\x08ftyp", bytes(range(256)) * 8, png.getvalue()):
        path = tmp_path / "odd.heic"
        path.write_bytes(data)
        assert hevc.decode_primary(path, (48, 32), LIMITS.max_pixels) is None


def test_the_cleaner_uses_it_and_files_the_picture_libheif_would(tmp_path, monkeypatch) -> None:
    path = grid_heic(tmp_path, transforms=(b"\x00\x00\x00\x09irot\x01",))
    taken = []
    real = hevc.decode_primary

    def counted(*args):
        image = real(*args)
        taken.append(image is not None)
        return image

    monkeypatch.setattr(hevc, "decode_primary", counted)
    ours = tmp_path / "ours.jpg"
    clean_file(path, ours, durable=False)
    assert taken == [True]
    monkeypatch.setattr(hevc, "decode_primary", lambda *args: None)
    theirs = tmp_path / "theirs.jpg"
    clean_file(path, theirs, durable=False)
    with Image.open(ours) as a, Image.open(theirs) as b:
        assert a.size == b.size == (100, 120)
        a, b = a.convert("RGB"), b.convert("RGB")
        # Inputs a level or two apart, each through JPEG at quality 92.
        assert imagegen.mean_difference(a, b) < 3
        assert imagegen.mean_difference(a, b.rotate(180)) > 20
