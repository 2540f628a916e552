"""Jobs over many frames: folders of photos and whole videos, resumable.

  frame_jobs.py   folder jobs (`plan_folders` / `run_folders`) of film-interpolate-frames.
  video_job.py    `run_video`: slow motion or frame-rate conversion, audio copied, in chunks.
  beam_video.py   `run_video_on_beam`: the same chunks rendered by Beam workers, the same output.
  video_plan.py   a video job's plan (header, frame-rate plan, cuts, chunks) and its end (join, audio).
  chunk_plan.py   the chunks of a video job: at scene cuts and every N frames, sharing boundaries.
  video_command.py  film-interpolate-frames' video job, in-process or on Beam.
  beam_options.py the Beam pipeline options every film_tf Beam job takes.
  progress.py     the progress bar of output frames against the known total, with an ETA.
  frame_rate.py   the exact time each output frame shows (frame-rate conversion, slow motion).
  scene_cuts.py   the scene-cut measure and threshold (cuts are held, not interpolated).
  resume.py       work folders of interrupted jobs, checked before reuse.
  pipelining.py   reader/writer threads with bounded queues.

May import: `film_tf.runtime`, `film_tf.media` and the layers below them (Apache Beam inside
`beam_video` and `beam_options` only, when a job runs on it);
never `serving`, `datasets`, `evaluation`, `training`, `app` or `cli`.
"""
