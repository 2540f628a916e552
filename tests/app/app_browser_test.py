"""film-app in a real browser: Debian's headless Chromium, driven by Playwright.

The server runs as the `film-app` binary does (`python -m film_tf.app.cli`)
on a free loopback port; the page must work offline (every request that is
not to the server is refused and recorded). Set FILM_APP_SCREENSHOT=path to
keep the screenshot of the finished result (the README's is made so).
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import zipfile

import pytest

CHROMIUM = "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="playwright is not installed (pip install -e '.[browser-test]')"
)
pytest.importorskip("gradio", reason="gradio is not installed (pip install -e '.[app]')")

from film_tf.media import video_io  # noqa: E402

EXAMPLES = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "film_tf", "assets", "examples"
)
PAIR = [os.path.join(EXAMPLES, "frame_0.png"), os.path.join(EXAMPLES, "frame_1.png")]
K = 4  # 17 frames, 15 model calls: long enough that the second browser queues behind it and
# the progress bar shows (with one call, a fast CPU finished before either was seen)
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
JOB_TIMEOUT_MS = 240_000
MAX_UPLOAD_MB = 1  # the example frames are 0.36 MB each


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env() -> dict:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")


@pytest.fixture(scope="module")
def cli_frames(tmp_path_factory):
    """Starts film-interpolate-frames on the example pair (beside the server
    starting); call it for the output PNGs, name -> bytes."""
    out = tmp_path_factory.mktemp("cli")
    cli = [sys.executable, "-m", "film_tf.cli.interpolate_frames", "--pattern", EXAMPLES]
    cli += ["--times_to_interpolate", str(K), "--output_dir", str(out)]
    process = subprocess.Popen(cli, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def frames() -> dict[str, bytes]:
        log, _ = process.communicate(timeout=600)
        assert process.returncode == 0, log
        folder = out / "interpolated_frames"
        return {name: (folder / name).read_bytes() for name in sorted(os.listdir(folder))}

    yield frames
    if process.poll() is None:
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def server(cli_frames):
    """(url, root folder) of a running film-app; checks on exit that it
    stops on SIGTERM and removes its folder."""
    port = _free_port()
    command = [sys.executable, "-m", "film_tf.app.cli", "--port", str(port), "--times_to_interpolate", str(K)]
    command += ["--max_upload_mb", str(MAX_UPLOAD_MB)]
    process = subprocess.Popen(
        command, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    ready = threading.Event()

    def read():
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving "):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    deadline = time.time() + 240
    while not ready.wait(0.5):
        if process.poll() is not None or time.time() > deadline:
            process.kill()
            pytest.fail("film-app did not start:\n" + "".join(lines))
    line = next(line for line in lines if line.startswith("serving "))
    match = re.match(r"serving (http://127\.0\.0\.1:\d+/) \(files in (\S+), removed on exit", line)
    assert match, line
    url, root = match.groups()
    yield url, root
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
    assert not os.path.exists(root), "film-app left its folder behind"


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    """A Chromium context that refuses (and records) any request not to the server."""
    url, _ = server
    outside: list[str] = []
    with playwright_api.sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 720},
        )

        def route(request_route):
            if request_route.request.url.startswith(url):
                request_route.continue_()
            else:
                outside.append(request_route.request.url)
                request_route.abort()

        context.route("**/*", route)
        yield context, outside
        context.close()


def _open(context, url: str):
    page = context.new_page()
    page.goto(url)
    page.locator("#start").wait_for()
    return page


def _upload(page, paths: list[str]) -> None:
    page.locator("#inputs input[type=file]").set_input_files(paths)
    for path in paths:  # the upload finished: the file is listed with its size
        page.locator(f'#inputs a[download="{os.path.basename(path)}"]').first.wait_for()


def _status(page) -> str:
    return page.locator("#status input, #status textarea").first.input_value()


def _wait_status(page, timeout_ms: int = JOB_TIMEOUT_MS) -> str:
    page.wait_for_function(
        "() => { const e = document.querySelector('#status input, #status textarea');"
        " return e && e.value.length > 0; }",
        timeout=timeout_ms,
    )
    return _status(page)


def test_example_pair_gives_the_cli_frames_and_a_playable_video(server, browser, cli_frames, tmp_path):
    url, root = server
    context, outside = browser
    page = _open(context, url)
    _upload(page, PAIR)
    page.locator("#start").click()

    # A second browser, meanwhile, waits its turn with a corrupt upload.
    other = _open(context, url)
    bad = tmp_path / "frame_1.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really a PNG")
    _upload(other, [PAIR[0], str(bad)])
    other.locator("#start").click()
    other.get_by_text(re.compile(r"queue: \d+ of \d+")).first.wait_for(timeout=30_000)
    assert _status(other) == ""

    # One job at a time: the quick (failing) one waits until the first is done.
    # Meanwhile the progress bar is the CLI's tqdm bar ('interpolating').
    deadline = time.time() + JOB_TIMEOUT_MS / 1000
    progress_shown = False
    while not _status(page):
        assert _status(other) == "", "the second job ran beside the first"
        assert time.time() < deadline, "the job did not finish"
        progress_shown = progress_shown or "interpolating" in page.locator("#video").inner_text()
        page.wait_for_timeout(200)
    assert progress_shown
    assert _status(page) == f"wrote {2**K + 1} frames at 30 fps (interpolated.mp4, frames.zip)"
    error = _wait_status(other, 60_000)
    assert error.startswith("error: Cannot read image 'frame_1.png': not a readable PNG/JPEG (")
    assert "\n" not in error

    video = page.locator("#video video")
    video.wait_for()
    state = page.evaluate(
        """async () => {
            const v = document.querySelector('#video video');
            if (v.readyState < 2) await new Promise(r => v.addEventListener('loadeddata', r, {once: true}));
            await v.play();
            return {ready: v.readyState, duration: v.duration, error: v.error && v.error.code,
                    width: v.videoWidth, height: v.videoHeight, playing: !v.paused || v.ended};
        }"""
    )
    assert state["error"] is None and state["ready"] >= 2 and state["playing"], state
    assert (state["width"], state["height"]) == (640, 360)
    assert state["duration"] == pytest.approx((2**K + 1) / 30.0, abs=0.05)

    served = tmp_path / "served.mp4"
    served.write_bytes(page.request.get(video.get_attribute("src")).body())
    with video_io.open_video(str(served)) as reader:
        assert (reader.shape, reader.fps) == ((360, 640), 30.0)
        assert len(list(reader)) == 2**K + 1

    link = page.locator("#frames a[download]").first
    assert link.get_attribute("download") == "frames.zip"
    archive_path = tmp_path / "frames.zip"
    archive_path.write_bytes(page.request.get(link.get_attribute("href")).body())
    with zipfile.ZipFile(archive_path) as archive:
        got = {name: archive.read(name) for name in archive.namelist()}
    expected = cli_frames()
    assert list(expected) == [f"frame_{i:03d}.png" for i in range(2**K + 1)]
    assert got == expected  # bit for bit

    shot = tmp_path / "screenshot.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("FILM_APP_SCREENSHOT"):
        shutil.copyfile(shot, os.environ["FILM_APP_SCREENSHOT"])

    # The requests' own folders are gone once the results were handed over.
    page.wait_for_timeout(1000)
    assert os.listdir(os.path.join(root, "jobs")) == []
    assert outside == []  # the page works offline


def test_corrupt_upload_shows_the_one_line_error(server, browser, tmp_path):
    url, root = server
    context, outside = browser
    page = _open(context, url)
    bad = tmp_path / "frame_1.png"
    bad.write_bytes(b"definitely not an image")
    _upload(page, [PAIR[0], str(bad)])
    page.locator("#start").click()
    error = _wait_status(page, 120_000)
    assert error.startswith("error: Cannot read image 'frame_1.png': not a readable PNG/JPEG (")
    assert "\n" not in error
    assert page.locator("#video video").count() == 0
    assert os.listdir(os.path.join(root, "jobs")) == []
    assert outside == []


def test_upload_limit_refuses_a_large_file(server, browser, tmp_path):
    url, root = server
    context, outside = browser
    page = _open(context, url)
    big = tmp_path / "big.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_MB * 1_000_000))
    page.locator("#inputs input[type=file]").set_input_files([str(big)])
    page.get_by_text(re.compile(r'File\(s\) exceed the maximum allowed size of .*"big\.png"')).wait_for()
    assert page.locator('#inputs a[download="big.png"]').count() == 0
    assert os.listdir(os.path.join(root, "jobs")) == []
    assert outside == []
