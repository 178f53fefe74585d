"""Latent vectors and generated labels: drawn during training, and mapped from integer seeds.

The one seed mapping: image ``i`` of a call with integer seed ``s`` comes from seed ``s + i``,
whose latent is drawn by a stateless generator keyed ``[s + i, 0]`` (``seed_latents``) and,
for a conditional generator without a chosen class, whose label is drawn keyed ``[s + i, 1]``
(``seed_labels``). A seed gives the same image whatever the other seeds of its batch, in any
process, from the Python API, the command line or an exported SavedModel.
"""

import keras
import numpy as np
import tensorflow as tf

LATENT_DISTRIBUTIONS = ("uniform", "normal")
# Seeds are int64 (the SavedModel's ``generate_from_seed`` input) and non-negative.
MAX_SEED = 2**63 - 1


def check_latent_distribution(distribution):
    """Rejects a latent distribution other than ``"uniform"`` and ``"normal"``."""
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(
            f"`latent_distribution` must be one of {LATENT_DISTRIBUTIONS}. "
            f"Received: latent_distribution={distribution!r}"
        )


def check_seed_range(seed, n):
    """Rejects a base seed whose ``n`` seeds ``seed ... seed + n - 1`` are not all integers
    from 0 to 2^63 - 1.

    Returns:
        ``seed`` as a Python int.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0 \
            or int(seed) + n - 1 > MAX_SEED:
        raise ValueError(f"Seeds must be integers from 0 to 2^63 - 1; seed={seed!r} with n={n} "
                         f"gives the range {seed}..{seed + n - 1}.")
    return int(seed)


def random_base_seed(n, rng=None):
    """A base seed drawn so that its ``n`` seeds are valid, for a call that was given none.

    Args:
        n: how many seeds follow from it.
        rng: a ``numpy.random.Generator``; default: a fresh one (operating-system entropy),
            so that no global or training random state moves.
    """
    rng = np.random.default_rng() if rng is None else rng
    return int(rng.integers(0, MAX_SEED - n + 1, endpoint=True))


def sample_latents(n, latent_dim, distribution="uniform", seed=None):
    """Draws ``n`` latent vectors as one batch (training's draws).

    For the latents of integer seeds, image by image, use ``seed_latents``.

    Args:
        n: how many.
        latent_dim: length of each vector.
        distribution: ``"uniform"``: ``U(-1, 1)`` per component (paper, DCGAN);
            ``"normal"``: ``N(0, 1)`` normalized to unit length (paper, SRResNet and ProGAN).
        seed: a ``keras.random.SeedGenerator`` (training), an integer (the batch of a
            stateless generator keyed ``[seed, 0]``: the same in every process), or ``None``.

    Returns:
        float32 tensor ``(n, latent_dim)``.
    """
    check_latent_distribution(distribution)
    shape = (n, latent_dim)
    if isinstance(seed, (int, np.integer)):
        stateless = [int(seed), 0]
        if distribution == "uniform":
            return tf.random.stateless_uniform(shape, stateless, minval=-1.0, maxval=1.0)
        z = tf.random.stateless_normal(shape, stateless)
    else:
        if distribution == "uniform":
            return keras.random.uniform(shape, minval=-1.0, maxval=1.0, seed=seed)
        z = keras.random.normal(shape, seed=seed)
    return z / tf.sqrt(tf.reduce_sum(tf.square(z), axis=1, keepdims=True) + 1e-12)


def seed_latents(seeds, latent_dim, distribution="uniform"):
    """One latent per integer seed, each from a stateless generator keyed ``[seed, 0]``.

    The same seed gives the same latent in every process, whatever the other seeds of the
    batch; exported SavedModels map seeds to latents with this same function, in their graph.

    Args:
        seeds: int64 tensor or array ``(n,)``.
        latent_dim: length of each vector.
        distribution: ``"uniform"`` or ``"normal"``, as in ``sample_latents``.

    Returns:
        float32 tensor ``(n, latent_dim)``.
    """
    check_latent_distribution(distribution)
    seeds = tf.cast(tf.convert_to_tensor(seeds), tf.int64)

    def one(seed):
        pair = tf.stack([seed, tf.zeros_like(seed)])
        if distribution == "uniform":
            return tf.random.stateless_uniform([latent_dim], pair, minval=-1.0, maxval=1.0)
        # Normalized in float64: in float32, a graph (an exported SavedModel's, a
        # tf.function's) and eager execution round the norm differently, and the same seed
        # would give latents a few 1e-8 apart.
        z = tf.cast(tf.random.stateless_normal([latent_dim], pair), tf.float64)
        return tf.cast(z / tf.sqrt(tf.reduce_sum(tf.square(z)) + 1e-12), tf.float32)

    return tf.map_fn(one, seeds, fn_output_signature=tf.float32)


def check_class_frequencies(class_frequencies):
    """Rejects class frequencies other than K >= 1 non-negative numbers, not all 0.

    Returns:
        float64 numpy array ``(K,)``.
    """
    frequencies = np.asarray(class_frequencies, dtype=np.float64)
    if frequencies.ndim != 1 or not frequencies.size or not (frequencies >= 0).all() \
            or not frequencies.sum() > 0:
        raise ValueError("`class_frequencies` must be non-negative numbers, one per class, "
                         f"not all 0. Received: class_frequencies={class_frequencies!r}")
    return frequencies


def sample_labels(n, class_frequencies, seed=None):
    """Draws ``n`` class indices from ``class_frequencies`` as one batch (training's draws).

    Args:
        n: how many.
        class_frequencies: how often each class occurs (any positive scale).
        seed: a ``keras.random.SeedGenerator`` (training), an integer (the batch of a
            stateless generator keyed ``[seed, 1]``), or ``None``.

    Returns:
        int32 tensor ``(n,)``.
    """
    check_class_frequencies(class_frequencies)
    # float32 logarithms of the frequencies as given: training's draws depend on them.
    logits = tf.math.log(tf.constant([tuple(class_frequencies)], tf.float32))
    if isinstance(seed, (int, np.integer)):
        draws = tf.random.stateless_categorical(logits, n, [int(seed), 1], dtype=tf.int32)
    else:
        draws = keras.random.categorical(logits, n, seed=seed, dtype="int32")
    return tf.reshape(draws, [n])


def seed_labels(seeds, class_frequencies):
    """One class index per integer seed, each drawn from ``class_frequencies`` by a
    stateless generator keyed ``[seed, 1]`` (the latent of the same seed is keyed
    ``[seed, 0]``).

    Like ``seed_latents``, a seed gives the same label in every process whatever the other
    seeds of the batch, and works inside a ``tf.function`` (an exported signature).

    Args:
        seeds: int64 tensor or array ``(n,)``.
        class_frequencies: how often each class occurs (any positive scale; K >= 1 numbers).

    Returns:
        int32 tensor ``(n,)``.
    """
    frequencies = check_class_frequencies(class_frequencies)
    # Normalized first, so that the draws do not depend on the frequencies' scale; a class of
    # frequency 0 has logit -inf and is never drawn.
    logits = tf.math.log(tf.constant((frequencies / frequencies.sum())[None, :], tf.float32))
    seeds = tf.cast(tf.convert_to_tensor(seeds), tf.int64)

    def one(seed):
        pair = tf.stack([seed, tf.ones_like(seed)])
        return tf.random.stateless_categorical(logits, 1, pair, dtype=tf.int32)[0, 0]

    return tf.map_fn(one, seeds, fn_output_signature=tf.int32)
