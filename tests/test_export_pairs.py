"""Export, sampling and writing of a generator of image + mask pairs."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from PIL import Image

from keras_mrigan import export
from keras_mrigan import generate as gen
from keras_mrigan.cli import main
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN
from keras_mrigan.models.latents import seed_latents
from keras_mrigan.runs import Sampler

# The OASIS release's mask gray levels.
CLASSES = {"values": [0, 85, 170, 255], "names": ["background", "CSF", "gray matter",
                                                  "white matter"]}


def _pair_gan(num_classes=0, mask_classes=CLASSES, seed=0):
    keras.utils.set_random_seed(seed)
    k = len(mask_classes["values"])
    generator = dcgan.build_generator(resolution=16, latent_dim=8, width=1 / 16,
                                      num_classes=num_classes, mask_classes=k)
    discriminator = dcgan.build_discriminator(resolution=16, width=1 / 16,
                                              num_classes=num_classes, mask_classes=k)
    return GAN(generator, discriminator, latent_distribution="normal",
               num_classes=num_classes, mask_classes=mask_classes,
               class_names=["a", "b"] if num_classes else None)


@pytest.fixture(scope="module")
def pair_model(tmp_path_factory):
    """A tiny unconditional DCGAN of 16 x 16 pairs with 4 mask classes: the GAN, its run
    folder (``model.keras``), and its export."""
    root = tmp_path_factory.mktemp("pairs")
    gan = _pair_gan()
    (root / "run").mkdir()
    gan.save(root / "run" / "model.keras")
    path = export.export_generator(root / "run", "pairs", base=root / "saved_models")
    return gan, root / "run", path


LOADER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    by_latent = model.signatures["serving_default"](latent=tf.constant(np.load(sys.argv[2])))
    by_seed = model.signatures["generate_from_seed"](
        seed=tf.constant(np.arange(3, 8, dtype=np.int64)))
    assert "keras_mrigan" not in sys.modules
    assert sorted(by_seed) == ["image", "mask"], sorted(by_seed)
    np.savez(sys.argv[3], image=by_latent["image"].numpy(), mask=by_latent["mask"].numpy(),
             seed_image=by_seed["image"].numpy(), seed_mask=by_seed["mask"].numpy())
    print(json.dumps(json.load(open(sys.argv[1] + "/assets/metadata.json"))))
""")


def test_export_returns_image_and_mask_in_a_fresh_process(pair_model, tmp_path):
    gan, _, path = pair_model
    latents = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    np.save(tmp_path / "latents.npy", latents)
    done = subprocess.run([sys.executable, "-c", LOADER, str(path), str(tmp_path / "latents.npy"),
                           str(tmp_path / "out.npz")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    served = dict(np.load(tmp_path / "out.npz"))
    meta = json.loads(done.stdout.strip().splitlines()[-1])
    assert served["seed_image"].shape == (5, 16, 16, 1)
    assert served["seed_image"].dtype == np.float32
    assert served["seed_mask"].shape == (5, 16, 16) and served["seed_mask"].dtype == np.int32
    images, masks = gan.generate(5, seed=3, return_masks=True)
    np.testing.assert_allclose(served["seed_image"], images, atol=1e-5)
    np.testing.assert_array_equal(served["seed_mask"], masks)
    assert set(np.unique(masks)) == {0, 1, 2, 3}  # Every class occurs: the test can tell.
    # Latents: channel 0 clipped, and the argmax of channels 1..4.
    pairs = gan.generator(latents, training=False).numpy()
    np.testing.assert_allclose(served["image"], np.clip(pairs[..., :1], -1, 1), atol=1e-5)
    np.testing.assert_array_equal(served["mask"], pairs[..., 1:].argmax(-1))
    assert meta["mask_classes"]["values"] == CLASSES["values"]
    assert meta["mask_classes"]["names"] == CLASSES["names"]
    assert meta["channels"] == 1
    assert "mask int32 [batch, H, W]" in meta["signatures"]["serving_default"]


def test_sampler_gives_the_same_masks_through_every_path(pair_model):
    gan, run, path = pair_model
    expected_images, expected_masks = gan.generate(6, seed=10, return_masks=True)
    for model in (run, run / "model.keras", path):
        sampler = Sampler(model)
        assert sampler.mask_classes.values == (0, 85, 170, 255)
        assert sampler.mask_classes.names == tuple(CLASSES["names"])
        images, masks = sampler(np.arange(10, 16), return_masks=True)
        np.testing.assert_allclose(images, expected_images, atol=1e-5)
        np.testing.assert_array_equal(masks, expected_masks)
        # Image i of seed s is image 0 of seed s + i, mask included.
        _, last = sampler([15], return_masks=True)
        np.testing.assert_array_equal(last[0], masks[5])
        # Without return_masks: the images only.
        np.testing.assert_array_equal(sampler(np.arange(10, 16)), images)
        latents = seed_latents(np.arange(10, 16), 8, "normal")
        by_latent = sampler.from_latents(latents, return_masks=True)
        np.testing.assert_array_equal(by_latent[1], expected_masks)
        np.testing.assert_allclose(by_latent[0], expected_images, atol=1e-5)
        assert sampler.from_latents(latents).shape == (6, 16, 16, 1)
        # generate() batches the seeds: the same pairs.
        batched = gen.generate(sampler, 6, seed=10, batch_size=4, progress=False,
                               return_masks=True)
        np.testing.assert_array_equal(batched[1], expected_masks)


def test_masks_of_a_model_without_them_are_refused(tmp_path):
    keras.utils.set_random_seed(0)
    gan = GAN(dcgan.build_generator(resolution=16, latent_dim=8, width=1 / 16),
              dcgan.build_discriminator(resolution=16, width=1 / 16))
    gan.save(tmp_path / "plain.keras")
    sampler = Sampler(tmp_path / "plain.keras")
    assert sampler.mask_classes is None
    message = "generates images without masks: `return_masks=True` needs a generator of image"
    with pytest.raises(ValueError, match=message):
        sampler([0, 1], return_masks=True)
    with pytest.raises(ValueError, match=message):
        sampler.from_latents(np.zeros((1, 8)), return_masks=True)
    with pytest.raises(ValueError, match="it cannot write image \\+ mask pairs"):
        gen.write_samples(sampler, tmp_path / "out", n=2, masks=True, progress=False)
    assert not list((tmp_path / "out").iterdir())
    # An export without masks keeps its outputs.
    path = export.export_generator(gan, "plain", base=tmp_path / "saved")
    assert json.loads((path / "assets" / "metadata.json").read_text())["mask_classes"] is None
    with pytest.raises(ValueError, match=message):
        Sampler(path)([0], return_masks=True)
    assert Sampler(path)([0, 1]).shape == (2, 16, 16, 1)


def _read_png(path):
    with Image.open(path) as image:
        return np.asarray(image)


def test_write_samples_writes_png_pairs_in_the_source_values(pair_model, tmp_path):
    gan, _, path = pair_model
    written, = gen.write_samples(path, tmp_path / "out", n=4, seed=7, progress=False)
    names = [f"image_{s:06d}.png" for s in range(7, 11)]
    assert written.folder == tmp_path / "out" / "images" and written.n == 4
    assert written.mask_folder == tmp_path / "out" / "masks"
    assert sorted(p.name for p in written.folder.iterdir()) == names
    assert sorted(p.name for p in written.mask_folder.iterdir()) == names
    assert [p.name for p in written.files] == [p.name for p in written.mask_files] == names
    images, masks = gan.generate(4, seed=7, return_masks=True)
    values = np.array(CLASSES["values"], np.uint8)
    for k, name in enumerate(names):
        mask = _read_png(tmp_path / "out" / "masks" / name)
        assert mask.dtype == np.uint8 and mask.shape == (16, 16)
        np.testing.assert_array_equal(mask, values[masks[k]])
        image = _read_png(tmp_path / "out" / "images" / name)
        assert np.abs(image.astype(int) - np.round((images[k, ..., 0] + 1) * 127.5)).max() <= 1
    assert set(np.unique([_read_png(p) for p in written.mask_files])) == {0, 85, 170, 255}
    # masks=False: the images only, as a generator without masks writes them.
    plain, = gen.write_samples(path, tmp_path / "plain", n=2, seed=7, masks=False,
                               progress=False)
    assert sorted(p.name for p in (tmp_path / "plain").iterdir()) == names[:2]
    assert plain.mask_files == [] and plain.mask_folder is None


def test_generate_command_writes_pairs(pair_model, tmp_path, capsys):
    gan, run, path = pair_model
    assert main(["generate", "--model", str(path.parent), "--n", "3", "--seed", "2",
                 "--out", str(tmp_path / "cli")]) == 0, capsys.readouterr().err
    names = [f"image_{s:06d}.png" for s in range(2, 5)]
    for folder in ("images", "masks"):
        assert sorted(p.name for p in (tmp_path / "cli" / folder).iterdir()) == names
    _, masks = gan.generate(3, seed=2, return_masks=True)
    np.testing.assert_array_equal(_read_png(tmp_path / "cli" / "masks" / names[2]),
                                  np.array(CLASSES["values"], np.uint8)[masks[2]])


def test_nifti_and_npy_pairs(pair_model, tmp_path):
    from keras_mrigan.data.readers import read_volume, slice_volume

    gan, run, _ = pair_model
    images, masks = gan.generate(3, seed=0, return_masks=True)
    values = np.array(CLASSES["values"], np.uint8)[masks]
    written, = gen.write_samples(run, tmp_path / "nii", n=3, format="nifti", progress=False)
    assert written.files == [tmp_path / "nii" / "images" / "generated.nii.gz"]
    assert written.mask_files == [tmp_path / "nii" / "masks" / "generated.nii.gz"]
    mask_file = __import__("nibabel").load(written.mask_files[0])
    assert mask_file.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(mask_file.affine, np.eye(4))
    np.testing.assert_array_equal(slice_volume(read_volume(written.mask_files[0]), "axial"),
                                  values)
    np.testing.assert_allclose(slice_volume(read_volume(written.files[0]), "axial"),
                               images[..., 0], atol=1e-6)
    per_slice, = gen.write_samples(run, tmp_path / "nii1", n=3, format="nifti",
                                   nifti_per_slice=True, progress=False)
    assert [p.name for p in per_slice.mask_files] == [p.name for p in per_slice.files] == [
        f"image_{s:06d}.nii.gz" for s in range(3)]
    np.testing.assert_array_equal(
        slice_volume(read_volume(per_slice.mask_files[1]), "axial")[0], values[1])
    arrays, = gen.write_samples(run, tmp_path / "npy", n=3, format="npy", progress=False)
    np.testing.assert_array_equal(np.load(arrays.mask_files[0]), values)
    np.testing.assert_allclose(np.load(arrays.files[0]), images, atol=1e-5)


def test_conditional_pairs_go_to_one_folder_per_class(tmp_path):
    gan = _pair_gan(num_classes=2)
    gan.save(tmp_path / "cond.keras")
    written = gen.write_samples(tmp_path / "cond.keras", tmp_path / "out", per_class=2,
                                seed=5, progress=False)
    assert [(w.folder, w.mask_folder, w.label) for w in written] == [
        (tmp_path / "out" / "images" / c, tmp_path / "out" / "masks" / c, c) for c in "ab"]
    images, masks = gan.generate(2, seed=5, label="b", return_masks=True)
    np.testing.assert_array_equal(
        _read_png(tmp_path / "out" / "masks" / "b" / "image_000006.png"),
        np.array(CLASSES["values"], np.uint8)[masks[1]])
    sampled = Sampler(tmp_path / "cond.keras")([5, 6], label="b", return_masks=True)
    np.testing.assert_array_equal(sampled[1], masks)
    # The export takes labels as before and returns both outputs.
    path = export.export_generator(gan, "cond", base=tmp_path / "saved")
    served = Sampler(path)([5, 6], label="b", return_masks=True)
    np.testing.assert_array_equal(served[1], masks)
    np.testing.assert_allclose(served[0], images, atol=1e-5)
    _, other = Sampler(path)([5, 6], label="a", return_masks=True)
    np.testing.assert_array_equal(other, gan.generate(2, seed=5, label="a",
                                                      return_masks=True)[1])


def test_mask_values_beyond_8_bits(tmp_path):
    labels = {"values": [0, 2, 41, 1000], "names": ["0", "2", "41", "1000"]}
    gan = _pair_gan(mask_classes=labels)
    gan.save(tmp_path / "labels.keras")
    written, = gen.write_samples(tmp_path / "labels.keras", tmp_path / "out", n=2,
                                 progress=False)
    _, masks = gan.generate(2, seed=0, return_masks=True)
    mask = _read_png(written.mask_files[1])
    assert mask.dtype.itemsize == 2  # A 16-bit PNG.
    np.testing.assert_array_equal(mask, np.array(labels["values"])[masks[1]])
    negative = {"values": [-1, 0, 1], "names": ["left", "none", "right"]}
    _pair_gan(mask_classes=negative).save(tmp_path / "negative.keras")
    with pytest.raises(ValueError, match="Mask values must be 0 to 65535 to be written as "
                                         "PNG; write the pairs as NIfTI or npy instead"):
        gen.write_samples(tmp_path / "negative.keras", tmp_path / "neg", n=2, progress=False)
    assert not list((tmp_path / "neg").iterdir())
    written, = gen.write_samples(tmp_path / "negative.keras", tmp_path / "neg", n=2,
                                 format="npy", progress=False)
    assert set(np.unique(np.load(written.mask_files[0]))) <= {-1, 0, 1}


def test_a_failed_mask_leaves_neither_file(pair_model, tmp_path, monkeypatch):
    _, run, _ = pair_model
    save_png = gen._save_png

    def failing(path, array):
        if array.shape == (16, 16) and "masks" in str(path) and path.name.startswith(
                ".image_000001"):
            raise OSError("disk full")
        save_png(path, array)

    monkeypatch.setattr(gen, "_save_png", failing)
    with pytest.raises(OSError, match="disk full"):
        gen.write_samples(run, tmp_path / "out", n=3, progress=False)
    # The first pair is complete, the second left no trace (nor any temporary file).
    assert sorted(p.name for p in (tmp_path / "out" / "images").iterdir()) == [
        "image_000000.png"]
    assert sorted(p.name for p in (tmp_path / "out" / "masks").iterdir()) == [
        "image_000000.png"]
    with pytest.raises(ValueError, match="The masks must be \\(2, 16, 16\\)"):
        gen.write_pairs(np.zeros((2, 16, 16, 1)), np.zeros((2, 8, 8), int),
                        Sampler(run).mask_classes, tmp_path / "i", tmp_path / "m")
    with pytest.raises(ValueError, match="Mask class indices must be 0 to 3. Received: 0 to 4"):
        gen.write_pairs(np.zeros((1, 2, 2, 1)), np.array([[[0, 4], [1, 1]]]),
                        Sampler(run).mask_classes, tmp_path / "i", tmp_path / "m")


def test_written_pairs_read_back_as_a_paired_source(pair_model, tmp_path):
    from keras_mrigan.data.pipeline import SliceOptions, load_slices

    _, run, _ = pair_model
    classes = "0=background,85=CSF,170=gray matter,255=white matter"
    for fmt in ("png", "nifti"):
        out = tmp_path / fmt
        gen.write_samples(run, out, n=4, seed=1, format=fmt, progress=False)
        _, masks = Sampler(run)(np.arange(1, 5), return_masks=True)
        pairs, mask_classes = load_slices(
            out / "images", 16, SliceOptions(masks=str(out / "masks"), mask_classes=classes))
        assert mask_classes.values == (0, 85, 170, 255)
        assert pairs.shape == (4, 16, 16, 5)
        np.testing.assert_array_equal(pairs[..., 1:].argmax(-1), masks)
