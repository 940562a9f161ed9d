"""Small generated images for cleaner tests, and exiftool to tag them.

Every picture is a few dozen pixels with an asymmetric pattern, so a wrong rotation
or flip changes the pixels. ``tag_identifying`` writes a set of identifying values
with exiftool (the same tool the oracle uses to read them back), and
``IDENTIFYING_VALUES`` lists the strings a byte search of a cleaned file must not
find.
"""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageCms, ImageDraw, ImageSequence

from portal.cleaning import Cleaned, Limits, clean_file
from portal.cleaning.base import FormatCleaner
from tests.exiftool_oracle import leaks, write_tags

# Distinctive values: long enough that finding them by chance in pixel data is
# practically impossible.
IDENTIFYING_VALUES = {
    "make": "ZetaCamTestMake",
    "model": "ZC-900-TestModel",
    "serial": "SN7731ZQXSERIAL",
    "artist": "Marisol Artist Zapata",
    "software": "EditorPro 9.1 TestSoft",
    "copyright": "Copyright Delgado Test",
    "xmp_creator": "XmpCreatorOcampo",
    "xmp_description": "XmpDescriptionPuenteLibre",
    "iptc_byline": "IptcBylineRamirez",
    "iptc_caption": "IptcCaptionCiudadJuarez",
    "comment": "CommentBridgeAtMidnight",
    "user_comment": "UserCommentSecretPlace",
    "date": "2023:04:05 06:07:08",
}
GPS_LATITUDE = "31.7619"
GPS_LONGITUDE = "106.4850"


def pattern(size: tuple[int, int] = (48, 32), mode: str = "RGB") -> Image.Image:
    """An image whose every rotation and mirror differ: gradients plus a corner mark."""
    width, height = size
    image = Image.new("RGB", size)
    pixels = [
        ((x * 255) // max(width - 1, 1), (y * 255) // max(height - 1, 1), (x * y) % 256)
        for y in range(height)
        for x in range(width)
    ]
    image.putdata(pixels)
    ImageDraw.Draw(image).rectangle((1, 1, width // 4, height // 5), fill=(250, 20, 20))
    if mode == "RGBA":
        image.putalpha(Image.linear_gradient("L").resize(size))
        return image
    return image.convert(mode)


def jpeg_bytes(
    size: tuple[int, int] = (48, 32),
    *,
    mode: str = "RGB",
    progressive: bool = False,
    orientation: int | None = None,
    icc_profile: bytes | None = None,
    quality: int = 90,
    **save_options: object,
) -> bytes:
    """A JPEG made by Pillow, optionally with an EXIF Orientation and a profile."""
    options = dict(save_options)
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif.tobytes()
    if icc_profile is not None:
        options["icc_profile"] = icc_profile
    out = io.BytesIO()
    pattern(size, mode).save(out, "JPEG", quality=quality, progressive=progressive, **options)
    return out.getvalue()


def tiff_bytes(
    size: tuple[int, int] = (48, 32),
    *,
    mode: str = "RGB",
    orientation: int | None = None,
    extra_pages: list[Image.Image] | None = None,
    compression: str = "tiff_lzw",
) -> bytes:
    out = io.BytesIO()
    options: dict[str, object] = {"compression": compression}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        options["exif"] = exif
    if extra_pages:
        options["save_all"] = True
        options["append_images"] = extra_pages
    pattern(size, mode).save(out, "TIFF", **options)
    return out.getvalue()


def heic_bytes(
    size: tuple[int, int] = (48, 32),
    *,
    mode: str = "RGB",
    exif: bytes | None = None,
    xmp: bytes | None = None,
    icc_profile: bytes | None = None,
) -> bytes:
    """A HEIC written by pillow-heif, carrying whatever metadata is given."""
    import pillow_heif

    image = pattern(size, mode)
    if icc_profile is not None:
        image.info["icc_profile"] = icc_profile
    heif = pillow_heif.from_pillow(image)
    options: dict[str, object] = {"quality": 90}
    if exif is not None:
        options["exif"] = exif
    if xmp is not None:
        options["xmp"] = xmp
    out = io.BytesIO()
    heif.save(out, format="HEIF", **options)
    return out.getvalue()


def identifying_exif() -> bytes:
    """EXIF with make, model, artist, software, a date and a GPS position."""
    exif = Image.Exif()
    exif[0x010F] = IDENTIFYING_VALUES["make"]
    exif[0x0110] = IDENTIFYING_VALUES["model"]
    exif[0x013B] = IDENTIFYING_VALUES["artist"]
    exif[0x0131] = IDENTIFYING_VALUES["software"]
    exif[0x0132] = IDENTIFYING_VALUES["date"]
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (31.0, 45.0, 42.84)
    gps[3] = "W"
    gps[4] = (106.0, 29.0, 6.0)
    return exif.tobytes()


def identifying_xmp() -> bytes:
    creator = IDENTIFYING_VALUES["xmp_creator"]
    description = IDENTIFYING_VALUES["xmp_description"]
    return (
        '<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:exif="http://ns.adobe.com/exif/1.0/">'
        f"<dc:creator><rdf:Seq><rdf:li>{creator}</rdf:li></rdf:Seq></dc:creator>"
        f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{description}'
        "</rdf:li></rdf:Alt></dc:description>"
        f"<exif:GPSLatitude>31,45.714N</exif:GPSLatitude>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    ).encode()


def exiftool_identifying_args(*, jpeg_comment: bool = True) -> list[str]:
    """exiftool arguments writing GPS, device, serial, author, XMP, IPTC and comment."""
    v = IDENTIFYING_VALUES
    args = [
        f"-GPSLatitude={GPS_LATITUDE}",
        "-GPSLatitudeRef=N",
        f"-GPSLongitude={GPS_LONGITUDE}",
        "-GPSLongitudeRef=W",
        f"-Make={v['make']}",
        f"-Model={v['model']}",
        f"-SerialNumber={v['serial']}",
        f"-Artist={v['artist']}",
        f"-Software={v['software']}",
        f"-Copyright={v['copyright']}",
        f"-DateTimeOriginal={v['date']}",
        f"-UserComment={v['user_comment']}",
        f"-XMP-dc:Creator={v['xmp_creator']}",
        f"-XMP-dc:Description={v['xmp_description']}",
        f"-IPTC:By-line={v['iptc_byline']}",
        f"-IPTC:Caption-Abstract={v['iptc_caption']}",
    ]
    if jpeg_comment:
        args.append(f"-Comment={v['comment']}")
    return args


def tag_identifying(path: Path, *, jpeg_comment: bool = True) -> None:
    write_tags(path, *exiftool_identifying_args(jpeg_comment=jpeg_comment))


def found_values(data: bytes) -> list[str]:
    """Which identifying values appear anywhere in ``data`` (ASCII or UTF-16)."""
    found = []
    for value in IDENTIFYING_VALUES.values():
        for encoded in (value.encode(), value.encode("utf-16-le"), value.encode("utf-16-be")):
            if encoded in data:
                found.append(value)
                break
    return found


def icc_profile_named(
    description: str, *, device_class: bytes = b"mntr", creator: bytes = b"TEST"
) -> bytes:
    """A matrix profile with sRGB colorimetry but the given description, class and
    header creator, dated 2021, with a device-manufacturer tag (built from
    littleCMS's sRGB by re-writing its tag table, independently of the module under
    test)."""
    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    (count,) = struct.unpack(">I", base[128:132])
    tags = {}
    for i in range(count):
        sig, offset, length = struct.unpack(">4sII", base[132 + 12 * i : 144 + 12 * i])
        tags[sig] = base[offset : offset + length]
    text = description.encode("utf-16-be")
    tags[b"desc"] = (
        b"mluc" + struct.pack(">III2s2sII", 0, 1, 12, b"en", b"US", len(text), 28) + text
    )
    tags[b"dmnd"] = tags[b"desc"]
    table = struct.pack(">I", len(tags))
    blobs = b""
    start = 128 + 4 + 12 * len(tags)
    for sig, body in tags.items():
        table += struct.pack(">4sII", sig, start + len(blobs), len(body))
        blobs += body + b"\x00" * (-len(body) % 4)
    header = bytearray(base[:128])
    header[0:4] = struct.pack(">I", 128 + len(table) + len(blobs))
    header[4:8] = creator
    header[12:16] = device_class
    header[24:36] = struct.pack(">6H", 2021, 3, 4, 5, 6, 7)
    header[80:84] = creator
    header[84:100] = bytes(16)
    return bytes(header) + table + blobs


def scan_data(jpeg: bytes) -> list[bytes]:
    """The entropy-coded data of each scan of the first image in ``jpeg``, read in
    memory and independently of the cleaner's streaming parser."""
    scans = []
    i = 2
    while i + 2 <= len(jpeg):
        if jpeg[i] != 0xFF:
            raise ValueError(f"no marker at {i}")
        code = jpeg[i + 1]
        if code == 0xFF:
            i += 1
            continue
        if code == 0xD9:
            return scans
        (length,) = struct.unpack(">H", jpeg[i + 2 : i + 4])
        i += 2 + length
        if code == 0xDA:
            j = i
            while True:
                j = jpeg.index(b"\xff", j)
                if jpeg[j + 1] == 0 or 0xD0 <= jpeg[j + 1] <= 0xD7:
                    j += 2
                    continue
                break
            scans.append(jpeg[i:j])
            i = j
    raise ValueError("no end of image")


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    pairs = zip(a.convert("RGB").tobytes(), b.convert("RGB").tobytes(), strict=True)
    return sum(abs(x - y) for x, y in pairs) / (a.width * a.height * 3)


def swapped_primaries_profile() -> bytes:
    """A camera-style RGB profile whose red and blue primaries are swapped: converting
    through it visibly changes colours, dropping it does not."""
    profile = bytearray(icc_profile_named("ZetaCam wide gamut", device_class=b"scnr"))
    (count,) = struct.unpack(">I", profile[128:132])
    entries = {bytes(profile[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    red, blue = entries[b"rXYZ"], entries[b"bXYZ"]
    profile[red + 4 : red + 12], profile[blue + 4 : blue + 12] = (
        profile[blue + 4 : blue + 12],
        profile[red + 4 : red + 12],
    )
    return bytes(profile)


# --- helpers shared by the image test files ----------------------------------------


def writer(default_name: str) -> Callable[..., Path]:
    """``write(tmp_path, data, name=default_name)``: the bytes in a file, its path."""

    def write(tmp_path: Path, data: bytes, name: str = default_name) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write


def runner(
    out_name: str, cleaner: FormatCleaner | None = None
) -> Callable[..., tuple[Path, Cleaned]]:
    """``clean(src, tmp_path, limits=Limits())`` writing ``tmp_path/out_name`` and
    returning (that path, the result): with ``cleaner``, that module alone runs;
    without, the registry's :func:`clean_file`, which re-inspects the output."""

    def clean(src: Path, tmp_path: Path, limits: Limits | None = None) -> tuple[Path, Cleaned]:
        out = tmp_path / out_name
        limits = limits or Limits()
        if cleaner is None:
            return out, clean_file(src, out, limits)
        return out, cleaner.clean(src, out, limits, 0)

    return clean


def composed_frames(path: Path) -> list[tuple[tuple[int, int], bytes, int | None]]:
    """Every frame as Pillow composes it: size, RGBA pixels and duration."""
    with Image.open(path) as image:
        return [
            (f.size, f.convert("RGBA").tobytes(), f.info.get("duration"))
            for f in ImageSequence.Iterator(image)
        ]


def assert_nothing_left(cleaner: FormatCleaner, out: Path, needles: list[bytes]) -> bytes:
    """exiftool finds nothing identifying in ``out``, the module's own inspection
    finds nothing, and no needle is in its bytes. Returns the bytes."""
    data = out.read_bytes()
    assert leaks(out) == []
    assert cleaner.inspect(out, Limits()) == set()
    for needle in needles:
        assert needle not in data, needle
    return data
