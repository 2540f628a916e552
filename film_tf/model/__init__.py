"""The paper's network (FILM, Reda et al. 2022) and its options: one paper component per file.

  options.py                 `Options`: the film_net configuration (pyramid levels, filters, ...).
  image_pyramid.py           the 2x2 average-pooled image pyramid.
  feature_extractor.py       the cascaded, scale-agnostic feature extractor (shared sub-tree).
  warp.py                    backward warping (`warp`, `dense_image_warp`, equal to tfa's).
  pyramid_flow_estimator.py  the bi-directional residual flow estimator, coarse to fine.
  fusion.py                  the U-Net fusion decoder.
  interpolator.py            `FilmNet` / `create_model`: the whole model.
  winograd.py                the 3x3 convolution layer (direct or Winograd F(2x2)/F(4x4)).
  tracking.py                Keras sub-layer tracking for the layers above.
  cost.py                    parameter and multiply-add counts from the options.

Keras layers and `keras.ops` only (runs on the JAX backend too), no file I/O and
no gin. May import: nothing of film_tf outside this folder.
"""
