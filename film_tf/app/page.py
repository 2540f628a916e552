"""The film-app page (Gradio): uploads and options in, video and frame zip out.

Requests go through Gradio's queue one at a time (the model is CPU-bound);
a waiting browser sees its place in the queue on the result panel. The
progress bar follows the CLI's own tqdm bar (`gr.Progress(track_tqdm=True)`).
A user mistake shows as the CLI's `error: ...` line in the status box. Each
request's files live in its own folder (`jobs.JobRunner`), removed as soon
as Gradio has taken its copies of the outputs to serve.

Element ids (for scripts and the browser test): `inputs`, `times`,
`num_frames`, `fps`, `target_fps`, `hold_cuts`, `model`, `start`, `video`,
`frames`, `status`, `log`.
"""

from __future__ import annotations

import gradio as gr

from film_tf.app.jobs import MAX_NUM_FRAMES, MAX_TIMES_TO_INTERPOLATE, JobError, JobRunner

TITLE = "FILM frame interpolation"
INTRO = (
    "# FILM frame interpolation\n"
    "Two or more photos (taken in name order) or one video in; a slow-motion video and its "
    "frames out. Ask for any number *N* of new frames between each pair (each made at its own "
    "time, *t* = *j* / (*N* + 1)), or for *k* levels: 2<sup>k</sup> − 1 new frames. "
    "Jobs run one at a time, on this computer only."
)


def interpolate(
    runner: JobRunner, uploads, times, num_frames, fps, model_path, target_fps, hold_cuts, progress
) -> tuple:
    """The start button: (video, frame zip, status line, log, request folder).

    `uploads` are Gradio's file paths (or None); `num_frames` 0 or empty
    means the levels `times` decide; `fps` or `target_fps` 0 or empty means
    the default (slow motion at 30 fps for photos, at the input's rate for a
    video); an empty `model_path` means the bundled model.
    """
    progress(0, desc="starting")
    try:
        result = runner.run(
            list(uploads or ()),
            int(times),
            float(fps) if fps else None,
            (model_path or "").strip() or None,
            num_frames=int(num_frames) if num_frames else None,
            target_fps=float(target_fps) if target_fps else None,
            hold_scene_cuts=bool(hold_cuts),
        )
    except JobError as e:
        return None, None, f"error: {e}", "", None
    return result.video, result.frames_zip, result.message, "\n".join(result.notes), result.work_dir


def build(runner: JobRunner, default_model: str | None = None, default_times: int = 3) -> gr.Blocks:
    """The page, with its queue (one job at a time), ready to `launch`."""

    def start(
        uploads,
        times,
        num_frames,
        fps,
        model_path,
        target_fps,
        hold_cuts,
        progress=gr.Progress(track_tqdm=True),  # noqa: B008
    ):
        return interpolate(
            runner, uploads, times, num_frames, fps, model_path, target_fps, hold_cuts, progress
        )

    # Gradio's cache (uploads, the served copies of results) is emptied of
    # files older than an hour, every half hour.
    with gr.Blocks(title=TITLE, analytics_enabled=False, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column():
                uploads = gr.File(
                    label="Photos (two or more) or one video", file_count="multiple", elem_id="inputs"
                )
                times = gr.Slider(
                    0,
                    MAX_TIMES_TO_INTERPOLATE,
                    value=default_times,
                    step=1,
                    label="Levels k (2^k - 1 new frames per pair)",
                    elem_id="times",
                )
                num_frames = gr.Number(
                    value=0,
                    minimum=0,
                    maximum=MAX_NUM_FRAMES,
                    precision=0,
                    label="Or any number of new frames per pair, each at its own time (0: use the levels)",
                    elem_id="num_frames",
                )
                fps = gr.Number(
                    value=0,
                    minimum=0,
                    label="Video frame rate (0: 30 for photos, the input's for a video)",
                    elem_id="fps",
                )
                target_fps = gr.Number(
                    value=0,
                    minimum=0,
                    label="Video only: convert to this frame rate, same duration, audio kept (0: slow motion)",
                    elem_id="target_fps",
                )
                hold_cuts = gr.Checkbox(
                    value=True,
                    label="Hold scene cuts (their in-betweens repeat the earlier frame, no blend across a cut)",
                    elem_id="hold_cuts",
                )
                model = gr.Textbox(
                    value=default_model or "",
                    label="Model path or cached handle such as film-style (empty: the bundled model)",
                    placeholder="film_net/Style/saved_model",
                    elem_id="model",
                )
                button = gr.Button("Interpolate", variant="primary", elem_id="start")
            with gr.Column():
                video = gr.Video(label="Slow motion", interactive=False, elem_id="video")
                frames = gr.File(label="Frames (zip of PNGs)", interactive=False, elem_id="frames")
                status = gr.Textbox(label="Status", interactive=False, max_lines=1, elem_id="status")
                log = gr.Textbox(label="Log", interactive=False, lines=3, elem_id="log")
        work = gr.State(None)
        button.click(
            start,
            [uploads, times, num_frames, fps, model, target_fps, hold_cuts],
            [video, frames, status, log, work],
            concurrency_limit=1,
            concurrency_id="interpolate",
        ).then(runner.cleanup, work, None, concurrency_limit=None, show_progress="hidden")
    demo.queue(default_concurrency_limit=1)
    return demo
