"""The study's fixed downstream classifier: its network, its training and its scores."""

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

from keras_mrigan.utility.refit import restart_from
from keras_mrigan.utils import random_scope

MEASURES = ("accuracy", "balanced_accuracy", "auc")
CLASSIFIER_EPOCHS = 15
CLASSIFIER_RESOLUTION = 32  # The classifier sees slices average-pooled to at most this.


def build_classifier(resolution, num_classes, name="utility_classifier"):
    """The study's fixed classifier: slices average-pooled to at most 32 x 32, three 3 x 3
    convolution blocks (16, 32, 64 filters, batch normalization, ReLU, 2 x 2 max pooling),
    global average pooling, dropout 0.3 and a softmax layer. Small on purpose: the regime of
    scarce data, trained in seconds on a CPU.

    Args:
        resolution: side of the input slices.
        num_classes: number of classes of the softmax layer.
        name: the model's name.

    Returns:
        An uncompiled ``keras.Model``.
    """
    inputs = keras.Input((resolution, resolution, 1), name="image")
    x = inputs
    if resolution > CLASSIFIER_RESOLUTION:
        x = keras.layers.AveragePooling2D(resolution // CLASSIFIER_RESOLUTION)(x)
    for filters in (16, 32, 64):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        # Momentum 0.9: a scarce regime trains for a few hundred steps only, too few for
        # Keras' 0.99 to bring the moving statistics to the data's (its predictions then
        # collapse to one class).
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    outputs = keras.layers.Dense(num_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name=name)


def classic_augmentation(seed=0):
    """Keras' preprocessing layers as a model: left-right flips, rotations up to +-10 degrees,
    translations up to 5 %, contrast +-20 %; the background (-1) fills what moves in.

    Args:
        seed: the first of the four layers' seeds.
    """
    fill = dict(fill_mode="constant", fill_value=-1.0)
    return keras.Sequential([
        keras.layers.RandomFlip("horizontal", seed=seed),
        keras.layers.RandomRotation(10 / 360, seed=seed + 1, **fill),
        keras.layers.RandomTranslation(0.05, 0.05, seed=seed + 2, **fill),
        # value_range: the layer clips to it (by default 0..255, which would erase every
        # value below 0 of our [-1, 1] slices).
        keras.layers.RandomContrast(0.2, value_range=(-1.0, 1.0), seed=seed + 3),
    ], name="classic_augmentation")


def train_classifier(images, labels, num_classes, seed=0, epochs=CLASSIFIER_EPOCHS,
                     classic=False, batch_size=32, model=None):
    """Trains ``build_classifier`` with ``model.fit`` (Adam 1e-3, sparse categorical
    cross-entropy).

    The seed fixes the initial weights, the batch order, dropout and the augmentation; it is
    applied inside ``random_scope``, so the caller's random generators are left as they were.

    Args:
        images: ``(N, r, r, 1)`` in ``[-1, 1]``.
        labels: ``(N,)`` class indices.
        num_classes: number of classes.
        seed: the classifier's seed.
        epochs: passes over the images.
        classic: pass every batch through ``classic_augmentation`` first.
        batch_size: images per step.
        model: a classifier this function trained before, on slices of the same size and
            classes: it is trained again from this seed's initial state (that of a new one,
            ``refit.restart_from``), and Keras reuses its compiled training step. The result
            is the same as with a new model.

    Returns:
        The trained model (``model`` itself when given).
    """
    with random_scope(seed):
        fresh = build_classifier(images.shape[1], num_classes)
        if model is None:
            model = fresh
            model.compile(optimizer=keras.optimizers.Adam(1e-3),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        else:
            restart_from(model, fresh)
        dataset = tf.data.Dataset.from_tensor_slices((images.astype(np.float32),
                                                      labels.astype(np.int32)))
        dataset = dataset.shuffle(len(images), seed=seed).batch(batch_size)
        if classic:
            augmentation = classic_augmentation(seed)
            dataset = dataset.map(lambda x, y: (tf.clip_by_value(
                augmentation(x, training=True), -1.0, 1.0), y))
        model.fit(dataset.prefetch(tf.data.AUTOTUNE), epochs=epochs, verbose=0, shuffle=False)
    return model


def scores(model, images, labels, num_classes):
    """Accuracy, balanced accuracy and AUC (one-vs-rest macro average for more than two
    classes) of a classifier on labelled images.

    Returns:
        ``{measure: float}`` for every measure of ``MEASURES``; the AUC is NaN when the
        labels hold one class only.
    """
    probabilities = model.predict(images, batch_size=256, verbose=0)
    predicted = probabilities.argmax(axis=1)
    present = np.unique(labels)
    if len(present) < 2:
        auc = float("nan")
    elif num_classes == 2:
        auc = roc_auc_score(labels, probabilities[:, 1])
    else:
        auc = roc_auc_score(labels, probabilities, multi_class="ovr",
                            labels=list(range(num_classes)))
    return {"accuracy": float((predicted == labels).mean()),
            "balanced_accuracy": float(balanced_accuracy_score(labels, predicted)),
            "auc": float(auc)}
