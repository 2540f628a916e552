"""film_tf.files: atomic files and folders, output checks, natural order."""

import json
import os
import stat

import pytest

from film_tf import files


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def test_natural_key_orders_numbers_by_value_and_ignores_case():
    names = ["frame10.png", "Frame2.png", "frame1.png", "a", "frame02b"]
    assert sorted(names, key=files.natural_key) == [
        "a",
        "frame1.png",
        "Frame2.png",
        "frame02b",
        "frame10.png",
    ]


def test_list_images_and_folders(tmp_path):
    for name in ("f10.png", "f2.JPG", "f1.jpeg", "notes.txt", "f3.gif"):
        (tmp_path / name).write_text("x")
    (tmp_path / "dir.png").mkdir()  # a folder named like an image is not listed
    (tmp_path / "clip10").mkdir()
    (tmp_path / "clip9").mkdir()
    assert files.list_images(str(tmp_path)) == [str(tmp_path / n) for n in ("f1.jpeg", "f2.JPG", "f10.png")]
    assert files.list_folders(str(tmp_path)) == ["clip9", "clip10", "dir.png"]


def test_atomic_path_renames_on_success_and_cleans_up_on_failure(tmp_path):
    target = tmp_path / "sub" / "out.txt"
    with files.atomic_path(str(target)) as tmp:
        assert os.path.dirname(tmp) == str(tmp_path / "sub") and tmp.endswith(".tmp.txt")
        assert os.path.basename(tmp).startswith(".out.")
        with open(tmp, "w") as f:
            f.write("new")
        assert not target.exists()
    assert target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~_umask()
    with pytest.raises(RuntimeError):
        with files.atomic_path(str(target)) as tmp:
            with open(tmp, "w") as f:
                f.write("partial")
            raise RuntimeError("boom")
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path / "sub")) == ["out.txt"]


def test_atomic_path_keep_name_gives_the_exact_file_name(tmp_path):
    target = tmp_path / "model.weights.h5"
    with files.atomic_path(str(target), keep_name=True) as tmp:
        assert os.path.basename(tmp) == "model.weights.h5" and tmp != str(target)
        with open(tmp, "w") as f:
            f.write("w")
    assert target.read_text() == "w"
    with pytest.raises(ValueError):
        with files.atomic_path(str(target), keep_name=True) as tmp:
            with open(tmp, "w") as f:
                f.write("partial")
            raise ValueError("boom")
    assert target.read_text() == "w"
    assert os.listdir(tmp_path) == ["model.weights.h5"]


def test_write_text_and_json_atomic(tmp_path):
    files.write_text_atomic(str(tmp_path / "a.txt"), "héllo\n")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "héllo\n"
    files.write_json_atomic(str(tmp_path / "b.json"), {"x": [1, 2]})
    assert (tmp_path / "b.json").read_text() == json.dumps({"x": [1, 2]}, indent=1)
    assert sorted(os.listdir(tmp_path)) == ["a.txt", "b.json"]


def test_check_output_file(tmp_path):
    source = tmp_path / "in.png"
    source.write_text("x")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    files.check_output_file(str(tmp_path / "new" / "out.png"), [str(source)], files.IMAGE_EXTENSIONS)
    with pytest.raises(ValueError, match="is an input"):
        files.check_output_file(str(tmp_path / "." / "in.png"), [str(source)])
    with pytest.raises(IsADirectoryError, match="give a file name such as out.mp4"):
        files.check_output_file(str(tmp_path), extensions=(".mp4",), what="output video")
    with pytest.raises(ValueError, match=r"must end in \.png, \.jpg or \.jpeg\.$"):
        files.check_output_file(str(tmp_path / "out.bmp"), extensions=files.IMAGE_EXTENSIONS)
    with pytest.raises(NotADirectoryError, match="Cannot write .* is a file, not a folder"):
        files.check_output_file(str(a_file / "deeper" / "out.png"))


def test_check_output_folder(tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "keep").write_text("x")
    (tmp_path / "empty").mkdir()
    files.check_output_folder(str(tmp_path / "new" / "folder"))
    files.check_output_folder(str(tmp_path / "empty"), overwrite=False)
    files.check_output_folder(str(full), overwrite=True)
    with pytest.raises(FileExistsError, match="not empty; pass overwrite"):
        files.check_output_folder(str(full), overwrite=False)
    for error in (NotADirectoryError, FileExistsError):
        with pytest.raises(error, match="is a file, not a directory"):
            files.check_output_folder(str(a_file))
    with pytest.raises(NotADirectoryError, match="Cannot create"):
        files.check_output_folder(str(a_file / "sub"))


def test_atomic_folder_publishes_replaces_and_cleans_up(tmp_path):
    target = tmp_path / "out"
    with files.atomic_folder(str(target)) as tmp:
        assert os.path.basename(tmp).startswith(".out.") and os.listdir(tmp) == []
        (open(os.path.join(tmp, "a"), "w")).close()
        assert not target.exists()
    assert os.listdir(target) == ["a"]
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o777 & ~_umask()
    # Replacing: the old content is gone, the new is complete.
    with files.atomic_folder(str(target)) as tmp:
        (open(os.path.join(tmp, "b"), "w")).close()
    assert os.listdir(target) == ["b"]
    # Failure: the previous folder stays as it was, no temporaries remain.
    with pytest.raises(RuntimeError):
        with files.atomic_folder(str(target)) as tmp:
            (open(os.path.join(tmp, "c"), "w")).close()
            raise RuntimeError("boom")
    assert os.listdir(target) == ["b"]
    with pytest.raises(FileExistsError, match="overwrite"):
        with files.atomic_folder(str(target), overwrite=False):
            pass
    assert os.listdir(tmp_path) == ["out"]


def test_publish_folder_restores_the_old_folder_if_the_rename_fails(tmp_path, monkeypatch):
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("x")
    new = tmp_path / ".new"
    new.mkdir()
    real_rename = os.rename

    def failing_rename(src, dst):
        if src == str(new):
            raise OSError("disk full")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(OSError, match="disk full"):
        files.publish_folder(str(new), str(target))
    assert os.listdir(target) == ["old"]
    assert sorted(os.listdir(tmp_path)) == [".new", "out"]


# /proc takes no new files (ENOENT, even for root, whose permissions are not checked).
needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")


@needs_proc
def test_check_output_file_probes_that_a_file_can_be_created():
    with pytest.raises(files.NotWritableError) as raised:
        files.check_output_file("/proc/new/out.png")
    assert str(raised.value) == (
        "Cannot write '/proc/new/out.png': no file can be created in '/proc' (No such file or directory)."
    )
    assert isinstance(raised.value, PermissionError)  # The binaries' one-line errors.


def test_check_writable_leaves_no_probe_behind(tmp_path):
    files.check_output_file(str(tmp_path / "a" / "out.png"))
    files.check_output_folder(str(tmp_path / "b"))
    assert os.listdir(tmp_path) == []


@needs_proc
def test_atomic_writes_name_the_users_path_never_the_temporary_file():
    for keep_name in (False, True):
        with pytest.raises(files.NotWritableError) as raised:
            with files.atomic_path("/proc/out.weights.h5", keep_name=keep_name):
                raise AssertionError("not reached")
        assert str(raised.value) == (
            "Cannot write '/proc/out.weights.h5': no file can be created in '/proc' (No such file or directory)."
        )
    with pytest.raises(
        files.NotWritableError, match=r"^Cannot create '/proc/folder': no file can be created in"
    ):
        with files.atomic_folder("/proc/folder"):
            raise AssertionError("not reached")
