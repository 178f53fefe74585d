import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from conftest import by_blocks, run_concurrently

from keras_mrigan import export
from keras_mrigan.cli import main
from keras_mrigan.models.latents import seed_latents
from keras_mrigan.runs import Sampler


@pytest.fixture(scope="module")
def run(tiny_run):
    """The shared tiny run (normal latents, a moving average); these tests only read it."""
    return tiny_run[0]


@pytest.fixture(scope="module")
def exported(run, tmp_path_factory):
    base = tmp_path_factory.mktemp("saved_models")
    return export.export_generator(run, "mrigan", base=base), run


LOADER = textwrap.dedent("""
    import json, sys
    import numpy as np
    import tensorflow as tf
    model = tf.saved_model.load(sys.argv[1])
    latents = np.load(sys.argv[2])
    by_latent = model.signatures["serving_default"](latent=tf.constant(latents))
    by_seed = model.signatures["generate_from_seed"](
        seed=tf.constant(np.arange(5, dtype=np.int64)))
    assert "keras_mrigan" not in sys.modules
    np.savez(sys.argv[3], images=by_latent["images"].numpy(),
             images_uint8=by_latent["images_uint8"].numpy(), seeds=by_seed["images"].numpy())
    meta = json.load(open(sys.argv[1] + "/assets/metadata.json"))
    print(json.dumps(meta))
""")


def _load_elsewhere(path, latents, tmp_path, tag):
    np.save(tmp_path / "latents.npy", latents)
    out = tmp_path / f"{tag}.npz"
    done = subprocess.run([sys.executable, "-c", LOADER, str(path), str(tmp_path / "latents.npy"),
                           str(out)], capture_output=True, text=True, check=True)
    return dict(np.load(out)), json.loads(done.stdout.strip().splitlines()[-1])


def test_savedmodel_in_a_separate_process_matches_keras(exported, tmp_path):
    path, run = exported
    assert path.name == "1" and (path / "saved_model.pb").exists()
    gan = keras.models.load_model(run / "model.keras")
    latents = np.random.default_rng(0).normal(size=(6, 8)).astype(np.float32)
    first, meta = _load_elsewhere(path, latents, tmp_path, "first")
    # The export serves the moving average of the generator.
    expected = by_blocks(gan.sampling_generator(), latents)
    np.testing.assert_array_equal(first["images"], expected)
    assert first["images"].shape == (6, 16, 16, 1) and first["images"].dtype == np.float32
    assert first["images_uint8"].dtype == np.uint8
    np.testing.assert_array_equal(first["images_uint8"],
                                  np.round((expected + 1) * 127.5).astype(np.uint8))
    # Seeds: the same images in another process as in this one, through the library's
    # mapping (one fresh process is enough to show it; this one is another).
    np.testing.assert_array_equal(first["seeds"], Sampler(path)(np.arange(5)))
    np.testing.assert_array_equal(
        first["seeds"], by_blocks(gan.sampling_generator(), seed_latents(np.arange(5), 8,
                                                                          "normal")))
    assert meta["latent_dim"] == 8 and meta["resolution"] == 16
    assert meta["latent_distribution"] == "normal" and meta["architecture"] == "dcgan"
    assert meta["training_data"].endswith("data") and meta["package"].startswith("keras_mrigan")


def test_saved_model_cli_lists_and_runs_the_signatures(exported, tmp_path):
    path, _ = exported
    np.save(tmp_path / "latent.npy", np.zeros((2, 8), np.float32))
    shown, ran = run_concurrently([
        ["saved_model_cli", "show", "--all", "--dir", str(path)],
        ["saved_model_cli", "run", "--dir", str(path), "--tag_set", "serve", "--signature_def",
         "serving_default", "--inputs", f"latent={tmp_path / 'latent.npy'}"]])
    assert shown.returncode == 0, shown.stderr[-2000:]
    shown = shown.stdout
    assert "signature_def['serving_default']" in shown
    assert "signature_def['generate_from_seed']" in shown
    assert "inputs['latent']" in shown and "inputs['seed']" in shown
    assert "outputs['images_uint8']" in shown
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "images" in ran.stdout


def test_signature_rejects_wrong_latents(exported):
    import tensorflow as tf

    path, _ = exported
    signature = tf.saved_model.load(str(path)).signatures["serving_default"]
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        signature(latent=tf.zeros((2, 7)))
    with pytest.raises((ValueError, TypeError, tf.errors.InvalidArgumentError)):
        signature(latent=tf.zeros((8,)))


def test_versions_overwrite_and_failed_export(run, tmp_path, monkeypatch):
    base = tmp_path / "models"
    assert export.export_generator(run, "m", base=base).name == "1"
    assert export.export_generator(run, "m", base=base).name == "2"
    assert export.export_generator(run, "m", base=base, version=7).name == "7"
    assert export.next_version(base / "m") == 8
    with pytest.raises(ValueError, match="already exists"):
        export.export_generator(run, "m", base=base, version=2)
    stamp = (base / "m" / "2" / "saved_model.pb").stat().st_mtime_ns
    export.export_generator(run, "m", base=base, version=2, overwrite=True)
    assert (base / "m" / "2" / "saved_model.pb").stat().st_mtime_ns != stamp

    def broken(saved_model, metadata):  # Fails after the SavedModel itself was written.
        raise OSError("disk full")

    monkeypatch.setattr(export, "_write_metadata", broken)
    with pytest.raises(OSError, match="disk full"):
        export.export_generator(run, "m", base=base)
    assert sorted(p.name for p in (base / "m").iterdir()) == ["1", "2", "7"]


def test_export_errors(run, tmp_path):
    with pytest.raises(FileNotFoundError, match="no such run folder"):
        export.export_generator(tmp_path / "nope", "m", base=tmp_path)
    (tmp_path / "unfinished").mkdir()
    (tmp_path / "unfinished" / "config.json").write_text("{}")
    with pytest.raises(FileNotFoundError, match="has no finished model"):
        export.export_generator(tmp_path / "unfinished", "m", base=tmp_path)
    with pytest.raises(ValueError, match="`version` must be a positive integer"):
        export.export_generator(run, "m", base=tmp_path, version=0)


def test_export_and_generate_commands(run, tmp_path, capsys):
    from keras_mrigan.data.readers import read_volume, slice_volume

    base = tmp_path / "saved_models"
    assert main(["export", "--run", str(run), "--name", "mr", "--base", str(base)]) == 0
    assert main(["export", "--run", str(run), "--name", "mr", "--base", str(base),
                 "--version", "1"]) == 2
    assert "already exists" in capsys.readouterr().err
    model = str(base / "mr")
    assert main(["generate", "--model", model, "--n", "5", "--seed", "3", "--format", "npy",
                 "--out", str(tmp_path / "npy")]) == 0
    images = np.load(tmp_path / "npy" / "generated.npy")
    assert images.shape == (5, 16, 16, 1) and np.abs(images).max() <= 1
    # The run folder gives the same images for the same seeds.
    assert main(["generate", "--model", str(run), "--n", "5", "--seed", "3", "--format", "npy",
                 "--out", str(tmp_path / "npy_run")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "npy_run" / "generated.npy"), images,
                               atol=1e-5)
    # evaluate samples a SavedModel through the same seeds.
    assert main(["evaluate", "--generated", model, "--reference", str(run.parent / "data"),
                 "--n", "20", "--out", str(tmp_path / "eval")]) == 0, capsys.readouterr().err
    assert json.loads((tmp_path / "eval" / "metrics.json").read_text())["n"] == 20
    assert (tmp_path / "eval" / "interpolation.png").exists()
    assert main(["generate", "--model", model, "--n", "5", "--seed", "3", "--format", "png",
                 "--out", str(tmp_path / "png")]) == 0
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        f"image_{s:06d}.png" for s in range(3, 8)]
    assert main(["generate", "--model", model, "--n", "5", "--seed", "3", "--format", "nifti",
                 "--out", str(tmp_path / "nii")]) == 0
    volume = read_volume(tmp_path / "nii" / "generated.nii.gz")
    assert volume.shape == (16, 16, 5)
    nifti = __import__("nibabel").load(tmp_path / "nii" / "generated.nii.gz")
    np.testing.assert_array_equal(nifti.affine, np.eye(4))
    assert nifti.get_data_dtype() == np.float32
    np.testing.assert_allclose(slice_volume(volume, "axial"), images[..., 0], atol=1e-6)
    assert main(["generate", "--model", model, "--n", "2", "--format", "nifti",
                 "--nifti-per-slice", "--out", str(tmp_path / "nii2")]) == 0
    assert len(list((tmp_path / "nii2").glob("image_*.nii.gz"))) == 2
    # Bad input.
    for args, message in (
        (["--n", "0"], "--n must be a positive integer"),
        (["--n", "2", "--seed", "-4"], "Seeds must be integers from 0"),
    ):
        assert main(["generate", "--model", model, *args, "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "file").write_text("")
    assert main(["generate", "--model", model, "--n", "2", "--out",
                 str(tmp_path / "file" / "sub")]) == 2
    assert "Cannot create the output folder" in capsys.readouterr().err
    assert main(["generate", "--model", str(tmp_path / "missing"), "--n", "2", "--out",
                 str(tmp_path / "y")]) == 2
    assert "no such model folder" in capsys.readouterr().err


def test_serving_client_builds_requests_and_parses_responses(exported):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parents[1] / "examples"))
    import serving_client

    path, _ = exported
    model = tf.saved_model.load(str(path))
    for request, signature in (
        (serving_client.seed_request("mrigan", [4, 5]), "generate_from_seed"),
        (serving_client.latent_request("mrigan", np.zeros((2, 8))), "serving_default"),
    ):
        assert request.model_spec.name == "mrigan"
        assert request.model_spec.signature_name == signature
        (name, proto), = request.inputs.items()
        outputs = model.signatures[signature](**{name: tf.constant(tf.make_ndarray(proto))})
        response = predict_pb2.PredictResponse()
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value.numpy()))
        images, as_uint8, masks = serving_client.parse_response(response)
        np.testing.assert_array_equal(images, outputs["images"].numpy())
        assert images.shape == (2, 16, 16, 1) and as_uint8.dtype == np.uint8
        assert masks is None
    # A generator of image + mask pairs answers with `image` and `mask`.
    response = predict_pb2.PredictResponse()
    image = np.array([[[[-1.0], [1.0]]]], np.float32)
    response.outputs["image"].CopyFrom(tf.make_tensor_proto(image))
    response.outputs["mask"].CopyFrom(tf.make_tensor_proto(np.array([[[0, 3]]], np.int32)))
    images, as_uint8, masks = serving_client.parse_response(response)
    assert as_uint8.ravel().tolist() == [0, 255] and masks.tolist() == [[[0, 3]]]
