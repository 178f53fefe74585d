import subprocess
import sys

import numpy as np
from conftest import head_volume, save_nifti
from PIL import Image

from keras_mrigan.cli import main


def test_help_lists_subcommands():
    result = subprocess.run(
        [sys.executable, "-m", "keras_mrigan", "--help"], capture_output=True, text=True, check=True
    )
    assert "data" in result.stdout
    result = subprocess.run(
        [sys.executable, "-m", "keras_mrigan", "data", "--help"],
        capture_output=True, text=True, check=True,
    )
    assert "preview" in result.stdout


def test_data_preview(tmp_path, capsys):
    for i in range(2):
        save_nifti(tmp_path / "in" / f"s{i}.nii.gz", head_volume(seed=i))
    out = tmp_path / "grid.png"
    code = main(["data", "preview", "--data", str(tmp_path / "in"), "--resolution", "32",
                 "--out", str(out), "--n", "4"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "28 slices of shape (32, 32, 1) from 2 file(s)" in printed
    assert "s0.nii.gz" in printed and "14" in printed
    assert np.asarray(Image.open(out)).shape == (2 * 34 + 2, 2 * 34 + 2)


def test_data_preview_errors_name_the_argument(tmp_path, capsys):
    code = main(["data", "preview", "--data", str(tmp_path / "missing"), "--out", "x.png"])
    assert code == 2
    assert "does not exist" in capsys.readouterr().err
    save_nifti(tmp_path / "v.nii.gz", head_volume())
    code = main(["data", "preview", "--data", str(tmp_path), "--resolution", "48",
                 "--out", str(tmp_path / "g.png")])
    assert code == 2
    assert "resolution=48" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()
