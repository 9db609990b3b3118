"""Every layer: model.export() reloads in a process that never imports tfaudio.

All cases are exported once into a temporary folder; ONE subprocess (plain TensorFlow)
loads every SavedModel and serves two inputs with different batch and time sizes.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from tests.cases import CASES, make_input
from tests.harness import assert_close, build_model

EXPORT_CASES = [c for c in CASES if "export" not in c.skip]

RELOADER = textwrap.dedent(
    """
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
    import numpy as np
    import tensorflow as tf
    root = sys.argv[1]
    index = json.load(open(os.path.join(root, "index.json")))
    for name in index:
        model = tf.saved_model.load(os.path.join(root, name))
        for k in range(2):
            x = np.load(os.path.join(root, f"{name}_in{k}.npy"))
            if isinstance(x, np.lib.npyio.NpzFile):  # a multi-input layer: a list of inputs
                x = [tf.constant(x[f"arr_{i}"]) for i in range(len(x.files))]
            else:
                x = tf.constant(x)
            y = model.serve(x).numpy()
            np.save(os.path.join(root, f"{name}_out{k}.npy"), y)
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("tfaudio", "keras"))
    json.dump(leaked, open(os.path.join(root, "modules.json"), "w"))
    """
)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("exports")
    expected = {}
    for case in EXPORT_CASES:
        model = build_model(case)
        model.export(str(root / case.id), verbose=False)
        inputs = [
            make_input(case, batch=2, seed=1),
            make_input(case, batch=3, time=case.time + 137, seed=2),
        ]
        expected[case.id] = [np.asarray(model(x)) for x in inputs]
        for k, x in enumerate(inputs):
            if isinstance(x, list):  # np.load returns an NpzFile for these
                with open(root / f"{case.id}_in{k}.npy", "wb") as f:
                    np.savez(f, *x)
            else:
                np.save(root / f"{case.id}_in{k}.npy", x)
    (root / "index.json").write_text(json.dumps([c.id for c in EXPORT_CASES]))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-c", RELOADER, str(root)], capture_output=True, text=True, env=env,
        cwd=str(root), timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root, expected


def test_reloader_never_imported_tfaudio(exported):
    root, _ = exported
    leaked = json.loads((root / "modules.json").read_text())
    assert not [m for m in leaked if m.startswith("tfaudio")], leaked


@pytest.mark.parametrize("case", EXPORT_CASES, ids=lambda c: c.id)
def test_export_serves_identical_outputs(case, exported):
    root, expected = exported
    for k in range(2):
        got = np.load(root / f"{case.id}_out{k}.npy")
        assert_close(got, expected[case.id][k], rel=1e-6, atol=1e-6, what=f"{case.id} input {k}")
