"""Makes layers held in Python lists visible to `tf.train.Checkpoint`."""

from __future__ import annotations

from collections.abc import Sequence


def track_layer_list(owner, name: str, layers: Sequence) -> None:
    """Registers `layers` (a list attribute of `owner`) as named checkpoint children.

    Keras 3 tracks list-held layers for its own weights and `.weights.h5`
    files, but on the TensorFlow backend it hides them from the object graph
    of `tf.train.Checkpoint`, which would then save only the layers held in
    plain attributes (keras-team/keras#18398). Naming them fixes training
    checkpoints; other backends have no TF object graph, so nothing is done.
    """
    track = getattr(owner, "_track_trackable", None)
    if track is None:
        return
    for i, layer in enumerate(layers):
        track(layer, name=f"{name}_{i}", overwrite=True)
