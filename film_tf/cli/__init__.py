"""Binaries for people: film-interpolate and film-interpolate-frames.

  interpolate.py         film-interpolate: two photos -> the middle (or recursive) frames.
  interpolate_frames.py  film-interpolate-frames: folders of photos or a video.
  model_flags.py         what both share: the model flags, checked before the model
                         loads, and building an `Interpolator` from them.

The top layer: may import every library, and no library imports it.
"""
