"""Everything a training run needs, as dataclasses, and the named presets.

A ``RunConfig`` has five sections (data, model, loss, optimizer, schedule). Field names are
unique across sections, so ``config.replace(resolution=128, g_steps=3)`` overrides fields by
name wherever they live; the command line does exactly that with its flags.
"""

import dataclasses
import json
from pathlib import Path

from keras_mrigan.data import preprocess
from keras_mrigan.utils import atomic_path


@dataclasses.dataclass
class DataConfig:
    """Where the images come from and how they are batched (see ``SliceOptions``)."""

    source: str = "demo"
    resolution: int = 64
    batch_size: int = 64
    axis: str = "axial"
    central_fraction: float = 1.0
    min_foreground: float = preprocess.DEFAULT_MIN_FOREGROUND
    pattern: str | None = None
    include_masks: bool = False
    skip_bad_files: bool = False
    subject_pattern: str | None = None
    # Class labels (conditional GANs): "folders", "demo" or a CSV table (None: unlabelled);
    # a table's label and ID columns, its values' classes ("0=control,0.5=dementia"), and
    # whether files without a label are dropped (else an error lists them).
    labels: str | None = None
    label_column: str | None = None
    id_column: str = "ID"
    label_map: str | None = None
    drop_unlabelled: bool = False
    cache: bool | str = True
    shuffle_buffer: int = 4096


@dataclasses.dataclass
class ModelConfig:
    """Which architecture, at which width, with which latent space."""

    arch: str = "dcgan"
    latent_dim: int = 256
    latent_distribution: str = "uniform"
    width: float = 1.0
    minibatch_stddev: bool = True
    group_size: int = 4
    # DCGAN generator: "transpose" (the paper's) or "resize" (no checkerboard).
    upsample: str = "transpose"


@dataclasses.dataclass
class LossConfig:
    """The adversarial objective and its options (see ``GAN.compile``)."""

    loss: str = "dragan"
    real_label: float = 1.0
    drift: float = 0.0
    penalty_weight: float = 10.0
    clip_value: float = 0.01
    # Lazy regularization: gradient penalties every penalty_interval discriminator steps.
    penalty_interval: int = 1
    # Differentiable augmentation of every image D sees: policy ("translation,cutout,...";
    # empty: none), its starting probability, and ADA's target and speed (images for p to go
    # from 0 to 1; 0 keeps p fixed).
    augment: str = ""
    augment_p: float = 0.0
    ada_target: float = 0.6
    ada_images: float = 500_000


@dataclasses.dataclass
class OptimizerConfig:
    """Adam settings of both networks (paper: lr 2e-4, beta_1 0.5 for DCGAN and SRResNet)."""

    g_learning_rate: float = 2e-4
    d_learning_rate: float = 2e-4
    beta_1: float = 0.5
    beta_2: float = 0.999
    # Moving average of the generator's weights: half-life in images (0: none) and StyleGAN2's
    # ramp-up (the half-life is at most ema_rampup times the images seen; 0: none).
    ema_half_life_images: float = 0
    ema_rampup: float = 0.05


DEFAULT_EPOCHS = 60  # The paper's DCGAN and SRResNet runs.


@dataclasses.dataclass
class ScheduleConfig:
    """How long and in which rhythm to train."""

    # None: a progressive run lasts exactly its growth schedule, any other DEFAULT_EPOCHS.
    epochs: int | None = None
    d_steps: int = 1
    g_steps: int = 1
    seed: int = 0
    jit_compile: bool | str = "auto"
    sample_count: int = 64
    # Progressive architectures: length of each fade-in and stabilization phase, in epochs,
    # or in images when phase_images > 0 (then rounded up to whole epochs).
    phase_epochs: int = 20
    phase_images: int = 0
    # Quality measures (rho, sigma / n, delta, SWD) of metrics_n samples every metrics_every
    # epochs, added to the history; 0 turns them off.
    metrics_every: int = 0
    metrics_n: int = 256
    # Scale and speed: "default" (one device), "mirrored" (all local GPUs) or "multiworker"
    # (TF_CONFIG); "float32", "mixed_float16" or "mixed_bfloat16"; TF op determinism.
    strategy: str = "default"
    precision: str = "float32"
    deterministic: bool = False
    # A NaN or Inf loss: "stop" the run, or "rollback" to the last checkpoint and go on with
    # both learning rates multiplied by nan_lr_factor (at most nan_rollbacks times).
    on_nan: str = "stop"
    nan_lr_factor: float = 0.5
    nan_rollbacks: int = 3
    # Write every epoch's scalars and sample grid to RUN/tensorboard/.
    tensorboard: bool = False


SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
}


@dataclasses.dataclass
class RunConfig:
    """A whole training run."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    loss: LossConfig = dataclasses.field(default_factory=LossConfig)
    optimizer: OptimizerConfig = dataclasses.field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = dataclasses.field(default_factory=ScheduleConfig)

    def replace(self, **overrides):
        """A copy with fields changed by name, whichever section holds them.

        ``None`` values are ignored, so unset command-line flags change nothing.
        """
        sections = {name: getattr(self, name) for name in SECTIONS}
        changes = {name: {} for name in SECTIONS}
        for key, value in overrides.items():
            if value is None:
                continue
            section = _FIELD_SECTION.get(key)
            if section is None:
                raise ValueError(
                    f"Unknown run setting {key!r}. Valid settings: {sorted(_FIELD_SECTION)}"
                )
            changes[section][key] = value
        return RunConfig(
            **{name: dataclasses.replace(sections[name], **changes[name]) for name in SECTIONS}
        )

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, config):
        unknown = set(config) - set(SECTIONS)
        if unknown:
            raise ValueError(f"Unknown config section(s) {sorted(unknown)}: {sorted(SECTIONS)}")
        return cls(**{name: SECTIONS[name](**config.get(name, {})) for name in SECTIONS})

    def save(self, path):
        with atomic_path(path) as tmp:
            Path(tmp).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path):
        try:
            return cls.from_dict(json.loads(Path(path).read_text()))
        except (OSError, json.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"{path}: not a readable run configuration ({exc})") from exc


_FIELD_SECTION = {
    field.name: name for name, section in SECTIONS.items() for field in dataclasses.fields(section)
}


def _preset(**overrides):
    return RunConfig().replace(**overrides)


# The paper's settings (§2-3) and small CPU-sized ones. One table: name -> (description, config).
PRESETS = {
    "paper-dcgan": (
        "DCGAN of Tables 1-2 at 256x256, DRAGAN, r = 3, Adam 2e-4/0.5, label smoothing 0.9, "
        "batch 64, 60 epochs",
        _preset(resolution=256, batch_size=64, arch="dcgan", latent_dim=256,
                latent_distribution="uniform", loss="dragan", real_label=0.9,
                g_learning_rate=2e-4, d_learning_rate=2e-4, beta_1=0.5, g_steps=3, epochs=60),
    ),
    "paper-srresnet": (
        "SRResNet GAN at 256x256 (16 generator / 12 discriminator residual blocks), DRAGAN, "
        "r = 2, Adam 2e-4/0.5, normalized Gaussian latents, batch 64, 60 epochs",
        _preset(resolution=256, batch_size=64, arch="srresnet", latent_dim=256,
                latent_distribution="normal", minibatch_stddev=False, loss="dragan",
                g_learning_rate=2e-4, d_learning_rate=2e-4, beta_1=0.5, g_steps=2, epochs=60),
    ),
    "paper-progan": (
        "Progressive GAN 4x4 -> 256x256, 13 phases of 20 epochs, WGAN-GP with drift, r = 1, "
        "Adam 1e-3/0/0.99, equalized learning rate, pixel norm, batch 64, 260 epochs",
        _preset(resolution=256, batch_size=64, arch="progan", latent_dim=512,
                latent_distribution="normal", loss="wgan-gp", penalty_weight=10.0, drift=1e-3,
                g_learning_rate=1e-3, d_learning_rate=1e-3, beta_1=0.0, beta_2=0.99,
                g_steps=1, phase_epochs=20, epochs=260),
    ),
    "demo-dcgan": (
        "a small DCGAN on the demo cohort at 64x64 that trains in minutes on a CPU: resize "
        "upsampling, R1 every 4 steps, generator EMA",
        _preset(source="demo", resolution=64, batch_size=32, arch="dcgan", latent_dim=64,
                width=0.125, upsample="resize", loss="gan-r1", real_label=1.0,
                penalty_weight=1.0, penalty_interval=4, g_learning_rate=2e-4,
                d_learning_rate=8e-4, beta_1=0.5, g_steps=1, ema_half_life_images=2000,
                epochs=12, sample_count=36),
    ),
}


PRESETS["demo-progan"] = (
    "a small progressive GAN on the demo cohort, 4 -> 64, 9 phases of 2 epochs, WGAN-GP with "
    "drift; under 20 minutes on a CPU",
    _preset(source="demo", resolution=64, batch_size=32, arch="progan", latent_dim=128,
            latent_distribution="normal", width=0.25, loss="wgan-gp", penalty_weight=10.0,
            drift=1e-3, g_learning_rate=1e-3, d_learning_rate=1e-3, beta_1=0.0, beta_2=0.99,
            phase_epochs=2, sample_count=36),
)
PRESETS["demo-srresnet"] = (
    "a small SRResNet GAN on the demo cohort at 64x64 (ICNR pixel shuffle), R1 every 4 steps; "
    "under 20 minutes on a CPU",
    _preset(source="demo", resolution=64, batch_size=32, arch="srresnet", latent_dim=64,
            latent_distribution="normal", width=0.25, minibatch_stddev=False, loss="gan-r1",
            penalty_weight=1.0, penalty_interval=4, g_learning_rate=2e-4, d_learning_rate=2e-4,
            beta_1=0.5, epochs=12, sample_count=36),
)


def get_preset(name):
    """The ``RunConfig`` of a named preset (a fresh copy)."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Valid presets: {sorted(PRESETS)}")
    return RunConfig.from_dict(PRESETS[name][1].to_dict())
