"""Train a small DCGAN on the demo cohort with the Python API and ``model.fit``.

    python examples/train_dcgan.py [EPOCHS]

Writes sample grids to ``dcgan_samples/`` after every epoch and the model to ``dcgan.keras``.
"""

import sys

import keras

from keras_mrigan.callbacks import SampleGrid
from keras_mrigan.data.pipeline import build_dataset
from keras_mrigan.models import dcgan
from keras_mrigan.models.gan import GAN


def main(epochs=12):
    keras.utils.set_random_seed(0)
    dataset = build_dataset("demo", resolution=64, batch_size=32, seed=0)
    gan = GAN(
        generator=dcgan.build_generator(64, latent_dim=64, width=0.25),
        discriminator=dcgan.build_discriminator(64, width=0.25),
        latent_distribution="uniform",
        g_steps=1,
        seed=0,
    )
    gan.compile(
        g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
        d_optimizer=keras.optimizers.Adam(8e-4, beta_1=0.5),
        loss="dragan",
        real_label=0.9,
    )
    gan.fit(dataset, epochs=epochs, callbacks=[SampleGrid("dcgan_samples", n=36)])
    gan.save("dcgan.keras")
    print("Samples in dcgan_samples/, model in dcgan.keras")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 12)
