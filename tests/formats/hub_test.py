"""Model handles (film_tf.formats.hub): TF Hub compressed-format URLs served by
a local HTTP server on 127.0.0.1, Hugging Face handles from huggingface_hub's
cache. No test reaches the internet.

The served archives are what TF Hub serves: a .tar.gz of a SavedModel folder
(saved_model.pb and variables/) at the archive's top, here the official tiny
reference model's variables saved as a real SavedModel in the official key
layout (`variables/<N>/.ATTRIBUTES/VARIABLE_VALUE`).
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from importlib.util import find_spec

import numpy as np
import pytest
from PIL import Image as PilImage

from film_tf.formats import downloads, hub, model_io
from film_tf.formats.official_weights import official_variable_specs, read_official_checkpoint
from film_tf.media.image_io import read_image, to_uint
from film_tf.model.options import Options
from tests.conftest import reference_dir, reference_options, video_frames

# The [hub] extra (also in the test extra); looked up, not imported, at collection.
needs_tfhub = pytest.mark.skipif(find_spec("tensorflow_hub") is None, reason="needs tensorflow_hub")
needs_hf = pytest.mark.skipif(find_spec("huggingface_hub") is None, reason="needs huggingface_hub")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = reference_dir("film_official_tiny")
TINY_OPTIONS = os.path.join(TINY, "config.json")
HINT = "the model can also be passed as a local folder: see README"


def _saved_model(folder: str, values: list[np.ndarray]) -> None:
    """A SavedModel whose checkpoint holds `values` as variables/<N>, the official layout."""
    import tensorflow as tf

    tf.saved_model.save(tf.train.Checkpoint(variables=[tf.Variable(v) for v in values]), folder)


def _targz(folder: str) -> bytes:
    """`folder`'s contents at the top of a .tar.gz, as TF Hub's compressed format has them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in sorted(os.listdir(folder)):
            tar.add(os.path.join(folder, name), arcname=name)
    return buffer.getvalue()


class _Local:
    """An HTTP server on 127.0.0.1 (a free port) in a thread, quiet, until `stop`."""

    def _serve(self, handler: type) -> None:
        handler.log_message = lambda *args: None
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


class Server(_Local):
    """A TF Hub-like file server on 127.0.0.1: `files` maps a URL path to bytes;
    `compressed_only` paths answer only with `?tf-hub-format=compressed` (as
    tfhub.dev does); `slow` paths wait before sending (to overlap two clients)."""

    def __init__(self, files: dict[str, bytes], compressed_only=(), slow=()):
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                path, _, query = self.path.partition("?")
                body = files.get(path)
                if body is None or (path in compressed_only and query != "tf-hub-format=compressed"):
                    self.send_error(404)
                    return
                if path in slow:
                    time.sleep(2)
                self.send_response(200)
                self.send_header("Content-Type", "application/x-tar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._serve(Handler)


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    root = tmp_path_factory.mktemp("archives")
    values = read_official_checkpoint(TINY)
    _saved_model(str(root / "tiny"), values)
    _saved_model(str(root / "other"), [np.zeros((3, 3), np.float32)])  # a SavedModel, not FILM
    tiny = _targz(str(root / "tiny"))
    # The same SavedModel cut short and changed (a damaged copy on the server).
    data = "variables/variables.data-00000-of-00001"
    for name, damage in (
        ("cut", lambda b: b[: len(b) // 2]),
        ("changed", lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:]),
    ):
        shutil.copytree(root / "tiny", root / name)
        (root / name / data).write_bytes(damage((root / "tiny" / data).read_bytes()))
    return {
        "/files/cut.tar.gz": _targz(str(root / "cut")),
        "/files/changed.tar.gz": _targz(str(root / "changed")),
        "/google/film-tiny/1": tiny,
        "/files/tiny.tar.gz": tiny,
        "/files/slow.tar.gz": tiny,
        "/files/truncated.tar.gz": tiny[: len(tiny) * 2 // 3],
        "/files/other.tar.gz": _targz(str(root / "other")),
    }


@pytest.fixture
def server(archives):
    s = Server(archives, compressed_only=("/google/film-tiny/1",), slow=("/files/slow.tar.gz",))
    yield s
    s.stop()


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    root = tmp_path_factory.mktemp("frames")
    paths = []
    for i, frame in enumerate(video_frames("carphone_pristine.mp4", 0, 2, step=4)):
        paths.append(str(root / f"f{i}.png"))
        PilImage.fromarray(frame).save(paths[-1])
    return paths


@pytest.fixture(scope="module")
def local_middle(frames):
    """The middle frame film-interpolate writes with the tiny folder passed locally."""
    from film_tf.runtime.inference import Interpolator

    api = Interpolator(TINY, options=reference_options("film_official_tiny"))
    return to_uint(api(read_image(frames[0]).rgb, read_image(frames[1]).rgb))


def _env(tmp_path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "FILM_TF_VERBOSE")}
    env.update(TFHUB_CACHE_DIR=str(tmp_path / "tfhub"), HF_HOME=str(tmp_path / "hf"), PYTHONPATH=ROOT)
    env.update(extra)
    return env


def interpolate(model: str, frames, out, env, *extra) -> subprocess.CompletedProcess:
    """film-interpolate with the tiny model's options, in float32 (exact)."""
    return subprocess.run(
        [sys.executable, "-m", "film_tf.cli.interpolate", f"--frame1={frames[0]}", f"--frame2={frames[1]}",
         f"--output_frame={out}", f"--model_path={model}", f"--options_json={TINY_OPTIONS}",
         "--precision=float32", *extra],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def cache_entries(tmp_path) -> list[str]:
    folder = tmp_path / "tfhub"
    return sorted(os.listdir(folder)) if folder.exists() else []


# ------------------------------------------------------------------ TF Hub


@needs_tfhub
def test_url_model_equals_the_local_folder_and_the_second_run_needs_no_server(
    server, frames, local_middle, tmp_path
):
    url = f"{server.url}/google/film-tiny/1"
    env = _env(tmp_path)
    result = interpolate(url, frames, tmp_path / "first.png", env)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.asarray(PilImage.open(tmp_path / "first.png")), local_middle)
    # Cached where tensorflow_hub caches it: <TFHUB_CACHE_DIR>/sha1(url), the SavedModel inside.
    module = hashlib.sha1(url.encode()).hexdigest()
    assert cache_entries(tmp_path) == [module, f"{module}.descriptor.txt"]
    assert sorted(os.listdir(tmp_path / "tfhub" / module)) == sorted(["assets", "fingerprint.pb",
                                                                     "saved_model.pb", "variables"])  # fmt: skip
    assert server.requests == ["/google/film-tiny/1?tf-hub-format=compressed"]
    server.stop()
    result = interpolate(url, frames, tmp_path / "second.png", env)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.asarray(PilImage.open(tmp_path / "second.png")), local_middle)


@needs_tfhub
def test_python_api_takes_a_url(server, frames, local_middle, tmp_path, monkeypatch):
    """film_tf.load_model and film_tf.Interpolator resolve a plain .tar.gz URL the same way."""
    import film_tf

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    monkeypatch.setattr(hub, "_resolved", {})
    url = f"{server.url}/files/tiny.tar.gz"
    options = reference_options("film_official_tiny")
    api = film_tf.Interpolator(url, options=options)
    np.testing.assert_array_equal(to_uint(api(read_image(frames[0]).rgb, read_image(frames[1]).rgb)),
                                  local_middle)  # fmt: skip
    model = film_tf.load_model(url, options=options)
    local = film_tf.load_model(TINY, options=options)
    for ours, theirs in zip(model.weights, local.weights):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert server.requests == ["/files/tiny.tar.gz?tf-hub-format=compressed"]  # downloaded once


@needs_tfhub
@pytest.mark.parametrize(
    "name, message",
    [
        ("missing.tar.gz", r"could not download {url} \(HTTP 404 Not Found\); {hint}"),
        ("truncated.tar.gz", r"could not download {url} \(not a complete \.tar\.gz archive: .+\); {hint}"),
        (
            "other.tar.gz",
            r"'{url}' is not a FILM model \(Checkpoint has 1 variables, but a film_net with options "
            r"\{{.+\}} has {n}; the options do not match the checkpoint\.\); removed the download from the cache\.",
        ),
        (
            "cut.tar.gz",
            r"The download of '{url}' is damaged \(variables/variables\.data-00000-of-00001 is truncated: "
            r"{size:,} bytes expected from its index, {half:,} bytes present\); removed it from the cache; run "
            r"again to download it again\.",
        ),
        (
            "changed.tar.gz",
            r"The download of '{url}' is damaged \(variables/variables\.data-00000-of-00001 is damaged: "
            r"checksum mismatch in variable variables/0/\.ATTRIBUTES/VARIABLE_VALUE\); removed it from the "
            r"cache; run again to download it again\.",
        ),
    ],
)
def test_bad_download_is_one_line_exit_2_and_no_cache_entry(server, archives, tmp_path, name, message):
    """Reported before any image is read (the frames named here do not exist)."""
    url = f"{server.url}/files/{name}"
    missing = [str(tmp_path / "no0.png"), str(tmp_path / "no1.png")]
    result = interpolate(url, missing, tmp_path / "out.png", _env(tmp_path))
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    n = len(official_variable_specs(reference_options("film_official_tiny")))
    with tarfile.open(fileobj=io.BytesIO(archives["/files/tiny.tar.gz"])) as tar:
        size = tar.getmember("variables/variables.data-00000-of-00001").size
    expected = "error: " + message.format(url=re.escape(url), hint=HINT, n=n, size=size, half=size // 2)
    assert len(lines) == 1 and re.fullmatch(expected, lines[0]), result.stderr[-2000:]
    assert not (tmp_path / "tfhub").exists()  # Not even the cache folder this download made.
    assert not (tmp_path / "out.png").exists()


@needs_tfhub
def test_offline_never_touches_the_network_and_names_what_is_missing(server, frames, tmp_path):
    url = f"{server.url}/files/tiny.tar.gz"
    result = interpolate(url, frames, tmp_path / "out.png", _env(tmp_path), "--offline")
    folder = tmp_path / "tfhub" / hashlib.sha1(url.encode()).hexdigest()
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        f"error: {url} is not in the cache ({folder}) and downloads are off (--offline or HF_HUB_OFFLINE=1); "
        f"run once with a network, or {HINT}"
    ])  # fmt: skip
    assert server.requests == [] and not (tmp_path / "out.png").exists()


@needs_tfhub
@pytest.mark.parametrize(
    "binary, args",
    [
        ("film_tf.cli.interpolate_frames", ["--pattern=film_tf/assets/examples", "--output_dir={out}"]),
        ("film_tf.export", ["--export_dir={out}"]),
        ("film_tf.evaluation.eval_cli", ["--gin_config=eval/config/vimeo_90K.gin", "--output_dir={out}"]),
        ("film_tf.app.cli", ["--port=1"]),
    ],
)
def test_every_binary_takes_a_handle_and_offline(server, tmp_path, binary, args):
    """film-interpolate-frames, film-export, film-eval and film-app resolve
    --model_path handles the same way (here: refused offline, in one line,
    before any work, nothing written)."""
    url = f"{server.url}/files/tiny.tar.gz"
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        binary,
        f"--model_path={url}",
        "--offline",
        *(a.format(out=out) for a in args),
    ]
    result = subprocess.run(
        command, cwd=ROOT, env=_env(tmp_path), capture_output=True, text=True, timeout=300
    )
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith(f"error: {url} is not in the cache"), lines[0]
    assert server.requests == [] and not out.exists()


@needs_tfhub
def test_beam_workers_get_the_handle_not_a_local_path(server, frames, local_middle, tmp_path, monkeypatch):
    """The model function sent to Beam workers keeps a handle as it is (a
    relative path would be made absolute) and resolves it from the cache."""
    from absl import flags

    from film_tf.cli.model_flags import check_model_flags, define_model_flags, video_model

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    monkeypatch.setattr(hub, "_resolved", {})
    url = f"{server.url}/files/tiny.tar.gz"
    fv = flags.FlagValues()
    define_model_flags(fv)
    fv(["prog", f"--model_path={url}", f"--options_json={TINY_OPTIONS}", "--precision=float32"])
    check_model_flags(fv)  # Downloads, as the launcher does.
    load, key = video_model(fv, str(tmp_path / "out.mp4"), on_beam=True)
    assert load.args[0].model_path == url and key["model_path"] == url
    monkeypatch.setattr(hub, "_resolved", {})  # A worker's fresh process.
    server.stop()
    middle = load()(read_image(frames[0]).rgb, read_image(frames[1]).rgb)
    np.testing.assert_array_equal(to_uint(middle), local_middle)
    assert server.requests == ["/files/tiny.tar.gz?tf-hub-format=compressed"]


@needs_tfhub
def test_two_processes_downloading_at_once_both_succeed(server, tmp_path):
    url = f"{server.url}/files/slow.tar.gz"
    code = (
        "from film_tf.formats import model_io; from film_tf.formats.options_io import options_from_json; "
        f"print(model_io.resolve({url!r}, options_from_json({TINY_OPTIONS!r})))"
    )
    env = _env(tmp_path)
    runs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]  # fmt: skip
    outputs = [run.communicate(timeout=300) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err[-2000:] for _, err in outputs]
    folder = str(tmp_path / "tfhub" / hashlib.sha1(url.encode()).hexdigest())
    assert [out.strip() for out, _ in outputs] == [folder, folder]
    assert server.requests == ["/files/slow.tar.gz?tf-hub-format=compressed"]  # one download, one waited
    assert model_io.describe(folder) == "official_saved_model"


@needs_tfhub
def test_a_killed_download_is_not_trusted_and_does_not_block(server, tmp_path, monkeypatch):
    """A killed download leaves its lock and partial folder: the rerun
    removes both (the lock's process is gone) and downloads afresh."""
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    monkeypatch.setattr(hub, "_resolved", {})
    url = f"{server.url}/files/tiny.tar.gz"
    module = str(tmp_path / "tfhub" / hashlib.sha1(url.encode()).hexdigest())
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    os.makedirs(f"{module}.deadbeef.tmp/variables")
    with open(f"{module}.lock", "w") as f:
        f.write(f"{__import__('socket').gethostname()}.{int(dead.stdout)}.deadbeef")
    start = time.monotonic()
    assert model_io.resolve(url, reference_options("film_official_tiny")) == module
    assert time.monotonic() - start < 60  # tensorflow_hub alone would wait 10 minutes
    assert sorted(os.listdir(tmp_path / "tfhub")) == sorted([os.path.basename(module),
                                                             os.path.basename(module) + ".descriptor.txt"])  # fmt: skip


@needs_tfhub
def test_offline_env_in_the_library(server, tmp_path, monkeypatch):
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "tfhub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "_resolved", {})
    with pytest.raises(hub.DownloadError, match=r"is not in the cache .* downloads are off"):
        model_io.load_model(
            f"{server.url}/files/tiny.tar.gz", options=reference_options("film_official_tiny")
        )
    assert server.requests == []


# ------------------------------------------------------------ Hugging Face


def _hf_cache(home, repo_id: str, files: dict[str, str], commit: str = "0123456789abcdef" * 2 + "01234567"):
    """A model repository in huggingface_hub's cache layout, as snapshot_download
    leaves it: blobs/<hash>, snapshots/<commit>/<path> -> the blob (symlinks),
    refs/main = <commit>. `files`: repository path -> local file to store."""
    storage = os.path.join(home, "hub", "models--" + repo_id.replace("/", "--"))
    for path, source in files.items():
        with open(source, "rb") as f:
            data = f.read()
        blob = os.path.join(storage, "blobs", hashlib.sha256(data).hexdigest())
        os.makedirs(os.path.dirname(blob), exist_ok=True)
        shutil.copyfile(source, blob)
        link = os.path.join(storage, "snapshots", commit, path)
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(os.path.relpath(blob, os.path.dirname(link)), link)
    os.makedirs(os.path.join(storage, "refs"), exist_ok=True)
    with open(os.path.join(storage, "refs", "main"), "w") as f:
        f.write(commit)
    return storage


class HfServer(_Local):
    """A Hugging Face Hub endpoint on 127.0.0.1 (HF_ENDPOINT) for model
    repositories `repos` (repo id -> {path: bytes}), answering the requests
    huggingface_hub.snapshot_download makes: the revision's info, the file
    tree of its commit, then HEAD and GET of every file under resolve/."""

    COMMIT = "c0ffee" * 6 + "0123"

    def __init__(self, repos: dict[str, dict[str, bytes]]):
        self.downloads: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _send(self, code: int, body: bytes = b"", **headers):
                self.send_response(code)
                for key, value in headers.items():
                    self.send_header(key.replace("_", "-"), value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command == "GET":
                    self.wfile.write(body)

            def do_HEAD(self):  # noqa: N802
                self.do_GET()

            def do_GET(self):  # noqa: N802
                path = self.path.partition("?")[0]
                match = re.fullmatch(r"/api/models/([^/]+/[^/]+)/(revision|tree)/[^/]+", path)
                if match and match.group(1) in repos:
                    files = repos[match.group(1)]
                    if match.group(2) == "revision":
                        info = {
                            "id": match.group(1),
                            "sha": server.COMMIT,
                            "siblings": [{"rfilename": f} for f in files],
                        }
                    else:
                        info = [{"type": "file", "path": f, "size": len(d), "oid": hashlib.sha1(d).hexdigest()}
                                for f, d in files.items()]  # fmt: skip
                    return self._send(200, json.dumps(info).encode(), Content_Type="application/json")
                match = re.fullmatch(r"/([^/]+/[^/]+)/resolve/[^/]+/(.+)", path)
                if match and match.group(2) in repos.get(match.group(1), {}):
                    data = repos[match.group(1)][match.group(2)]
                    if self.command == "GET":
                        server.downloads.append(match.group(2))
                    return self._send(
                        200, data, X_Repo_Commit=server.COMMIT, ETag=f'"{hashlib.sha1(data).hexdigest()}"'
                    )
                self._send(404, b'{"error": "Repository not found"}', X_Error_Code="RepoNotFound")

        self._serve(Handler)


def _folder_files(folder: str, prefix: str = "") -> dict[str, bytes]:
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                files[prefix + os.path.relpath(os.path.join(root, name), folder)] = f.read()
    return files


@needs_hf
def test_hf_handle_downloads_from_an_endpoint_once(frames, local_middle, tmp_path):
    """hf:// through huggingface_hub's own download code, against a local
    endpoint (HF_ENDPOINT): the frames equal the local folder's, the second run
    needs no server; a missing repository and one that is not a FILM model
    are one line, exit 2, and leave nothing in the cache."""
    tiny = _folder_files(os.path.join(TINY, "variables"), "variables/")
    other = tmp_path / "other"
    _saved_model(str(other), [np.zeros((3, 3), np.float32)])
    two = {**{f"tiny/{k}": v for k, v in tiny.items()}, **_folder_files(str(other), "other/")}
    endpoint = HfServer(
        {"film-test/tiny": tiny, "film-test/other": _folder_files(str(other)), "film-test/two": two}
    )
    env = _env(tmp_path, HF_ENDPOINT=endpoint.url)
    try:
        result = interpolate("hf://film-test/tiny", frames, tmp_path / "first.png", env)
        assert result.returncode == 0, result.stderr[-2000:]
        assert sorted(endpoint.downloads) == sorted(tiny)
        for name in ("absent", "other"):
            result = interpolate(f"hf://film-test/{name}", frames, tmp_path / f"{name}.png", env)
            lines = result.stderr.splitlines()
            assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
            expected = {
                "absent": r"error: could not download hf://film-test/absent \(HTTP 404 Not Found\); "
                + re.escape(HINT),
                "other": r"error: 'hf://film-test/other' is not a FILM model \(Checkpoint has 1 variables, but "
                r".+\); removed the download from the cache\.",
            }[name]
            assert re.fullmatch(expected, lines[0]), lines[0]
            assert not (tmp_path / "hf" / "hub" / f"models--film-test--{name}").exists()
        # A foreign subfolder is removed alone: the repository's FILM subfolder stays cached.
        assert interpolate("hf://film-test/two/tiny", frames, tmp_path / "two.png", env).returncode == 0
        result = interpolate("hf://film-test/two/other", frames, tmp_path / "two_other.png", env)
        assert result.returncode == 2 and "removed the download from the cache" in result.stderr
    finally:
        endpoint.stop()
    result = interpolate("hf://film-test/two/tiny", frames, tmp_path / "two_again.png", env)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.asarray(PilImage.open(tmp_path / "two_again.png")), local_middle)
    np.testing.assert_array_equal(np.asarray(PilImage.open(tmp_path / "first.png")), local_middle)
    result = interpolate("hf://film-test/tiny", frames, tmp_path / "second.png", env)
    assert result.returncode == 0, result.stderr[-2000:]
    np.testing.assert_array_equal(np.asarray(PilImage.open(tmp_path / "second.png")), local_middle)


@needs_hf
def test_hf_handle_from_huggingface_hubs_cache_offline(frames, local_middle, tmp_path):
    """hf://owner/repo and hf://owner/repo/subfolder resolve through
    huggingface_hub.snapshot_download's own cache lookup, with no network
    (HF_HUB_OFFLINE=1, and the default endpoint is unreachable from tests)."""
    variables = {f"variables/{n}": os.path.join(TINY, "variables", n) for n in os.listdir(os.path.join(TINY, "variables"))}  # fmt: skip
    _hf_cache(tmp_path / "hf", "film-test/tiny", variables)
    _hf_cache(tmp_path / "hf", "film-test/several", {f"tiny/{k}": v for k, v in variables.items()})
    env = _env(tmp_path, HF_HUB_OFFLINE="1")
    for handle in ("hf://film-test/tiny", "hf://film-test/several/tiny"):
        out = tmp_path / f"{handle.rsplit('/', 1)[-1]}.png"
        result = interpolate(handle, frames, out, env)
        assert result.returncode == 0, result.stderr[-2000:]
        np.testing.assert_array_equal(np.asarray(PilImage.open(out)), local_middle)
    result = interpolate("hf://film-test/absent", frames, tmp_path / "absent.png", env)
    storage = tmp_path / "hf" / "hub" / "models--film-test--absent"
    assert (result.returncode, result.stderr.splitlines()) == (2, [
        f"error: hf://film-test/absent is not in the cache ({storage}) and downloads are off "
        f"(--offline or HF_HUB_OFFLINE=1); run once with a network, or {HINT}"
    ])  # fmt: skip


# ------------------------------------------------------------------- table


def test_released_table():
    """Every short name is a handle of the released configuration; its size is
    about that of the released weights in float32."""
    weights_mb = sum(int(np.prod(shape)) for _, shape in official_variable_specs(Options())) * 4 / 1e6
    assert round(weights_mb, 1) == 137.7
    assert set(hub.RELEASED) == {"film-style", "film-l1", "film-vgg"}
    for name, released in hub.RELEASED.items():
        assert hub.is_handle(name) and hub.is_handle(released.handle)
        assert weights_mb <= released.approx_mb <= 1.1 * weights_mb
    assert hub.RELEASED["film-style"].handle == "https://tfhub.dev/google/film/1"
    assert downloads.hf_parts("hf://a/b/c/d") == ("a/b", "c/d") and downloads.hf_parts("hf://a/b") == (
        "a/b",
        "",
    )
    with pytest.raises(ValueError, match="expected hf://owner/repo"):
        downloads.hf_parts("hf://lonely")
    assert (
        downloads.compressed_url("https://h/x.tar.gz?a=1")
        == "https://h/x.tar.gz?a=1&tf-hub-format=compressed"
    )
    assert not hub.is_handle("film_net/Style/saved_model") and not hub.is_handle(None)


def test_a_local_folder_named_like_a_released_model_is_that_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert hub.is_handle("film-l1")
    os.makedirs("film-l1/variables")
    assert not hub.is_handle("film-l1") and hub.is_handle("film-vgg")


def test_list_models_prints_the_table():
    result = subprocess.run([sys.executable, "-m", "film_tf.cli.interpolate", "--list_models"], cwd=ROOT,
                            env=_env_plain(), capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["name", "handle", "model", "source", "licence", "download"]
    assert [line.split()[:2] for line in lines[1:]] == [[r.name, r.handle] for r in hub.RELEASED.values()]


def _env_plain() -> dict:
    return {**os.environ, "PYTHONPATH": ROOT}
