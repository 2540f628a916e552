"""film_tf.runtime.padding: numpy and TensorFlow padding agree, and cropping undoes them."""

import numpy as np
import pytest
import tensorflow as tf

from film_tf.runtime import padding

# Odd sizes; 1 (edge padding), 2 and 3 with alignment 16 need many
# reflections (pad 13-15 of a 2-3 pixel axis); 37 x 70 with 64 needs two.
SIZES = [(101, 77), (1, 5), (5, 1), (3, 2), (2, 3), (32, 48), (7, 40), (37, 70), (1, 1), (16, 17)]


@pytest.mark.parametrize("height,width", SIZES)
@pytest.mark.parametrize("alignment", [16, 64])
def test_numpy_and_tf_padding_are_equal_and_crop_back_exactly(height, width, alignment):
    x = np.random.default_rng(height * 1000 + width).random((2, height, width, 3), dtype=np.float32)
    ours, box = padding.pad_to_alignment(x, alignment)
    theirs, tf_box = padding.pad_to_alignment_tf(tf.constant(x), alignment)
    np.testing.assert_array_equal(theirs.numpy(), ours)
    assert ours.shape[1:3] == padding.padded_size(height, width, alignment)
    assert ours.shape[1] % alignment == 0 and ours.shape[2] % alignment == 0
    rows, cols = box
    assert [int(v) for v in tf_box] == [rows.start, cols.start, height, width]
    np.testing.assert_array_equal(padding.crop(ours, box), x)
    np.testing.assert_array_equal(padding.crop_tf(theirs, tf_box).numpy(), x)


def test_padding_values_reflect_repeatedly_and_centre():
    # A 3-pixel row to 8: 2 before, 3 after, reflected about the end pixels
    # (not repeating them), bouncing again past the far end.
    row = np.array([0.0, 1.0, 2.0], np.float32).reshape(1, 1, 3, 1)
    row = np.repeat(row, 2, axis=1)  # H = 2 so reflection (not edge) applies.
    padded, (_, cols) = padding.pad_to_alignment(row, 8)
    np.testing.assert_array_equal(padded[0, 0, :, 0], [2, 1, 0, 1, 2, 1, 0, 1])
    assert (cols.start, cols.stop) == (2, 5)
    assert padding.padding_amounts(2, 3, 8) == (3, 3, 2, 3)
    tf_padded, _ = padding.pad_to_alignment_tf(tf.constant(row), 8)
    np.testing.assert_array_equal(tf_padded.numpy()[0, 0, :, 0], [2, 1, 0, 1, 2, 1, 0, 1])


def test_one_pixel_side_is_edge_padded():
    x = np.array([[1.0, 2.0, 3.0]], np.float32).reshape(1, 1, 3, 1)
    padded, _ = padding.pad_to_alignment(x, 4)
    # Rows: 1 -> 4 (1 before, 2 after), columns 3 -> 4 (0 before, 1 after), edge.
    np.testing.assert_array_equal(padded[0, :, :, 0], [[1, 2, 3, 3]] * 4)
    tf_padded, _ = padding.pad_to_alignment_tf(tf.constant(x), 4)
    np.testing.assert_array_equal(tf_padded.numpy(), padded)


def test_aligned_input_is_returned_unchanged():
    x = np.zeros((1, 32, 16, 3), np.float32)
    padded, box = padding.pad_to_alignment(x, 16)
    assert padded is x
    assert box == (slice(0, 32), slice(0, 16))


def test_tf_padding_traces_with_dynamic_sizes():
    pad = tf.function(
        lambda images: padding.crop_tf(*padding.pad_to_alignment_tf(images, 16)),
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
    )
    for height, width in [(5, 9), (33, 17)]:
        x = np.random.default_rng(0).random((1, height, width, 3), dtype=np.float32)
        np.testing.assert_array_equal(pad(tf.constant(x)).numpy(), x)
    padded = tf.function(
        lambda images: padding.pad_to_alignment_tf(images, 16)[0],
        input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
    )(tf.zeros((1, 5, 9, 3)))
    assert padded.shape == (1, 16, 16, 3)
