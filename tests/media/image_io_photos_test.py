"""Photos as people have them (issue 19): big metadata chunks, ICC profiles,
grayscale in -> grayscale out, 16 bits in -> 16 bits out, RGBA to JPEG.

Every file is made here. The fake interpolator returns the mean of the two
frames plus a small colour tint, as the model does on gray inputs.
"""

from __future__ import annotations

import io
import struct
import warnings

import cv2
import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageCms, PngImagePlugin

from film_tf.cli import interpolate
from film_tf.media import image_io
from film_tf.media.image_io import image_info, read_image, write_image

TEXT_BYTES = 3 * 2**20  # 3 MB of XMP-like text: over Pillow's 1 MB limit


@pytest.fixture
def rgb8():
    return np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)


@pytest.mark.parametrize("chunk", ["zTXt", "iTXt"])
def test_png_with_a_multi_megabyte_text_chunk_opens(tmp_path, rgb8, chunk):
    text = "<x:xmpmeta>" + "photo editor metadata " * (TEXT_BYTES // 22) + "</x:xmpmeta>"
    info = PngImagePlugin.PngInfo()
    if chunk == "zTXt":
        info.add_text("Raw profile type xmp", text, zip=True)
    else:
        info.add_itxt("XML:com.adobe.xmp", text, zip=True)
    path = str(tmp_path / "photo.png")
    PilImage.fromarray(rgb8).save(path, pnginfo=info)
    with open(path, "rb") as f:
        assert chunk.encode() in f.read()
    limits = (PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY)
    with pytest.raises(ValueError, match="Decompressed"):  # what the issue met
        PilImage.open(path).load()

    image = read_image(path)
    np.testing.assert_array_equal(image.rgb, rgb8 / np.float32(255))
    assert (image_info(path).width, image_info(path).height) == (20, 12)
    # Pillow's limits are back for everyone else.
    assert (PngImagePlugin.MAX_TEXT_CHUNK, PngImagePlugin.MAX_TEXT_MEMORY) == limits


def _swapped_profile() -> bytes:
    """An RGB ICC profile whose first two channels are sRGB's green and red
    primaries (sRGB's own tags, rXYZ and gXYZ swapped; renamed so it is not
    taken for sRGB): converting its pixels to sRGB swaps channels 0 and 1."""
    data = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    count = struct.unpack(">I", data[128:132])[0]
    entries = {bytes(data[132 + 12 * i : 136 + 12 * i]): 132 + 12 * i for i in range(count)}
    r, g = entries[b"rXYZ"], entries[b"gXYZ"]
    data[r + 4 : r + 12], data[g + 4 : g + 12] = data[g + 4 : g + 12], data[r + 4 : r + 12]
    swapped = bytes(data).replace("sRGB".encode("utf-16-be"), "swap".encode("utf-16-be"))
    assert "srgb" not in ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(swapped))).lower()
    return swapped


def test_icc_tagged_jpeg_is_converted_to_srgb(tmp_path, rgb8):
    smooth = np.repeat(np.repeat(rgb8[:3, :5], 4, axis=0), 4, axis=1)
    path = str(tmp_path / "tagged.jpg")
    PilImage.fromarray(smooth).save(path, quality=100, subsampling=0, icc_profile=_swapped_profile())
    untagged = str(tmp_path / "plain.jpg")
    PilImage.fromarray(smooth).save(untagged, quality=100, subsampling=0)
    stored = read_image(untagged).rgb  # the same JPEG samples, no profile
    image = read_image(path)
    np.testing.assert_allclose(image.rgb, stored[..., [1, 0, 2]], atol=2.5 / 255)
    assert np.abs(image.rgb - stored).max() > 0.2  # the profile did change the colours


def test_icc_tagged_rgba_png_keeps_its_alpha_and_an_srgb_profile_changes_nothing(tmp_path, rgb8):
    alpha = np.random.default_rng(1).integers(0, 256, (12, 20), dtype=np.uint8)
    path = str(tmp_path / "tagged.png")
    PilImage.fromarray(np.dstack([rgb8, alpha])).save(path, icc_profile=_swapped_profile())
    image = read_image(path)
    np.testing.assert_array_equal(image.alpha, alpha / np.float32(255))
    np.testing.assert_allclose(image.rgb, rgb8[..., [1, 0, 2]] / 255.0, atol=2.5 / 255)

    srgb = str(tmp_path / "srgb.png")
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    PilImage.fromarray(rgb8).save(srgb, icc_profile=icc)
    np.testing.assert_array_equal(read_image(srgb).rgb, rgb8 / np.float32(255))


class TintedMean:
    """The two frames' mean plus a colour tint of +-`tint` (R up, B down)."""

    def __init__(self, tint: float = 0.03):
        self.tint = np.array([tint, 0.0, -tint], np.float32)

    def __call__(self, x0, x1, time=0.5):
        mid = (np.asarray(x0) + np.asarray(x1)) / 2
        mid[..., :3] += self.tint
        return np.clip(mid, 0.0, 1.0)


def _gray_pair(tmp_path, bit_depth: int):
    rng = np.random.default_rng(2)
    top = 2**bit_depth - 1
    dtype = np.uint16 if bit_depth == 16 else np.uint8
    low, high = int(0.1 * top), int(0.9 * top)  # the tint is not clipped
    a = rng.integers(low, high, (16, 24)).astype(dtype)
    b = rng.integers(low, high, (16, 24)).astype(dtype)
    paths = []
    for name, pixels in (("a.png", a), ("b.png", b)):
        path = str(tmp_path / name)
        cv2.imwrite(path, pixels)  # gray PNG (colour type 0) of this depth
        paths.append(path)
    return paths, (a.astype(np.float64) + b) / 2 / top


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_a_grayscale_pair_gives_a_grayscale_middle_frame(tmp_path, bit_depth):
    (a, b), expected = _gray_pair(tmp_path, bit_depth)
    assert read_image(a).grayscale and image_info(a).grayscale and image_info(a).bit_depth == bit_depth
    out = str(tmp_path / "mid.png")
    interpolate.run(a, b, out, TintedMean)
    written = cv2.imread(out, cv2.IMREAD_UNCHANGED)
    assert written.ndim == 2  # one channel: no tint can show
    assert written.dtype == (np.uint16 if bit_depth == 16 else np.uint8)
    top = 2**bit_depth - 1
    # The mean over channels cancels the +-tint: the frames' mean, to rounding.
    np.testing.assert_allclose(written / top, expected, atol=1.0 / top)
    assert read_image(out).grayscale


def test_a_grayscale_jpeg_pair_gives_a_grayscale_jpeg(tmp_path):
    smooth = np.repeat(np.repeat(np.arange(0, 240, 20, dtype=np.uint8).reshape(3, 4), 8, 0), 8, 1)
    a, b = str(tmp_path / "a.jpg"), str(tmp_path / "b.jpg")
    PilImage.fromarray(smooth).save(a, quality=100)
    PilImage.fromarray(smooth[::-1]).save(b, quality=100)
    out = str(tmp_path / "mid.jpg")
    interpolate.run(a, b, out, TintedMean)
    with PilImage.open(out) as written:
        assert written.mode == "L"


def test_gray_and_colour_pair_gives_colour(tmp_path, rgb8):
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    PilImage.fromarray(rgb8[..., 0]).save(a)
    PilImage.fromarray(rgb8).save(b)
    out = str(tmp_path / "mid.png")
    interpolate.run(a, b, out, TintedMean)
    with PilImage.open(out) as written:
        assert written.mode == "RGB"


def test_a_16bit_colour_pair_stays_16bit(tmp_path):
    rng = np.random.default_rng(3)
    frames = [rng.integers(2000, 60000, (8, 12, 3), dtype=np.uint16) for _ in range(2)]
    paths = [str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    for path, pixels in zip(paths, frames):
        cv2.imwrite(path, pixels[..., ::-1])
    out = str(tmp_path / "mid.png")
    interpolate.run(*paths, out, lambda: TintedMean(0.0))
    written = cv2.imread(out, cv2.IMREAD_UNCHANGED)[..., ::-1]
    assert written.dtype == np.uint16 and written.shape == (8, 12, 3)
    expected = (frames[0].astype(np.float64) + frames[1]) / 2
    np.testing.assert_allclose(written, expected, atol=1.0)


@pytest.mark.parametrize("bit_depth", [8, 16])
def test_grayscale_with_alpha_round_trips(tmp_path, bit_depth):
    rng = np.random.default_rng(4)
    top = 2**bit_depth - 1
    gray = rng.integers(0, top + 1, (10, 6)) / top
    alpha = rng.integers(0, top + 1, (10, 6)) / top
    path = str(tmp_path / "ga.png")
    write_image(path, np.repeat(gray[..., None], 3, -1), alpha, bit_depth, grayscale=True)
    with open(path, "rb") as f:
        head = f.read(26)
    assert (head[24], head[25]) == (bit_depth, 4)  # PNG gray + alpha of this depth
    image = read_image(path)
    assert image.grayscale and image.bit_depth == bit_depth
    np.testing.assert_allclose(image.rgb[..., 2], gray, atol=1e-6)
    np.testing.assert_allclose(image.alpha, alpha, atol=1e-6)


def test_rgba_to_jpeg_is_one_clean_warning_line(tmp_path, rgb8, capfd):
    alpha = np.full((12, 20), 0.5)
    path = str(tmp_path / "out.jpg")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        write_image(path, rgb8 / 255.0, alpha)
    assert caught == []  # no Python UserWarning (with its file and line)
    err = capfd.readouterr().err
    assert err.splitlines() == [
        f"warning: JPEG has no alpha channel: the transparency of '{path}' is dropped "
        "(write a .png to keep it)."
    ]
    with PilImage.open(path) as written:
        assert written.mode == "RGB"


def test_rgba_pair_to_jpeg_through_film_interpolate(tmp_path, rgb8, capfd):
    alpha = np.random.default_rng(5).integers(0, 256, (12, 20), dtype=np.uint8)
    a, b = str(tmp_path / "a.png"), str(tmp_path / "b.png")
    PilImage.fromarray(np.dstack([rgb8, alpha])).save(a)
    PilImage.fromarray(np.dstack([rgb8[::-1], alpha])).save(b)
    out = str(tmp_path / "mid.jpg")
    interpolate.run(a, b, out, TintedMean)
    assert capfd.readouterr().err.count("\n") == 1
    assert image_io.read_image(out).alpha is None
