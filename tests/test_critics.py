"""Critics fit their loss: no batch normalization under per-sample gradient penalties."""

import pytest

from keras_mrigan import losses
from keras_mrigan.builders import build_gan, critic_batch_norm
from keras_mrigan.config import get_preset


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
