"""film-app: a local web page over the same jobs as film-interpolate-frames.

`jobs` holds the logic without any web code (uploads in a per-request
temporary folder -> `film_tf.jobs.frame_jobs` -> a video and a zip of the frames),
`page` the Gradio page and its queue, `cli` the `film-app` binary.
"""
