import numpy as np
import pytest
from PIL import Image

from keras_mrigan.plotting import image_grid, save_image_grid, to_uint8


def test_to_uint8_inverts_png_scaling():
    np.testing.assert_array_equal(to_uint8([-1.0, 0.0, 1.0, 2.0]), [0, 128, 255, 255])


def test_grid_layout():
    images = np.stack([np.full((4, 6), v, np.float32) for v in (-1.0, 1.0, 0.0)])
    grid = image_grid(images, ncols=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 7 + 1)
    assert grid[1, 1] == 0 and grid[1, 8] == 255 and grid[6, 1] == 128
    assert grid[6, 8] == 0  # The empty fourth tile stays black.


def test_save_is_atomic(tmp_path, monkeypatch):
    path = save_image_grid(np.full((4, 8, 8, 1), -1.0), tmp_path / "grid.png")
    assert Image.open(path).size == (2 * 10 + 2, 2 * 10 + 2)

    def broken_save(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_image_grid(np.ones((1, 8, 8)), tmp_path / "grid.png")
    # The earlier file is intact and no temporary file is left.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.png"]
    assert np.asarray(Image.open(tmp_path / "grid.png")).max() == 0


def test_bad_images():
    with pytest.raises(ValueError, match="non-empty array"):
        image_grid(np.zeros((0, 4, 4)))


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    path = save_image_grid(np.zeros((1, 4, 4)), tmp_path / "g.png")
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
