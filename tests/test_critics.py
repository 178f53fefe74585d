"""Critics fit their loss: no batch normalization under per-sample gradient penalties."""

import pytest

from keras_mrigan import losses
from keras_mrigan.builders import build_gan, critic_batch_norm
from keras_mrigan.config import get_preset
from keras_mrigan.models import dcgan


def _norms(network):
    return [layer.name for layer in network.layers
            if type(layer).__name__ == "BatchNormalization"]


@pytest.mark.parametrize("loss", ["wgan-gp", "gan-r1", "rpgan"])
@pytest.mark.parametrize("arch", ["dcgan", "srresnet", "progan", "stylegan2"])
def test_no_critic_batch_norm_under_a_per_sample_penalty(tiny_config, arch, loss):
    config = tiny_config.replace(arch=arch, loss=loss, width=1 / 32)
    assert not critic_batch_norm(config) or arch != "dcgan"
    assert _norms(build_gan(config).discriminator) == []


def test_the_paper_dcgan_keeps_table_2_and_the_user_decides(tiny_config):
    paper = get_preset("paper-dcgan")
    assert paper.loss.loss == "dragan" and critic_batch_norm(paper)
    config = tiny_config.replace(loss="dragan", resolution=32)
    # Table 2: batch normalization after every convolution but the first (1 at 32 x 32).
    assert _norms(build_gan(config).discriminator) == ["down2_bn"]
    assert _norms(build_gan(config.replace(loss="gan-r1")).discriminator) == []
    asked = config.replace(loss="wgan-gp", d_batch_norm=True)
    assert _norms(build_gan(asked).discriminator) == ["down2_bn"]
    assert _norms(build_gan(config.replace(d_batch_norm=False)).discriminator) == []


def test_upsample_is_refused_by_name_for_an_architecture_with_its_own(tiny_config):
    with pytest.raises(ValueError, match=r"stylegan2: bilinear\)\. Received: upsample='resize'"):
        build_gan(tiny_config.replace(arch="stylegan2", upsample="resize"))


def test_the_stylegan2_demo_preset_takes_r1_gamma_from_the_heuristic():
    config = get_preset("demo-stylegan2")
    gamma = losses.r1_gamma(config.data.resolution, config.data.batch_size)
    assert config.loss.penalty_weight == pytest.approx(gamma) == pytest.approx(0.0256)
    assert (config.model.arch, config.loss.loss, config.schedule.preset) == (
        "stylegan2", "gan-r1", "demo-stylegan2")
    assert not critic_batch_norm(config)


@pytest.mark.parametrize("arch", ["dcgan", "srresnet", "progan", "stylegan2"])
def test_d_width_widens_the_critic_alone(tiny_config, arch):
    config = tiny_config.replace(arch=arch, width=1 / 32, loss="gan-r1")
    base = build_gan(config)
    wide = build_gan(config.replace(d_width=1 / 8))
    assert wide.generator.count_params() == base.generator.count_params()
    assert wide.discriminator.count_params() > 2 * base.discriminator.count_params()
    # The same as building the critic at that width.
    assert (wide.discriminator.count_params()
            == build_gan(config.replace(width=1 / 8)).discriminator.count_params())


def test_d_width_sets_the_dcgan_critic_filters(tiny_config):
    gan = build_gan(tiny_config.replace(resolution=32, width=1 / 16, d_width=0.5,
                                        loss="gan-r1"))
    convolutions = [layer for layer in gan.discriminator.layers
                    if type(layer).__name__ == "Conv2D"]
    # Table 2's 64, 128 filters at 32 x 32 (two stages), times 0.5.
    assert [layer.filters for layer in convolutions] == [32, 64]
    generator = [layer.filters for layer in gan.generator.layers if hasattr(layer, "filters")]
    assert max(generator) == 16  # 256 x 1/16: the generator keeps --width.


@pytest.mark.parametrize("arch", ["dcgan", "progan"])
def test_kernel_size_sets_every_convolution_of_both_networks(tiny_config, arch):
    config = tiny_config.replace(arch=arch, width=1 / 32, loss="gan-r1")
    default, small = build_gan(config), build_gan(config.replace(kernel_size=3))

    def kernels(network):  # The convolutions' kernels, the 1 x 1 ones of progan left out.
        found = [layer.kernel.shape for layer in network.layers if hasattr(layer, "kernel")]
        return [shape for shape in found if len(shape) == 4 and shape[0] > 1]

    for network in ("generator", "discriminator"):
        paper, three = kernels(getattr(default, network)), kernels(getattr(small, network))
        assert {shape[:2] for shape in paper} == {(5, 5)}
        assert [shape[2:] for shape in three] == [shape[2:] for shape in paper]
        assert {shape[:2] for shape in three} == {(3, 3)}


def test_kernel_size_is_refused_by_name_for_an_architecture_with_its_own(tiny_config):
    with pytest.raises(ValueError, match=r"stylegan2: 3 x 3\)\. Received: kernel_size=3"):
        build_gan(tiny_config.replace(arch="stylegan2", kernel_size=3))
    with pytest.raises(ValueError, match="positive odd integer. Received: kernel_size=2"):
        dcgan.build_discriminator(16, width=1 / 16, kernel_size=2)
