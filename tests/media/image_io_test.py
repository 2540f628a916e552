"""Reading the photos people have; atomic, lossless writes."""

import os

import cv2
import numpy as np
import pytest
from PIL import Image as PilImage
from PIL import ImageOps

from film_tf.media.image_io import check_output_path, image_info, read_image, write_image


@pytest.fixture
def rgb8():
    return np.random.default_rng(0).integers(0, 256, (12, 20, 3), dtype=np.uint8)


def test_reads_8bit_rgb_png_exactly(tmp_path, rgb8):
    path = str(tmp_path / "a.png")
    PilImage.fromarray(rgb8).save(path)
    image = read_image(path)
    assert image.rgb.dtype == np.float32 and image.rgb.shape == (12, 20, 3)
    np.testing.assert_array_equal(image.rgb, rgb8 / np.float32(255))
    assert image.alpha is None and image.bit_depth == 8


def test_reads_jpeg(tmp_path, rgb8):
    smooth = np.repeat(np.repeat(rgb8[:3, :5], 4, axis=0), 4, axis=1)
    path = str(tmp_path / "a.jpg")
    PilImage.fromarray(smooth).save(path, quality=100, subsampling=0)  # 4:4:4
    image = read_image(path)
    assert image.rgb.shape == (12, 20, 3)
    assert np.abs(image.rgb - smooth / 255.0).mean() < 0.01


def test_grayscale_becomes_three_equal_channels(tmp_path, rgb8):
    path = str(tmp_path / "g.png")
    PilImage.fromarray(rgb8[..., 0]).save(path)
    image = read_image(path)
    for c in range(3):
        np.testing.assert_array_equal(image.rgb[..., c], rgb8[..., 0] / np.float32(255))


def test_16bit_grayscale_keeps_precision(tmp_path):
    gray = np.random.default_rng(1).integers(0, 65536, (9, 7), dtype=np.uint16)
    path = str(tmp_path / "g16.png")
    cv2.imwrite(path, gray)
    image = read_image(path)
    assert image.bit_depth == 16 and image_info(path).bit_depth == 16
    np.testing.assert_allclose(image.rgb[..., 1], gray / 65535.0, atol=1e-7)


@pytest.mark.parametrize("channels", [3, 4])
def test_16bit_colour_keeps_precision_and_channel_order(tmp_path, channels):
    pixels = np.random.default_rng(2).integers(0, 65536, (9, 7, channels), dtype=np.uint16)
    path = str(tmp_path / "c16.png")
    bgr = pixels[..., [2, 1, 0, 3][:channels]]
    cv2.imwrite(path, bgr)
    image = read_image(path)
    assert image.bit_depth == 16
    np.testing.assert_allclose(image.rgb, pixels[..., :3] / 65535.0, atol=1e-7)
    if channels == 4:
        np.testing.assert_allclose(image.alpha, pixels[..., 3] / 65535.0, atol=1e-7)
    else:
        assert image.alpha is None


def test_rgba_and_palette_transparency_give_alpha(tmp_path, rgb8):
    alpha = np.random.default_rng(3).integers(0, 256, (12, 20), dtype=np.uint8)
    path = str(tmp_path / "rgba.png")
    PilImage.fromarray(np.dstack([rgb8, alpha])).save(path)
    image = read_image(path)
    np.testing.assert_array_equal(image.alpha, alpha / np.float32(255))
    np.testing.assert_array_equal(image.rgb, rgb8 / np.float32(255))
    assert image_info(path).has_alpha

    palette = PilImage.fromarray(rgb8).convert("P", palette=PilImage.Palette.ADAPTIVE, colors=8)
    palette.info["transparency"] = 0
    ppath = str(tmp_path / "p.png")
    palette.save(ppath, transparency=0)
    image = read_image(ppath)
    index = np.asarray(PilImage.open(ppath))
    np.testing.assert_array_equal(image.alpha == 0, index == 0)
    assert image.rgba().shape == (12, 20, 4)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, rgb8, orientation):
    path = str(tmp_path / "o.png")
    exif = PilImage.Exif()
    exif[0x0112] = orientation
    PilImage.fromarray(rgb8).save(path, exif=exif)
    expected = np.asarray(ImageOps.exif_transpose(PilImage.open(path)))
    image = read_image(path)
    np.testing.assert_array_equal(image.rgb, expected / np.float32(255))
    info = image_info(path)
    assert (info.height, info.width) == expected.shape[:2]
    assert expected.shape[:2] == ((20, 12) if orientation >= 5 else (12, 20))


def test_read_errors_are_clear(tmp_path):
    with pytest.raises(FileNotFoundError, match="Image not found"):
        read_image(str(tmp_path / "missing.png"))
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.raises(ValueError, match="Cannot read image"):
        read_image(str(corrupt))
    with pytest.raises(ValueError, match="Cannot read image"):
        image_info(str(corrupt))
    text = tmp_path / "notes.jpg"
    text.write_text("not an image")
    with pytest.raises(ValueError, match="Cannot read image"):
        read_image(str(text))
    with pytest.raises(IsADirectoryError):
        read_image(str(tmp_path))


@pytest.mark.parametrize("bit_depth", [8, 16])
@pytest.mark.parametrize("with_alpha", [False, True])
def test_write_round_trips(tmp_path, bit_depth, with_alpha):
    rng = np.random.default_rng(4)
    top = 2**bit_depth - 1
    rgb = rng.integers(0, top + 1, (10, 6, 3)) / top
    alpha = rng.integers(0, top + 1, (10, 6)) / top if with_alpha else None
    path = str(tmp_path / "out" / "w.png")
    write_image(path, rgb, alpha, bit_depth)
    image = read_image(path)
    assert image.bit_depth == bit_depth
    np.testing.assert_allclose(image.rgb, rgb, atol=1e-6)
    if with_alpha:
        np.testing.assert_allclose(image.alpha, alpha, atol=1e-6)
    assert os.listdir(tmp_path / "out") == ["w.png"]  # no temporary left behind


def test_failed_write_leaves_nothing(tmp_path):
    path = tmp_path / "w.png"
    path.write_bytes(b"old")
    with pytest.raises(ValueError):
        write_image(str(path), np.zeros((4, 4, 2)))  # not RGB: refused before writing
    assert path.read_bytes() == b"old"
    with pytest.raises(ValueError, match=r"\.png"):
        write_image(str(tmp_path / "w.bmp"), np.zeros((4, 4, 3)))
    assert sorted(os.listdir(tmp_path)) == ["w.png"]


def test_output_path_checks(tmp_path):
    a = tmp_path / "a.png"
    a.write_bytes(b"x")
    with pytest.raises(ValueError, match="is an input"):
        check_output_path(str(a), [str(a)])
    with pytest.raises(ValueError, match="is an input"):
        check_output_path(str(tmp_path / "." / "a.png"), [str(a)])
    with pytest.raises(IsADirectoryError):
        check_output_path(str(tmp_path), [])
    with pytest.raises(NotADirectoryError, match="is a file"):
        check_output_path(str(a / "sub" / "out.png"), [])
    with pytest.raises(ValueError, match=r"\.png"):
        check_output_path(str(tmp_path / "out.tif"), [])
    check_output_path(str(tmp_path / "new" / "out.png"), [str(a)])


def _png_16bit_gray_alpha(path, samples):
    """A 16-bit gray + alpha PNG (colour type 4), written by hand: Pillow cannot."""
    import struct
    import zlib

    h, w, _ = samples.shape
    data = samples.astype(">u2")
    raw = b"".join(b"\x00" + data[y].tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", w, h, 16, 4, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(raw))
            + chunk(b"IEND", b"")
        )


def test_16bit_gray_with_alpha(tmp_path):
    samples = np.random.default_rng(5).integers(0, 65536, (5, 4, 2))
    path = str(tmp_path / "ga16.png")
    _png_16bit_gray_alpha(path, samples)
    image = read_image(path)
    assert image.bit_depth == 16 and image_info(path).has_alpha
    np.testing.assert_allclose(image.rgb, np.repeat(samples[..., :1], 3, -1) / 65535.0, atol=1e-7)
    np.testing.assert_allclose(image.alpha, samples[..., 1] / 65535.0, atol=1e-7)
