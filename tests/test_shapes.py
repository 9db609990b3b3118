"""Every layer: compute_output_shape equals the real output shape for every length."""

import pytest

from tests.cases import CASES, make_input
from tests.harness import build_model, shape_of


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_output_shape_every_length(case):
    layer = case.make()
    for length in sorted({case.time, *case.lengths}):
        for channels in (None, 2):
            if channels and "multichannel" in case.skip:
                continue
            x = make_input(case, batch=3, time=length, channels=channels)
            y = layer(x)
            expected = tuple(layer.compute_output_shape(shape_of(x)))
            assert tuple(y.shape) == expected, f"length {length}, channels {channels}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_symbolic_shape_dynamic_axes(case):
    model = build_model(case)
    layer = model.layers[-1]
    assert tuple(model.output.shape) == tuple(layer.compute_output_shape(shape_of(model.input)))
    x = make_input(case, batch=1)
    assert tuple(model(x).shape) == tuple(layer.compute_output_shape(shape_of(x)))
