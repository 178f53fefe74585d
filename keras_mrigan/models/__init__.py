"""GAN models: the shared training logic and the architectures' networks."""
