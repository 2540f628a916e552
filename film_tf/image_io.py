"""Reading the photos people have, and writing frames atomically.

Read: PNG or JPEG (anything Pillow opens), 8- or 16-bit, grayscale, palette,
RGB or RGBA, with the EXIF orientation applied, to float32 RGB (H, W, 3) in
[0, 1] plus an optional alpha matte (H, W). 16-bit colour PNGs are decoded
with OpenCV, because Pillow reduces them to 8 bits.

Write: PNG (8- or 16-bit, RGB or RGBA) or JPEG (8-bit RGB), through a
temporary file renamed into place, so an interrupted write never leaves a
partial file.
"""

from __future__ import annotations

import dataclasses
import os
import warnings

import numpy as np

from film_tf import files

_EXIF_ORIENTATION = 0x0112
_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")


@dataclasses.dataclass
class Image:
    """A decoded photo.

    Attributes:
      rgb: float32 (H, W, 3) in [0, 1], gamma space (as stored).
      alpha: float32 (H, W) in [0, 1], or None if the file has no alpha.
      bit_depth: 8 or 16, the precision of the file's samples.
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    bit_depth: int = 8

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
    """What the header says: displayed size, alpha, sample precision."""

    height: int
    width: int
    has_alpha: bool
    bit_depth: int


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
        with PilImage.open(path) as image:
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
    return ImageInfo(height, width, has_alpha, bit_depth)


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

    Grayscale becomes three equal channels; palette images are expanded;
    16-bit samples keep their precision (divided by 65535); the EXIF
    orientation is applied.

    Raises:
      FileNotFoundError: no file at `path`.
      ValueError: the file is not a readable image.
    """
    image = _open(path)
    orientation = _orientation(image)
    header = _png_header(path)
    bit_depth = 8
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
        else:
            array = np.asarray(image.convert("RGBA" if has_alpha else "RGB"), dtype=np.float32) / 255.0
    array = _orient(np.clip(array, 0.0, 1.0), orientation)
    alpha = array[..., 3] if array.shape[-1] == 4 else None
    rgb = np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array[..., :3]
    return Image(np.ascontiguousarray(rgb, np.float32), alpha, bit_depth)


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


def write_image(path: str, rgb: np.ndarray, alpha: np.ndarray | None = None, bit_depth: int = 8) -> None:
    """Writes float32 RGB (H, W, 3) in [0, 1] (and an optional alpha (H, W)).

    PNG keeps the alpha and 16-bit depth; JPEG is 8-bit RGB (an alpha is
    dropped with a warning). The file appears only once fully written.
    """
    ext = os.path.splitext(path)[1].lower()
    if ext not in files.IMAGE_EXTENSIONS:
        raise ValueError(f"The output '{path}' must end in .png, .jpg or .jpeg.")
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[-1] != 3:
        raise ValueError(f"write_image expects (H, W, 3) pixels, got {rgb.shape}.")
    if ext != ".png":
        if alpha is not None:
            warnings.warn(f"JPEG has no alpha; the alpha of '{path}' is dropped.", stacklevel=2)
        alpha, bit_depth = None, 8
    pixels = rgb if alpha is None else np.concatenate([rgb, np.asarray(alpha)[..., None]], axis=-1)
    pixels = to_uint(pixels, bit_depth)
    with files.atomic_path(path) as tmp:
        if bit_depth == 16:
            import cv2

            order = [2, 1, 0, 3] if pixels.shape[-1] == 4 else [2, 1, 0]
            if not cv2.imwrite(tmp, pixels[..., order]):
                raise OSError(f"Could not write '{path}'.")
        else:
            from PIL import Image as PilImage

            fmt = "PNG" if ext == ".png" else "JPEG"
            options = {"quality": 95} if fmt == "JPEG" else {}
            PilImage.fromarray(pixels).save(tmp, format=fmt, **options)
