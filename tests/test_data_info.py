"""The ``keras-mrigan data info`` command: a table or JSON of what a source holds."""

import json

import numpy as np
from conftest import head_volume, save_nifti

from keras_mrigan.cli import main


def test_data_info_table_and_json(tmp_path, capsys):
    save_nifti(tmp_path / "in" / "head.nii.gz", head_volume(), np.diag([1.0, 1.0, 3.0, 1.0]))
    assert main(["data", "info", str(tmp_path / "in"), "--axis", "coronal",
                 "--min-foreground", "0"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["source", "kind", "shape"]
    assert lines[1].split()[1:9] == ["nifti", "24", "x", "28", "x", "20", "1", "x"]
    assert "RAS" in lines[1] and lines[-1].startswith("28 slices from 1 file(s)")
    assert main(["data", "info", str(tmp_path / "in"), "--json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["kind"], row["shape"], row["voxel_mm"], row["orientation"], row["slices"]) \
        == ("nifti", [24, 28, 20], [1.0, 1.0, 3.0], "RAS", 14)
