"""Everything a training run needs, as dataclasses, and the named presets.

A ``RunConfig`` has five sections (data, model, loss, optimizer, schedule). Field names are
unique across sections, so ``config.replace(resolution=128, g_steps=3)`` overrides fields by
name wherever they live.

Every field is declared once, with ``setting``: its default, help text, valid choices and
check live in the field's metadata. ``validate`` checks a value by name with them, and the
command-line flags, the tuner's search-space checks and the builders of a GAN derive from
the same fields (``fields`` lists them), so a setting cannot drift between those places.
"""

import dataclasses
import json
import numbers
import os
import re
import types
import typing
from pathlib import Path

from keras_mrigan.data import preprocess
from keras_mrigan.data.demo import demo_source_settings
from keras_mrigan.utils import atomic_path

# The names of registries that live in modules above this one (losses, models, augment, ...
# import the schema to check their settings); a test keeps each equal to its registry.
ARCHITECTURES = ("dcgan", "srresnet", "progan", "stylegan2")
LOSSES = ("gan", "lsgan", "wgan", "wgan-gp", "dragan", "gan-r1", "rpgan")
LATENT_DISTRIBUTIONS = ("uniform", "normal")
UPSAMPLING = ("transpose", "resize", "bilinear")
AUGMENTATIONS = ("translation", "cutout", "brightness", "contrast", "flip")
AXES = ("axial", "coronal", "sagittal")
STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16", "auto")
NAN_POLICIES = ("stop", "rollback")


@dataclasses.dataclass(frozen=True)
class Check:
    """A condition on a setting's value and the words that describe it: the error reads
    "`name` must be <text>. Received: name=value"."""

    test: typing.Callable
    text: str


def at_least(low):
    return Check(lambda v: v >= low, f">= {low}")


def positive():
    return Check(lambda v: v > 0, "> 0")


def between(low, high, low_open=False, high_open=False):
    """A check of ``low <= v <= high``, either end open."""

    def test(v):
        return (low < v if low_open else low <= v) and (v < high if high_open else v <= high)

    return Check(test, f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}")


def setting(default, *, help, choices=None, check=None, flags=None, metavar=None,
            no_flag=None, tunable=False):
    """A ``RunConfig`` field: its default and, as metadata, everything else said about it.

    Args:
        default: the default value (a list default becomes a tuple).
        help: one line for the command line's help and the documentation.
        choices: the valid values, if they are few.
        check: a ``Check`` the value must pass.
        flags: the command-line option strings (default: ``--field-name``); the first is
            the one ``keras-mrigan`` shows.
        metavar: the command line's name for the value.
        no_flag: why the setting has no command-line flag (only then it has none).
        tunable: whether a hyperparameter search may vary it (``keras_mrigan.tuning``):
            settings of the networks and their training, not of the data, the schedule or
            where the run goes.
    """
    metadata = {"help": help, "choices": tuple(choices) if choices is not None else None,
                "check": check, "flags": tuple(flags) if flags else None, "metavar": metavar,
                "no_flag": no_flag, "tunable": tunable}
    return dataclasses.field(default=default, metadata=metadata)


def _is_pattern(text):
    try:
        re.compile(text)
    except re.error:
        return False
    return True


def _is_power_of_two(v):
    return (preprocess.MIN_RESOLUTION <= v <= preprocess.MAX_RESOLUTION
            and (v & (v - 1)) == 0)


def _is_source(text):
    try:
        demo_source_settings(text)
    except ValueError:
        return False
    return True


def _is_odd(value):
    return value >= 1 and value % 2 == 1


def _is_policy(text):
    names = [name.strip() for name in text.split(",") if name.strip()]
    return all(name in AUGMENTATIONS for name in names)


def _is_percentile_pair(pair):
    return len(pair) == 2 and all(isinstance(p, (int, float)) and not isinstance(p, bool)
                                  for p in pair) and 0 <= pair[0] < pair[1] <= 100


def fields():
    """Every run setting: ``{name: dataclasses.Field}`` in declaration order, section by
    section (the metadata holds ``help``, ``choices``, ``check``, ``flags``, ``metavar``,
    ``no_flag`` and ``tunable``)."""
    return dict(_FIELDS)


def tunable_settings():
    """The settings a hyperparameter search may vary (``tunable`` in their metadata), in
    declaration order."""
    return tuple(name for name, field in _FIELDS.items() if field.metadata["tunable"])


def default(name):
    """A setting's default value, e.g. ``"dragan"`` for ``loss``."""
    return _field(name).default


def kinds(name):
    """The Python types a setting's values may have, e.g. ``(int, NoneType)`` for ``epochs``."""
    annotation = _field(name).type
    if isinstance(annotation, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _field(name):
    if name not in _FIELDS:
        raise ValueError(f"Unknown run setting {name!r}. Valid settings: {sorted(_FIELDS)}")
    return _FIELDS[name]


def validate(name, value):
    """Checks one setting's value by name, and returns it normalized (an integer where a
    number is wanted becomes a ``float``, a list a tuple, a path a string).

    Raises:
        ValueError: one message, ``"`width` must be in (0, 4]. Received: width=5"``, for an
            unknown setting, a value of the wrong type, outside the choices or failing the
            setting's check.
    """
    field = _field(name)
    allowed = kinds(name)
    coerced = _coerce(value, allowed)
    if coerced is _INVALID:
        expected = " or ".join(_KIND_WORDS[kind] for kind in allowed)
        raise ValueError(f"`{name}` must be {expected}. Received: {name}={value!r}")
    if coerced is None:
        return None
    choices = field.metadata["choices"]
    # `True in (1, ...)` holds in Python: compare types too, so 1 is not taken for True.
    if choices is not None and not any(coerced == c and type(coerced) is type(c)
                                       for c in choices):
        raise ValueError(f"`{name}` must be one of {choices}. Received: {name}={value!r}")
    check = field.metadata["check"]
    if check is not None and not check.test(coerced):
        raise ValueError(f"`{name}` must be {check.text}. Received: {name}={value!r}")
    return coerced


class _Invalid:
    pass


_INVALID = _Invalid()


def _coerce(value, allowed):
    if value is None:
        return None if type(None) in allowed else _INVALID
    if isinstance(value, bool):
        return value if bool in allowed else _INVALID
    if int in allowed and isinstance(value, numbers.Integral):
        return int(value)
    if float in allowed and isinstance(value, numbers.Real):
        return float(value)
    if str in allowed and isinstance(value, (str, os.PathLike)):
        return os.fspath(value)
    if tuple in allowed and isinstance(value, (list, tuple)):
        return tuple(value)
    return _INVALID


class _Section:
    """Validates and normalizes every field of a section when it is made (also by
    ``dataclasses.replace`` and when a run's ``config.json`` is read)."""

    def __post_init__(self):
        for field in dataclasses.fields(self):
            setattr(self, field.name, validate(field.name, getattr(self, field.name)))


@dataclasses.dataclass
class DataConfig(_Section):
    """Where the images come from and how they are batched (see ``SliceOptions``)."""

    source: str = setting(
        "demo", flags=("--data", "--source"),
        check=Check(_is_source, "a path, 'demo' or 'demo:N' (the demo cohort with N >= 1 "
                    "subjects)"),
        help="folder or file of PNG/JPEG/TIFF slices, NIfTI/Analyze volumes or DICOM series, "
        "'demo' (the demo cohort, 64 subjects) or 'demo:N' (N subjects, for long runs)")
    resolution: int = setting(
        64, check=Check(_is_power_of_two, "a power of two between 16 and 1024 (16, 32, 64, ...)"),
        help="image side (progan: the final stage's)")
    batch_size: int = setting(64, check=at_least(1), help="images per batch", tunable=True)
    axis: str = setting("axial", choices=AXES, help="slicing plane of volumes")
    central_fraction: float = setting(
        1.0, check=between(0, 1, low_open=True),
        help="keep this central fraction of each volume's slices")
    min_foreground: float = setting(
        preprocess.DEFAULT_MIN_FOREGROUND, check=between(0, 1),
        help="drop volume slices with less foreground than this fraction")
    clip_percentiles: tuple = setting(
        preprocess.DEFAULT_CLIP_PERCENTILES, metavar=("LOW", "HIGH"),
        check=Check(_is_percentile_pair, "two percentiles 0 <= low < high <= 100"),
        help="per-volume intensity percentiles mapped to -1 and 1")
    square: str = setting("pad", choices=preprocess.SQUARE_MODES,
                          help="make slices square by padding with background or cropping")
    pattern: str | None = setting(None, help="only read files whose name matches this shell "
                                  "pattern")
    include_masks: bool = setting(False, help="also read folders whose name contains 'seg'")
    skip_bad_files: bool = setting(
        False, help="skip unreadable files with one warning instead of stopping")
    subject_pattern: str | None = setting(
        None, metavar="REGEX", check=Check(_is_pattern, "a regular expression"),
        help="regular expression that finds a file's subject in its path (its first group); "
        "default: OASIS IDs, volume files, 2D slice names without their slice index")
    spacing: float | None = setting(
        None, metavar="MM", check=positive(),
        help="resample volume slices to square pixels of this size in mm before squaring "
        "(default: each volume's finer voxel size in the slicing plane)")
    series: str | None = setting(
        None, metavar="REGEX", check=Check(_is_pattern, "a regular expression"),
        help="read only the DICOM series whose SeriesDescription or SeriesInstanceUID "
        "matches (an error if one cannot be read; others are skipped with a warning)")
    split_gaps: bool = setting(
        False, help="read a DICOM series with a missing slice as the volumes on either side "
        "of the gap instead of stopping")
    labels: str | None = setting(
        None, metavar="folders|demo|TABLE.csv",
        help="class labels (a conditional GAN): one class per file from class subfolders "
        "(DATA/CLASS/...), the demo cohort's control/atrophy classes, or a CSV table")
    label_column: str | None = setting(None, help="the table's label column (e.g. CDR)")
    id_column: str = setting("ID", help="the table's ID column, found in file paths")
    label_map: str | None = setting(
        None, metavar="VALUE=CLASS,...",
        help="the table's values to classes, e.g. '0=control,0.5=dementia,1=dementia'")
    drop_unlabelled: bool = setting(
        False, help="leave out files without a label (else an error lists them)")
    masks: str | None = setting(
        None, metavar="demo|FOLDER|PATTERN",
        help="a mask per image (image and mask pairs): 'demo' (the demo cohort's tissue "
        "classes), a folder of masks (same relative path, else the same numbers in the name: "
        "case_001_slice_0.nii.png with seg_001_slice_0.nii.png), or a pattern relative to each "
        "image with {stem}, {name} or wildcards, e.g. '{stem}_seg.nii.gz'")
    mask_classes: str | None = setting(
        None, metavar="VALUE=NAME,...",
        help="the mask values and their class names, e.g. '0=background,85=CSF,170=gray "
        "matter,255=white matter' (a value not listed is an error; default: every value "
        "found)")
    cache: bool | str = setting(
        True, metavar="true|false|FOLDER",
        help="keep the decoded slices in memory (true), in files under FOLDER, or not at all")
    shuffle_buffer: int = setting(4096, check=at_least(1),
                                  help="number of slices the shuffle draws from")


@dataclasses.dataclass
class ModelConfig(_Section):
    """Which architecture, at which width, with which latent space."""

    arch: str = setting("dcgan", choices=ARCHITECTURES, help="architecture", tunable=True)
    latent_dim: int = setting(256, check=at_least(1), help="latent length (paper: 256)",
                              tunable=True)
    latent_distribution: str = setting("uniform", choices=LATENT_DISTRIBUTIONS,
                                       help="U(-1, 1) or normalized N(0, 1)", tunable=True)
    width: float = setting(1.0, check=between(0, 4, low_open=True),
                           help="filter-count multiplier (paper: 1)", tunable=True)
    d_width: float | None = setting(
        None, check=between(0, 4, low_open=True),
        help="the discriminator's own filter-count multiplier (default: --width); a wider "
        "critic costs little where the generator's large layers dominate a step")
    minibatch_stddev: bool = setting(
        True, help="the discriminator's minibatch standard-deviation layer", tunable=True)
    group_size: int = setting(4, check=at_least(1), help="minibatch-stddev group size")
    upsample: str = setting(
        "transpose", choices=UPSAMPLING,
        help="dcgan generator: transposed convolutions (the paper's), or nearest-neighbour "
        "or bilinear resizing + convolution (no checkerboard)", tunable=True)
    kernel_size: int | None = setting(
        None, check=Check(_is_odd, "a positive odd integer"),
        help="side of the convolution kernels of dcgan and progan (default: the paper's 5); "
        "3 costs about a third of the arithmetic of 5")
    d_batch_norm: bool | None = setting(
        None, choices=(True, False, None),
        help="batch normalization in the dcgan discriminator (Table 2); default: off under "
        "the per-sample gradient penalties of wgan-gp, gan-r1 and rpgan, on otherwise")
    mask_output: str = setting(
        "soft", choices=("soft", "straight_through"),
        help="generated masks of image and mask pairs as the discriminator sees them: class "
        "probabilities (softmax) or one-hot forward with the softmax's gradient")


@dataclasses.dataclass
class LossConfig(_Section):
    """The adversarial objective and its options (see ``GAN.compile``)."""

    loss: str = setting("dragan", choices=LOSSES, help="adversarial objective", tunable=True)
    real_label: float = setting(1.0, check=between(0, 1, low_open=True),
                                help="target of real images; 0.9: one-sided label smoothing",
                                tunable=True)
    drift: float = setting(0.0, check=at_least(0), help="ProGAN drift weight epsilon", tunable=True)
    penalty_weight: float = setting(
        10.0, check=at_least(0),
        help="gradient-penalty lambda, or gamma of R1 (gan-r1) and of R1 + R2 (rpgan)",
        tunable=True)
    clip_value: float = setting(0.01, check=positive(), help="WGAN weight clip c")
    penalty_interval: int = setting(
        1, check=at_least(1),
        help="lazy regularization: the gradient penalty every N discriminator steps, "
        "weighted by N", tunable=True)
    augment: str = setting(
        "", metavar="POLICY",
        check=Check(_is_policy, f"comma-separated names among {', '.join(AUGMENTATIONS)}"),
        help="differentiable augmentation of every image the discriminator sees "
        "(empty: none)", tunable=True)
    augment_p: float = setting(0.0, check=between(0, 1),
                               help="probability of each transform at the start", tunable=True)
    ada_target: float = setting(
        0.6, check=between(0, 1, low_open=True, high_open=True),
        help="adaptive probability: target mean sign of D's real scores", tunable=True)
    ada_images: float = setting(
        500_000, check=at_least(0),
        help="images for the probability to go from 0 to 1 (0 keeps --augment-p fixed)")


@dataclasses.dataclass
class OptimizerConfig(_Section):
    """Adam settings of both networks (paper: lr 2e-4, beta_1 0.5 for DCGAN and SRResNet)."""

    g_learning_rate: float = setting(2e-4, check=positive(), flags=("--g-lr",),
                                     help="generator Adam learning rate", tunable=True)
    d_learning_rate: float = setting(2e-4, check=positive(), flags=("--d-lr",),
                                     help="discriminator Adam learning rate", tunable=True)
    beta_1: float = setting(0.5, check=between(0, 1, high_open=True), flags=("--beta1",),
                            help="Adam beta_1 of both", tunable=True)
    beta_2: float = setting(0.999, check=between(0, 1, high_open=True), flags=("--beta2",),
                            help="Adam beta_2 of both", tunable=True)
    ema_half_life_images: float = setting(
        0, check=at_least(0), flags=("--ema-half-life",), metavar="IMAGES",
        help="keep a moving average of the generator's weights with this half-life in "
        "images, and sample with it (0: none)", tunable=True)
    ema_rampup: float = setting(
        0.05, check=at_least(0),
        help="the half-life is at most this times the images seen (0: no ramp-up)")
    lr_decay: str = setting(
        "none", choices=("none", "cosine", "linear"),
        help="decay both learning rates once the run's progress (its images over those of its "
        "epochs, or its time over its budget, whichever is further) passes --lr-decay-start")
    lr_decay_start: float = setting(
        0.5, check=between(0, 1, high_open=True),
        help="progress where the learning-rate decay starts (0.5: the second half)")
    lr_decay_final: float = setting(
        0.25, check=between(0, 1),
        help="learning-rate factor at the end of the run (0.25: R3GAN's 2e-4 to 5e-5)")


DEFAULT_EPOCHS = 60  # The paper's DCGAN and SRResNet runs.


@dataclasses.dataclass
class ScheduleConfig(_Section):
    """How long and in which rhythm to train."""

    epochs: int | None = setting(
        None, check=at_least(1),
        help="length of the run; without it a progressive run lasts its growth schedule, "
        "any other 60 epochs")
    minutes: float | None = setting(
        None, check=positive(),
        help="time budget: stop at the first step after this many minutes (data loading "
        "included), with a complete checkpoint that --resume continues; with --epochs, "
        "whichever comes first")
    d_steps: int = setting(1, check=at_least(1), help="discriminator updates per batch",
                           tunable=True)
    g_steps: int = setting(1, check=at_least(1), help="generator updates per batch (r)",
                           tunable=True)
    seed: int = setting(0, check=at_least(0), help="seed of the networks, latents and shuffle")
    jit_compile: bool | str = setting("auto", choices=(True, False, "auto"),
                                      help="compile the train step with XLA")
    sample_count: int = setting(64, check=at_least(1), help="images in each sample grid")
    save_minutes: float = setting(
        0.0, check=at_least(0),
        help="write the checkpoint, sample grid and loss curves at the first epoch end this "
        "many minutes after the last write (0: after every epoch); the run's end, a budget's "
        "end and each progressive stage's end always write")
    phase_epochs: int = setting(
        20, check=at_least(1), help="progan: epochs per fade-in and per stabilization phase")
    phase_images: int = setting(
        0, check=at_least(0),
        help="progan: images per phase instead (rounded up to whole epochs; 0: use epochs)")
    metrics_every: int = setting(
        0, check=at_least(0),
        help="add rho, sigma/n, delta and SWD of --metrics-n samples to the history every N "
        "epochs (0: off)")
    metrics_n: int = setting(256, check=at_least(2), help="samples per measurement")
    strategy: str = setting(
        "default", choices=STRATEGIES,
        help="tf.distribute strategy: one device, mirrored over the local GPUs, or "
        "multiworker as TF_CONFIG describes")
    precision: str = setting(
        "float32", choices=PRECISIONS, flags=("--precision", "--mixed-precision"),
        help="compute in float32, or float16 (with loss scaling) or bfloat16, or auto: "
        "bfloat16 on a CPU that computes it natively (AVX-512 BF16 or AMX), else float32; "
        "variables, generator output and penalties stay float32")
    deterministic: bool = setting(
        False, help="TensorFlow op determinism during the run (same seed, same weights)")
    on_nan: str = setting(
        "stop", choices=NAN_POLICIES,
        help="on a NaN/Inf loss: stop, or roll back to the last checkpoint with lower "
        "learning rates")
    nan_lr_factor: float = setting(
        0.5, check=between(0, 1, low_open=True, high_open=True),
        help="learning-rate factor of a rollback")
    nan_rollbacks: int = setting(3, check=at_least(0), help="rollbacks before giving up")
    tensorboard: bool = setting(
        False, help="write every epoch's losses, measures, learning rates and sample grid to "
        "RUN/tensorboard/")
    preset: str | None = setting(
        None, help="the preset the run's settings started from (recorded in config.json)",
        no_flag="set by --preset, which loads the preset's settings")


SECTIONS = {
    "data": DataConfig,
    "model": ModelConfig,
    "loss": LossConfig,
    "optimizer": OptimizerConfig,
    "schedule": ScheduleConfig,
}
_FIELDS = {field.name: field for section in SECTIONS.values()
           for field in dataclasses.fields(section)}
_FIELD_SECTION = {field.name: name for name, section in SECTIONS.items()
                  for field in dataclasses.fields(section)}
_KIND_WORDS = {bool: "True or False", int: "an integer", float: "a number", str: "a string",
               tuple: "a sequence", type(None): "None"}



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

        Raises:
            ValueError: an unknown setting, or a value ``validate`` refuses.
        """
        sections = {name: getattr(self, name) for name in SECTIONS}
        changes = {name: {} for name in SECTIONS}
        for key, value in overrides.items():
            if value is None:
                continue
            _field(key)  # An unknown name fails with the valid ones.
            changes[_FIELD_SECTION[key]][key] = value
        return RunConfig(
            **{name: dataclasses.replace(sections[name], **changes[name]) for name in SECTIONS}
        )

    def to_dict(self):
        """``{section: {setting: value}}``, the layout of a run's ``config.json``."""
        return dataclasses.asdict(self)

    def settings(self):
        """``{setting: value}`` of every field, whichever section holds it."""
        return {name: getattr(getattr(self, section), name)
                for name, section in _FIELD_SECTION.items()}

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
PRESETS["demo-dcgan-budget"] = (
    "demo-dcgan for a --minutes budget: up to 40 epochs, the learning rates decayed (cosine, "
    "to a quarter) over the second half of the budget",
    PRESETS["demo-dcgan"][1].replace(lr_decay="cosine", epochs=40),
)
PRESETS["demo-dcgan-fast"] = (
    "demo-dcgan-budget with a critic of twice the width (d_width 0.25), computing in bfloat16 "
    "where the CPU does so natively (precision auto; float32 elsewhere)",
    PRESETS["demo-dcgan-budget"][1].replace(d_width=0.25, precision="auto"),
)
PRESETS["demo-dcgan-k3"] = (
    "demo-dcgan-fast with 3 x 3 convolutions (kernel_size 3): 1.8x the images a second in "
    "bfloat16 and 2.1x in float32 on a 2-core CPU, at most 40 epochs",
    PRESETS["demo-dcgan-fast"][1].replace(kernel_size=3),
)
PRESETS["demo-dcgan-thin"] = (
    "demo-dcgan-k3 with a generator half as wide (width 0.0625) for up to 80 epochs: about "
    "twice the images a second in float32; what the demo trains on a CPU too slow for 64,000 "
    "images of demo-dcgan-k3 in its budget",
    PRESETS["demo-dcgan-k3"][1].replace(width=0.0625, epochs=80),
)
PRESETS["demo-dcgan-long"] = (
    "demo-dcgan-k3 for a 45-minute budget on 1,024 virtual subjects (demo:1024, 32,768 "
    "slices, built on first use) so that the critic does not learn its slices by heart, up "
    "to 400 epochs",
    PRESETS["demo-dcgan-k3"][1].replace(source="demo:1024", minutes=45.0, epochs=400),
)
PRESETS["demo-stylegan2"] = (
    "a small StyleGAN2 on the demo cohort at 64x64 (skip generator, residual critic), lazy R1 "
    "with StyleGAN2-ADA's gamma, Adam 2e-3/0/0.99, generator EMA, 12 epochs",
    _preset(source="demo", resolution=64, batch_size=32, arch="stylegan2", latent_dim=64,
            latent_distribution="normal", width=0.125, loss="gan-r1",
            penalty_weight=0.0002 * 64**2 / 32, penalty_interval=4,  # losses.r1_gamma(64, 32)
            g_learning_rate=2e-3, d_learning_rate=2e-3, beta_1=0.0, beta_2=0.99,
            ema_half_life_images=2000, epochs=12, sample_count=36),
)


# `keras-mrigan demo` lasts at most this long in all, on any machine (its cohort built too).
DEMO_MINUTES = 10.0
DEMO_PRESET = "demo-dcgan-k3"
# ... unless a few timed steps say this machine trains fewer images of it in the demo's budget
# than this: then it trains the thinner generator (``keras_mrigan.speed``). The steps' estimate
# runs about a quarter above what a demo then trains (its own steps are slower than the timed
# ones). Measured: an estimate of 39,000-45,000 images (AVX2 only) gave 2.9x the SWD floor
# with the thin generator against 6.0x; estimates of 100,000 and more (AVX-512 BF16 or AMX)
# favour the wider one.
DEMO_SMALL_BUDGET_IMAGES = 64_000
DEMO_SMALL_BUDGET_PRESET = "demo-dcgan-thin"


def get_preset(name):
    """The ``RunConfig`` of a named preset (a fresh copy)."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}. Valid presets: {sorted(PRESETS)}")
    return RunConfig.from_dict(PRESETS[name][1].to_dict()).replace(preset=name)
