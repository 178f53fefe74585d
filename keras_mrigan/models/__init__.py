"""GAN models: the shared training logic and the architectures' networks."""

from keras_mrigan.models import dcgan

# Architecture name -> module with build_generator(resolution, latent_dim, width) and
# build_discriminator(resolution, width, minibatch_stddev, group_size).
ARCHITECTURES = {"dcgan": dcgan}


def get_architecture(name):
    """The module that builds the networks of architecture ``name``."""
    if name not in ARCHITECTURES:
        raise ValueError(f"Unknown architecture {name!r}. Valid: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name]
