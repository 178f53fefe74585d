import pytest

from keras_mrigan.config import PRESETS, RunConfig, get_preset


def test_paper_dcgan_preset_has_the_papers_values():
    config = get_preset("paper-dcgan")
    assert config.data.resolution == 256 and config.data.batch_size == 64
    assert config.model.arch == "dcgan" and config.model.latent_dim == 256
    assert config.model.latent_distribution == "uniform"
    assert config.loss.loss == "dragan" and config.loss.real_label == 0.9
    assert config.optimizer.g_learning_rate == config.optimizer.d_learning_rate == 2e-4
    assert config.optimizer.beta_1 == 0.5
    assert config.schedule.g_steps == 3 and config.schedule.d_steps == 1
    assert config.schedule.epochs == 60


def test_replace_by_field_name_and_round_trip(tmp_path):
    config = RunConfig().replace(resolution=32, g_steps=2, loss="wgan-gp", epochs=None)
    assert config.data.resolution == 32 and config.schedule.g_steps == 2
    # None: a progressive run's growth schedule, else DEFAULT_EPOCHS (60).
    assert config.loss.loss == "wgan-gp" and config.schedule.epochs is None
    config.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == config
    with pytest.raises(ValueError, match="Unknown run setting 'learning_rate'"):
        RunConfig().replace(learning_rate=1.0)


def test_presets_are_copies():
    a = get_preset("demo-dcgan")
    a.data.resolution = 16
    assert get_preset("demo-dcgan").data.resolution == 64
    assert set(PRESETS) >= {"paper-dcgan", "demo-dcgan"}
    with pytest.raises(ValueError, match="Unknown preset 'paper'. Valid presets"):
        get_preset("paper")


def test_unreadable_config(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="config.json: not a readable run configuration"):
        RunConfig.load(tmp_path / "config.json")


def test_paper_srresnet_and_progan_presets():
    srresnet = get_preset("paper-srresnet")
    assert srresnet.model.arch == "srresnet" and srresnet.loss.loss == "dragan"
    assert srresnet.schedule.g_steps == 2 and srresnet.data.batch_size == 64
    assert srresnet.optimizer.g_learning_rate == 2e-4 and srresnet.optimizer.beta_1 == 0.5
    assert srresnet.model.latent_distribution == "normal" and srresnet.model.latent_dim == 256
    progan = get_preset("paper-progan")
    assert progan.model.arch == "progan" and progan.loss.loss == "wgan-gp"
    assert progan.loss.drift > 0 and progan.schedule.g_steps == 1
    assert progan.optimizer.g_learning_rate == 1e-3 and progan.optimizer.beta_1 == 0.0
    assert progan.model.latent_dim == 512 and progan.data.resolution == 256
    assert progan.schedule.phase_epochs == 20 and progan.schedule.epochs == 260
