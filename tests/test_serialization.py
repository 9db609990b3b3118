"""Every layer: get_config round trip and .keras save/load give identical outputs."""

import keras
import numpy as np
import pytest

from tests.cases import CASES, make_input
from tests.harness import assert_close, build_model


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_config_round_trip(case):
    layer = case.make()
    x = make_input(case)
    y = layer(x)
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    assert_close(clone(x), y, what="from_config output")


@pytest.mark.parametrize("case", [c for c in CASES if "keras" not in c.skip], ids=lambda c: c.id)
def test_keras_save_load(case, tmp_path):
    model = build_model(case)
    x = make_input(case)
    y = model(x)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert_close(loaded(x), y, what="reloaded .keras output")
    for w1, w2 in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(w1.numpy(), w2.numpy())
