"""StyleGAN2 networks: the modulated convolution against a direct computation, the skip
generator's sum, shapes, serialization and the absence of normalization in the critic."""

import keras
import numpy as np
import pytest

from keras_mrigan.layers import ConstantInput, ModulatedConv2D, NoiseInjection
from keras_mrigan.models import stylegan2


def _direct_modulated_conv(x, w, layer, demodulate):
    """Per-image kernels formed explicitly (StyleGAN2 eq. 1-3), then a plain 'same' conv."""
    kernel = layer.kernel.numpy() * layer.kernel_scale  # (k, k, cin, cout)
    styles = w @ (layer.style_kernel.numpy() * layer.style_scale) + layer.style_bias.numpy()
    k = kernel.shape[0]
    pad = k // 2
    out = np.zeros((*x.shape[:3], kernel.shape[-1]))
    for b in range(x.shape[0]):
        wk = kernel * styles[b][None, None, :, None]
        if demodulate:
            wk = wk / np.sqrt((wk**2).sum(axis=(0, 1, 2), keepdims=True) + 1e-8)
        padded = np.pad(x[b], ((pad, pad), (pad, pad), (0, 0)))
        for i in range(x.shape[1]):
            for j in range(x.shape[2]):
                patch = padded[i : i + k, j : j + k, :]
                out[b, i, j] = np.tensordot(patch, wk, axes=([0, 1, 2], [0, 1, 2]))
    return out + layer.bias.numpy()


@pytest.mark.parametrize("demodulate", [True, False])
def test_modulated_convolution_equals_per_image_kernels(demodulate):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 6, 3)).astype(np.float32)
    w = rng.normal(size=(2, 7)).astype(np.float32)
    layer = ModulatedConv2D(4, 3, demodulate=demodulate)
    layer.build([x.shape, w.shape])
    layer.bias.assign(rng.normal(size=4).astype(np.float32))
    layer.style_bias.assign(rng.normal(size=3).astype(np.float32) + 1)
    got = keras.ops.convert_to_numpy(layer([x, w]))
    np.testing.assert_allclose(got, _direct_modulated_conv(x, w, layer, demodulate),
                               rtol=1e-4, atol=1e-4)


def test_demodulated_outputs_have_unit_variance_for_unit_inputs():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 32, 32, 16)).astype(np.float32)
    w = rng.normal(size=(4, 8)).astype(np.float32) * 3
    layer = ModulatedConv2D(16, 3, use_bias=False)
    out = keras.ops.convert_to_numpy(layer([x, w]))[:, 1:-1, 1:-1]  # Away from the padding.
    np.testing.assert_allclose(out.var(axis=(1, 2)).mean(), 1.0, atol=0.1)


def test_upsampling_modulated_convolution_doubles_the_side():
    layer = ModulatedConv2D(2, 3, upsample=True)
    out = layer([np.ones((3, 4, 4, 5), np.float32), np.ones((3, 6), np.float32)])
    assert tuple(out.shape) == (3, 8, 8, 2)


def test_noise_is_fixed_in_inference_and_fresh_in_training():
    layer = NoiseInjection(seed=3)
    x = np.zeros((2, 4, 4, 1), np.float32)
    layer.build(x.shape)
    layer.strength.assign(1.0)
    a, b = (keras.ops.convert_to_numpy(layer(x, training=False)) for _ in range(2))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a[0], a[1])  # One map for every image.
    c, d = (keras.ops.convert_to_numpy(layer(x, training=True)) for _ in range(2))
    assert not np.array_equal(c, d) and not np.array_equal(c[0], c[1])
    np.testing.assert_allclose(c.std(), 1.0, atol=0.35)


def test_constant_input_repeats_for_the_batch():
    layer = ConstantInput(3, 4)
    out = keras.ops.convert_to_numpy(layer(np.zeros((5, 2), np.float32)))
    assert out.shape == (5, 4, 4, 3)
    np.testing.assert_array_equal(out[0], out[4])


@pytest.mark.parametrize("resolution", [16, 32, 64, 128, 256])
def test_shapes(resolution):
    g = stylegan2.build_generator(resolution, latent_dim=8, width=1 / 64)
    d = stylegan2.build_discriminator(resolution, width=1 / 64)
    z = np.random.default_rng(0).normal(size=(4, 8)).astype(np.float32)
    images = g(z, training=False)
    assert tuple(images.shape) == (4, resolution, resolution, 1)
    assert tuple(d(images).shape) == (4, 1)


def test_the_output_is_the_sum_of_the_upsampled_per_resolution_images():
    g = stylegan2.build_generator(32, latent_dim=8, width=1 / 64)
    parts = keras.Model(g.input, [g.get_layer(f"to_image_{r}").output for r in (4, 8, 16, 32)])
    z = np.random.default_rng(0).normal(size=(2, 8)).astype(np.float32)
    images = keras.ops.convert_to_numpy(g(z, training=False))
    pieces = [keras.ops.convert_to_numpy(p) for p in parts(z, training=False)]
    total = pieces[0]
    for piece in pieces[1:]:
        h = total.shape[1]
        total = keras.ops.convert_to_numpy(
            keras.ops.image.resize(total, (2 * h, 2 * h), interpolation="bilinear")) + piece
    np.testing.assert_allclose(images, total, atol=1e-5)
    assert all(np.abs(p).max() > 0 for p in pieces)


def test_keras_file_round_trip_gives_equal_outputs(tmp_path):
    g = stylegan2.build_generator(16, latent_dim=8, width=1 / 64, num_classes=3)
    path = tmp_path / "g.keras"
    g.save(path)
    loaded = keras.saving.load_model(path)
    z = np.random.default_rng(0).normal(size=(3, 8)).astype(np.float32)
    labels = np.array([0, 1, 2], np.int32)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(g([z, labels], training=False)),
                                  keras.ops.convert_to_numpy(loaded([z, labels],
                                                                    training=False)))


def test_the_critic_has_no_normalization_layers():
    d = stylegan2.build_discriminator(32, width=1 / 32, num_classes=2)
    kinds = {type(layer).__name__ for layer in d.layers}
    assert not kinds & {"BatchNormalization", "LayerNormalization", "GroupNormalization"}
    assert "MinibatchStdDev" in kinds and "Projection" in kinds


@pytest.mark.slow
def test_a_stylegan2_run_trains_resumes_exactly_and_generates(tiny_config, tmp_path):
    from keras_mrigan import training

    config = tiny_config.replace(arch="stylegan2", loss="gan-r1", penalty_weight=0.1,
                                 penalty_interval=2, ema_half_life_images=64, epochs=2)
    whole = training.train(config, tmp_path / "whole")
    training.train(config.replace(epochs=1), tmp_path / "half")
    resumed = training.resume(tmp_path / "half", epochs=2)
    for a, b in zip(whole.generator.weights + whole.discriminator.weights,
                    resumed.generator.weights + resumed.discriminator.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a),
                                      keras.ops.convert_to_numpy(b), err_msg=a.path)
    strengths = [layer.strength.numpy() for layer in whole.generator.layers
                 if isinstance(layer, NoiseInjection)]
    assert len(strengths) == 5 and any(s != 0 for s in strengths)  # The noise is learned.
    images = whole.generate(6, seed=3)
    assert images.shape == (6, 16, 16, 1) and np.isfinite(images).all()
    np.testing.assert_array_equal(images[1:], whole.generate(5, seed=4))
