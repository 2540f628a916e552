import gin
import pytest

from film_tf.formats.options_io import film_net
from film_tf.model.options import Options


def test_defaults_are_the_released_configuration():
    o = Options()
    assert (o.pyramid_levels, o.fusion_pyramid_levels, o.specialized_levels, o.sub_levels) == (7, 5, 3, 4)
    assert o.flow_convs == (3, 3, 3, 3)
    assert o.flow_filters == (32, 64, 128, 256)
    assert o.filters == 64 and o.use_aux_outputs is True
    assert o.alignment == 64


@pytest.mark.parametrize(
    "kwargs, field",
    [
        (dict(fusion_pyramid_levels=8), "fusion_pyramid_levels"),
        (dict(flow_convs=(3, 3, 3)), "flow_convs"),
        (dict(flow_filters=(32, 64, 128, 256, 512)), "flow_filters"),
        (dict(sub_levels=0), "sub_levels"),
        (dict(sub_levels=8), "sub_levels"),
        (dict(pyramid_levels=0), "pyramid_levels"),
        (dict(filters=-1), "filters"),
        (dict(flow_filters=(32, 64, 128, 255)), "flow_filters"),
    ],
)
def test_invalid_options_name_the_field(kwargs, field):
    with pytest.raises(ValueError, match=f"film_net.{field}"):
        Options(**kwargs)


def test_round_trip_through_dict():
    o = Options(
        pyramid_levels=5,
        fusion_pyramid_levels=4,
        specialized_levels=2,
        sub_levels=3,
        flow_convs=[2, 2, 2],
        flow_filters=[8, 8, 16],
        filters=4,
    )
    assert Options.from_dict(o.to_dict()) == o
    with pytest.raises(ValueError, match="Unknown film_net option"):
        Options.from_dict({"pyramid_level": 3})


def test_gin_configurable_as_film_net():
    with gin.unlock_config():
        gin.clear_config()
        gin.parse_config(["film_net.pyramid_levels = 6", "film_net.filters = 16"])
        try:
            o = film_net()
        finally:
            gin.clear_config()
    assert o.pyramid_levels == 6 and o.filters == 16


def test_layers_never_read_gin():
    """A film_net binding reaches options_io.film_net() (the gin edge) but not a model built without options."""
    from film_tf import FilmNet, create_model

    with gin.unlock_config():
        gin.clear_config()
        gin.parse_config(["film_net.filters = 16"])
        try:
            assert film_net().filters == 16
            assert FilmNet().options.filters == 64
            assert create_model().film_options.filters == 64
        finally:
            gin.clear_config()
