"""Training under tf.distribute, each case in its own processes (logical devices and collective
ops must be set up before TensorFlow starts)."""

import json
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import free_ports, run_concurrently, run_together

SCRIPTS = Path(__file__).parent / "scripts"


@pytest.mark.slow
def test_mirrored_step_equals_the_same_global_batch_on_one_device():
    # Two processes at the same time (most of a case is tracing, which runs on one core), of
    # about equal work. DCGAN under a gradient penalty, DRAGAN's perturbations and R1, with
    # adaptive augmentation; a conditional StyleGAN2 (per-pixel noise drawn for the global
    # batch, modulated convolutions, label embedding and projection discriminator), started
    # in a process that already runs a DCGAN case rather than in a third one.
    cases = (("wgan-gp", "dragan"), ("gan-r1", "wgan-gp+labels@stylegan2"))
    results = run_concurrently([[sys.executable, str(SCRIPTS / "mirrored_step.py"), *group]
                                for group in cases])
    figures = {}
    for result in results:
        assert result.returncode == 0, result.stderr[-3000:]
        figures.update(json.loads(result.stdout.strip().splitlines()[-1]))
    assert sorted(figures) == sorted(case for group in cases for case in group)
    for case in figures:
        # The step moved the weights and their moving average (and its count of images),
        # identically on 1 and 2 replicas.
        assert figures[case]["update"] > 1e-4 and figures[case]["ema_update"] > 1e-5
        assert figures[case]["difference"] < 1e-5, (case, figures)
        assert figures[case]["ema_difference"] < 1e-5, (case, figures)


@pytest.mark.slow
def test_two_local_workers_train_to_identical_weights(tiny_config, tmp_path):
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    run_together([
        ([sys.executable, "-m", "keras_mrigan", "train", "--strategy", "multiworker",
          "--data", tiny_config.data.source, "--resolution", "16", "--batch-size", "8",
          "--latent-dim", "8", "--width", "0.0625", "--epochs", "2", "--loss", "dragan",
          "--out", str(tmp_path / f"worker{index}")],
         {"TF_CONFIG": json.dumps({"cluster": cluster,
                                   "task": {"type": "worker", "index": index}})})
        for index in range(2)
    ], timeout=300)
    import keras_mrigan.models.gan  # noqa: F401  (registers the GAN for loading)

    first, second = (keras.models.load_model(tmp_path / f"worker{i}" / "model.keras")
                     for i in range(2))
    trainable = first.generator.trainable_weights + first.discriminator.trainable_weights
    others = second.generator.trainable_weights + second.discriminator.trainable_weights
    for a, b in zip(trainable, others, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # 28 slices, global batch 8 split over the two workers: 3 steps per epoch.
    assert int(first.d_optimizer.iterations) == int(second.d_optimizer.iterations) == 6
