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


def test_the_long_preset_is_the_demo_preset_on_more_subjects_for_45_minutes():
    long, k3 = get_preset("demo-dcgan-long").settings(), get_preset("demo-dcgan-k3").settings()
    changed = {name: value for name, value in long.items() if k3[name] != value}
    assert changed == {"source": "demo:1024", "minutes": 45.0, "epochs": 400,
                       "preset": "demo-dcgan-long"}


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


def test_every_setting_declares_help_and_validates_with_one_message():
    import dataclasses

    from keras_mrigan import config as run_config

    for name, field in run_config.fields().items():
        assert field.metadata["help"], name
        # The default passes its own check.
        assert run_config.validate(name, field.default) == field.default
    cases = [
        ("width", 4.5, "`width` must be in (0, 4]. Received: width=4.5"),
        ("resolution", 48, "`resolution` must be a power of two between 16 and 1024 "
         "(16, 32, 64, ...). Received: resolution=48"),
        ("loss", "hinge", "`loss` must be one of ('gan', 'lsgan', 'wgan', 'wgan-gp', "
         "'dragan', 'gan-r1', 'rpgan'). Received: loss='hinge'"),
        ("g_steps", 1.5, "`g_steps` must be an integer. Received: g_steps=1.5"),
        ("clip_percentiles", (99.0, 1.0), "`clip_percentiles` must be two percentiles "
         "0 <= low < high <= 100. Received: clip_percentiles=(99.0, 1.0)"),
        ("jit_compile", 1, "`jit_compile` must be True or False or a string. "
         "Received: jit_compile=1"),
        ("augment", "flip,zoom", "`augment` must be comma-separated names among translation, "
         "cutout, brightness, contrast, flip. Received: augment='flip,zoom'"),
        ("kernel_size", 4, "`kernel_size` must be a positive odd integer. "
         "Received: kernel_size=4"),
        ("source", "demo:0", "`source` must be a path, 'demo' or 'demo:N' (the demo cohort "
         "with N >= 1 subjects). Received: source='demo:0'"),
    ]
    for name, value, message in cases:
        with pytest.raises(ValueError) as error:
            run_config.validate(name, value)
        assert str(error.value) == message
        with pytest.raises(ValueError) as error:  # The same message from a config.
            RunConfig().replace(**{name: value})
        assert str(error.value) == message
    # Values are normalized: a whole number for a float setting, a list for a tuple.
    config = RunConfig().replace(ema_half_life_images=100, clip_percentiles=[1, 99])
    assert config.optimizer.ema_half_life_images == 100.0
    assert isinstance(config.optimizer.ema_half_life_images, float)
    assert config.data.clip_percentiles == (1, 99)
    assert dataclasses.replace(config.model, width=2).width == 2.0


def test_slice_settings_reach_a_run_and_round_trip(tmp_path):
    from keras_mrigan import training

    config = RunConfig().replace(clip_percentiles=(2, 98), square="crop", axis="coronal")
    options = training.slice_options(config)
    assert options.clip_percentiles == (2, 98) and options.square == "crop"
    assert options.axis == "coronal"
    config.save(tmp_path / "config.json")
    assert RunConfig.load(tmp_path / "config.json") == config


def test_choice_lists_match_the_registries():
    from keras_mrigan import augment, losses
    from keras_mrigan import config as run_config
    from keras_mrigan.models import ARCHITECTURES
    from keras_mrigan.models.dcgan import UPSAMPLING
    from keras_mrigan.models.latents import LATENT_DISTRIBUTIONS

    assert run_config.ARCHITECTURES == tuple(ARCHITECTURES)
    assert run_config.LOSSES == tuple(losses.LOSSES)
    assert run_config.LATENT_DISTRIBUTIONS == tuple(LATENT_DISTRIBUTIONS)
    assert run_config.UPSAMPLING == tuple(UPSAMPLING)
    assert run_config.AUGMENTATIONS == tuple(augment.TRANSFORMS)


def test_the_gan_checks_its_run_settings_with_the_schema():
    from keras_mrigan import config as run_config
    from keras_mrigan.models import dcgan
    from keras_mrigan.models.gan import GAN

    generator = dcgan.build_generator(16, latent_dim=8, width=1 / 16)
    discriminator = dcgan.build_discriminator(16, width=1 / 16)
    cases = [("g_steps", 0), ("d_steps", 1.5), ("ema_rampup", -1.0), ("augment_p", 2.0),
             ("ada_target", 1.0), ("ada_images", -5), ("latent_distribution", "cauchy")]
    for name, value in cases:
        with pytest.raises(ValueError) as schema:
            run_config.validate(name, value)
        with pytest.raises(ValueError) as gan:
            GAN(generator, discriminator, **{name: value})
        assert str(gan.value) == str(schema.value)
    for name, value in (("real_label", 0.0), ("drift", -1e-3)):
        with pytest.raises(ValueError) as schema:
            run_config.validate(name, value)
        with pytest.raises(ValueError) as compiled:
            GAN(generator, discriminator).compile(**{name: value})
        assert str(compiled.value) == str(schema.value)
    # The values a GAN keeps, and writes to its config, are the schema's normalized ones.
    gan = GAN(generator, discriminator, ema_half_life_images=100, g_steps=2)
    config = gan.get_config()
    assert config["ema_half_life_images"] == 100.0 and config["g_steps"] == 2
    assert {name: config[name] for name in gan._settings} == gan._settings
