"""The ``keras-mrigan`` command line.

Each subcommand parses its arguments and calls one library function; the logic lives in the
library, so everything the command does can also be done from Python.
"""

import argparse
import logging
import os
import re
import sys
import tempfile
from pathlib import Path

from keras_mrigan import __version__


def _add_slice_options(parser, data_required=True):
    """Arguments shared by every command that reads data; they map onto ``SliceOptions``.

    Unset flags stay ``None`` so that the library's (or the preset's) defaults apply.
    """
    group = parser.add_argument_group("reading slices")
    group.add_argument(
        "--data", required=data_required, dest="source",
        help="folder or file of PNG/JPEG/TIFF slices, NIfTI/Analyze volumes or DICOM series, "
        "or 'demo'",
    )
    group.add_argument("--axis", choices=["axial", "coronal", "sagittal"],
                       help="slicing plane of volumes (default: axial)")
    group.add_argument("--central-fraction", type=float,
                       help="keep this central fraction of each volume's slices (default: 1)")
    group.add_argument("--min-foreground", type=float,
                       help="drop volume slices with less foreground than this fraction "
                       "(default: 0.08)")
    group.add_argument("--pattern", help="only read files whose name matches this shell pattern")
    group.add_argument("--include-masks", action="store_const", const=True,
                       help="also read folders whose name contains 'seg'")
    group.add_argument("--skip-bad-files", action="store_const", const=True,
                       help="skip unreadable files with one warning instead of stopping")
    _add_subject_pattern(group)


def _add_raw_generator(parser):
    parser.add_argument("--raw-generator", action="store_true",
                        help="sample a run with its trained generator instead of the moving "
                        "average of its weights (runs trained with --ema-half-life)")


def _add_subject_pattern(group):
    group.add_argument("--subject-pattern", metavar="REGEX",
                       help="regular expression that finds a file's subject in its path (its "
                       "first group); default: OASIS IDs, volume files, 2D slice names without "
                       "their slice index")


LABEL_FLAGS = ("labels", "label_column", "id_column", "label_map", "drop_unlabelled")
SLICE_FLAGS = ("axis", "central_fraction", "min_foreground", "pattern", "include_masks",
               "skip_bad_files", "subject_pattern")


def _set_flags(args, names):
    """The flags among ``names`` that were given on the command line."""
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _data_preview(args):
    from keras_mrigan.data.pipeline import SliceOptions, preview

    options = SliceOptions(**_set_flags(args, SLICE_FLAGS))
    summary = preview(args.source, args.resolution, args.out, n=args.n, seed=args.seed,
                      options=options)
    print(summary)
    print(f"Wrote a grid of {min(args.n, summary.total)} slices to {args.out}")


RUN_FLAGS = SLICE_FLAGS + LABEL_FLAGS + (
    "source", "resolution", "batch_size", "arch", "width", "latent_dim", "latent_distribution",
    "minibatch_stddev", "group_size", "upsample", "loss", "real_label", "drift", "penalty_weight",
    "clip_value", "penalty_interval", "augment", "augment_p", "ada_target",
    "ada_images", "g_learning_rate", "d_learning_rate", "beta_1", "beta_2",
    "ema_half_life_images", "ema_rampup", "epochs",
    "d_steps", "g_steps", "seed", "jit_compile", "phase_epochs", "phase_images",
    "metrics_every", "metrics_n", "strategy", "precision", "deterministic", "on_nan",
    "nan_lr_factor", "tensorboard",
)


def _train(args):
    from keras_mrigan import training
    from keras_mrigan.config import RunConfig, get_preset

    if args.resume:
        given = _set_flags(args, RUN_FLAGS)
        extra = sorted(set(given) - {"epochs"})
        if extra or args.preset or args.out:
            raise ValueError(
                "--resume continues a run with its own settings; only --epochs may change. "
                f"Received also: {extra + [f for f in ('preset', 'out') if getattr(args, f)]}"
            )
        training.resume(args.resume, epochs=args.epochs)
        print(f"Finished run {args.resume}")
        return
    if not args.out:
        raise ValueError("--out RUN_FOLDER is required (or --resume RUN_FOLDER).")
    config = get_preset(args.preset) if args.preset else RunConfig()
    config = config.replace(**_set_flags(args, RUN_FLAGS))
    training.train(config, args.out, overwrite=args.overwrite)
    print(f"Finished run {args.out}: model.keras, history.csv, loss_curves.png, samples/")


# keras_mrigan.tuning's names, repeated so that `--help` need not import TensorFlow (a test
# keeps them equal).
TUNERS = ("random", "bayesian", "hyperband")
TUNE_OBJECTIVES = ("delta", "ms_ssim", "rho", "sigma_per_image", "swd")
TUNE_DEFAULT_SPACE = ("loss", "g_learning_rate", "d_learning_rate", "beta_1", "g_steps",
                      "d_steps", "real_label", "penalty_weight", "latent_distribution",
                      "minibatch_stddev")


def _tune(args):
    from keras_mrigan import tuning
    from keras_mrigan.config import get_preset

    given = _set_flags(args, RUN_FLAGS)
    config = get_preset(args.preset).replace(**given)
    if config.data.labels:
        raise ValueError("keras-mrigan tune searches unconditional GANs: --labels is not "
                         "supported here. Tune without labels, then train the conditional GAN "
                         "with the best settings and --labels.")
    space = tuning.load_space(args.space) if args.space else {}
    # A setting given as a flag is fixed in the search.
    space.update({name: value for name, value in given.items() if name in tuning.TUNABLE})
    tuning.tune(config, args.out, tuner=args.tuner, max_trials=args.max_trials, space=space,
                objective=args.objective, metrics_n=args.metrics_n or 256,
                overwrite=args.overwrite, seed=config.schedule.seed,
                default_space=not args.no_default_space, top=args.top)
    if not tuning.is_worker():
        print(f"Wrote {args.out}/results.md, results.csv, best_trials.png; the best run is "
              f"{args.out}/{tuning.BEST_RUN} (keras-mrigan export --run {args.out}/"
              f"{tuning.BEST_RUN} --name NAME)")


def _demo(args):
    from keras_mrigan import training
    from keras_mrigan.config import get_preset

    config = get_preset("demo-dcgan").replace(epochs=args.epochs)
    training.train(config, args.out, overwrite=True)
    print(f"Demo finished. Samples: {args.out}/samples/latest.png; "
          f"curves: {args.out}/loss_curves.png")


def _evaluate(args):
    from keras_mrigan.metrics import evaluate, load_generated, load_reference

    if args.n is not None and args.n < 1:
        raise ValueError(f"--n must be a positive integer. Received: {args.n}")
    if args.labels:
        return _evaluate_classes(args)
    generated = load_generated(args.generated, n=args.n, seed=args.seed, raw=args.raw_generator)
    print(f"{len(generated.images)} generated images of {generated.images.shape[1:]} "
          f"from {args.generated}")
    from keras_mrigan.data.pipeline import SliceOptions

    stats = load_reference(args.reference, generated.images.shape[1],
                           n=len(generated.images), stats_path=args.reference_stats,
                           seed=args.seed, progress=lambda m: print(f"reference: {m}"),
                           options=SliceOptions(subject_pattern=args.subject_pattern))
    result = evaluate(generated.images, stats, out=args.out, name=generated.name,
                      generate=generated.generate, seed=args.seed)
    from keras_mrigan.metrics import table

    print(table(result, generated.name))
    print(f"Wrote {args.out}/metrics.json, table.md, memorization.png"
          + (", interpolation.png" if generated.generate else ""))


def _evaluate_classes(args):
    from keras_mrigan.data.labels import label_options
    from keras_mrigan.data.pipeline import SliceOptions
    from keras_mrigan.generate import Sampler
    from keras_mrigan.metrics.classes import evaluate_classes, fidelity_table

    labels = label_options(args.labels, label_column=args.label_column,
                           id_column=args.id_column, label_map=args.label_map,
                           drop_unlabelled=args.drop_unlabelled)
    report = evaluate_classes(
        Sampler(args.generated, raw=args.raw_generator), args.reference, labels,
        n=args.n or 1000, seed=args.seed, out=args.out,
        options=SliceOptions(subject_pattern=args.subject_pattern))
    from keras_mrigan.metrics import table

    for name, result in report["classes"].items():
        print(f"{name}:\n{table(result, name)}")
    print(fidelity_table(report["fidelity"]))
    print(f"Wrote {args.out}/classes.json, classes.md and one report per class")


def _export(args):
    from keras_mrigan.export import export_generator

    path = export_generator(args.run, args.name, base=args.base, version=args.version,
                            overwrite=args.overwrite, raw=args.raw_generator)
    print(f"Exported the generator of {args.run} to {path} (serving_default, "
          "generate_from_seed)")


def _generate(args):
    from keras_mrigan.generate import Sampler, check_writable, generate, write_images

    if args.per_class is not None:
        if args.n is not None or args.label is not None:
            raise ValueError("--per-class N makes N images of every class: give it without "
                             "--n and --label.")
        if args.per_class < 1:
            raise ValueError(f"--per-class must be a positive integer. Received: "
                             f"{args.per_class}")
    elif args.n is None or args.n < 1:
        raise ValueError(f"--n must be a positive integer (or give --per-class N). "
                         f"Received: --n {args.n}")
    check_writable(args.out)  # Fail before sampling, not after.
    sampler = Sampler(args.model, raw=args.raw_generator)
    if args.per_class is not None:
        if not sampler.class_names:
            raise ValueError(f"--per-class needs a conditional generator; {args.model} is "
                             "unconditional.")
        jobs = [(name, args.per_class) for name in sampler.class_names]
    else:
        if args.label is not None:
            sampler.class_index(args.label)  # An unknown class fails before any image.
        jobs = [(args.label, args.n)]
    for label, n in jobs:
        out = Path(args.out) / label if label is not None else Path(args.out)
        images = generate(sampler, n, seed=args.seed, batch_size=args.batch_size, label=label)
        written = write_images(images, out, args.format, seed=args.seed,
                               nifti_per_slice=args.nifti_per_slice)
        print(f"Wrote {len(images)} images ({args.format}, {len(written)} file(s)) to {out}")


def _utility(args):
    from keras_mrigan import utility
    from keras_mrigan.config import get_preset

    config = get_preset(args.preset).replace(**_set_flags(args, RUN_FLAGS))
    fractions = _floats(args.fractions, "--fractions")
    report = utility.study(config, args.out, fractions=fractions, seeds=args.seeds,
                           generator=args.generator, test_fraction=args.test_fraction,
                           classifier_epochs=args.classifier_epochs)
    print((Path(args.out) / "utility.md").read_text())
    print(f"Wrote {args.out}/utility.md, utility.json, utility.png "
          f"({len(report['regimes'])} regime(s), {len(report['seeds'])} seeds)")


def _floats(text, flag):
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers, e.g. 0.25,1. Received: "
                         f"{text!r}") from None


def _add_label_options(parser):
    """Class labels of the data (``DataConfig.labels`` and its settings)."""
    group = parser.add_argument_group("class labels (conditional GANs)")
    group.add_argument("--labels", metavar="folders|demo|TABLE.csv",
                       help="one class per file: from class subfolders (DATA/CLASS/...), the "
                       "demo cohort's control/atrophy classes, or a CSV table")
    group.add_argument("--label-column", help="the table's label column (e.g. CDR)")
    group.add_argument("--id-column", help="the table's ID column, found in file paths "
                       "(default: ID)")
    group.add_argument("--label-map", metavar="VALUE=CLASS,...",
                       help="the table's values to classes, e.g. "
                       "'0=control,0.5=dementia,1=dementia,2=dementia'")
    group.add_argument("--drop-unlabelled", action="store_const", const=True,
                       help="leave out files without a label (default: an error lists them)")


def _add_train_options(parser):
    _add_label_options(parser)
    model = parser.add_argument_group("model")
    model.add_argument("--arch", choices=["dcgan", "srresnet", "progan"],
                       help="architecture (default: dcgan)")
    model.add_argument("--resolution", type=int,
                       help="image side, a power of two from 16 (progan: the final stage's)")
    model.add_argument("--width", type=float, help="filter-count multiplier (paper: 1)")
    model.add_argument("--latent-dim", type=int, help="latent length (paper: 256)")
    model.add_argument("--latent-distribution", choices=["uniform", "normal"],
                       help="U(-1, 1) or normalized N(0, 1)")
    stddev = model.add_mutually_exclusive_group()
    stddev.add_argument("--minibatch-stddev", dest="minibatch_stddev", action="store_const",
                        const=True, help="add the minibatch standard-deviation layer")
    stddev.add_argument("--no-minibatch-stddev", dest="minibatch_stddev", action="store_const",
                        const=False, help="drop the minibatch standard-deviation layer")
    model.add_argument("--group-size", type=int, help="minibatch-stddev group size (4)")
    model.add_argument("--upsample", choices=["transpose", "resize"],
                       help="dcgan generator: transposed convolutions (the paper's) or "
                       "nearest-neighbour resizing + convolution (no checkerboard)")
    loss = parser.add_argument_group("loss")
    loss.add_argument("--loss", help="gan, lsgan, wgan, wgan-gp, dragan or gan-r1")
    loss.add_argument("--real-label", type=float, help="0.9 for one-sided label smoothing")
    loss.add_argument("--drift", type=float, help="ProGAN drift weight epsilon")
    loss.add_argument("--penalty-weight", type=float,
                      help="gradient-penalty lambda, or R1's gamma (10)")
    loss.add_argument("--augment", metavar="POLICY",
                      help="differentiable augmentation of every image the discriminator sees: "
                      "comma-separated translation, cutout, brightness, contrast, flip")
    loss.add_argument("--augment-p", type=float,
                      help="probability of each transform at the start (default: 0)")
    loss.add_argument("--ada-target", type=float,
                      help="adaptive probability: target mean sign of D's real scores "
                      "(default: 0.6)")
    loss.add_argument("--ada-images", type=float,
                      help="images for the probability to go from 0 to 1 (default: 500000; "
                      "0 keeps --augment-p fixed)")
    loss.add_argument("--penalty-interval", type=int,
                      help="lazy regularization: the gradient penalty every N discriminator "
                      "steps, weighted by N (default: 1)")
    loss.add_argument("--clip-value", type=float, help="WGAN weight clip c (0.01)")
    opt = parser.add_argument_group("optimization")
    opt.add_argument("--epochs", type=int,
                     help="default: the preset's; without one, a progressive run's growth "
                     "schedule, else 60")
    opt.add_argument("--batch-size", type=int)
    opt.add_argument("--g-lr", dest="g_learning_rate", type=float, help="generator Adam lr")
    opt.add_argument("--d-lr", dest="d_learning_rate", type=float, help="discriminator Adam lr")
    opt.add_argument("--beta1", dest="beta_1", type=float, help="Adam beta_1 of both")
    opt.add_argument("--beta2", dest="beta_2", type=float, help="Adam beta_2 of both")
    opt.add_argument("--ema-half-life", dest="ema_half_life_images", type=float,
                     metavar="IMAGES",
                     help="keep a moving average of the generator's weights with this half-life "
                     "in images, and sample with it (default: 0, none)")
    opt.add_argument("--ema-rampup", type=float,
                     help="the half-life is at most this times the images seen (default: 0.05; "
                     "0: no ramp-up)")
    opt.add_argument("--d-steps", type=int, help="discriminator updates per batch")
    opt.add_argument("--g-steps", type=int, help="generator updates per batch (paper's r)")
    opt.add_argument("--seed", type=int)
    opt.add_argument("--phase-epochs", type=int,
                     help="progan: epochs per fade-in and per stabilization phase (paper: 20)")
    opt.add_argument("--phase-images", type=int,
                     help="progan: images per phase instead (rounded up to whole epochs)")
    opt.add_argument("--metrics-every", type=int,
                     help="add rho, sigma/n, delta and SWD of --metrics-n samples to the "
                     "history every N epochs (default: 0, off)")
    opt.add_argument("--metrics-n", type=int, help="samples per measurement (default: 256)")
    opt.add_argument("--tensorboard", action="store_const", const=True,
                     help="write every epoch's losses, measures, learning rates and sample "
                     "grid to RUN/tensorboard/ (tune: one per trial); view them with "
                     "`tensorboard --logdir RUN`")
    speed = parser.add_argument_group("scale, speed and safety")
    speed.add_argument("--jit-compile", dest="jit_compile", action="store_const", const=True,
                       help="compile the train step with XLA")
    speed.add_argument("--strategy", choices=["default", "mirrored", "multiworker"],
                       help="tf.distribute strategy: mirrored over the local GPUs, or "
                       "multiworker as TF_CONFIG describes (default: one device)")
    speed.add_argument("--mixed-precision", dest="precision",
                       choices=["mixed_float16", "mixed_bfloat16"],
                       help="compute in float16 (with loss scaling) or bfloat16; variables, "
                       "generator output and penalties stay float32")
    speed.add_argument("--deterministic", action="store_const", const=True,
                       help="enable TensorFlow op determinism (same seed, same weights)")
    speed.add_argument("--on-nan", choices=["stop", "rollback"],
                       help="on a NaN/Inf loss: stop (default), or roll back to the last "
                       "checkpoint with lower learning rates")
    speed.add_argument("--nan-lr-factor", type=float,
                       help="learning-rate factor of a rollback (default: 0.5)")


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-mrigan",
        description="Train GANs that synthesize brain MRI slices, and work with their data.",
    )
    parser.add_argument("--version", action="version", version=f"keras-mrigan {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up and log lines (hidden by default "
                        "unless TF_CPP_MIN_LOG_LEVEL is set)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    # --verbose is also accepted after the subcommand.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS)

    data = commands.add_parser("data", parents=[common], help="inspect training data")
    data_commands = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    preview = data_commands.add_parser(
        "preview", parents=[common], help="write a PNG grid of slices and count the slices per file"
    )
    _add_slice_options(preview)
    preview.add_argument("--resolution", type=int, default=64,
                         help="side of the slices, a power of two from 16 to 1024 (default: 64)")
    preview.add_argument("--out", required=True, help="PNG file to write")
    preview.add_argument("--n", type=int, default=64, help="slices in the grid (default: 64)")
    preview.add_argument("--seed", type=int, default=0, help="which slices are shown")
    preview.set_defaults(func=_data_preview)

    from keras_mrigan.config import PRESETS

    presets = "\n".join(f"  {name}: {text}" for name, (text, _) in PRESETS.items())
    train = commands.add_parser(
        "train", parents=[common], help="train a GAN into a run folder (or resume one)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"presets:\n{presets}\n\nFlags override the preset's values.",
    )
    train.add_argument("--out", help="run folder to create")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder")
    train.add_argument("--preset", help="named settings, listed below")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    _add_slice_options(train, data_required=False)
    _add_train_options(train)
    train.set_defaults(func=_train)

    tune = commands.add_parser(
        "tune", parents=[common], help="search hyperparameters with Keras Tuner",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Trains one run per trial and scores it by a quality measure of its "
        "samples (not by a loss). Searched by default: " + ", ".join(TUNE_DEFAULT_SPACE) + ". "
        "Model, loss "
        "and optimization flags fix that setting in the search; --space FILE.json gives "
        "ranges ({\"g_learning_rate\": {\"min\": 1e-5, \"max\": 1e-3, \"log\": true}, "
        "\"loss\": [\"wgan-gp\", \"dragan\"], \"width\": 0.5}). Run it again with the same "
        "--out to resume. Distributed: start one chief and N workers with "
        "KERASTUNER_TUNER_ID=chief|tuner0|..., KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT set.",
    )
    tune.add_argument("--out", required=True, help="search folder")
    tune.add_argument("--tuner", choices=TUNERS, default="random")
    tune.add_argument("--max-trials", type=int, default=10, help="number of trials (10)")
    tune.add_argument("--objective", choices=TUNE_OBJECTIVES, default="swd",
                      help="quality measure to optimize (swd, minimized)")
    tune.add_argument("--space", metavar="FILE.json", help="search space")
    tune.add_argument("--no-default-space", action="store_true",
                      help="search only what --space gives")
    tune.add_argument("--preset", default="paper-dcgan",
                      help="base settings (default: paper-dcgan)")
    tune.add_argument("--top", type=int, default=4, help="trials in best_trials.png (4)")
    tune.add_argument("--overwrite", action="store_true", help="start afresh, do not resume")
    _add_slice_options(tune)
    _add_train_options(tune)
    tune.set_defaults(func=_tune)

    evaluate = commands.add_parser(
        "evaluate", parents=[common],
        help="measure realism, diversity, SWD, MS-SSIM and memorization",
        description="Evaluates generated images against a reference set: the paper's rho, "
        "sigma and delta, multi-scale SWD, MS-SSIM diversity, memorization, and latent "
        "interpolation strips when a generator is given. With --labels (a conditional "
        "generator): every measure per class against that class's real slices, and class "
        "fidelity.",
    )
    evaluate.add_argument("--generated", required=True,
                          help="folder of images, run folder, .keras GAN or SavedModel")
    evaluate.add_argument("--reference", required=True,
                          help="the real images (folder, files or 'demo'), or a statistics .npz")
    evaluate.add_argument("--reference-stats", metavar="FILE.npz",
                          help="reuse this statistics file, or write it after fitting")
    evaluate.add_argument("--n", type=int,
                          help="images to sample from a generator (default: 1000)")
    evaluate.add_argument("--out", default="evaluation", help="report folder")
    evaluate.add_argument("--seed", type=int, default=0)
    _add_raw_generator(evaluate)
    _add_subject_pattern(evaluate)
    _add_label_options(evaluate)
    evaluate.set_defaults(func=_evaluate)

    export = commands.add_parser(
        "export", parents=[common], help="export a run's generator as a SavedModel for TF Serving",
        description="Writes saved_models/NAME/VERSION/ (TF Serving's model_base_path layout) "
        "with the serving_default (latent -> images) and generate_from_seed (seed -> images) "
        "signatures.",
    )
    export.add_argument("--run", required=True, help="run folder (or .keras GAN file)")
    export.add_argument("--name", required=True, help="model name under --base")
    export.add_argument("--base", default="saved_models", help="model base path")
    export.add_argument("--version", type=int, help="default: the next free integer")
    export.add_argument("--overwrite", action="store_true", help="replace an existing version")
    _add_raw_generator(export)
    export.set_defaults(func=_export)

    gen = commands.add_parser(
        "generate", parents=[common], help="sample images from a SavedModel or a run folder",
        description="Image i comes from seed SEED + i, as generate_from_seed maps it.",
    )
    gen.add_argument("--model", required=True,
                     help="saved_models/NAME (latest version), saved_models/NAME/V, or a run")
    gen.add_argument("--n", type=int, help="number of images")
    gen.add_argument("--label", metavar="CLASS",
                     help="conditional generators: the class of the images (written to "
                     "OUT/CLASS/)")
    gen.add_argument("--per-class", type=int, metavar="N",
                     help="conditional generators: N images of every class, in OUT/<class>/ "
                     "(the layout keras.utils.image_dataset_from_directory reads)")
    gen.add_argument("--seed", type=int, default=0, help="first seed (default: 0)")
    gen.add_argument("--format", choices=["png", "nifti", "npy"], default="png")
    gen.add_argument("--nifti-per-slice", action="store_true",
                     help="one NIfTI file per image instead of one stacked volume")
    gen.add_argument("--batch-size", type=int, default=64)
    _add_raw_generator(gen)
    gen.add_argument("--out", required=True, help="output folder")
    gen.set_defaults(func=_generate)

    util = commands.add_parser(
        "utility", parents=[common],
        help="do synthetic slices help a classifier? train it on real, real + classic "
        "augmentation, real + synthetic and synthetic slices; test on held-out subjects",
        description="Splits the labelled data by subject, trains a conditional GAN (the "
        "preset) on each fraction of the training subjects, then a fixed small CNN on every "
        "mix, over several seeds; writes utility.md, utility.json and utility.png.",
    )
    _add_slice_options(util)
    _add_train_options(util)
    util.add_argument("--preset", default="demo-dcgan",
                      help="the generators' training settings (default: demo-dcgan)")
    util.add_argument("--fractions", default="0.25,1",
                      help="fractions of the training subjects, comma-separated "
                      "(default: 0.25,1)")
    util.add_argument("--seeds", type=int, default=5, help="seeds per row (default: 5)")
    util.add_argument("--test-fraction", type=float, default=0.3,
                      help="fraction of each class's subjects held out for testing (0.3)")
    util.add_argument("--classifier-epochs", type=int, default=15,
                      help="epochs of every classifier (default: 15)")
    util.add_argument("--generator", metavar="RUN_OR_SAVEDMODEL",
                      help="reuse a trained conditional generator for a single fraction "
                      "(refused if it has seen a test subject)")
    util.add_argument("--out", required=True, help="output folder")
    util.set_defaults(func=_utility)

    demo = commands.add_parser(
        "demo", parents=[common],
        help="train the demo DCGAN on the embedded demo cohort (a few minutes on a CPU)",
    )
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument("--epochs", type=int, default=None,
                      help="epochs (default: the demo-dcgan preset's)")
    demo.set_defaults(func=_demo)
    return parser


# TensorFlow's start-up lines: absl's notice, then info and warning lines such as
# "I0000 00:00:1795517787.921570    9051 port.cc:153] oneDNN custom operations are on".
_START_UP_LINE = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\)|[IW]\d{4} [\d:.]+ +\d+ \S+:\d+\]")


def quiet_tensorflow():
    """Hides TensorFlow's start-up lines (oneDNN and CUDA notices, absl warnings) and its
    later info, warning and error logs, unless the user chose a level with
    ``TF_CPP_MIN_LOG_LEVEL``.

    The level only silences what TensorFlow logs after its import: the lines of the import
    itself are decided by the environment the process started with. So TensorFlow is imported
    here with the process's standard error captured, and everything but those lines is
    written back.
    """
    if "TF_CPP_MIN_LOG_LEVEL" in os.environ or "tensorflow" in sys.modules:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            lines = captured.read().decode(errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines
                                     if not _START_UP_LINE.match(line)))


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.verbose and args.command != "data":  # Reading data needs no TensorFlow.
        quiet_tensorflow()
    try:
        args.func(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as exc:
        print(f"keras-mrigan: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
