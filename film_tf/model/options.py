"""Model options of FILM (`film_net`), with the released configuration as defaults.

Gin stays at the edges: `film_tf.formats.options_io.film_net` is the gin-configurable
form (named `film_net`, as in the released gin files) that training's gin
config and `model_io.options_from_gin` call; `Options` itself and the layers
never read gin.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class Options:
    """Hyper-parameters of the FILM interpolator.

    Attributes:
      pyramid_levels: Levels of the image pyramid (and of the feature and flow
        pyramids). Inputs must be divisible by 2^(pyramid_levels - 1).
      fusion_pyramid_levels: How many of the finest levels are warped and fused.
      specialized_levels: The finest levels that own a flow estimator; all
        coarser levels share one.
      sub_levels: Depth of the shared sub-tree feature extractor.
      flow_convs: 3x3 convolutions per flow estimator, specialized_levels + 1
        entries (the last is for the shared estimator).
      flow_filters: Channels of those convolutions, same length as flow_convs.
      filters: Channels of the first feature extractor level (doubled per level).
      use_aux_outputs: Also output warped inputs and the flow pyramids.
    """

    pyramid_levels: int = 7
    fusion_pyramid_levels: int = 5
    specialized_levels: int = 3
    sub_levels: int = 4
    flow_convs: Sequence[int] = (3, 3, 3, 3)
    flow_filters: Sequence[int] = (32, 64, 128, 256)
    filters: int = 64
    use_aux_outputs: bool = True

    def __post_init__(self):
        # Lists from gin or JSON become tuples, so Options stays hashable.
        object.__setattr__(self, "flow_convs", tuple(int(v) for v in self.flow_convs))
        object.__setattr__(self, "flow_filters", tuple(int(v) for v in self.flow_filters))
        self.validate()

    def validate(self) -> None:
        def positive(field: str) -> None:
            value = getattr(self, field)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"film_net.{field} must be a positive integer, got {value!r}.")

        for field in (
            "pyramid_levels",
            "fusion_pyramid_levels",
            "specialized_levels",
            "sub_levels",
            "filters",
        ):
            positive(field)
        if self.fusion_pyramid_levels > self.pyramid_levels:
            raise ValueError(
                f"film_net.fusion_pyramid_levels ({self.fusion_pyramid_levels}) must not exceed "
                f"film_net.pyramid_levels ({self.pyramid_levels})."
            )
        if self.specialized_levels > self.pyramid_levels:
            raise ValueError(
                f"film_net.specialized_levels ({self.specialized_levels}) must not exceed "
                f"film_net.pyramid_levels ({self.pyramid_levels})."
            )
        if self.sub_levels > self.pyramid_levels:
            raise ValueError(
                f"film_net.sub_levels ({self.sub_levels}) must be in 1..pyramid_levels "
                f"({self.pyramid_levels}): the sub-tree cannot be deeper than the pyramid."
            )
        expected = self.specialized_levels + 1
        for field in ("flow_convs", "flow_filters"):
            value = getattr(self, field)
            if len(value) != expected:
                raise ValueError(
                    f"film_net.{field} has {len(value)} entries, but needs specialized_levels + 1 = "
                    f"{expected} (one per specialized level, then the shared estimator)."
                )
            if any(v < 1 for v in value):
                raise ValueError(f"film_net.{field} entries must be positive, got {list(value)}.")
        odd = [f for f in self.flow_filters if f % 2]
        if odd:
            raise ValueError(
                f"film_net.flow_filters must be even (the 1x1 conv has flow_filters / 2 channels), got {list(self.flow_filters)}."
            )

    @property
    def alignment(self) -> int:
        """Inputs' height and width must be multiples of this."""
        return 2 ** (self.pyramid_levels - 1)

    @property
    def feature_channels(self) -> list[int]:
        """Channels of feature pyramid level i: the concatenated sub-tree outputs."""
        sub = [self.filters << j for j in range(self.sub_levels)]
        return [sum(sub[: min(i, self.sub_levels - 1) + 1]) for i in range(self.pyramid_levels)]

    @property
    def fusion_channels(self) -> list[int]:
        """Channels of fusion input level k: two warped (RGB + features) and two flows."""
        return [2 * (3 + c) + 4 for c in self.feature_channels[: self.fusion_pyramid_levels]]

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["flow_convs"] = list(self.flow_convs)
        d["flow_filters"] = list(self.flow_filters)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Options:
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - fields
        if unknown:
            raise ValueError(f"Unknown film_net option(s): {sorted(unknown)}.")
        return cls(**d)
