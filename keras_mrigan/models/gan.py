"""The GAN model: one ``train_step`` shared by every architecture and loss.

Its parts live beside it: latents and the seed mapping in ``latents``, the generator's moving
average in ``ema``, the gradient penalties in ``penalties``, the adaptive augmentation
probability in ``ada``, progressive fade-in in ``fading``, and the slicing of global-batch
draws under ``tf.distribute`` in ``replicas``. The latent samplers' and ``WeightedSum``'s
former path here still works, with a deprecation warning.
"""

import keras
import numpy as np
import tensorflow as tf

from keras_mrigan import augment as augment_module
from keras_mrigan import losses as losses_module
from keras_mrigan import replicas
from keras_mrigan.config import default as default_setting
from keras_mrigan.config import validate as validate_setting
from keras_mrigan.data.masks import MaskClasses
from keras_mrigan.deprecation import moved
from keras_mrigan.layers.conditioning import check_num_classes, class_index
from keras_mrigan.layers.pair_output import run_generator
from keras_mrigan.models import ada, ema, fading, penalties
from keras_mrigan.models import latents as latent_codes
from keras_mrigan.models.latents import check_seed_range, random_base_seed, sample_labels
from keras_mrigan.utils import SavesSeedState

__all__ = ["GAN"]

# The latent samplers moved to ``keras_mrigan.models.latents``, the fade-in layer to
# ``keras_mrigan.layers``.
__getattr__ = moved(__name__, {
    **dict.fromkeys(("LATENT_DISTRIBUTIONS", "MAX_SEED", "check_latent_distribution",
                     "sample_latents", "seed_labels", "seed_latents"),
                    "keras_mrigan.models.latents"),
    "WeightedSum": "keras_mrigan.layers"})

# ``compile``'s defaults are the run settings' own.
_DEFAULT_LOSS, _DEFAULT_REAL_LABEL, _DEFAULT_DRIFT = (
    default_setting(name) for name in ("loss", "real_label", "drift"))


@keras.saving.register_keras_serializable(package="keras_mrigan")
class GAN(SavesSeedState, keras.Model):
    """A generator and a discriminator trained against each other with ``model.fit``.

    Each batch of real images gets ``d_steps`` discriminator updates, then ``g_steps``
    generator updates, each with freshly drawn latents (the paper's ratio r is ``g_steps``: 3
    for DCGAN, 2 for SRResNet, 1 for ProGAN). The loss object decides the penalty: weight
    clipping (WGAN), a gradient penalty on real/fake interpolates (WGAN-GP) or around perturbed
    real data (DRAGAN), R1 on real images, or R1 plus R2 on generated ones (the relativistic
    ``"rpgan"``). A relativistic objective's generator step scores the batch's real images
    too, through the same augmentation and, for a conditional GAN, generating its images for
    the real images' labels, since its loss pairs each generated image with a real one; the
    other objectives' generator steps do not.

    With ``ema_half_life_images`` > 0 the GAN also keeps an exponential moving average of the
    generator's weights (Karras et al. 2018; StyleGAN2's ``ema_kimg``), a second,
    non-trainable copy updated after every generator update, and samples with it
    (``sampling_generator``).

    With an augmentation policy, every image the discriminator sees (real, generated, and so
    the points of gradient penalties) passes through differentiable random transforms, each
    applied with probability ``augment_p`` (see ``keras_mrigan.augment``), which adapts to the
    discriminator's confidence on real images (ADA): the mean sign of the real scores, or for
    a relativistic objective, whose scores have no fixed zero, of each real score minus its
    paired generated image's.

    With ``num_classes`` K >= 2 the GAN is conditional: the data are ``(images, labels)``
    batches, the generator takes ``[latents, labels]`` and the discriminator ``[images,
    labels]`` (a projection discriminator, see ``layers.conditioning``). The discriminator
    step generates images for the real batch's own labels, so that real and generated images
    (and the gradient penalties' points between them) pair up class by class; the generator
    step draws its labels from ``class_frequencies`` (the training set's).

    With ``mask_classes`` (K >= 2 classes of a tissue mask) the GAN makes image and mask
    pairs: a pair is one tensor of ``1 + K`` channels, the image in channel 0 and the mask's
    class probabilities in channels 1..K (real masks one-hot). The generator emits such
    tensors (``layers.PairOutput``) and the discriminator scores them, so the training, the
    penalties, the augmentation (geometric transforms move image and mask alike), the moving
    average and the fade-in work on pairs as on images. ``generate`` returns the images, and
    with ``return_masks`` the masks as class indices.

    Progressive networks (a ``WeightedSum`` layer in the generator) are trained the same way;
    while they fade a new resolution in, the real images are faded alike: each batch is mixed
    with its own 2x downsampled-then-upsampled copy by the generator's ``alpha``.

    Args:
        generator: a model from latents ``(batch, latent_dim)`` to images in ``[-1, 1]``
            (``(batch, H, W, 1 + K)`` pairs with ``mask_classes``).
        discriminator: a model from images (pairs) to one raw score per image
            ``(batch, 1)``.
        latent_distribution: ``"uniform"`` (``U(-1, 1)``) or ``"normal"`` (normalized
            ``N(0, 1)``).
        d_steps: discriminator updates per batch.
        g_steps: generator updates per batch.
        seed: seed of the training latents and penalty noise.
        ema_half_life_images: the average's half-life in images: after each generator update
            on a global batch of ``B`` images the averaged weights move towards the
            generator's by ``1 - beta`` with ``beta = 0.5 ** (B / half_life)``. 0 keeps no
            average.
        ema_rampup: for short runs, the half-life is at most ``ema_rampup`` times the images
            seen so far (StyleGAN2's ramp-up; 0 turns it off).
        augment: augmentation policy, e.g. ``"translation,cutout,brightness,contrast"``
            (empty: none).
        augment_p: the probability each transform is applied with, at the start.
        ada_target: the adaptive probability rises while the mean sign of the
            discriminator's scores of (augmented) real images is above this target, in
            (0, 1), and falls while it is below (Karras et al. 2020).
        ada_images: images over which the probability can move from 0 to 1; 0 keeps it
            fixed at ``augment_p``.
        num_classes: 0 (unconditional) or the number of classes K >= 2 of a conditional GAN,
            whose networks must take labels.
        class_names: the K class names (default ``"0"``, ``"1"``, ...).
        class_frequencies: how often each class occurs in the training data (any positive
            scale; default: equally often); generated labels are drawn from them.
        mask_classes: ``None`` (images only) or the classes of the masks of image and mask
            pairs: a ``data.masks.MaskClasses`` or its dict (``{"values": [...], "names":
            [...]}``), whose K >= 2 classes the networks' ``1 + K`` channels must match;
            kept as ``gan.mask_classes`` (a ``MaskClasses``).

    Example:

    ```python
    gan = GAN(generator, discriminator, g_steps=3)
    gan.compile(g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                loss="dragan", real_label=0.9)
    gan.fit(dataset, epochs=60)
    images = gan.generate(16, seed=0)
    ```
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_distribution="uniform",
        d_steps=1,
        g_steps=1,
        seed=None,
        ema_half_life_images=0,
        ema_rampup=0.05,
        augment=None,
        augment_p=0.0,
        ada_target=0.6,
        ada_images=500_000,
        num_classes=0,
        class_names=None,
        class_frequencies=None,
        mask_classes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # The settings a run's config also holds are checked by its schema: one message for
        # a bad value, whether it came from Python, a config file or the command line.
        given = dict(latent_distribution=latent_distribution, d_steps=d_steps, g_steps=g_steps,
                     ema_half_life_images=ema_half_life_images, ema_rampup=ema_rampup,
                     augment_p=augment_p, ada_target=ada_target, ada_images=ada_images)
        self._settings = {name: validate_setting(name, value) for name, value in given.items()}
        self.num_classes = check_num_classes(num_classes)
        for network, name in ((generator, "generator"), (discriminator, "discriminator")):
            try:
                takes_labels = len(network.inputs) == 2
            except (AttributeError, TypeError):  # A subclassed network: it knows its inputs.
                continue
            if takes_labels != bool(num_classes):
                raise ValueError(
                    f"The {name} {'takes' if takes_labels else 'does not take'} labels, but "
                    f"num_classes={num_classes}: build both networks with the GAN's "
                    "num_classes.")
        self.class_names = tuple(str(c) for c in class_names) if class_names is not None \
            else tuple(str(i) for i in range(num_classes))
        if len(self.class_names) != num_classes:
            raise ValueError(f"`class_names` must name the {num_classes} classes. Received: "
                             f"class_names={class_names!r}")
        frequencies = np.ones(num_classes) if class_frequencies is None \
            else np.asarray(class_frequencies, dtype=np.float64)
        if frequencies.shape != (num_classes,) or not (frequencies >= 0).all() \
                or (num_classes and not frequencies.sum() > 0):
            raise ValueError(f"`class_frequencies` must be {num_classes} non-negative numbers, "
                             f"not all 0. Received: class_frequencies={class_frequencies!r}")
        self.class_frequencies = tuple(float(f) for f in frequencies / max(frequencies.sum(), 1))
        self.mask_classes = as_mask_classes(mask_classes)
        self.num_mask_classes = mask_class_count(self.mask_classes)
        _check_pair_channels(generator, discriminator, self.num_mask_classes)
        if isinstance(augment, str):
            validate_setting("augment", augment)
        self.augment_policy = augment_module.parse_policy(augment)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_distribution = self._settings["latent_distribution"]
        self.d_steps = self._settings["d_steps"]
        self.g_steps = self._settings["g_steps"]
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_half_life_images = self._settings["ema_half_life_images"]
        self.ema_rampup = self._settings["ema_rampup"]
        self._augment_p0 = self._settings["augment_p"]
        self.ada_target = self._settings["ada_target"]
        self.ada_images = self._settings["ada_images"]
        # The order in which the variables below are created is that of saved models: keep it.
        if self.augment_policy:
            self.augment_p = ada.probability_variable(augment_p)
        self.ema_generator = None
        if self.ema_half_life_images:
            self.ema_generator = ema.average_copy(generator)
            self.images_seen = ema.images_seen_variable()
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.penalty_tracker = keras.metrics.Mean(name="penalty")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")
        # Both networks arrive built; marking the wrapper built keeps fit() from tracing call()
        # on real images to "build" it.
        self.built = True

    def sampling_generator(self, raw=False):
        """The generator that samples: the moving average when the GAN keeps one (unless
        ``raw``), else the trained generator."""
        return self.generator if raw or self.ema_generator is None else self.ema_generator

    def ema_beta(self, batch):
        """The average's decay for one generator update on a global batch of ``batch``
        images, with the ramp-up applied to the images seen so far."""
        return ema.ema_beta(batch, self.ema_half_life_images, self.ema_rampup,
                            self.images_seen)

    def _update_ema(self, batch):
        """Moves the averaged weights towards the generator's after one update on a global
        batch of ``batch`` images (see ``ema.update_average``)."""
        self.images_seen.assign_add(tf.cast(batch, tf.float64))
        ema.update_average(self.ema_generator, self.generator, self.ema_beta(batch))

    @property
    def latent_dim(self):
        return int(self.generator.inputs[0].shape[-1])

    @property
    def resolution(self):
        return int(self.generator.outputs[0].shape[1])

    def compile(
        self,
        g_optimizer=None,
        d_optimizer=None,
        loss=_DEFAULT_LOSS,
        real_label=_DEFAULT_REAL_LABEL,
        drift=_DEFAULT_DRIFT,
        penalty_weight=None,
        clip_value=None,
        penalty_interval=None,
        **kwargs,
    ):
        """Sets the optimizers and the adversarial objective.

        Args:
            g_optimizer: generator optimizer (default: Adam(2e-4, beta_1=0.5), the paper's).
            d_optimizer: discriminator optimizer (same default).
            loss: ``"gan"``, ``"lsgan"``, ``"wgan"``, ``"wgan-gp"``, ``"dragan"`` (the
                default, the paper's and a run's), ``"gan-r1"``, ``"rpgan"`` or an
                ``AdversarialLoss``.

        Every default is the run settings' own (``keras_mrigan.config``), so a ``GAN``
        compiled without arguments trains as ``keras-mrigan train`` does by default.
            real_label: target for real images; 0.9 is the paper's one-sided label
                smoothing (for the discriminator, and as the generator's target). Only for
                objectives with targets (not the Wasserstein ones).
            drift: ProGAN's drift term weight epsilon: ``epsilon * E[D(x)^2]`` is added to the
                discriminator loss so that its scores stay near 0.
            penalty_weight: lambda of the WGAN-GP and DRAGAN gradient penalties, gamma of R1
                (``"gan-r1"``) and of R1 + R2 (``"rpgan"``); ``losses.r1_gamma`` gives
                StyleGAN2-ADA's heuristic. ``None``: the loss object's own, or 10 for a loss
                name.
            clip_value: WGAN weight clipping bound c. ``None``: the loss object's own, or
                0.01.
            penalty_interval: lazy regularization: the gradient penalty on every k-th
                discriminator step only, weighted by k. ``None``: the loss object's own, or
                1.
            **kwargs: passed to ``keras.Model.compile`` (``jit_compile``, ``run_eagerly``,
                ``steps_per_execution``).
        """
        settings = {"penalty_weight": penalty_weight, "clip_value": clip_value,
                    "penalty_interval": penalty_interval}
        self.loss_fn = losses_module.get(
            loss, **{name: value for name, value in settings.items() if value is not None})
        real_label = validate_setting("real_label", real_label)
        drift = validate_setting("drift", drift)
        if real_label != 1.0 and not self.loss_fn.uses_targets:
            raise ValueError(
                f"Label smoothing (real_label={real_label}) needs an objective with targets "
                f"(gan, lsgan, dragan); {self.loss_fn.name!r} has none. Use real_label=1.0."
            )
        if real_label != 1.0 and not self.loss_fn.smoothing:
            raise ValueError(
                f"Label smoothing (real_label={real_label}, --real-label) does not go with "
                f"{self.loss_fn.name!r}: its penalty drives the discriminator's gradient on "
                "real images to 0, the unsmoothed objective's equilibrium. Use real_label=1.0."
            )
        self.real_label = float(real_label)
        self.drift = float(drift)
        self.g_optimizer = g_optimizer or _default_adam("g_learning_rate")
        self.d_optimizer = d_optimizer or _default_adam("d_learning_rate")
        # Create the optimizers' slots now, under the strategy scope of the caller: created
        # lazily inside the distributed train step they would be per-replica and broken.
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)
        # No third optimizer: the two above do all the updates.
        super().compile(optimizer=None, **kwargs)
        self._gan_compile_config = {
            "loss": self.loss_fn.name,
            "real_label": self.real_label,
            "drift": self.drift,
            "penalty_weight": self.loss_fn.penalty_weight,
            "clip_value": self.loss_fn.clip_value,
            "penalty_interval": self.loss_fn.penalty_interval,
            **kwargs,
        }

    @property
    def metrics(self):
        return [
            self.d_loss_tracker,
            self.g_loss_tracker,
            self.penalty_tracker,
            self.d_real_tracker,
            self.d_fake_tracker,
        ]

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    @property
    def conditional(self):
        return self.num_classes > 0

    def class_index(self, label):
        """A class given by index or by name, as its index."""
        return class_index(label, self.class_names, "This GAN")

    def sample_labels(self, n, seed=None):
        """``n`` class indices drawn from ``class_frequencies`` as one batch (int32 tensor),
        as training draws them (see ``latents.sample_labels``); for the labels of seeds use
        ``labels_for``."""
        return sample_labels(n, self.class_frequencies, seed)

    def _inputs(self, latents, labels):
        return [latents, labels] if self.conditional else latents

    @property
    def fade_layers(self):
        """The ``WeightedSum`` fade-in layers of both networks (empty unless progressive)."""
        return fading.fade_layers(self.generator) + fading.fade_layers(self.discriminator)

    def fade_real(self, real):
        """Fades real images like the generator's output: ``low + alpha (real - low)``,
        with ``low`` the batch average-pooled 2x and upsampled back (nearest neighbour).
        Identity for networks without a fade-in."""
        fades = fading.fade_layers(self.generator)
        return fading.fade_real(real, fades[0].alpha) if fades else real

    # Under tf.distribute every replica runs train_step on its slice of the global batch; the
    # random draws are made for the global batch and sliced (see ``replicas``).

    @staticmethod
    def _local(values):
        """This replica's slice of a global-batch tensor (all of it without replicas)."""
        return replicas.local_slice(values)

    @staticmethod
    def _replicas():
        return replicas.num_replicas()

    def _uniform(self, local_shape):
        """``U(0, 1)`` of ``local_shape``: this replica's slice of a global-batch draw."""
        shape = tf.concat([[local_shape[0] * self._replicas()], local_shape[1:]], axis=0)
        return self._local(keras.random.uniform(shape, seed=self.seed_generator))

    def _latents(self, n):
        latents = latent_codes.sample_latents(n * self._replicas(), self.latent_dim,
                                              self.latent_distribution, self.seed_generator)
        return self._local(latents)

    def _labels(self, n):
        """This replica's slice of a global draw of generated labels (``None``: no classes)."""
        if not self.conditional:
            return None
        return self._local(self.sample_labels(n * self._replicas(), self.seed_generator))

    def _penalty(self, real, fake, labels=None):
        """The loss object's gradient penalty (float32), or 0. With lazy regularization
        (``penalty_interval`` k > 1) it is computed on the discriminator steps whose count is
        a multiple of k, weighted by k, and is 0 on the others. The penalty's points are
        scored with the real images' labels (the generated images of the discriminator step
        have the same ones)."""
        if self.loss_fn.penalty not in losses_module.GRADIENT_PENALTIES:
            return tf.constant(0.0)
        return penalties.lazy(
            lambda: penalties.gradient_penalty(
                self.loss_fn.penalty, lambda images: self._score(images, labels), real, fake,
                self._uniform, self.loss_fn.penalty_weight),
            self.loss_fn.penalty_interval, self.d_optimizer.iterations)

    def _fake(self, latents, labels=None, training=True):
        """Generated images in float32 (also under a mixed-precision policy)."""
        return tf.cast(self.generator(self._inputs(latents, labels), training=training),
                       tf.float32)

    def _score(self, images, labels=None):
        """Discriminator scores in float32."""
        return tf.cast(self.discriminator(self._inputs(images, labels), training=True),
                       tf.float32)

    def _augment(self, images):
        """``images`` through the augmentation policy (unchanged without one)."""
        if not self.augment_policy:
            return images
        return augment_module.augment(images, self.augment_policy, self.augment_p, self._uniform)

    def _adapt(self, real_scores, fake_scores=None):
        """ADA: moves ``augment_p`` by ``batch / ada_images`` up if the mean sign of the real
        scores (over the global batch) exceeds ``ada_target``, else down, within [0, 1].

        A relativistic objective is unchanged by adding a constant to every score, so the
        sign of its raw scores says nothing; it reads the sign of ``D(x) - D(G(z))``, pair by
        pair (given ``fake_scores``), which is what its discriminator is trained to make
        positive."""
        if fake_scores is not None and self.loss_fn.relativistic:
            real_scores = real_scores - fake_scores
        self.augment_p.assign(ada.adapted_probability(self.augment_p, real_scores,
                                                      self.ada_target, self.ada_images))

    def discriminator_objective(self, real, fake, labels=None):
        """The discriminator's loss terms on one batch of real and generated images (both
        augmented first when the GAN has a policy; the penalty points are made from them),
        of the classes ``labels`` when the GAN is conditional.

        Returns:
            ``(total, d_loss, penalty, real_scores, fake_scores)`` where ``total`` is the
            adversarial loss plus the penalty plus the drift term.
        """
        real, fake = self._augment(real), self._augment(fake)
        real_scores = self._score(real, labels)
        fake_scores = self._score(fake, labels)
        d_loss = self.loss_fn.discriminator_loss(real_scores, fake_scores, self.real_label)
        penalty = self._penalty(real, fake, labels)
        total = d_loss + penalty
        if self.drift:
            total += self.drift * tf.reduce_mean(tf.square(real_scores))
        return total, d_loss, penalty, real_scores, fake_scores

    def _scaled(self, optimizer, loss):
        """The loss to differentiate: divided by the number of replicas (their gradients are
        summed), then scaled by a loss-scale optimizer (mixed float16)."""
        return optimizer.scale_loss(loss / self._replicas())

    def _discriminator_step(self, real, labels=None):
        latents = self._latents(tf.shape(real)[0])
        variables = self.discriminator.trainable_variables
        # Generated outside the tape: the discriminator's gradients do not pass through the
        # generator, so recording its forward pass would only cost memory and time.
        fake = self._fake(latents, labels)
        with tf.GradientTape() as tape:
            total, d_loss, penalty, real_scores, fake_scores = self.discriminator_objective(
                real, fake, labels
            )
            scaled = self._scaled(self.d_optimizer, total)
        self.d_optimizer.apply(tape.gradient(scaled, variables), variables)
        if self.loss_fn.penalty == "clip":
            c = self.loss_fn.clip_value
            for variable in variables:
                variable.assign(tf.clip_by_value(variable, -c, c))
        return d_loss, penalty, real_scores, fake_scores

    def _generator_step(self, batch, real=None, real_labels=None):
        """One generator update on ``batch`` generated images; a relativistic objective also
        scores ``real`` (this step's real batch, of ``real_labels``), outside the tape since
        those scores do not depend on the generator."""
        latents = self._latents(batch)
        real_scores = None
        if self.loss_fn.relativistic:
            if real is None:
                raise ValueError(f"{self.loss_fn.name!r} is relativistic: its generator step "
                                 "needs the real batch. Received: real=None")
            # Generated for the real images' classes, so that each pair shares its class.
            labels = real_labels if self.conditional else None
            real_scores = self._score(self._augment(real), labels)
        else:
            labels = self._labels(batch)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_scores = self._score(self._augment(self._fake(latents, labels)), labels)
            g_loss = self.loss_fn.generator_loss(fake_scores, self.real_label,
                                                 real_scores=real_scores)
            scaled = self._scaled(self.g_optimizer, g_loss)
        self.g_optimizer.apply(tape.gradient(scaled, variables), variables)
        return g_loss

    def train_step(self, data):
        real, labels = (data[0], data[1]) if isinstance(data, (tuple, list)) else (data, None)
        if self.conditional and labels is None:
            raise ValueError(f"This GAN is conditional ({self.num_classes} classes): train it "
                             "on (images, labels) batches.")
        if not self.conditional:
            labels = None  # fit's own (x, y) convention: y is ignored.
        real = self.fade_real(real)
        for _ in range(self.d_steps):
            d_loss, penalty, real_scores, fake_scores = self._discriminator_step(real, labels)
        if self.augment_policy and self.ada_images:
            self._adapt(real_scores, fake_scores)
        for _ in range(self.g_steps):
            g_loss = self._generator_step(tf.shape(real)[0], real, labels)
            if self.ema_generator is not None:
                self._update_ema(tf.shape(real)[0] * self._replicas())
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.penalty_tracker.update_state(penalty)
        self.d_real_tracker.update_state(tf.reduce_mean(real_scores))
        self.d_fake_tracker.update_state(tf.reduce_mean(fake_scores))
        results = {m.name: m.result() for m in self.metrics}
        if self.augment_policy:
            results["augment_p"] = tf.identity(self.augment_p.value)
        if replicas.spans_several_workers(tf.distribute.get_strategy()):
            # Keras averages a multi-worker step's outputs along their axis 0, which a scalar
            # lacks: give each value one.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    @property
    def makes_pairs(self):
        """Whether the GAN makes image and mask pairs."""
        return self.num_mask_classes > 0

    def generate(self, n, seed=None, batch_size=64, raw=False, label=None,
                 return_labels=False, return_masks=False):
        """Generates ``n`` images with the sampling generator (the moving average, if kept)
        in inference mode, clipped to ``[-1, 1]`` (a no-op for tanh outputs; progressive
        generators have a linear output). A GAN of image and mask pairs also gives each
        image's mask, the most probable class of each pixel.

        Image ``i`` is the image of seed ``seed + i``: its latent is
        ``seed_latents([seed + i])`` and, for a conditional GAN without ``label``, its class
        ``seed_labels([seed + i], class_frequencies)``, the mapping of ``keras-mrigan
        generate`` and of an export's ``generate_from_seed``. So image ``i`` of seed ``s`` is
        image 0 of seed ``s + i``.

        Args:
            n: number of images.
            seed: the first image's seed, an integer from 0 to 2^63 - n (same seed, same
                images, in any process); ``None`` picks one at random (without moving the
                training's random state).
            batch_size: seeds per step (memory); the generator always runs on blocks of
                ``SAMPLING_BLOCK`` rows (``run_generator``), so any value gives the same
                images.
            raw: sample with the trained generator, not its moving average.
            label: a conditional GAN's class for every image (an index or a name), or one
                per image (a sequence of ``n``); ``None`` draws each image's class from
                ``class_frequencies`` with its seed.
            return_labels: also return the class indices (conditional GANs).
            return_masks: also return the masks (GANs of image and mask pairs).

        Returns:
            float32 numpy array ``(n, H, W, 1)``; with ``return_labels``, and the int32 class
            indices ``(n,)`` (``None`` for an unconditional GAN); with ``return_masks``, and
            last the masks' int32 class indices ``(n, H, W)`` (``None`` without masks).
        """
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n` must be a positive integer. Received: n={n!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError("`batch_size` must be a positive integer. Received: "
                             f"batch_size={batch_size!r}")
        seed = random_base_seed(n) if seed is None else check_seed_range(seed, n)
        labels = self.labels_for(n, label, seed)
        generator = self.sampling_generator(raw)
        batches = []
        for start in range(0, n, batch_size):
            seeds = np.arange(seed + start, seed + min(start + batch_size, n), dtype=np.int64)
            latents = latent_codes.seed_latents(seeds, self.latent_dim,
                                                self.latent_distribution)
            chunk = None if labels is None else labels[start : start + batch_size]
            # The image clipped, the mask's class per pixel: what an export computes.
            batches.append(run_generator(generator, latents, chunk))
        images = np.concatenate([keras.ops.convert_to_numpy(b[0]) for b in batches])
        results = [images]
        if return_labels:
            results.append(None if labels is None else keras.ops.convert_to_numpy(labels))
        if return_masks:
            results.append(np.concatenate([keras.ops.convert_to_numpy(b[1]) for b in batches])
                           if self.makes_pairs else None)
        return tuple(results) if len(results) > 1 else images

    def labels_for(self, n, label=None, seed=None):
        """The class indices of ``n`` generated images (int32 tensor), or ``None`` for an
        unconditional GAN: ``label`` (one class, or ``n`` of them), or draws from
        ``class_frequencies``: with an integer ``seed``, those of seeds ``seed ... seed + n
        - 1`` (``seed_labels``, as ``generate`` uses them); with a
        ``keras.random.SeedGenerator`` or ``None``, one batch (``sample_labels``)."""
        if not self.conditional:
            if label is not None:
                raise ValueError("This GAN is unconditional: it takes no `label`. Received: "
                                 f"label={label!r}")
            return None
        if label is None:
            if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
                seed = check_seed_range(seed, n)
                return latent_codes.seed_labels(np.arange(seed, seed + n, dtype=np.int64),
                                                self.class_frequencies)
            return self.sample_labels(n, seed)
        if isinstance(label, (str, int, np.integer)):
            return tf.fill([n], self.class_index(label))
        labels = [self.class_index(c) for c in (label.tolist() if hasattr(label, "tolist")
                                                 else label)]
        if len(labels) != n:
            raise ValueError(f"`label` must be one class or {n} of them. Received "
                             f"{len(labels)}.")
        return tf.constant(labels, tf.int32)

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.layers.serialize(self.generator),
            discriminator=keras.layers.serialize(self.discriminator),
            **self._settings,
            seed=self.seed,
            augment=",".join(self.augment_policy),
            num_classes=self.num_classes,
            class_names=list(self.class_names),
            class_frequencies=list(self.class_frequencies),
            mask_classes=None if self.mask_classes is None else self.mask_classes.to_json(),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = keras.layers.deserialize(config["generator"])
        config["discriminator"] = keras.layers.deserialize(config["discriminator"])
        return cls(**config)

    def get_compile_config(self):
        if not getattr(self, "compiled", False):
            return None
        return {
            **self._gan_compile_config,
            "g_optimizer": keras.optimizers.serialize(self.g_optimizer),
            "d_optimizer": keras.optimizers.serialize(self.d_optimizer),
        }

    def compile_from_config(self, config):
        config = dict(config)
        config["g_optimizer"] = keras.optimizers.deserialize(config["g_optimizer"])
        config["d_optimizer"] = keras.optimizers.deserialize(config["d_optimizer"])
        self.compile(**config)  # Builds the optimizer slots, so saved values load into them.


def _default_adam(rate):
    """Adam with the run settings' default learning rate ``rate`` and betas."""
    return keras.optimizers.Adam(default_setting(rate), beta_1=default_setting("beta_1"),
                                 beta_2=default_setting("beta_2"))


def as_mask_classes(mask_classes):
    """The classes of a GAN's masks: ``None``, or a ``MaskClasses`` from one or its dict
    (``MaskClasses.to_json()``)."""
    if mask_classes is None:
        return None
    if not isinstance(mask_classes, (MaskClasses, dict)):
        raise ValueError("`mask_classes` must be None, a MaskClasses or its dict. "
                         f"Received: mask_classes={mask_classes!r}")
    return MaskClasses.from_json(mask_classes)


def mask_class_count(mask_classes):
    """K, the number of mask classes (0 without masks)."""
    return 0 if mask_classes is None else as_mask_classes(mask_classes).num_classes


def _check_pair_channels(generator, discriminator, mask_classes):
    """Both networks must work on ``1 + mask_classes`` channels."""
    expected = 1 + mask_classes
    for network, name, tensor in ((generator, "generator", "outputs"),
                                  (discriminator, "discriminator", "inputs")):
        try:
            channels = getattr(network, tensor)[0].shape[-1]
        except (AttributeError, TypeError, IndexError):  # Subclassed: unknown until called.
            continue
        if channels != expected:
            raise ValueError(
                f"The {name} {'makes' if tensor == 'outputs' else 'takes'} {channels} "
                f"channels, but the GAN's pairs have {expected} (1 + {mask_classes} mask "
                "classes): build both networks with the GAN's mask_classes.")
