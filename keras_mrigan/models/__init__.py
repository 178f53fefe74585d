"""GAN models: the shared training logic and the architectures' networks.

Importing the package registers every model class with Keras.
"""

from keras_mrigan.models import dcgan, gan, progan, srresnet, stylegan2  # noqa: F401  (gan registers GAN)

# Architecture name -> module with build_generator(resolution, latent_dim, width) and
# build_discriminator(resolution, width, minibatch_stddev, group_size). A module with
# PROGRESSIVE = True builds the network of one growth stage and has growth_schedule() and
# transfer_weights().
ARCHITECTURES = {
    "dcgan": dcgan, "srresnet": srresnet, "progan": progan, "stylegan2": stylegan2,
}


def get_architecture(name):
    """The module that builds the networks of architecture ``name``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}. Valid: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]


def is_progressive(name):
    """Whether architecture ``name`` grows its resolution during training."""
    return getattr(get_architecture(name), "PROGRESSIVE", False)
