"""Search the hyperparameters of a small DCGAN on the demo cohort with Keras Tuner.

    python examples/tune_gan.py [MAX_TRIALS] [EPOCHS]

Each trial trains a GAN with ``model.fit`` and is scored by the multi-scale SWD of its samples
against the training data (lower is better). Writes the search to ``tuning_demo/``:
``results.md``, ``results.csv``, ``best_trials.png`` and ``best_run/``. Run it again to resume.
"""

import sys

from keras_mrigan import tuning
from keras_mrigan.config import get_preset
from keras_mrigan.tuning import GANHyperModel, Range


def main(max_trials=6, epochs=4):
    # The base run: everything that is not searched (data, network size, schedule).
    config = get_preset("demo-dcgan").replace(resolution=32, epochs=epochs, sample_count=16)
    hypermodel = GANHyperModel(
        config,
        # Searched: these replace the default ranges; real_label is only tried with the
        # objectives that have targets. Everything else of DEFAULT_SPACE is fixed to the base.
        space={
            "loss": ["lsgan", "wgan-gp", "dragan"],
            "g_learning_rate": Range(5e-5, 1e-3, log=True),
            "d_learning_rate": Range(5e-5, 1e-3, log=True),
            "real_label": [1.0, 0.9],
        },
        default_space=False,
        objective="swd",
        metrics_n=256,
        stats_path="tuning_demo/reference_stats.npz",
    )
    tuner = tuning.make_tuner(hypermodel, "random", max_trials=max_trials,
                              directory="tuning_demo", overwrite=False)
    tuner.search(verbose=2)
    tuning.write_results(tuner, "tuning_demo")
    best = tuner.get_best_hyperparameters(1)[0]
    print("Best hyperparameters:", best.values)
    config = hypermodel.config_for(best)  # The best trial's whole RunConfig.
    print("Best loss and optimizer settings:", config.loss, config.optimizer)
    gan = tuner.get_best_models(1)[0]  # The best trial's trained GAN.
    print("Samples of the best GAN:", gan.generate(4, seed=0).shape)
    print("Report: tuning_demo/results.md; export with "
          "`keras-mrigan export --run tuning_demo/best_run --name demo`")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
