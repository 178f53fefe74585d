"""The GAN model: one ``train_step`` shared by every architecture and loss."""

import keras
import numpy as np
import tensorflow as tf

from keras_mrigan import augment as augment_module
from keras_mrigan import losses as losses_module
from keras_mrigan.data import labels as labels_module
from keras_mrigan.layers import WeightedSum
from keras_mrigan.layers.conditioning import check_num_classes

LATENT_DISTRIBUTIONS = ("uniform", "normal")


def check_latent_distribution(distribution):
    """Rejects a latent distribution other than ``"uniform"`` and ``"normal"``."""
    if distribution not in LATENT_DISTRIBUTIONS:
        raise ValueError(
            f"`latent_distribution` must be one of {LATENT_DISTRIBUTIONS}. "
            f"Received: latent_distribution={distribution!r}"
        )


def sample_latents(n, latent_dim, distribution="uniform", seed=None):
    """Draws ``n`` latent vectors.

    Args:
        n: how many.
        latent_dim: length of each vector.
        distribution: ``"uniform"``: ``U(-1, 1)`` per component (paper, DCGAN);
            ``"normal"``: ``N(0, 1)`` normalized to unit length (paper, SRResNet and ProGAN).
        seed: a ``keras.random.SeedGenerator`` (training), an integer (reproducible: the same
            integer gives the same latents in every process), or ``None``.

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
    """One latent per integer seed, each from a stateless generator seeded ``[seed, 0]``.

    The same seed gives the same latent in every process, whatever the other seeds of the
    batch; exported SavedModels map seeds to latents with this same function, in their graph.

    Args:
        seeds: int64 tensor or array ``(n,)``.

    Returns:
        float32 tensor ``(n, latent_dim)``.
    """
    check_latent_distribution(distribution)
    seeds = tf.cast(tf.convert_to_tensor(seeds), tf.int64)

    def one(seed):
        pair = tf.stack([seed, tf.zeros_like(seed)])
        if distribution == "uniform":
            return tf.random.stateless_uniform([latent_dim], pair, minval=-1.0, maxval=1.0)
        z = tf.random.stateless_normal([latent_dim], pair)
        return z / tf.sqrt(tf.reduce_sum(tf.square(z)) + 1e-12)

    return tf.map_fn(one, seeds, fn_output_signature=tf.float32)


def _multi_worker(strategy):
    """Whether ``strategy`` is a MultiWorkerMirroredStrategy spanning several workers."""
    extended = getattr(strategy, "extended", None)
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and getattr(extended, "_in_multi_worker_mode", lambda: False)())


def _fade_layers(network):
    return [layer for layer in network.layers if isinstance(layer, WeightedSum)]


@keras.saving.register_keras_serializable(package="keras_mrigan")
class GAN(keras.Model):
    """A generator and a discriminator trained against each other with ``model.fit``.

    Each batch of real images gets ``d_steps`` discriminator updates, then ``g_steps``
    generator updates, each with freshly drawn latents (the paper's ratio r is ``g_steps``: 3
    for DCGAN, 2 for SRResNet, 1 for ProGAN). The loss object decides the penalty: weight
    clipping (WGAN), a gradient penalty on real/fake interpolates (WGAN-GP) or around perturbed
    real data (DRAGAN).

    With ``ema_half_life_images`` > 0 the GAN also keeps an exponential moving average of the
    generator's weights (Karras et al. 2018; StyleGAN2's ``ema_kimg``), a second,
    non-trainable copy updated after every generator update, and samples with it
    (``sampling_generator``).

    With an augmentation policy, every image the discriminator sees (real, generated, and so
    the points of gradient penalties) passes through differentiable random transforms, each
    applied with probability ``augment_p`` (see ``keras_mrigan.augment``), which adapts to the
    discriminator's confidence on real images (ADA).

    With ``num_classes`` K >= 2 the GAN is conditional: the data are ``(images, labels)``
    batches, the generator takes ``[latents, labels]`` and the discriminator ``[images,
    labels]`` (a projection discriminator, see ``layers.conditioning``). The discriminator
    step generates images for the real batch's own labels, so that real and generated images
    (and the gradient penalties' points between them) pair up class by class; the generator
    step draws its labels from ``class_frequencies`` (the training set's).

    Progressive networks (a ``WeightedSum`` layer in the generator) are trained the same way;
    while they fade a new resolution in, the real images are faded alike: each batch is mixed
    with its own 2x downsampled-then-upsampled copy by the generator's ``alpha``.

    Args:
        generator: a model from latents ``(batch, latent_dim)`` to images in ``[-1, 1]``.
        discriminator: a model from images to one raw score per image ``(batch, 1)``.
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
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_latent_distribution(latent_distribution)
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
        if not ema_half_life_images >= 0:
            raise ValueError("`ema_half_life_images` must be >= 0 (0: no average). "
                             f"Received: ema_half_life_images={ema_half_life_images!r}")
        if not ema_rampup >= 0:
            raise ValueError(f"`ema_rampup` must be >= 0 (0: none). Received: "
                             f"ema_rampup={ema_rampup!r}")
        self.augment_policy = augment_module.parse_policy(augment)
        if not 0 <= augment_p <= 1:
            raise ValueError(f"`augment_p` (--augment-p) must be in [0, 1]. Received: "
                             f"augment_p={augment_p!r}")
        if not 0 < ada_target < 1:
            raise ValueError(f"`ada_target` (--ada-target) must be in (0, 1). Received: "
                             f"ada_target={ada_target!r}")
        if not ada_images >= 0:
            raise ValueError(f"`ada_images` (--ada-images) must be >= 0 (0: a fixed "
                             f"probability). Received: ada_images={ada_images!r}")
        for name, value in (("d_steps", d_steps), ("g_steps", g_steps)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_distribution = latent_distribution
        self.d_steps = int(d_steps)
        self.g_steps = int(g_steps)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.ema_half_life_images = float(ema_half_life_images)
        self.ema_rampup = float(ema_rampup)
        self._augment_p0 = float(augment_p)
        self.ada_target = float(ada_target)
        self.ada_images = float(ada_images)
        if self.augment_policy:
            self.augment_p = keras.Variable(float(augment_p), dtype="float32", trainable=False,
                                            name="augment_p",
                                            aggregation="only_first_replica")
        self.ema_generator = None
        if self.ema_half_life_images:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_generator.trainable = False
            # Images the generator has been trained on, for the ramp-up (float64: exact up to
            # 2^53 images).
            self.images_seen = keras.Variable(0.0, dtype="float64", trainable=False,
                                              name="images_seen",
                                              aggregation="only_first_replica")
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
        half_life = tf.constant(self.ema_half_life_images, tf.float64)
        if self.ema_rampup:
            half_life = tf.minimum(half_life, self.images_seen * self.ema_rampup)
        return tf.pow(tf.constant(0.5, tf.float64),
                      tf.cast(batch, tf.float64) / tf.maximum(half_life, 1e-8))

    def _update_ema(self, batch):
        """Moves the averaged weights towards the generator's after one update on a global
        batch of ``batch`` images. Non-trainable weights (batch normalization's moving
        statistics) are copied: they describe the activations, which the averaged weights
        produce nearly alike, and an average of past statistics would lag behind them."""
        self.images_seen.assign_add(tf.cast(batch, tf.float64))
        beta = self.ema_beta(batch)
        for average, weight in zip(self.ema_generator.weights, self.generator.weights,
                                   strict=True):
            if weight.trainable:
                b = tf.cast(beta, average.dtype)
                average.assign(weight + (average - weight) * b)
            else:
                average.assign(weight)

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
        loss="gan",
        real_label=1.0,
        drift=0.0,
        penalty_weight=10.0,
        clip_value=0.01,
        penalty_interval=1,
        **kwargs,
    ):
        """Sets the optimizers and the adversarial objective.

        Args:
            g_optimizer: generator optimizer (default: Adam(2e-4, beta_1=0.5), the paper's).
            d_optimizer: discriminator optimizer (same default).
            loss: ``"gan"``, ``"lsgan"``, ``"wgan"``, ``"wgan-gp"``, ``"dragan"`` or an
                ``AdversarialLoss``.
            real_label: target for real images; 0.9 is the paper's one-sided label
                smoothing (for the discriminator, and as the generator's target). Only for
                objectives with targets (not the Wasserstein ones).
            drift: ProGAN's drift term weight epsilon: ``epsilon * E[D(x)^2]`` is added to the
                discriminator loss so that its scores stay near 0.
            penalty_weight: lambda of the WGAN-GP and DRAGAN gradient penalties, gamma of R1
                (``"gan-r1"``).
            clip_value: WGAN weight clipping bound c.
            penalty_interval: lazy regularization: the gradient penalty on every k-th
                discriminator step only, weighted by k.
            **kwargs: passed to ``keras.Model.compile`` (``jit_compile``, ``run_eagerly``,
                ``steps_per_execution``).
        """
        self.loss_fn = losses_module.get(
            loss, penalty_weight=penalty_weight, clip_value=clip_value,
            penalty_interval=penalty_interval,
        )
        if not 0.0 < real_label <= 1.0:
            raise ValueError(f"`real_label` must be in (0, 1]. Received: real_label={real_label}")
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
        if drift < 0:
            raise ValueError(f"`drift` must be >= 0. Received: drift={drift}")
        self.real_label = float(real_label)
        self.drift = float(drift)
        self.g_optimizer = g_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
        self.d_optimizer = d_optimizer or keras.optimizers.Adam(2e-4, beta_1=0.5)
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
        return labels_module.class_index(label, self.class_names, "This GAN")

    def sample_labels(self, n, seed=None):
        """``n`` class indices drawn from ``class_frequencies`` (int32 tensor); an integer
        seed makes them reproducible, as ``sample_latents`` does."""
        logits = tf.math.log(tf.constant([self.class_frequencies], tf.float32))
        if isinstance(seed, (int, np.integer)):
            draws = tf.random.stateless_categorical(logits, n, [int(seed), 1], dtype=tf.int32)
        else:
            draws = keras.random.categorical(logits, n, seed=seed, dtype="int32")
        return tf.reshape(draws, [n])

    def _inputs(self, latents, labels):
        return [latents, labels] if self.conditional else latents

    @property
    def fade_layers(self):
        """The ``WeightedSum`` fade-in layers of both networks (empty unless progressive)."""
        return _fade_layers(self.generator) + _fade_layers(self.discriminator)

    def fade_real(self, real):
        """Fades real images like the generator's output: ``low + alpha (real - low)``,
        with ``low`` the batch average-pooled 2x and upsampled back (nearest neighbour).
        Identity for networks without a fade-in."""
        fades = _fade_layers(self.generator)
        if not fades:
            return real
        low = tf.nn.avg_pool2d(real, 2, 2, "VALID")
        low = tf.repeat(tf.repeat(low, 2, axis=1), 2, axis=2)
        return low + tf.cast(fades[0].alpha, real.dtype) * (real - low)

    # Under tf.distribute every replica runs train_step on its slice of the global batch.
    # Random draws are made for the whole global batch, identically on every replica (they
    # share the seed state), and each replica keeps its slice; statistics of the batch are
    # all-reduced; losses are divided by the number of replicas, whose gradients the
    # optimizers sum. One replica or many, a global batch gives the same update.

    def _local(self, values):
        """This replica's slice of a global-batch tensor (all of it without replicas)."""
        replicas = self._replicas()
        if replicas == 1:
            return values
        size = tf.shape(values)[0] // replicas
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        start = tf.cast(replica, tf.int32) * size
        return values[start : start + size]

    @staticmethod
    def _replicas():
        context = tf.distribute.get_replica_context()
        return context.num_replicas_in_sync if context else 1

    def _uniform(self, local_shape):
        """``U(0, 1)`` of ``local_shape``: this replica's slice of a global-batch draw."""
        shape = tf.concat([[local_shape[0] * self._replicas()], local_shape[1:]], axis=0)
        return self._local(keras.random.uniform(shape, seed=self.seed_generator))

    def _latents(self, n):
        latents = sample_latents(n * self._replicas(), self.latent_dim, self.latent_distribution,
                                 self.seed_generator)
        return self._local(latents)

    def _labels(self, n):
        """This replica's slice of a global draw of generated labels (``None``: no classes)."""
        if not self.conditional:
            return None
        return self._local(self.sample_labels(n * self._replicas(), self.seed_generator))

    def _global_std(self, x):
        """The standard deviation of every value of the global batch."""
        x = tf.cast(x, tf.float32)
        moments = tf.stack([tf.cast(tf.size(x), tf.float32), tf.reduce_sum(x),
                            tf.reduce_sum(tf.square(x))])
        if self._replicas() > 1:
            context = tf.distribute.get_replica_context()
            moments = context.all_reduce(tf.distribute.ReduceOp.SUM, moments)
        count, total, squares = moments[0], moments[1], moments[2]
        mean = total / count
        return tf.sqrt(tf.maximum(squares / count - tf.square(mean), 0.0))

    def _penalty(self, real, fake, labels=None):
        """The loss object's gradient penalty (float32), or 0. With lazy regularization
        (``penalty_interval`` k > 1) it is computed on the discriminator steps whose count is
        a multiple of k, weighted by k, and is 0 on the others."""
        if self.loss_fn.penalty not in losses_module.GRADIENT_PENALTIES:
            return tf.constant(0.0)
        k = self.loss_fn.penalty_interval
        if k == 1:
            return self._gradient_penalty(real, fake, labels)
        due = tf.equal(self.d_optimizer.iterations % k, 0)
        return tf.cond(due, lambda: float(k) * self._gradient_penalty(real, fake, labels),
                       lambda: tf.constant(0.0))

    def _gradient_penalty(self, real, fake, labels=None):
        """The penalty's points are scored with the real images' labels (the generated images
        of the discriminator step have the same ones)."""
        kind = self.loss_fn.penalty
        if kind == "r1":
            # Mescheder et al. 2018: (gamma / 2) E[||grad D(x)||^2] on the real images.
            with tf.GradientTape() as tape:
                tape.watch(real)
                scores = self._score(real, labels)
            gradients = tape.gradient(scores, real)
            return 0.5 * self.loss_fn.penalty_weight * losses_module.r1_penalty(gradients)
        alpha = self._uniform(tf.stack([tf.shape(real)[0], 1, 1, 1]))
        if kind == "gradient":
            # Equation 4: x_m = alpha x + (1 - alpha) G(z).
            points = alpha * real + (1.0 - alpha) * fake
        else:
            # Equation 5, as in DRAGAN's reference code: the perturbed point
            # x_p = x + 0.5 std(x) u with u ~ U(0, 1) per pixel, and x' = alpha x + (1 - alpha) x_p.
            noise = self._uniform(tf.shape(real))
            perturbed = real + 0.5 * self._global_std(real) * noise
            points = alpha * real + (1.0 - alpha) * perturbed
        with tf.GradientTape() as tape:
            tape.watch(points)
            scores = self._score(points, labels)
        gradients = tape.gradient(scores, points)
        return self.loss_fn.penalty_weight * losses_module.gradient_penalty(gradients)

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

    def _adapt(self, real_scores):
        """ADA: moves ``augment_p`` by ``batch / ada_images`` up if the mean sign of the real
        scores (over the global batch) exceeds ``ada_target``, else down, within [0, 1]."""
        signs = tf.sign(tf.cast(real_scores, tf.float32))
        moments = tf.stack([tf.reduce_sum(signs), tf.cast(tf.size(signs), tf.float32)])
        if self._replicas() > 1:
            moments = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, moments)
        overfitting = moments[0] / moments[1]
        step = tf.sign(overfitting - self.ada_target) * moments[1] / self.ada_images
        self.augment_p.assign(tf.clip_by_value(self.augment_p + step, 0.0, 1.0))

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
        with tf.GradientTape() as tape:
            fake = self._fake(latents, labels)
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

    def _generator_step(self, batch):
        latents = self._latents(batch)
        labels = self._labels(batch)
        variables = self.generator.trainable_variables
        with tf.GradientTape() as tape:
            fake_scores = self._score(self._augment(self._fake(latents, labels)), labels)
            g_loss = self.loss_fn.generator_loss(fake_scores, self.real_label)
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
            self._adapt(real_scores)
        for _ in range(self.g_steps):
            g_loss = self._generator_step(tf.shape(real)[0])
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
        if _multi_worker(tf.distribute.get_strategy()):
            # Keras averages a multi-worker step's outputs along their axis 0, which a scalar
            # lacks: give each value one.
            results = {name: tf.reshape(value, [1]) for name, value in results.items()}
        return results

    def generate(self, n, seed=None, batch_size=64, raw=False, label=None,
                 return_labels=False):
        """Generates ``n`` images with the sampling generator (the moving average, if kept)
        in inference mode, clipped to ``[-1, 1]`` (a no-op for tanh outputs; progressive
        generators have a linear output).

        Args:
            n: number of images.
            seed: an integer makes the result reproducible (same seed, same images, in any
                process); ``None`` draws fresh latents.
            batch_size: images per generator call.
            raw: sample with the trained generator, not its moving average.
            label: a conditional GAN's class for every image (an index or a name), or one
                per image (a sequence of ``n``); ``None`` draws them from
                ``class_frequencies`` (with ``seed``).
            return_labels: also return the class indices (conditional GANs).

        Returns:
            float32 numpy array ``(n, H, W, 1)``; with ``return_labels``, and the int32 class
            indices ``(n,)``.
        """
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"`n` must be a positive integer. Received: n={n!r}")
        draws = seed if seed is not None else self.seed_generator
        latents = sample_latents(n, self.latent_dim, self.latent_distribution, draws)
        labels = self.labels_for(n, label, draws)
        generator = self.sampling_generator(raw)
        batches = [
            keras.ops.convert_to_numpy(tf.cast(generator(
                self._inputs(latents[i : i + batch_size],
                             None if labels is None else labels[i : i + batch_size]),
                training=False), tf.float32))
            for i in range(0, n, batch_size)
        ]
        images = np.clip(np.concatenate(batches), -1.0, 1.0)
        if return_labels:
            return images, None if labels is None else keras.ops.convert_to_numpy(labels)
        return images

    def labels_for(self, n, label=None, seed=None):
        """The class indices of ``n`` generated images (int32 tensor), or ``None`` for an
        unconditional GAN: ``label`` (one class, or ``n`` of them) or draws from
        ``class_frequencies``."""
        if not self.conditional:
            if label is not None:
                raise ValueError("This GAN is unconditional: it takes no `label`.")
            return None
        if label is None:
            return self.sample_labels(n, seed)
        if isinstance(label, (str, int, np.integer)):
            return tf.fill([n], self.class_index(label))
        labels = [self.class_index(c) for c in (label.tolist() if hasattr(label, "tolist")
                                                 else label)]
        if len(labels) != n:
            raise ValueError(f"`label` must be one class or {n} of them. Received "
                             f"{len(labels)}.")
        return tf.constant(labels, tf.int32)

    # The latent random state is saved with the model, so a resumed run draws the latents
    # and penalty noise an uninterrupted one would have drawn.
    SEED_STATE = "seed_generator_state"

    def save_own_variables(self, store):
        super().save_own_variables(store)
        store[self.SEED_STATE] = keras.ops.convert_to_numpy(self.seed_generator.state)

    def load_own_variables(self, store):
        keys = list(store.keys())
        if self.SEED_STATE in keys:
            self.seed_generator.state.assign(store[self.SEED_STATE])
        super().load_own_variables({k: store[k] for k in keys if k != self.SEED_STATE})

    def get_config(self):
        config = super().get_config()
        config.update(
            generator=keras.layers.serialize(self.generator),
            discriminator=keras.layers.serialize(self.discriminator),
            latent_distribution=self.latent_distribution,
            d_steps=self.d_steps,
            g_steps=self.g_steps,
            seed=self.seed,
            ema_half_life_images=self.ema_half_life_images,
            ema_rampup=self.ema_rampup,
            augment=",".join(self.augment_policy),
            augment_p=self._augment_p0,
            ada_target=self.ada_target,
            ada_images=self.ada_images,
            num_classes=self.num_classes,
            class_names=list(self.class_names),
            class_frequencies=list(self.class_frequencies),
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
