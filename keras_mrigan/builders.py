"""Builders of a run's GAN from a ``RunConfig``: the networks, the ``GAN`` around them, its
compilation, the growth of a progressive GAN, and the run's strategy and precision scope.

The settings a builder takes are found by name: every ``RunConfig`` field whose name is a
parameter of the architecture's ``build_generator``/``build_discriminator``, of ``GAN`` or of
``GAN.compile`` is passed to it, so a new setting of the GAN needs only its field.
"""

import contextlib
import functools
import inspect
import os
import platform
from pathlib import Path

import keras

from keras_mrigan import losses
from keras_mrigan.config import validate as validate_setting
from keras_mrigan.models import get_architecture, is_progressive
from keras_mrigan.models.gan import GAN, as_mask_classes, mask_class_count
from keras_mrigan.utils import random_scope

_strategies = {}


def get_strategy(name):
    """The ``tf.distribute`` strategy of a run: ``"default"`` (one device), ``"mirrored"``
    (``MirroredStrategy`` over the local GPUs, or the CPU) or ``"multiworker"``
    (``MultiWorkerMirroredStrategy``, configured by ``TF_CONFIG``).

    One instance per name and process: strategies with collective ops must not be created
    twice in a process.
    """
    import tensorflow as tf

    validate_setting("strategy", name)
    if name == "default":
        return tf.distribute.get_strategy()
    if name not in _strategies:
        _strategies[name] = (tf.distribute.MirroredStrategy() if name == "mirrored"
                             else tf.distribute.MultiWorkerMirroredStrategy())
    return _strategies[name]


# oneDNN's instruction-set limits (``ONEDNN_MAX_CPU_ISA``) under which it still computes
# bfloat16 products natively: the AVX-512 BF16 and AMX levels and those above them.
_BFLOAT16_ISAS = ("ALL", "AVX512_CORE_BF16", "AVX512_CORE_FP16", "AVX512_CORE_AMX",
                  "AVX512_CORE_AMX_FP16", "AVX10_1_512", "AVX10_1_512_AMX",
                  "AVX10_1_512_AMX_FP16", "AVX10_2_512", "AVX10_2_512_AMX_2")


def native_bfloat16(cpu_flags=None, max_isa=None):
    """Whether this CPU multiplies bfloat16 natively, as oneDNN may use it: the CPU has
    AVX-512 BF16 or AMX (``cpu_flags``, default: ``/proc/cpuinfo``'s), and
    ``ONEDNN_MAX_CPU_ISA`` (``max_isa``, default: the environment's) does not limit oneDNN
    below them. Elsewhere bfloat16 is emulated, slower than float32."""
    if cpu_flags is None:
        try:
            text = Path("/proc/cpuinfo").read_text()
        except OSError:  # Not Linux: no way to tell, so no.
            return False
        cpu_flags = next((line.split(":", 1)[1].split() for line in text.splitlines()
                          if line.startswith("flags")), [])
    max_isa = (os.environ.get("ONEDNN_MAX_CPU_ISA", "") if max_isa is None else max_isa).upper()
    if max_isa and max_isa not in _BFLOAT16_ISAS:
        return False
    return bool({"avx512_bf16", "amx_bf16"} & set(cpu_flags))


def resolve_precision(precision):
    """A run's dtype policy: ``precision`` itself, or for ``"auto"``, ``"mixed_bfloat16"`` on
    a machine without a GPU whose CPU multiplies bfloat16 natively (``native_bfloat16``) with
    TensorFlow's oneDNN kernels on, else ``"float32"``."""
    if precision != "auto":
        return precision
    import tensorflow as tf

    if (not tf.config.list_physical_devices("GPU") and native_bfloat16()
            and onednn_enabled() is not False):
        return "mixed_bfloat16"
    return "float32"


def onednn_enabled():
    """Whether TensorFlow runs its oneDNN kernels in this process (``None`` where it cannot
    tell). TensorFlow decides once, when it starts: ``TF_ENABLE_ONEDNN_OPTS`` if set, else on
    for x86 Linux CPUs with AVX512_VNNI, AVX512_BF16, AVX_VNNI or AMX only."""
    try:  # No public API tells; this is the function TensorFlow's own tests ask.
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:
        return None
    return bool(_pywrap_util_port.IsMklEnabled())


def onednn_advice(enabled, environ=None, machine=None):
    """What to tell a user whose TensorFlow runs without oneDNN (``enabled`` False) on an x86
    CPU without having asked for that, else ``None``.

    On such CPUs (AMD EPYC before Zen 4, Intel before Cascade Lake) TensorFlow falls back to
    its Eigen kernels. On a 2-core AMD EPYC with AVX2 only they ran ``demo-dcgan-thin``'s
    float32 train step 1.6x slower than oneDNN (104 against 166 images a second, the step
    alone) and 2.9x slower inside a training run (670 against 234 ms a step), and
    ``demo-dcgan-k3``'s step 1.16x slower. The ``keras-mrigan`` command turns oneDNN on before
    TensorFlow starts; a Python program has to set the variable itself."""
    environ = os.environ if environ is None else environ
    machine = platform.machine() if machine is None else machine
    if enabled is not False or "TF_ENABLE_ONEDNN_OPTS" in environ:
        return None
    if machine.lower() not in ("x86_64", "amd64"):
        return None
    return ("TensorFlow runs without its oneDNN kernels on this CPU (its default on x86 "
            "CPUs without AVX512_VNNI, AVX512_BF16 or AMX), which slows training (the thin "
            "demo preset's steps took 1.6x to 2.9x as long without them). Set the "
            "environment variable TF_ENABLE_ONEDNN_OPTS=1 before TensorFlow is imported, as "
            "the keras-mrigan command does.")


def check_run_options(config):
    """Rejects unknown strategy, precision and NaN-policy names before anything is built
    (a config whose fields were assigned directly has not been validated)."""
    for name in ("strategy", "precision", "on_nan", "nan_lr_factor"):
        validate_setting(name, getattr(config.schedule, name))


@contextlib.contextmanager
def run_scope(config):
    """Builds or loads models of a run inside: its strategy's scope, and its precision as the
    global dtype policy (restored on exit)."""
    check_run_options(config)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(resolve_precision(config.schedule.precision))
    try:
        with get_strategy(config.schedule.strategy).scope():
            yield
    finally:
        keras.config.set_dtype_policy(previous)


@functools.cache
def _parameters(function):
    return tuple(inspect.signature(function).parameters)


def settings_for(function, config, *more):
    """The settings of ``config`` that ``function`` (or any of ``more``) takes by name:
    ``{name: value}``."""
    names = {name for f in (function, *more) for name in _parameters(f)}
    return {name: value for name, value in config.settings().items() if name in names}


def build_gan(config, resolution=None, classes=None, masks=None):
    """A fresh, uncompiled ``GAN`` for a ``RunConfig``, with its variables in the run's
    strategy scope and layers in the run's precision policy.

    The weights are drawn with the run's seed (the same seed gives the same weights); the
    caller's random generators are as they were afterwards.

    Args:
        config: a ``RunConfig``.
        resolution: the stage resolution of a progressive architecture (default: its first
            stage, 4 x 4); other architectures are built at the data resolution.
        classes: ``(class_names, class_counts)`` of labelled data: a conditional GAN whose
            generated labels follow the counts.
        masks: the ``MaskClasses`` (or its dict) of data of image and mask pairs: a GAN of
            pairs, whose networks work on ``1 + K`` channels (generated masks as
            ``config.model.mask_output`` says).
    """
    with run_scope(config), random_scope(config.schedule.seed):
        return _build_gan(config, resolution, classes, masks)


# Settings named like arguments of the networks and the GAN that come from the data, not from
# the config's field of the same name (``mask_classes`` there is the text naming the classes).
_FROM_DATA = ("resolution", "num_classes", "mask_classes")


def _build_gan(config, resolution, classes=None, masks=None):
    model = config.model
    architecture = get_architecture(model.arch)
    if resolution is None:
        resolution = (architecture.START_RESOLUTION if is_progressive(model.arch)
                      else config.data.resolution)
    if model.minibatch_stddev and config.data.batch_size % model.group_size:
        raise ValueError(
            f"`batch_size` ({config.data.batch_size}) must be a multiple of `group_size` "
            f"({model.group_size}) for the minibatch standard-deviation layer."
        )
    generator_settings = settings_for(architecture.build_generator, config)
    # Settings left unset (None) keep the networks' own defaults.
    unset = ("kernel_size",) if model.kernel_size is None else ()
    if not unset and "kernel_size" not in generator_settings:
        raise ValueError(f"`kernel_size` sets the dcgan and progan convolutions; {model.arch} "
                         "has its own (srresnet and stylegan2: 3 x 3). "
                         f"Received: kernel_size={model.kernel_size!r}")
    if model.upsample != "transpose" and "upsample" not in generator_settings:
        raise ValueError(f"`upsample` chooses the DCGAN generator's upsampling; {model.arch} "
                         "has its own (srresnet: ICNR pixel shuffle, progan: nearest "
                         f"neighbour, stylegan2: bilinear). Received: upsample={model.upsample!r}")
    if config.data.labels and classes is None:
        raise ValueError("A labelled run's GAN is conditional: give its `classes`.")
    names, counts = classes if classes is not None else ((), None)
    mask_classes = as_mask_classes(masks)
    k = mask_class_count(mask_classes)
    if k and "mask_classes" not in _parameters(architecture.build_generator):
        raise ValueError(f"{model.arch} does not make image and mask pairs. "
                         f"Received: masks={masks!r}")
    pair = {"mask_classes": k} if k else {}
    generator = architecture.build_generator(resolution, num_classes=len(names), **pair,
                                             **_without(generator_settings, *_FROM_DATA, *unset))
    discriminator_settings = settings_for(architecture.build_discriminator, config)
    if "batch_norm" in _parameters(architecture.build_discriminator):
        discriminator_settings["batch_norm"] = critic_batch_norm(config)
    if model.d_width is not None:
        discriminator_settings["width"] = model.d_width
    discriminator = architecture.build_discriminator(
        resolution, num_classes=len(names), **pair,
        **_without(discriminator_settings, *_FROM_DATA, *unset))
    return GAN(generator, discriminator, num_classes=len(names), class_names=names,
               class_frequencies=counts, mask_classes=mask_classes,
               **_without(settings_for(GAN.__init__, config), *_FROM_DATA, "class_names",
                          "class_frequencies"))


def critic_batch_norm(config):
    """Whether the discriminator has batch normalization: ``d_batch_norm`` when set, else
    not under a per-sample gradient penalty (``losses.PER_SAMPLE_PENALTIES``)."""
    if config.model.d_batch_norm is not None:
        return config.model.d_batch_norm
    return losses.get(config.loss.loss).penalty not in losses.PER_SAMPLE_PENALTIES


def _without(settings, *names):
    return {k: v for k, v in settings.items() if k not in names}


def grow_gan(gan, config, resolution):
    """The compiled GAN of the progressive stage at ``resolution``, carrying every weight of
    ``gan`` (the previous stage; its generator's moving average too) over by layer name, and
    its latent random state."""
    architecture = get_architecture(config.model.arch)
    classes = (gan.class_names, gan.class_frequencies) if gan.conditional else None
    grown = build_gan(config, resolution, classes, gan.mask_classes)
    architecture.transfer_weights(gan.generator, grown.generator)
    architecture.transfer_weights(gan.discriminator, grown.discriminator)
    grown.seed_generator.state.assign(gan.seed_generator.state)
    if gan.augment_policy:
        grown.augment_p.assign(gan.augment_p)
    if gan.ema_generator is not None:  # The average grows like the generator.
        architecture.transfer_weights(gan.ema_generator, grown.ema_generator)
        grown.images_seen.assign(gan.images_seen)
    return compile_gan(grown, config)


def compile_gan(gan, config):
    """Compiles ``gan`` with the optimizers and objective of a ``RunConfig`` (in the run's
    strategy scope; with dynamic loss scaling of both optimizers under mixed float16).

    Every setting ``GAN.compile`` or ``keras.Model.compile`` takes by name (``loss``,
    ``real_label``, ``penalty_weight``, ``jit_compile``, ...) comes from the config."""
    opt = config.optimizer

    def adam(learning_rate):
        optimizer = keras.optimizers.Adam(learning_rate, beta_1=opt.beta_1, beta_2=opt.beta_2)
        if resolve_precision(config.schedule.precision) == "mixed_float16":
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        return optimizer

    with run_scope(config):
        gan.compile(g_optimizer=adam(opt.g_learning_rate), d_optimizer=adam(opt.d_learning_rate),
                    **settings_for(type(gan).compile, config, keras.Model.compile))
    return gan
