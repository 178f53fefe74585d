"""The five adversarial objectives of the paper (§2.2, equations 1-5), the non-saturating GAN
loss with R1 regularization (Mescheder et al. 2018), and the relativistic pairing loss with R1
and R2 of R3GAN (Huang et al. 2024).

Discriminators in this package output raw scores (logits). For the objectives that read the
discriminator as a probability (GAN, DRAGAN) the sigmoid is applied inside the loss, which is
the paper's sigmoid output layer computed stably; LSGAN and the Wasserstein objectives use the
raw score, as their papers do.

Each objective is a small object with ``discriminator_loss`` and ``generator_loss`` and says
which penalty it needs; ``GAN.train_step`` applies that penalty. A relativistic objective
(``relativistic = True``) compares each real image's score with a generated image's, so its
generator loss takes the real scores too. Look one up with ``get``.
"""

import numbers

from keras import ops

from keras_mrigan.config import validate as validate_setting


def gan_discriminator_loss(real_logits, fake_logits, real_label=1.0):
    """Original GAN discriminator loss (Goodfellow et al. 2014), paper equation 1.

    ``L_D = -E[t log D(x) + (1 - t) log(1 - D(x))] - E[log(1 - D(G(z)))]`` with
    ``D = sigmoid(logits)`` and real target ``t`` (1, or 0.9 with one-sided label smoothing).

    Args:
        real_logits: discriminator scores of real images, any shape.
        fake_logits: discriminator scores of generated images.
        real_label: target for real images, in ``(0, 1]``.
    """
    real = ops.binary_crossentropy(
        ops.full_like(real_logits, real_label), real_logits, from_logits=True
    )
    fake = ops.binary_crossentropy(ops.zeros_like(fake_logits), fake_logits, from_logits=True)
    return ops.mean(real) + ops.mean(fake)


def gan_generator_loss(fake_logits, real_label=1.0):
    """Non-saturating GAN generator loss, paper equation 1: ``L_G = -E[log D(G(z))]``.

    With label smoothing the generator aims at the smoothed target ``t``, the cross-entropy
    ``-E[t log D(G(z)) + (1 - t) log(1 - D(G(z)))]``.
    """
    target = ops.full_like(fake_logits, real_label)
    return ops.mean(ops.binary_crossentropy(target, fake_logits, from_logits=True))


def lsgan_discriminator_loss(real_scores, fake_scores, real_label=1.0):
    """Least-squares discriminator loss (Mao et al. 2017), paper equation 2.

    ``L_D = E[(D(x) - t)^2] + E[D(G(z))^2]`` on raw scores.
    """
    return ops.mean(ops.square(real_scores - real_label)) + ops.mean(ops.square(fake_scores))


def lsgan_generator_loss(fake_scores, real_label=1.0):
    """Least-squares generator loss, paper equation 2: ``L_G = E[(D(G(z)) - t)^2]``."""
    return ops.mean(ops.square(fake_scores - real_label))


def wasserstein_discriminator_loss(real_scores, fake_scores, real_label=1.0):
    """Wasserstein critic loss (Arjovsky et al. 2017), paper equation 3.

    ``L_D = -E[D(x)] + E[D(G(z))]`` on raw scores; ``real_label`` must be 1 (no targets).
    """
    del real_label
    return ops.mean(fake_scores) - ops.mean(real_scores)


def wasserstein_generator_loss(fake_scores, real_label=1.0):
    """Wasserstein generator loss, paper equation 3: ``L_G = -E[D(G(z))]``."""
    del real_label
    return -ops.mean(fake_scores)


def gradient_penalty(gradients, target_norm=1.0):
    """``E[(||g|| - 1)^2]`` with the norm over each sample's pixels and channels.

    The square root is guarded by a tiny epsilon so that a zero gradient gives a finite value
    and a finite derivative (``sqrt`` has an infinite slope at 0).

    Args:
        gradients: ``(batch, ...)`` gradients of the discriminator with respect to its input.
    """
    axes = list(range(1, len(gradients.shape)))
    norms = ops.sqrt(ops.sum(ops.square(gradients), axis=axes) + 1e-12)
    return ops.mean(ops.square(norms - target_norm))


def r1_penalty(gradients):
    """``E[||g||^2]``: the squared norm over each real image's pixels and channels of the
    discriminator's gradient, averaged over the batch (R1, Mescheder et al. 2018, "Which
    Training Methods for GANs do actually Converge?"; weighted by ``gamma / 2`` in the loss).

    Args:
        gradients: ``(batch, ...)`` gradients of the discriminator's scores of real images
            with respect to those images.
    """
    axes = list(range(1, len(gradients.shape)))
    return ops.mean(ops.sum(ops.square(gradients), axis=axes))


def r2_penalty(gradients):
    """``E[||g||^2]`` on generated images: R1's formula at the generator's samples (R2,
    Mescheder et al. 2018; with R1, the regularization of R3GAN, Huang et al. 2024).

    Args:
        gradients: ``(batch, ...)`` gradients of the discriminator's scores of generated
            images with respect to those images.
    """
    return r1_penalty(gradients)


def relativistic_discriminator_loss(real_scores, fake_scores):
    """Relativistic pairing discriminator loss (RpGAN, Jolicoeur-Martineau 2019, "The
    relativistic discriminator: a key element missing from standard GAN"; the objective of
    R3GAN, Huang, Gokaslan, Kuleshov, Tompkin 2024, "The GAN is dead; long live the GAN! A
    Modern GAN Baseline").

    ``L_D = E[softplus(-(D(x_i) - D(G(z_i))))] = -E[log sigmoid(D(x_i) - D(G(z_i)))]``, each
    real image paired with the generated image of the same batch position. Raw scores, any
    range; only their differences count, so adding a constant to every score changes nothing.

    Args:
        real_scores: ``(batch, 1)`` discriminator scores of real images.
        fake_scores: ``(batch, 1)`` scores of generated images, paired by position.
    """
    return ops.mean(ops.softplus(fake_scores - real_scores))


def relativistic_generator_loss(fake_scores, real_scores):
    """Relativistic pairing generator loss: ``L_G = E[softplus(-(D(G(z_i)) - D(x_i)))]``, the
    discriminator's objective with the roles of real and generated images swapped (see
    ``relativistic_discriminator_loss``).

    Args:
        fake_scores: ``(batch, 1)`` discriminator scores of generated images.
        real_scores: ``(batch, 1)`` scores of real images, paired by position.
    """
    return ops.mean(ops.softplus(real_scores - fake_scores))


def r1_gamma(resolution, batch_size):
    """The R1 weight ``gamma`` of StyleGAN2-ADA's heuristic, ``0.0002 r^2 / N`` for images of
    side ``r`` and batches of ``N`` images (about 0.026 at 64 px and batch 32).

    Reference: Karras et al. 2020, "Training Generative Adversarial Networks with Limited
    Data", appendix D (its ``train.py``, configuration ``auto``).

    Args:
        resolution: the image side in pixels.
        batch_size: images per batch.

    Returns:
        float.
    """
    for name, value in (("resolution", resolution), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    return 0.0002 * resolution**2 / batch_size


class AdversarialLoss:
    """Base class: a pair of loss functions and the penalty they need.

    Args:
        penalty_weight: ``lambda`` of gradient penalties (WGAN-GP, DRAGAN), ``gamma`` of R1
            (and of R1 + R2).
        clip_value: weight clipping bound ``c`` (WGAN).
        penalty_interval: lazy regularization (Karras et al. 2020, StyleGAN2): a gradient
            penalty is computed on every ``k``-th discriminator step only, weighted by ``k``.
    """

    name = None
    penalty = None
    uses_targets = True
    # Whether the generator's objective also compares with the real images' scores (then
    # ``GAN.train_step`` scores the real batch in the generator step too).
    relativistic = False
    # Whether real_label < 1 (one-sided label smoothing) makes sense for the objective.
    smoothing = True
    _discriminator = None
    _generator = None

    def __init__(self, penalty_weight=10.0, clip_value=0.01, penalty_interval=1):
        # Checked by the run settings' schema: the same message as from a config or a flag.
        penalty_weight = validate_setting("penalty_weight", penalty_weight)
        clip_value = validate_setting("clip_value", clip_value)
        penalty_interval = validate_setting("penalty_interval", penalty_interval)
        if penalty_interval > 1 and self.penalty not in GRADIENT_PENALTIES:
            raise ValueError(f"`penalty_interval` spaces out gradient penalties; {self.name!r} "
                             f"has none. Received: penalty_interval={penalty_interval}")
        self.penalty_weight = float(penalty_weight)
        self.clip_value = float(clip_value)
        self.penalty_interval = int(penalty_interval)

    def discriminator_loss(self, real_scores, fake_scores, real_label=1.0):
        return type(self)._discriminator(real_scores, fake_scores, real_label)

    def generator_loss(self, fake_scores, real_label=1.0, real_scores=None):
        """The generator's loss; ``real_scores`` (the real batch's scores, paired with
        ``fake_scores``) is read by relativistic objectives only."""
        del real_scores
        return type(self)._generator(fake_scores, real_label)

    def get_config(self):
        return {"name": self.name, "penalty_weight": self.penalty_weight,
                "clip_value": self.clip_value, "penalty_interval": self.penalty_interval}

    def __repr__(self):
        return f"{type(self).__name__}(penalty={self.penalty!r}, lambda={self.penalty_weight})"


class GANLoss(AdversarialLoss):
    """Original GAN loss with the non-saturating generator objective (equation 1)."""

    name = "gan"
    _discriminator = staticmethod(gan_discriminator_loss)
    _generator = staticmethod(gan_generator_loss)


class LSGANLoss(AdversarialLoss):
    """Least-squares GAN loss (equation 2)."""

    name = "lsgan"
    _discriminator = staticmethod(lsgan_discriminator_loss)
    _generator = staticmethod(lsgan_generator_loss)


class WGANLoss(AdversarialLoss):
    """Wasserstein loss with the critic's weights clipped to ``[-c, c]`` (equation 3)."""

    name = "wgan"
    penalty = "clip"
    uses_targets = False
    smoothing = False
    _discriminator = staticmethod(wasserstein_discriminator_loss)
    _generator = staticmethod(wasserstein_generator_loss)


class WGANGPLoss(WGANLoss):
    """Wasserstein loss with a gradient penalty on real/fake interpolates (equation 4).

    Reference: Gulrajani et al. 2017, "Improved Training of Wasserstein GANs".
    """

    name = "wgan-gp"
    penalty = "gradient"


class DRAGANLoss(GANLoss):
    """GAN loss with a gradient penalty around perturbed real data (equation 5).

    Reference: Kodali et al. 2017, "On Convergence and Stability of GANs".
    """

    name = "dragan"
    penalty = "dragan"


class GANR1Loss(GANLoss):
    """Non-saturating GAN loss with R1 regularization on real images:
    ``L_D + (gamma / 2) E[||grad_x D(x)||^2]`` (``gamma`` is ``penalty_weight``).

    R1 pushes the discriminator's gradient on real data towards zero, the equilibrium of the
    unsmoothed objective: label smoothing, which moves that equilibrium, is refused.

    Reference: Mescheder, Geiger, Nowozin 2018, "Which Training Methods for GANs do actually
    Converge?".
    """

    name = "gan-r1"
    penalty = "r1"
    smoothing = False


class RpGANLoss(AdversarialLoss):
    """Relativistic pairing loss with R1 and R2, the objective of R3GAN:
    ``L_D + (gamma / 2) (E[||grad D(x)||^2] + E[||grad D(G(z))||^2])`` (``gamma`` is
    ``penalty_weight``), and ``L_G`` of ``relativistic_generator_loss``.

    Each real image of a batch is paired with a generated one. The generator's loss needs the
    real images' scores: the generator step scores the real batch as well (through the same
    augmentation, and for a conditional GAN generates its images for the real batch's labels
    so that pairs share their class). It has no targets, so no label smoothing.

    Reference: Huang, Gokaslan, Kuleshov, Tompkin 2024, "The GAN is dead; long live the GAN!
    A Modern GAN Baseline"; Jolicoeur-Martineau 2019, "The relativistic discriminator: a key
    element missing from standard GAN".
    """

    name = "rpgan"
    penalty = "r1r2"
    uses_targets = False
    smoothing = False
    relativistic = True

    def discriminator_loss(self, real_scores, fake_scores, real_label=1.0):
        del real_label
        return relativistic_discriminator_loss(real_scores, fake_scores)

    def generator_loss(self, fake_scores, real_label=1.0, real_scores=None):
        del real_label
        if real_scores is None:
            raise ValueError(f"{self.name!r} is relativistic: its generator loss compares with "
                             "the real images' scores. Received: real_scores=None")
        return relativistic_generator_loss(fake_scores, real_scores)


GRADIENT_PENALTIES = ("gradient", "dragan", "r1", "r1r2")
# Penalties on each sample's own gradient norm, which batch statistics would mix with the
# other samples' (Gulrajani et al. 2017, §4: "no critic batch normalization"); a critic
# trained with one gets no batch normalization by default. DRAGAN keeps it: the paper's
# DCGAN (Table 2) trains that way.
PER_SAMPLE_PENALTIES = ("gradient", "r1", "r1r2")
LOSSES = {cls.name: cls for cls in (GANLoss, LSGANLoss, WGANLoss, WGANGPLoss, DRAGANLoss,
                                    GANR1Loss, RpGANLoss)}
_ALIASES = {"wgan_gp": "wgan-gp", "wgangp": "wgan-gp", "original": "gan", "gan_r1": "gan-r1",
            "r1": "gan-r1", "r3gan": "rpgan", "relativistic": "rpgan"}


def get(identifier, **kwargs):
    """Returns an ``AdversarialLoss`` from a name (``"gan"``, ``"lsgan"``, ``"wgan"``,
    ``"wgan-gp"``, ``"dragan"``, ``"gan-r1"``, ``"rpgan"`` (alias ``"r3gan"``);
    case-insensitive), a config dict, or an instance.

    Keyword arguments (``penalty_weight``, ``clip_value``, ``penalty_interval``) set the
    objective's parameters whatever the identifier: they override a config's values, and
    with an instance they give a new instance of its class with those parameters changed
    (the instance given is left as it is, and returned itself when they change nothing).
    Applying them, rather than refusing them, keeps the three kinds of identifier
    interchangeable.

    Raises:
        ValueError: an unknown name.
    """
    if isinstance(identifier, AdversarialLoss):
        config = identifier.get_config()
        config.pop("name", None)
        if all(key in config and config[key] == value for key, value in kwargs.items()):
            return identifier
        return type(identifier)(**{**config, **kwargs})
    if isinstance(identifier, dict):
        config = dict(identifier)
        return get(config.pop("name"), **{**config, **kwargs})
    key = str(identifier).lower()
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        validate_setting("loss", identifier)  # Raises the schema's message.
    return LOSSES[key](**kwargs)
