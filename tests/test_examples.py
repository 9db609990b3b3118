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


def test_augment_in_model(tmp_path):
    """Trains with augmentation, exports without it (identical outputs), writes the grid."""
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / "augment_in_model.py"), "--out", str(tmp_path),
         "--epochs", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "export == un-augmented model (max diff " in proc.stdout, proc.stdout
    assert (tmp_path / "augment_grid.png").stat().st_size > 10_000
