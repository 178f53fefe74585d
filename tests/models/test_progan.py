import keras
import numpy as np
import pytest

from keras_mrigan.layers import EqualizedConv2D, MinibatchStdDev, PixelNorm, WeightedSum
from keras_mrigan.models import progan

WIDTH = 1 / 32  # 16 filters at 4 and 8, then 8, 4, ...
RNG = np.random.default_rng(0)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _upsample(images):
    return images.repeat(2, axis=1).repeat(2, axis=2)


def _pool(images):
    n, h, w, c = images.shape
    return images.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


@pytest.mark.parametrize("resolution", [4, 8, 16, 32])
def test_stage_shapes_and_fade_layer(resolution):
    generator = progan.build_generator(resolution, latent_dim=16, width=WIDTH)
    discriminator = progan.build_discriminator(resolution, width=WIDTH)
    latents = RNG.normal(size=(4, 16)).astype(np.float32)
    images = generator(latents)
    assert images.shape == (4, resolution, resolution, 1)
    assert discriminator(images).shape == (4, 1)
    fades = [layer for model in (generator, discriminator) for layer in model.layers
             if isinstance(layer, WeightedSum)]
    assert len(fades) == (0 if resolution == 4 else 2)
    assert any(isinstance(layer, MinibatchStdDev) for layer in discriminator.layers)
    convs = [layer for layer in generator.layers if isinstance(layer, EqualizedConv2D)
             and not layer.name.startswith("to_image")]
    assert all(conv.kernel_size == 5 for conv in convs)
    print(f"ProGAN stage {resolution}: G {generator.count_params():,}, "
          f"D {discriminator.count_params():,} parameters")


def test_paper_filters_per_resolution():
    assert [progan.filters_at(4 * 2**i) for i in range(7)] == [512, 512, 256, 128, 64, 32, 16]
    generator = progan.build_generator(256, latent_dim=512)
    assert generator.get_layer("g256_conv2").output.shape[1:] == (256, 256, 16)
    assert generator.get_layer("g4_conv").output.shape[1:] == (4, 4, 512)


def test_generator_uses_pixel_norm_after_every_convolution():
    generator = progan.build_generator(16, latent_dim=16, width=WIDTH)
    latents = RNG.normal(size=(2, 16)).astype(np.float32)
    for layer in generator.layers:
        if isinstance(layer, PixelNorm) and layer.name != "latent_norm":
            features = _np(keras.Model(generator.input, layer.output)(latents))
            np.testing.assert_allclose(np.mean(features**2, axis=-1), 1.0, rtol=1e-4)


@pytest.fixture(scope="module")
def grown():
    """Stage-4 networks with random weights and the stage-8 networks grown from them."""
    g4 = progan.build_generator(4, latent_dim=16, width=WIDTH)
    d4 = progan.build_discriminator(4, width=WIDTH, minibatch_stddev=False)
    for model in (g4, d4):  # Non-zero biases so that every weight matters.
        for w in model.weights:
            w.assign(RNG.normal(size=w.shape).astype(np.float32))
    g8 = progan.build_generator(8, latent_dim=16, width=WIDTH)
    d8 = progan.build_discriminator(8, width=WIDTH, minibatch_stddev=False)
    copied = progan.transfer_weights(g4, g8), progan.transfer_weights(d4, d8)
    return g4, d4, g8, d8, copied


def test_growing_carries_every_old_weight_over_unchanged(grown):
    g4, d4, g8, d8, (g_copied, d_copied) = grown
    for old, new, copied in ((g4, g8, g_copied), (d4, d8, d_copied)):
        with_weights = [layer.name for layer in old.layers if layer.weights]
        assert sorted(copied) == sorted(with_weights)
        for name in with_weights:
            for a, b in zip(old.get_layer(name).weights, new.get_layer(name).weights,
                            strict=True):
                np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert "g8_conv1" not in g_copied and "to_image_8" not in g_copied
    assert "from_image_4" in d_copied and "from_image_8" not in d_copied


def test_generator_fade_in_endpoints(grown):
    g4, _, g8, _, _ = grown
    latents = RNG.normal(size=(3, 16)).astype(np.float32)
    fade = g8.get_layer("fade_in")
    fade.alpha.assign(0.0)
    np.testing.assert_allclose(_np(g8(latents)), _upsample(_np(g4(latents))), rtol=1e-5,
                               atol=1e-5)
    fade.alpha.assign(1.0)
    new_path = keras.Model(g8.input, g8.get_layer("to_image_8").output)
    np.testing.assert_allclose(_np(g8(latents)), _np(new_path(latents)), rtol=1e-5, atol=1e-6)
    fade.alpha.assign(0.3)
    mixed = 0.7 * _upsample(_np(g4(latents))) + 0.3 * _np(new_path(latents))
    np.testing.assert_allclose(_np(g8(latents)), mixed, rtol=1e-4, atol=1e-5)


def test_discriminator_fade_in_endpoints(grown):
    _, d4, _, d8, _ = grown
    images = RNG.uniform(-1, 1, size=(4, 8, 8, 1)).astype(np.float32)
    fade = d8.get_layer("fade_in")
    fade.alpha.assign(0.0)
    np.testing.assert_allclose(_np(d8(images)), _np(d4(_pool(images))), rtol=1e-4, atol=1e-4)
    fade.alpha.assign(1.0)
    before = _np(d8(images))
    old = d8.get_layer("from_image_4")
    old.set_weights([w * 0 for w in old.get_weights()])  # The old path no longer counts.
    np.testing.assert_allclose(_np(d8(images)), before, rtol=1e-6)


def test_growth_schedule_matches_the_paper():
    stages = progan.growth_schedule(256, phase_epochs=20)
    assert [s.resolution for s in stages] == [4, 8, 16, 32, 64, 128, 256]
    phases = sum(1 + (s.fade_epochs > 0) for s in stages)
    assert phases == 13 and stages[-1].stop == 260
    assert stages[1] == progan.Stage(8, start=20, fade_stop=40, stop=60)
    assert progan.growth_schedule(16, 2, epochs=20)[-1] == progan.Stage(16, 6, 8, 20)
    with pytest.raises(ValueError, match="needs at least 260 epochs"):
        progan.growth_schedule(256, 20, epochs=60)
    with pytest.raises(ValueError, match="power of two from 4"):
        progan.build_generator(12)


@pytest.mark.parametrize("arch", ["progan", "srresnet"])
def test_gan_with_architecture_saves_and_loads_identically(arch, tmp_path):
    from keras_mrigan.models import get_architecture
    from keras_mrigan.models.gan import GAN

    module = get_architecture(arch)
    resolution = 8 if arch == "progan" else 16
    width = WIDTH if arch == "progan" else 1 / 64
    gan = GAN(module.build_generator(resolution, latent_dim=8, width=width),
              module.build_discriminator(resolution, width=width),
              latent_distribution="normal")
    gan.compile(loss="wgan-gp", drift=1e-3)
    gan.fit(RNG.uniform(-1, 1, (8, resolution, resolution, 1)).astype(np.float32),
            batch_size=4, epochs=1, verbose=0)
    if arch == "progan":
        gan.generator.get_layer("fade_in").alpha.assign(0.4)
    gan.save(tmp_path / "gan.keras")
    loaded = keras.models.load_model(tmp_path / "gan.keras")
    np.testing.assert_allclose(loaded.generate(4, seed=1), gan.generate(4, seed=1), atol=1e-6)
    images = gan.generate(4, seed=2)
    np.testing.assert_allclose(_np(loaded.discriminator(images)), _np(gan.discriminator(images)),
                               rtol=1e-5, atol=1e-6)
