"""The examples run end to end (small settings)."""

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).parents[1] / "examples"


def test_front_end_in_model(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "front_end_in_model.py"), "--epochs", "8", "--out",
         str(tmp_path / "served")],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    acc = float(proc.stdout.split("test accuracy ")[1].split()[0])
    assert acc >= 0.9, proc.stdout
    assert "served predictions" in proc.stdout
