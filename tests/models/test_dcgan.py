import keras
import numpy as np
import pytest

from keras_mrigan.models import dcgan

TABLE_1 = [  # Generator rows of the paper's Table 1: (layer, output shape as H, W, C).
    ("dense_relu", (8, 8, 256)),
    ("up1_1_relu", (16, 16, 256)),
    ("up1_2_relu", (16, 16, 256)),
    ("up2_1_relu", (32, 32, 256)),
    ("up2_2_relu", (32, 32, 256)),
    ("up3_1_relu", (64, 64, 256)),
    ("up3_2_relu", (64, 64, 256)),
    ("up4_1_relu", (128, 128, 128)),
    ("up5_1_relu", (256, 256, 64)),
    ("to_image", (256, 256, 1)),
]
TABLE_2 = [  # Discriminator rows of Table 2.
    ("down1_lrelu", (128, 128, 64)),
    ("down2_lrelu", (64, 64, 128)),
    ("down3_lrelu", (32, 32, 256)),
    ("down4_lrelu", (16, 16, 512)),
    ("down5_lrelu", (8, 8, 1024)),
    ("dense_lrelu", (1024,)),
    ("score", (1,)),
]


def _rows(model):
    return [(layer.name, tuple(layer.output.shape[1:])) for layer in model.layers]


def test_generator_matches_table_1_row_by_row():
    generator = dcgan.build_generator(256, latent_dim=256)
    rows = [row for row in _rows(generator) if row[0].endswith(("relu", "image"))]
    assert rows == TABLE_1
    assert generator.input.shape[1:] == (256,)
    convs = [layer for layer in generator.layers if "conv" in layer.name]
    assert all(layer.kernel_size == (5, 5) for layer in convs)
    assert generator.get_layer("to_image").activation.__name__ == "tanh"
    # Every layer but the last is followed by batch normalization.
    norms = [la for la in generator.layers if isinstance(la, keras.layers.BatchNormalization)]
    assert len(norms) == 9


def test_discriminator_matches_table_2_row_by_row():
    discriminator = dcgan.build_discriminator(256)
    rows = [row for row in _rows(discriminator) if row[0].endswith(("lrelu", "score"))]
    assert rows == TABLE_2
    assert "down1_bn" not in [layer.name for layer in discriminator.layers]
    assert discriminator.get_layer("minibatch_stddev").output.shape[1:] == (8, 8, 1025)
    lrelu = discriminator.get_layer("down1_lrelu")
    assert lrelu.negative_slope == pytest.approx(0.2)


def test_weight_init_is_normal_002():
    kernel = dcgan.build_generator(64).get_layer("up1_1_conv").kernel.numpy()
    assert abs(kernel.std() - 0.02) < 0.002 and abs(kernel.mean()) < 0.001


@pytest.mark.parametrize("resolution", [16, 32, 64, 128])
def test_other_resolutions(resolution):
    generator = dcgan.build_generator(resolution, latent_dim=32, width=0.125)
    discriminator = dcgan.build_discriminator(resolution, width=0.125)
    images = generator(np.zeros((4, 32), np.float32))
    assert images.shape == (4, resolution, resolution, 1)
    assert discriminator(images).shape == (4, 1)


def test_width_multiplier_and_switches():
    small = dcgan.build_generator(64, width=0.25)
    assert small.get_layer("up1_1_conv").filters == 64
    plain = dcgan.build_discriminator(64, minibatch_stddev=False)
    assert "minibatch_stddev" not in [layer.name for layer in plain.layers]


def test_bad_arguments():
    with pytest.raises(ValueError, match="resolution=48"):
        dcgan.build_generator(48)
    with pytest.raises(ValueError, match="width=0"):
        dcgan.build_discriminator(64, width=0)


def test_resize_upsampling_keeps_table_1_shapes_at_every_resolution():
    for resolution in (16, 32, 64, 128, 256):
        transpose = dcgan.build_generator(resolution, latent_dim=8, width=1 / 16)
        for mode in ("resize", "bilinear"):
            resize = dcgan.build_generator(resolution, latent_dim=8, width=1 / 16, upsample=mode)
            shapes = [row for row in _rows(resize) if row[0].endswith(("relu", "image"))]
            assert shapes == [row for row in _rows(transpose)
                              if row[0].endswith(("relu", "image"))]
            assert resize.output.shape[1:] == (resolution, resolution, 1)
            assert not any(isinstance(layer, keras.layers.Conv2DTranspose)
                           for layer in resize.layers)
    with pytest.raises(ValueError, match="upsample=.bicubic"):
        dcgan.build_generator(16, upsample="bicubic")


def _upsampled_constant(generator):
    """The first upsampling block of ``generator`` applied to a constant feature map: the
    values of each channel in the interior (away from the zero-padded borders)."""
    width = generator.get_layer("up1_1_conv").input.shape[-1]
    x = keras.ops.ones((1, 8, 8, width))
    if "up1_1_up" in [layer.name for layer in generator.layers]:
        x = generator.get_layer("up1_1_up")(x)
    out = keras.ops.convert_to_numpy(generator.get_layer("up1_1_conv")(x))[0]
    return out[4:-4, 4:-4]


def test_resize_upsampling_has_no_periodic_pattern_on_a_constant_map():
    keras.utils.set_random_seed(0)
    flat = _upsampled_constant(dcgan.build_generator(16, latent_dim=8, width=1 / 16,
                                                     upsample="resize"))
    np.testing.assert_allclose(flat, np.broadcast_to(flat[:1, :1], flat.shape), rtol=1e-5)
    # Table 1's stride-2 transposed convolution: a pattern of period 2, the checkerboard.
    checker = _upsampled_constant(dcgan.build_generator(16, latent_dim=8, width=1 / 16))
    np.testing.assert_allclose(checker[:-2], checker[2:], rtol=1e-5)
    assert np.abs(checker[0::2, 0::2] - checker[1::2, 1::2]).max() > 1e-3


def test_bilinear_upsampling_interpolates_between_neighbours():
    generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16, upsample="bilinear")
    up = generator.get_layer("up1_1_up")
    row = np.array([0.0, 4.0, 8.0, 12.0], np.float32)
    x = np.broadcast_to(row[None, :, None], (4, 4, 1))[None]
    out = keras.ops.convert_to_numpy(up(x))[0, 0, :, 0]
    # Half-pixel centres: interior outputs lie a quarter of the way between neighbours.
    np.testing.assert_allclose(out[1:-1], [1, 3, 5, 7, 9, 11], rtol=1e-6)
    assert generator.get_layer("up1_1_up").interpolation == "bilinear"
