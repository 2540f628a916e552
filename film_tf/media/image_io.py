"""Reading the photos people have, and writing frames atomically.

Read: PNG or JPEG (anything Pillow opens), 8- or 16-bit, grayscale, palette,
RGB, RGBA or CMYK, with the EXIF orientation applied, to float32 RGB
(H, W, 3) in [0, 1] plus an optional alpha matte (H, W). As image viewers do:
- large metadata chunks (XMP, embedded previews in PNG text chunks, up to
  `MAX_PNG_TEXT_BYTES`) do not make a file unreadable;
- an embedded ICC colour profile is applied: 8-bit colour pixels are
  converted to sRGB (the model's colour space), unless the profile already
  is sRGB. 16-bit colour PNGs (decoded with OpenCV, because Pillow reduces
  them to 8 bits) and grayscale files keep their stored values.
`Image.grayscale` records a grayscale file (L, LA, 1, 16-bit gray), so that
its result is written as grayscale again; `Image.bit_depth` records 16 bits.

Write: PNG (8- or 16-bit; gray, gray + alpha, RGB or RGBA) or JPEG (8-bit
gray or RGB), through a temporary file renamed into place, so an interrupted
write never leaves a partial file. An alpha written to JPEG is dropped with
one `warning:` line on stderr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import struct
import sys
import threading
import zlib
from typing import Iterator

import numpy as np

from film_tf import files

_EXIF_ORIENTATION = 0x0112
_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")
_GRAY_MODES = ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N", "F")
# PNG colour types: 0 gray, 2 RGB, 3 palette, 4 gray + alpha, 6 RGBA.
_PNG_GRAY_TYPES = (0, 4)
# Decompressed PNG text (zTXt/iTXt) Pillow may read per chunk while we open a
# file; Pillow's own limit (1 MB) refuses photos that viewers open.
MAX_PNG_TEXT_BYTES = 256 * 2**20

_text_limit_lock = threading.Lock()
_text_limit_users = 0
_text_limit_saved: tuple[int, int] | None = None


@contextlib.contextmanager
def _large_png_text() -> Iterator[None]:
    """Raises Pillow's PNG text limits (module globals) while any of our
    reads runs; restored when the last one ends. Other Pillow users in the
    process see the raised limits meanwhile, nothing else."""
    global _text_limit_users, _text_limit_saved
    from PIL import PngImagePlugin

    with _text_limit_lock:
        if _text_limit_users == 0:
            _text_limit_saved = (PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY)
            PngImagePlugin.MAX_TEXT_CHUNK = max(_text_limit_saved[0], MAX_PNG_TEXT_BYTES)
            PngImagePlugin.MAX_TEXT_MEMORY = max(_text_limit_saved[1], 4 * MAX_PNG_TEXT_BYTES)
        _text_limit_users += 1
    try:
        yield
    finally:
        with _text_limit_lock:
            _text_limit_users -= 1
            if _text_limit_users == 0 and _text_limit_saved is not None:
                PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY = _text_limit_saved


def warn(message: str) -> None:
    """One `warning: ...` line on stderr (no Python warning source line)."""
    print(f"warning: {message}", file=sys.stderr, flush=True)


@dataclasses.dataclass
class Image:
    """A decoded photo.

    Attributes:
      rgb: float32 (H, W, 3) in [0, 1], gamma space (sRGB after an ICC
        profile is applied; three equal channels for a grayscale file).
      alpha: float32 (H, W) in [0, 1], or None if the file has no alpha.
      bit_depth: 8 or 16, the precision of the file's samples.
      grayscale: the file was grayscale (results are written as grayscale).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8
    grayscale: bool = False

    @property
    def size(self) -> tuple[int, int]:
        """(height, width)."""
        return self.rgb.shape[0], self.rgb.shape[1]

    def rgba(self) -> np.ndarray:
        """(H, W, 4) with an opaque alpha if the file had none."""
        alpha = np.ones(self.size, np.float32) if self.alpha is None else self.alpha
        return np.concatenate([self.rgb, alpha[..., None]], axis=-1)


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise FileNotFoundError(f"Image not found: '{path}'.")
    if os.path.isdir(path):
        raise IsADirectoryError(f"Expected an image file, got a folder: '{path}'.")


def _orient(array: np.ndarray, orientation: int) -> np.ndarray:
    """Applies an EXIF orientation (1..8) to (H, W, ...) pixels, as a viewer would."""
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, k=-1),
        7: lambda a: np.swapaxes(a[::-1, ::-1], 0, 1),
        8: lambda a: np.rot90(a, k=1),
    }
    return np.ascontiguousarray(ops.get(orientation, ops[1])(array))


def _png_header(path: str) -> tuple[int, int] | None:
    """(bit depth, colour type) of a PNG file, or None for other formats."""
    with open(path, "rb") as f:
        head = f.read(26)
    if len(head) == 26 and head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return head[24], head[25]
    return None


def _open(path: str):
    from PIL import Image as PilImage
    from PIL import UnidentifiedImageError

    _check_file(path)
    try:
        with _large_png_text():
            image = PilImage.open(path)
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"Cannot read image '{path}': not a readable PNG/JPEG ({e}).") from None
    return image


def _orientation(image) -> int:
    try:
        return int(image.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:  # A broken EXIF block should not make a photo unreadable.
        return 1


@dataclasses.dataclass(frozen=True)
class ImageInfo:
    """What the header says: displayed size, alpha, sample precision, grayscale."""

    height: int
    width: int
    has_alpha: bool
    bit_depth: int
    grayscale: bool = False


def image_info(path: str) -> ImageInfo:
    """Reads only the header: size as displayed (EXIF orientation applied),
    whether there is an alpha channel, and the bit depth (8 or 16).

    Raises:
      FileNotFoundError: no file at `path`.
      ValueError: the file is not a readable image.
    """
    from PIL import Image as PilImage
    from PIL import UnidentifiedImageError

    _check_file(path)
    try:
        with _large_png_text(), PilImage.open(path) as image:
            width, height = image.size
            orientation = _orientation(image)
            mode, info = image.mode, dict(image.info)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        raise ValueError(f"Cannot read image '{path}': not a readable PNG/JPEG ({e}).") from None
    header = _png_header(path)
    has_alpha = mode in _ALPHA_MODES or "transparency" in info or (header is not None and header[1] in (4, 6))
    bit_depth = 16 if (header is not None and header[0] == 16) or mode.startswith("I;16") else 8
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return ImageInfo(height, width, has_alpha, bit_depth, _is_gray(mode, header))


def _is_gray(mode: str, header: tuple[int, int] | None) -> bool:
    return mode in _GRAY_MODES or (header is not None and header[1] in _PNG_GRAY_TYPES)


def _is_srgb(profile) -> bool:
    from PIL import ImageCms

    try:
        return "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", "")
    except ImageCms.PyCMSError:
        return False


def _to_srgb(image, path: str):
    """An 8-bit colour Pillow image with its ICC profile applied: RGB or
    RGBA in sRGB (the alpha is kept as is). Without a profile, or with an
    sRGB one, the pixels are only converted to RGB(A)."""
    has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
    icc = image.info.get("icc_profile")
    rgb_mode = "RGBA" if has_alpha else "RGB"
    if not icc or image.mode not in ("RGB", "RGBA", "CMYK", "P", "PA", "RGBa"):
        return image.convert(rgb_mode)
    from PIL import ImageCms

    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
    except (ImageCms.PyCMSError, OSError, ValueError):
        warn(f"'{path}' has an unreadable ICC profile; its colours are read as sRGB.")
        return image.convert(rgb_mode)
    if _is_srgb(profile) and image.mode != "CMYK":
        return image.convert(rgb_mode)
    alpha = image.convert("RGBA").getchannel("A") if has_alpha else None
    source = image if image.mode in ("RGB", "CMYK") else image.convert("RGB")
    try:
        converted = ImageCms.profileToProfile(
            source, profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
        )
    except ImageCms.PyCMSError as e:
        warn(f"cannot apply the ICC profile of '{path}' ({e}); its colours are read as sRGB.")
        converted = source.convert("RGB")
    if alpha is not None:
        converted.putalpha(alpha)
    return converted


def _read_16bit_colour_png(path: str) -> np.ndarray:
    import cv2

    array = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if array is None or array.dtype != np.uint16 or array.ndim != 3:
        raise ValueError(f"Cannot read image '{path}': a corrupt 16-bit PNG.")
    # OpenCV stores BGR(A).
    order = [2, 1, 0, 3] if array.shape[-1] == 4 else [2, 1, 0]
    return array[..., order].astype(np.float32) / 65535.0


def read_image(path: str) -> Image:
    """Reads a PNG/JPEG as float32 RGB in [0, 1] plus an optional alpha.

    Grayscale becomes three equal channels (and `grayscale=True`); palette
    images are expanded; 16-bit samples keep their precision (divided by
    65535); an ICC profile of an 8-bit colour file is converted to sRGB;
    the EXIF orientation is applied.

    Raises:
      FileNotFoundError: no file at `path`.
      ValueError: the file is not a readable image.
    """
    image = _open(path)
    orientation = _orientation(image)
    header = _png_header(path)
    bit_depth = 8
    grayscale = _is_gray(image.mode, header)
    if header is not None and header[0] == 16 and header[1] in (2, 4, 6):  # 16-bit RGB, gray+alpha, RGBA
        array = _read_16bit_colour_png(path)
        bit_depth = 16
    elif image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        array = np.asarray(image, dtype=np.float32)[..., None] / 65535.0
        bit_depth = 16
    elif image.mode == "F":
        array = np.asarray(image, dtype=np.float32)[..., None]
    else:
        has_alpha = image.mode in _ALPHA_MODES or "transparency" in image.info
        if image.mode in ("L", "1") and not has_alpha:
            array = np.asarray(image.convert("L"), dtype=np.float32)[..., None] / 255.0
        elif image.mode in ("LA", "La"):
            array = np.asarray(image.convert("LA"), dtype=np.float32) / 255.0
        else:
            array = np.asarray(_to_srgb(image, path), dtype=np.float32) / 255.0
    array = _orient(np.clip(array, 0.0, 1.0), orientation)
    alpha = array[..., -1] if array.shape[-1] in (2, 4) else None
    rgb = np.repeat(array[..., :1], 3, axis=-1) if array.shape[-1] <= 2 else array[..., :3]
    return Image(np.ascontiguousarray(rgb, np.float32), alpha, bit_depth, grayscale)


def check_output_path(path: str, inputs: list[str] | tuple[str, ...] = ()) -> None:
    """Raises a clear error if `path` cannot take an output frame.

    An output may not be one of the inputs, a folder, or below a file, and
    must end in .png, .jpg or .jpeg.
    """
    files.check_output_file(path, inputs, files.IMAGE_EXTENSIONS)


def to_uint(array: np.ndarray, bit_depth: int = 8) -> np.ndarray:
    """float [0, 1] -> uint8 or uint16, rounded."""
    top = 65535.0 if bit_depth == 16 else 255.0
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    return (np.clip(array, 0.0, 1.0) * top + 0.5).astype(dtype)


def _gray(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) -> (H, W): the channel mean (a grayscale input's result has
    three nearly equal channels; the model's small tint is averaged away)."""
    return rgb.mean(axis=-1)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _write_png_16bit_gray_alpha(path: str, samples: np.ndarray) -> None:
    """uint16 (H, W, 2) gray + alpha as a PNG of colour type 4 (neither
    Pillow nor OpenCV write it)."""
    h, w, _ = samples.shape
    rows = samples.astype(">u2").reshape(h, w * 2)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)
    header = struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(raw, 6))
            + _png_chunk(b"IEND", b"")
        )


def write_image(
    path: str,
    rgb: np.ndarray,
    alpha: np.ndarray | None = None,
    bit_depth: int = 8,
    grayscale: bool = False,
) -> None:
    """Writes float32 RGB (H, W, 3) in [0, 1] (and an optional alpha (H, W)).

    PNG keeps the alpha and 16-bit depth; JPEG is 8-bit (an alpha is dropped
    with one `warning:` line on stderr). `grayscale` writes one channel (the
    mean of the three), as the grayscale file the frames came from. The file
    appears only once fully written.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in files.IMAGE_EXTENSIONS:
        raise ValueError(f"The output '{path}' must end in .png, .jpg or .jpeg.")
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"write_image expects (H, W, 3) pixels, got {rgb.shape}.")
    if ext != ".png":
        if alpha is not None:
            warn(
                f"JPEG has no alpha channel: the transparency of '{path}' is dropped (write a .png to keep it)."
            )
        alpha, bit_depth = None, 8
    colour = _gray(rgb)[..., None] if grayscale else rgb
    pixels = colour if alpha is None else np.concatenate([colour, np.asarray(alpha)[..., None]], axis=-1)
    pixels = to_uint(pixels, bit_depth)
    if pixels.shape[-1] == 1:
        pixels = pixels[..., 0]
    with files.atomic_path(path) as tmp:
        if bit_depth == 16 and pixels.ndim == 3 and pixels.shape[-1] == 2:
            _write_png_16bit_gray_alpha(tmp, pixels)
        elif bit_depth == 16:
            import cv2

            if pixels.ndim == 3:  # OpenCV writes BGR(A).
                pixels = pixels[..., [2, 1, 0, 3] if pixels.shape[-1] == 4 else [2, 1, 0]]
            if not cv2.imwrite(tmp, pixels):
                raise OSError(f"Could not write '{path}'.")
        else:
            from PIL import Image as PilImage

            fmt = "PNG" if ext == ".png" else "JPEG"
            options = {"quality": 95} if fmt == "JPEG" else {}
            PilImage.fromarray(pixels).save(tmp, format=fmt, **options)
