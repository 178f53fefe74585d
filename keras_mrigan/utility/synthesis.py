"""Synthetic training slices from a trained conditional generator, and synthetic image + mask
pairs from a generator of pairs."""

import numpy as np

from keras_mrigan.generate import generate


def gan_synthesizer(gan_or_sampler, class_names):
    """``synthesize(counts, seed)`` for a trained conditional GAN or a ``runs.Sampler``:
    ``counts[c]`` images of class ``c``, with seeds that differ per study seed and class.

    Args:
        gan_or_sampler: a ``GAN`` (sampled with ``GAN.generate``) or a ``Sampler``.
        class_names: the classes, in index order.

    Returns:
        A function ``(counts, seed) -> (images, labels)``.
    """
    def synthesize(counts, seed):
        images, labels = [], []
        for label, count in enumerate(np.asarray(counts).tolist()):
            if not count:
                continue
            first = 1_000_000 * (seed + 1) + 100_000 * label
            if hasattr(gan_or_sampler, "generate"):
                batch = gan_or_sampler.generate(int(count), seed=first, label=label)
            else:
                batch = generate(gan_or_sampler, int(count), seed=first, progress=False,
                                 label=class_names[label])
            images.append(batch)
            labels.append(np.full(int(count), label, np.int32))
        return np.concatenate(images), np.concatenate(labels)

    return synthesize


def pair_synthesizer(gan_or_sampler):
    """``synthesize(n, seed)`` for a trained GAN of image + mask pairs or a ``runs.Sampler``
    of one: ``n`` images and their masks, with seeds that differ per study seed.

    Args:
        gan_or_sampler: a ``GAN`` (sampled with ``GAN.generate``) or a ``Sampler``.

    Returns:
        A function ``(n, seed) -> (images (n, H, W, 1), masks int32 (n, H, W))``.
    """
    def synthesize(n, seed):
        first = 1_000_000 * (seed + 1)
        if hasattr(gan_or_sampler, "generate"):
            images, masks = gan_or_sampler.generate(int(n), seed=first, return_masks=True)
        else:
            images, masks = generate(gan_or_sampler, int(n), seed=first, progress=False,
                                     return_masks=True)
        return np.asarray(images, np.float32), np.asarray(masks, np.int32)

    return synthesize
