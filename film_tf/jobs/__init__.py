"""Jobs over many frames: folders of photos and whole videos, resumable.

  frame_jobs.py   folder jobs (`plan_folders` / `run_folders`) of film-interpolate-frames.
  video_job.py    `run_video`: slow motion or frame-rate conversion, audio copied, in chunks.
  frame_rate.py   which interpolated time each output frame shows (nearest dyadic rule).
  scene_cuts.py   the scene-cut measure and threshold (cuts are held, not interpolated).
  resume.py       work folders of interrupted jobs, checked before reuse.
  pipelining.py   reader/writer threads with bounded queues.

May import: `film_tf.runtime`, `film_tf.media` and the layers below them;
never `serving`, `datasets`, `evaluation`, `training`, `app` or `cli`.
"""
