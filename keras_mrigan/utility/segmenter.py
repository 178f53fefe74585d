"""The segmentation study's fixed downstream model: a small Keras U-Net, its training on
image + mask pairs, its classic (geometric) augmentation, and its Dice scores."""

import keras
import numpy as np
import tensorflow as tf

from keras_mrigan.metrics.masks import dice_per_class, mean_foreground_dice
from keras_mrigan.utility.refit import restart_from
from keras_mrigan.utils import random_scope

SEGMENTER_FILTERS = (8, 16, 32)
# Every segmenter makes the same number of updates, whatever the size of its training set: a
# row with synthetic pairs then differs from ``real`` by its data, not by its compute, and a
# scarce regime of 2 subjects is trained as long as the full one.
SEGMENTER_STEPS = 600
SEGMENTER_BATCH = 16


def build_segmenter(resolution, num_classes, filters=SEGMENTER_FILTERS, name="utility_segmenter"):
    """The study's fixed U-Net: at each level two 3 x 3 convolutions (batch normalization,
    ReLU) then 2 x 2 max pooling on the way down; a bottleneck of twice the last level's
    filters; on the way up a 2 x 2 transposed convolution, the skip connection of the same
    level concatenated, and two 3 x 3 convolutions; a 1 x 1 softmax over the classes. Small
    on purpose (8, 16, 32 filters, about 120 k weights): trained in a minute on a CPU.

    Reference:
        Ronneberger, Fischer and Brox, "U-Net: Convolutional Networks for Biomedical Image
        Segmentation", MICCAI 2015.

    Args:
        resolution: side of the input slices, divisible by ``2 ** len(filters)``.
        num_classes: classes of the softmax (background included).
        filters: filters of each level, top down.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model`` from ``(B, r, r, 1)`` to ``(B, r, r, num_classes)``
        probabilities.
    """
    if resolution % 2 ** len(filters):
        raise ValueError(f"`resolution` must be divisible by {2 ** len(filters)} for "
                         f"{len(filters)} levels. Received: resolution={resolution}")
    if num_classes < 2:
        raise ValueError(f"`num_classes` must be at least 2 (the background counts). "
                         f"Received: num_classes={num_classes}")

    def block(x, width):
        for _ in range(2):
            x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False)(x)
            # Momentum 0.9: a few hundred steps must bring the moving statistics to the data's.
            x = keras.layers.BatchNormalization(momentum=0.9)(x)
            x = keras.layers.ReLU()(x)
        return x

    inputs = keras.Input((resolution, resolution, 1), name="image")
    x, skips = inputs, []
    for width in filters:
        x = block(x, width)
        skips.append(x)
        x = keras.layers.MaxPooling2D()(x)
    x = block(x, 2 * filters[-1])
    for width, skip in zip(reversed(filters), reversed(skips), strict=True):
        x = keras.layers.Conv2DTranspose(width, 2, strides=2)(x)
        x = block(keras.layers.Concatenate()([x, skip]), width)
    outputs = keras.layers.Conv2D(num_classes, 1, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


def soft_dice_loss(y_true, y_pred):
    """Cross-entropy plus one minus the mean soft Dice over the classes of the batch.

    The Dice term weighs a small class (CSF) as much as the background, which pixel-wise
    cross-entropy alone does not.

    Reference:
        Milletari, Navab and Ahmadi, "V-Net: Fully Convolutional Neural Networks for
        Volumetric Medical Image Segmentation", 3DV 2016.

    Args:
        y_true: class indices ``(B, H, W)``.
        y_pred: probabilities ``(B, H, W, K)``.
    """
    num_classes = keras.ops.shape(y_pred)[-1]
    one_hot = keras.ops.one_hot(keras.ops.cast(y_true, "int32"), num_classes)
    cross_entropy = keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y_true, y_pred))
    both = keras.ops.sum(one_hot * y_pred, axis=(0, 1, 2))
    sizes = keras.ops.sum(one_hot + y_pred, axis=(0, 1, 2))
    dice = (2.0 * both + 1.0) / (sizes + 1.0)
    return cross_entropy + 1.0 - keras.ops.mean(dice)


def pair_augmentation(num_classes, seed=0):
    """Classic augmentation of image + mask batches: the same left-right flip, rotation (up
    to +-10 degrees) and translation (up to 5 %) of the image and its mask, then a contrast
    change (+-20 %) of the image alone.

    The geometric layers move the image (shifted to ``[0, 2]`` so that the background is 0)
    and the mask's one-hot channels together, bilinearly, filling with 0; the mask is the
    argmax of its moved channels afterwards, so a pixel that moves in from outside is
    background, and borders between classes fall where the interpolated probabilities cross.

    Args:
        num_classes: classes of the masks.
        seed: the first of the four layers' seeds.

    Returns:
        A function ``(images (B, H, W, 1), masks int (B, H, W)) -> (images, masks)`` for
        ``tf.data``.
    """
    fill = dict(fill_mode="constant", fill_value=0.0)
    geometric = keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(10 / 360, seed=seed + 1, **fill),
        keras.layers.RandomTranslation(0.05, 0.05, seed=seed + 2, **fill),
    ], name="pair_geometric_augmentation")
    contrast = keras.layers.RandomContrast(0.2, value_range=(-1.0, 1.0), seed=seed + 3)

    def augment(images, masks):
        pairs = tf.concat([images + 1.0, tf.one_hot(masks, num_classes)], axis=-1)
        moved = geometric(pairs, training=True)
        images = tf.clip_by_value(contrast(moved[..., :1] - 1.0, training=True), -1.0, 1.0)
        return images, tf.argmax(moved[..., 1:], axis=-1, output_type=tf.int32)

    return augment


def train_segmenter(images, masks, num_classes, seed=0, steps=SEGMENTER_STEPS, classic=False,
                    batch_size=SEGMENTER_BATCH, filters=SEGMENTER_FILTERS, model=None):
    """Trains ``build_segmenter`` with ``model.fit`` (Adam 1e-3, ``soft_dice_loss``) for a
    fixed number of updates.

    The seed fixes the initial weights, the batch order and the augmentation; it is applied
    inside ``random_scope``, so the caller's random generators are left as they were.

    Args:
        images: ``(N, r, r, 1)`` in ``[-1, 1]``.
        masks: ``(N, r, r)`` class indices.
        num_classes: classes of the masks.
        seed: the segmenter's seed.
        steps: updates (batches), whatever ``N``.
        classic: pass every batch through ``pair_augmentation`` first.
        batch_size: pairs per update.
        filters: the U-Net's filters per level.
        model: a segmenter this function trained before, on slices of the same size and
            classes: it is trained again from this seed's initial weights (those a new one
            would get) with a fresh optimizer state, and Keras reuses its compiled training
            step, which spares seconds of tracing per fit on a CPU. The result is the same
            as with a new model.

    Returns:
        The trained model (``model`` itself when given).
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    masks = np.asarray(masks, np.int32)
    if images.shape[:3] != masks.shape:
        raise ValueError(f"`images` (N, H, W[, 1]) and `masks` (N, H, W) must agree. "
                         f"Received: {images.shape} and {masks.shape}")
    with random_scope(seed):
        fresh = build_segmenter(images.shape[1], num_classes, filters)
        if model is None:
            model = fresh
            model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=soft_dice_loss)
        else:
            restart_from(model, fresh)
        dataset = tf.data.Dataset.from_tensor_slices((images, masks))
        dataset = dataset.shuffle(len(images), seed=seed).repeat().batch(batch_size)
        if classic:
            dataset = dataset.map(pair_augmentation(num_classes, seed))
        model.fit(dataset.prefetch(tf.data.AUTOTUNE), epochs=1, steps_per_epoch=steps,
                  verbose=0, shuffle=False)  # The dataset shuffles with the seed.
    return model


def predict_masks(model, images, batch_size=64):
    """The class index of every pixel, int32 ``(N, H, W)``."""
    images = np.asarray(images, np.float32)
    if images.ndim == 3:
        images = images[..., None]
    return model.predict(images, batch_size=batch_size, verbose=0).argmax(-1).astype(np.int32)


def segmentation_scores(model, images, masks, class_names):
    """Dice of a segmenter's masks against ``masks``, per class and over the foreground.

    Returns:
        ``{"dice_mean": mean over the foreground classes, "dice_<name>": per class}``
        (background included; NaN for a class absent from both).
    """
    dice = dice_per_class(predict_masks(model, images), np.asarray(masks, np.int32),
                          len(class_names))
    return {"dice_mean": mean_foreground_dice(dice),
            **{f"dice_{name}": float(value) for name, value in zip(class_names, dice,
                                                                   strict=True)}}
