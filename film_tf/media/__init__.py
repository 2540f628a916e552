"""Images and videos as people have them, read and written atomically.

  image_io.py       photos in (8/16-bit PNG, JPEG, EXIF orientation, ...), lossless writes.
  video_io.py       streaming video read/write through ffmpeg, headers (probe_video).
  stream_copy.py    another file's audio/subtitles beside a written video; unfit streams left out.
  video_seek.py     frames start..stop - 1 of a video, frame-exact (a Beam worker's chunk).
  video_formats.py  containers and codecs: which ones are readable and writable.

Knows nothing of the model. May import: the top-level helpers (`film_tf.files`,
`film_tf.user_errors`) only.
"""
