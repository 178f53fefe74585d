"""Class conditioning of the networks: a label embedding for generators, a projection for
discriminators (Miyato & Koyama 2018, "cGANs with projection discriminator").

Every architecture calls ``generator_inputs`` where its generator starts and
``projection_scores`` where its discriminator ends, so all three condition the same way.
"""

import keras
import numpy as np
from keras import ops

LABEL = "label"


def check_num_classes(num_classes):
    """Rejects a class count other than 0 (unconditional) or an integer >= 2."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) \
            or num_classes < 0 or num_classes == 1:
        raise ValueError("`num_classes` must be 0 (unconditional) or an integer >= 2. "
                         f"Received: num_classes={num_classes!r}")
    return num_classes


def class_index(label, class_names, owner="This generator"):
    """A class given by name or by index, as its index among ``class_names``.

    Args:
        label: a class name (``str``) or an index (``int`` or numpy integer, not ``bool``).
        class_names: the classes, in index order (empty for an unconditional model).
        owner: who the classes belong to, named in the messages (a model or a path).

    Returns:
        int, the index.

    Raises:
        ValueError: ``owner`` has no classes, or ``label`` is not one of them; the message
            lists the classes.
    """
    if not class_names:
        raise ValueError(f"{owner} is unconditional: it takes no label. Received: "
                         f"label={label!r}")
    if isinstance(label, str) and label in class_names:
        return list(class_names).index(label)
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool) \
            and 0 <= label < len(class_names):
        return int(label)
    raise ValueError(f"Unknown class {label!r}: a class name in {list(class_names)} or an "
                     f"index in [0, {len(class_names)}) was expected ({owner}).")


def label_input():
    """The int32 class-index input of conditional networks, one per image."""
    return keras.Input((), dtype="int32", name=LABEL)


def generator_inputs(latent_dim, num_classes=0):
    """A generator's inputs and the vector its network starts from.

    Unconditional: the latent input, and the latent. Conditional: ``[latent, label]``, and the
    latent concatenated with a learned embedding of the label of the same length (initialized
    with a spread of ``1 / sqrt(latent_dim)`` per component, a unit-length vector on average).

    Returns:
        ``(inputs, vector)``.
    """
    latents = keras.Input((latent_dim,), name="latent")
    if not check_num_classes(num_classes):
        return latents, latents
    labels = label_input()
    embedded = keras.layers.Embedding(
        num_classes, latent_dim, name="label_embedding",
        embeddings_initializer=keras.initializers.RandomNormal(0.0, latent_dim**-0.5),
    )(labels)
    vector = keras.layers.Concatenate(name="latent_label")([latents, embedded])
    return [latents, labels], vector


def discriminator_inputs(images, num_classes=0):
    """The discriminator's inputs: ``images``, or ``[images, label]`` when conditional; and the
    label input (``None`` when unconditional)."""
    if not check_num_classes(num_classes):
        return images, None
    labels = label_input()
    return [images, labels], labels


def projection_scores(features, scores, labels, num_classes):
    """The projection discriminator's output: ``scores + <embed(label), features>``; just
    ``scores`` when ``labels`` is ``None``."""
    if labels is None:
        return scores
    return Projection(num_classes, name="projection")([features, labels, scores])


@keras.saving.register_keras_serializable(package="keras_mrigan")
class Projection(keras.layers.Layer):
    """Adds the inner product of a learned class embedding with the discriminator's last
    features to its unconditional score: ``psi(phi(x)) + embed(y) . phi(x)`` (Miyato & Koyama
    2018, eq. 3). Call it on ``[features (batch, F), labels (batch,), scores (batch, 1)]``.

    Args:
        num_classes: set from the labels' embedding when built; given for deserialization.
    """

    def __init__(self, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        features = input_shape[0][-1]
        if self.num_classes is None:
            raise ValueError("Projection needs `num_classes`.")
        self.embeddings = self.add_weight(
            shape=(self.num_classes, features), name="embeddings",
            initializer=keras.initializers.RandomNormal(0.0, 0.02),
        )

    def call(self, inputs):
        features, labels, scores = inputs
        embedded = ops.take(ops.cast(self.embeddings, features.dtype),
                            ops.cast(labels, "int32"), axis=0)
        return scores + ops.sum(embedded * features, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return input_shape[2]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
