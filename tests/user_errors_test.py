"""film_tf.user_errors: one line per user mistake."""

from film_tf.user_errors import error_line


def test_error_line_is_one_line_for_each_kind_of_error():
    missing = FileNotFoundError(2, "No such file or directory", "/x/frame.png")
    assert error_line(missing) == "No such file or directory: '/x/frame.png'"
    assert error_line(ValueError("first line\n  second   line")) == "first line second line"
    assert error_line(KeyError()) == "KeyError"
