import keras
import numpy as np
import pytest

from keras_mrigan.layers import ICNR, PixelShuffle
from keras_mrigan.models import srresnet


def _count(model, kind):
    return sum(isinstance(layer, kind) for layer in model.layers)


@pytest.fixture(scope="module")
def paper_networks():
    return srresnet.build_generator(256, latent_dim=256), srresnet.build_discriminator(256)


def test_paper_generator_layout(paper_networks):
    generator, _ = paper_networks
    assert generator.get_layer("reshape").output.shape[1:] == (16, 16, 64)
    residual = [layer for layer in generator.layers if layer.name.startswith("res")
                and layer.name.endswith("_add")]
    assert len(residual) == 16
    assert _count(generator, PixelShuffle) == 4  # 16 -> 256.
    assert generator.get_layer("long_skip").output.shape[1:] == (16, 16, 64)
    assert generator.get_layer("to_image").kernel_size == (9, 9)
    assert generator.output.shape[1:] == (256, 256, 1)
    convs = [layer for layer in generator.layers if isinstance(layer, keras.layers.Conv2D)]
    for conv in convs:  # He normal; ICNR copies of it before each pixel shuffle.
        init = conv.kernel_initializer
        if conv.name.startswith("up"):
            assert isinstance(init, ICNR) and init.scale == 2
            init = init.initializer
        assert isinstance(init, keras.initializers.HeNormal), conv.name
    print(f"SRResNet generator 256: {generator.count_params():,} parameters")


def test_paper_discriminator_layout(paper_networks):
    _, discriminator = paper_networks
    adds = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Add)]
    assert len(adds) == 12
    assert _count(discriminator, keras.layers.BatchNormalization) == 0
    assert discriminator.get_layer("flatten").input.shape[1:] == (2, 2, 2048)
    strided = [layer for layer in discriminator.layers
               if isinstance(layer, keras.layers.Conv2D) and layer.strides == (2, 2)]
    assert len(strided) == 7 and all(c.kernel_size == (3, 3) for c in strided)
    dense = [layer for layer in discriminator.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.name for d in dense] == ["score"]
    print(f"SRResNet discriminator 256: {discriminator.count_params():,} parameters")


@pytest.mark.parametrize("resolution, upsamplings", [(16, 0), (32, 1), (64, 2)])
def test_output_shapes_at_each_resolution(resolution, upsamplings):
    generator = srresnet.build_generator(resolution, latent_dim=8, width=0.125)
    discriminator = srresnet.build_discriminator(resolution, width=1 / 64, minibatch_stddev=True)
    assert _count(generator, PixelShuffle) == upsamplings
    images = generator(np.zeros((4, 8), np.float32))
    assert images.shape == (4, resolution, resolution, 1)
    assert discriminator(images).shape == (4, 1)
    assert discriminator.get_layer("minibatch_stddev") is not None


def test_bad_resolution_is_refused():
    with pytest.raises(ValueError, match="resolution"):
        srresnet.build_generator(48)


def test_icnr_pixel_shuffle_starts_as_nearest_neighbour_upsampling():
    generator = srresnet.build_generator(32, latent_dim=8, width=1 / 16)
    conv, shuffle = generator.get_layer("up1_conv"), generator.get_layer("up1_shuffle")
    assert isinstance(conv.kernel_initializer, ICNR)
    x = np.random.default_rng(0).normal(size=(2, 16, 16, conv.input.shape[-1]))
    out = keras.ops.convert_to_numpy(shuffle(conv(x.astype("float32"))))
    # Every 2 x 2 block holds one value: out is the nearest-neighbour upsampling of its
    # top-left pixels.
    corners = out[:, ::2, ::2]
    np.testing.assert_array_equal(out, np.repeat(np.repeat(corners, 2, axis=1), 2, axis=2))
    kernel = keras.ops.convert_to_numpy(ICNR(2)((3, 3, 4, 8)))
    np.testing.assert_array_equal(kernel[..., :2], kernel[..., 2:4])
    np.testing.assert_array_equal(kernel[..., :2], kernel[..., 6:])
    assert ICNR.from_config(ICNR(2).get_config()).scale == 2
    with pytest.raises(ValueError, match="divisible by 4"):
        ICNR(2)((3, 3, 4, 6))
