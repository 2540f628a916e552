"""Model files, read and written: every kind of model path becomes a `FilmNet` or a callable.

  model_io.py          the one dispatcher: `KIND_TABLE`, one entry per kind of path (how it
                       is recognised, its options, how it loads); `describe(path)` names a
                       path's kind, `load_model(path)` builds the Keras model; the bundled model.
  official_weights.py  the official SavedModel's `variables/` mapped onto ours (shapes checked).
  checkpoint_io.py     tf.train checkpoints and run folders (`<run>/train/`).
  options_io.py        options stored beside weights (`.weights.h5` + JSON, config.gin).
  keras_weights.py     `.weights.h5` (+ its JSON) and `.keras` files: structure-checked loads.
  torchscript_weights.py  the PyTorch port's `film_net_fp32.pt` / fp16, converted once to an
                       official checkpoint in the cache.
  torch_archive.py     PyTorch's zip archives (TorchScript, torch.save) read without torch.
  exported_saved_model.py  film_tf's own SavedModel: its marker, its serving signature.
  hub.py               model handles (film-style, TF Hub URLs, hf://): downloaded once, cached.
  downloads.py         hub's downloads: tensorflow_hub's and huggingface_hub's caches, atomic.
  onnx_file.py         reading `.onnx` exports: their options and an onnxruntime function.

May import: `film_tf.model` and the top-level helpers (`film_tf.files`,
`film_tf.user_errors`); never `runtime`, `serving` or anything above.
"""
