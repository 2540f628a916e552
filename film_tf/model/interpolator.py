"""The FILM interpolator: two frames in, the frame at time t between them out (paper Fig. 2)."""

from __future__ import annotations

import keras
from keras import ops

from film_tf.model.feature_extractor import FeatureExtractor
from film_tf.model.fusion import Fusion
from film_tf.model.image_pyramid import ImagePyramid
from film_tf.model.options import Options
from film_tf.model.pyramid_flow_estimator import PyramidFlowEstimator, synthesize_flow_pyramid
from film_tf.model.warp import warp

# The model's outputs besides "image" when `options.use_aux_outputs` is set:
# THE list of them; serving, losses and summaries select from it.
# Warped inputs: the colour channels of the finest warped level, (B, H, W, 3).
WARPED_OUTPUTS = ("x0_warped", "x1_warped")
# Residual flow pyramids: lists of pyramid_levels (B, H / 2^i, W / 2^i, 2),
# finest first; "forward" warps x1 onto x0, "backward" x0 onto x1.
RESIDUAL_FLOW_OUTPUTS = ("forward_residual_flow_pyramid", "backward_residual_flow_pyramid")
# Flow pyramids (residuals summed coarse to fine): lists of
# fusion_pyramid_levels (B, H / 2^i, W / 2^i, 2), finest first, channels (dx, dy).
FLOW_OUTPUTS = ("forward_flow_pyramid", "backward_flow_pyramid")
AUX_OUTPUTS = WARPED_OUTPUTS + RESIDUAL_FLOW_OUTPUTS + FLOW_OUTPUTS


def check_alignment(shape, alignment: int) -> None:
    """Raises ValueError if a static (B, H, W, C) shape is not aligned."""
    for axis, name in ((1, "height"), (2, "width")):
        size = shape[axis]
        if isinstance(size, int) and size % alignment:
            raise ValueError(
                f"Input {name} {size} is not a multiple of {alignment} "
                f"(2^(pyramid_levels - 1)); pad the frames first (film_tf.Interpolator does)."
            )


def _split_halves(tensors):
    """[concat(a_i, b_i) along the batch] -> ([a_i], [b_i])."""
    halves = [ops.split(t, 2, axis=0) for t in tensors]
    return [h[0] for h in halves], [h[1] for h in halves]


@keras.saving.register_keras_serializable(package="film_tf")
class FilmNet(keras.layers.Layer):
    """All of FILM as one layer; `create_model` wraps it in a keras.Model.

    Call with a dict: `x0`, `x1` (B, H, W, 3) float in [0, 1] and `time`
    (B, 1) in [0, 1], the output frame's time (0.5: the middle, the only time
    the released models were trained on; the official code always uses 0.5,
    and at 0.5 the two agree). Its stages (`extract`, `estimate_flows`,
    `synthesize`) let one pair's features and flows serve several times. Returns
    a dict with `image` (B, H, W, 3) and, if `options.use_aux_outputs`, the
    warped inputs and the four flow pyramids (lists, finest first): the keys
    of `AUX_OUTPUTS`.
    """

    def __init__(self, options: Options | None = None, **kwargs):
        super().__init__(**kwargs)
        self.options = options or Options()
        o = self.options
        # Sub-layers take this layer's dtype policy, so a mixed-precision
        # FilmNet stays mixed when rebuilt from its config.
        dtype = self.dtype_policy
        self.image_pyramid = ImagePyramid(o.pyramid_levels, name="image_pyramid", dtype=dtype)
        self.feature_extractor = FeatureExtractor(o.filters, o.sub_levels, name="feat_net", dtype=dtype)
        self.flow_estimator = PyramidFlowEstimator(
            o.specialized_levels, o.flow_convs, o.flow_filters, name="predict_flow", dtype=dtype
        )
        self.fusion = Fusion(
            o.fusion_pyramid_levels, o.specialized_levels, o.filters, name="fusion", dtype=dtype
        )

    def build(self, input_shape):
        # Derived from the options alone, so that weights can be created (and
        # loaded) without tracing the whole graph.
        o = self.options
        image_shapes = [(None, None, None, 3)] * o.pyramid_levels
        self.feature_extractor.build(image_shapes)
        feature_shapes = [(None, None, None, c) for c in o.feature_channels]
        self.flow_estimator.build(feature_shapes, feature_shapes)
        self.fusion.build([(None, None, None, c) for c in o.fusion_channels])

    def extract(self, image):
        """Image and feature pyramids of one frame (B, H, W, 3).

        They depend on that frame alone, so recursive interpolation computes
        them once per frame and reuses them for both of its pairs.
        """
        image_pyramid = self.image_pyramid(image)
        return image_pyramid, self.feature_extractor(image_pyramid)

    def estimate_flows(self, frame0, frame1):
        """The bi-directional flow pyramids of two `extract` results (paper Sec. 3.2).

        They do not depend on the time t, so one pair's flows serve any number
        of `synthesize` calls. Returns (forward_residuals, backward_residuals,
        forward_flows, backward_flows): lists, finest first, of
        (B, H / 2^i, W / 2^i, 2) in (dx, dy) pixels; the residual pyramids have
        pyramid_levels levels, the flow pyramids fusion_pyramid_levels.
        "forward" warps frame1 onto frame0, "backward" frame0 onto frame1.
        """
        (_, features0), (_, features1) = frame0, frame1
        # Both directions share the estimator's weights: one call on a batch
        # of two halves runs larger (faster) convolutions than two calls.
        residuals = self.flow_estimator(
            [ops.concatenate([a, b], axis=0) for a, b in zip(features0, features1)],
            [ops.concatenate([b, a], axis=0) for a, b in zip(features0, features1)],
        )
        forward_residuals, backward_residuals = _split_halves(residuals)
        levels = self.options.fusion_pyramid_levels
        forward_flows = synthesize_flow_pyramid(forward_residuals)[:levels]
        backward_flows = synthesize_flow_pyramid(backward_residuals)[:levels]
        return forward_residuals, backward_residuals, forward_flows, backward_flows

    def synthesize(self, frame0, frame1, flows, time):
        """The frame at `time` from two `extract` results and their `estimate_flows`.

        Warps both pyramids to time t (paper Sec. 3.3: the backward flows
        scaled by t carry frame0 there, the forward flows scaled by 1 - t
        carry frame1) and fuses them. `time` is (B, 1) in [0, 1] (0: frame0,
        1: frame1); the released models were trained at t = 0.5 only, where
        this equals the official model. Returns the output dict.
        """
        o = self.options
        (image_pyramid0, features0), (image_pyramid1, features1) = frame0, frame1
        forward_residuals, backward_residuals, forward_flows, backward_flows = flows
        t = ops.cast(ops.reshape(time, (-1, 1, 1, 1)), backward_flows[0].dtype)
        backward_to_t = [f * t for f in backward_flows]
        forward_to_t = [f * (1.0 - t) for f in forward_flows]

        aligned = []
        warped0, warped1 = [], []
        for k in range(o.fusion_pyramid_levels):
            to_warp0 = ops.concatenate([image_pyramid0[k], features0[k]], axis=-1)
            to_warp1 = ops.concatenate([image_pyramid1[k], features1[k]], axis=-1)
            warped0.append(warp(to_warp0, backward_to_t[k]))
            warped1.append(warp(to_warp1, forward_to_t[k]))
            aligned.append(
                ops.concatenate([warped0[k], warped1[k], backward_to_t[k], forward_to_t[k]], axis=-1)
            )
        outputs = {"image": self.fusion(aligned)[..., :3]}
        if o.use_aux_outputs:
            outputs.update(zip(WARPED_OUTPUTS, (warped0[0][..., :3], warped1[0][..., :3])))
            outputs.update(zip(RESIDUAL_FLOW_OUTPUTS, (forward_residuals, backward_residuals)))
            outputs.update(zip(FLOW_OUTPUTS, (forward_flows, backward_flows)))
        return outputs

    def interpolate(self, frame0, frame1, time):
        """The frame at `time` (B, 1) from two `extract` results; returns the output dict."""
        return self.synthesize(frame0, frame1, self.estimate_flows(frame0, frame1), time)

    def call(self, inputs):
        x0, x1 = inputs["x0"], inputs["x1"]
        check_alignment(ops.shape(x0), self.options.alignment)
        check_alignment(ops.shape(x1), self.options.alignment)
        b0, b1 = ops.shape(x0)[0], ops.shape(x1)[0]
        if isinstance(b0, int) and isinstance(b1, int) and b0 != b1:
            # The halves below would silently pair the wrong frames.
            raise ValueError(f"x0 and x1 must hold the same number of frames, got {b0} and {b1}.")
        # Both frames through the shared extractor as one batch (larger, faster convolutions).
        image_pyramid, features = self.extract(ops.concatenate([x0, x1], axis=0))
        image_pyramid0, image_pyramid1 = _split_halves(image_pyramid)
        features0, features1 = _split_halves(features)
        return self.interpolate((image_pyramid0, features0), (image_pyramid1, features1), inputs["time"])

    def compute_output_spec(self, inputs):
        # Shapes follow from the options; tracing the graph symbolically to
        # find them takes seconds, which every create_model call would pay.
        o = self.options
        b, h, w, _ = inputs["x0"].shape
        check_alignment((b, h, w, 3), o.alignment)
        dtype = self.compute_dtype  # inputs are cast to it, e.g. bfloat16 under mixed_bfloat16

        def spec(level, channels):
            scale = 2**level
            return keras.KerasTensor(
                (b, None if h is None else h // scale, None if w is None else w // scale, channels), dtype
            )

        outputs = {"image": spec(0, 3)}
        if o.use_aux_outputs:
            for key in WARPED_OUTPUTS:
                outputs[key] = spec(0, 3)
            for key in RESIDUAL_FLOW_OUTPUTS:
                outputs[key] = [spec(i, 2) for i in range(o.pyramid_levels)]
            for key in FLOW_OUTPUTS:
                outputs[key] = [spec(i, 2) for i in range(o.fusion_pyramid_levels)]
        return outputs

    def get_config(self):
        return {**super().get_config(), "options": self.options.to_dict()}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["options"] = Options.from_dict(config["options"])
        return cls(**config)


def create_model(
    options: Options | None = None, name: str = "film_net", dtype_policy: str | None = None
) -> keras.Model:
    """Builds the FILM interpolator as a functional keras.Model.

    Args:
      options: model options; the released configuration when None.
      name: the model's name.
      dtype_policy: a Keras dtype policy for every layer (e.g.
        "mixed_bfloat16": bfloat16 compute, float32 weights, so the same
        weights files load); the global policy when None.

    Returns:
      A model taking `{'x0', 'x1', 'time'}` and returning the dict described
      in `FilmNet`. H and W must be multiples of `options.alignment`.
    """
    options = options or Options()
    if dtype_policy is not None:
        # Sub-layers read the global policy when they are constructed.
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(dtype_policy)
        try:
            return create_model(options, name)
        finally:
            keras.config.set_dtype_policy(previous)
    inputs = {
        "x0": keras.Input(shape=(None, None, 3), name="x0"),
        "x1": keras.Input(shape=(None, None, 3), name="x1"),
        "time": keras.Input(shape=(1,), name="time"),
    }
    outputs = FilmNet(options, name="film_net")(inputs)
    model = keras.Model(inputs=inputs, outputs=outputs, name=name)
    model.film_options = options
    return model
