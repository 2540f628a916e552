"""SavedModel export for TF Serving and plain `tf.saved_model.load`.

`export_saved_model(model, dir)` writes one SavedModel (tag `serve`) holding
the model's variables and the signatures of `film_tf.serving.module`, plus
`assets/film_tf.json` (`film_tf.serving.metadata`) and TF Serving's warm-up
file, one request per signature (`film_tf.serving.warmup`); `export_for_serving`
writes `<base>/<version>/`, the layout TF Serving watches. Exports are built
in a hidden temporary folder beside the target and renamed onto it when
complete (`film_tf.files.atomic_folder`), so a model server watching the
parent never sees a partial export.
"""

from __future__ import annotations

import os

from film_tf import files


def export_saved_model(
    model, export_dir: str, overwrite: bool = False, extra_metadata: dict | None = None
) -> str:
    """Writes the serving SavedModel of a FILM model to `export_dir`.

    Args:
      model: a model from `film_tf.create_model` (any options).
      export_dir: the SavedModel folder to create.
      overwrite: replace an existing non-empty `export_dir`; otherwise that
        is a FileExistsError (an empty folder is always fine).
      extra_metadata: more keys for `assets/film_tf.json` (e.g. the source
        checkpoint).

    Returns:
      The absolute path of the export.
    """
    import keras
    import tensorflow as tf

    from film_tf.serving import warmup
    from film_tf.serving.metadata import write_metadata
    from film_tf.serving.module import FilmServingModule, signature_io

    if keras.backend.backend() != "tensorflow":
        raise ValueError(
            f"SavedModel export traces the model with TensorFlow; set KERAS_BACKEND=tensorflow "
            f"(the backend is {keras.backend.backend()})."
        )
    export_dir = os.path.abspath(export_dir)
    with files.atomic_folder(export_dir, overwrite) as tmp:
        module = FilmServingModule(model)
        tf.saved_model.save(module, tmp, signatures=module.signatures())
        write_metadata(tmp, model, extra_metadata)
        signatures = {name: io["inputs"] for name, io in signature_io(module.has_aux_outputs).items()}
        warmup.write_warmup_requests(tmp, signatures, WARMUP_SIZE)
    return export_dir


# The warm-up requests' frames: small (the graph set-up does not depend on the
# size; the export pads any size to the alignment).
WARMUP_SIZE = 64


def existing_versions(export_base: str) -> list[int]:
    """The integer version folders under `export_base`, sorted."""
    if not os.path.isdir(export_base):
        return []
    return sorted(
        int(n) for n in os.listdir(export_base) if n.isdigit() and os.path.isdir(os.path.join(export_base, n))
    )


def next_version(export_base: str) -> int:
    """One more than the highest version under `export_base` (1 if none)."""
    return (existing_versions(export_base) or [0])[-1] + 1


def export_for_serving(
    model,
    export_base: str,
    version: int | None = None,
    overwrite: bool = False,
    extra_metadata: dict | None = None,
) -> str:
    """Writes `<export_base>/<version>/`, the layout TF Serving watches.

    Args:
      model: a model from `film_tf.create_model`.
      export_base: the folder passed to `tensorflow_model_server
        --model_base_path`.
      version: a positive integer; the next one after the existing versions
        (1 for an empty base) when None.
      overwrite: replace an existing non-empty version folder.
      extra_metadata: more keys for `assets/film_tf.json`.

    Returns:
      The absolute path of the version folder.
    """
    if version is None:
        version = next_version(export_base)
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"The version must be a positive integer (TF Serving's layout), got {version!r}.")
    return export_saved_model(
        model, os.path.join(export_base, str(version)), overwrite=overwrite, extra_metadata=extra_metadata
    )
