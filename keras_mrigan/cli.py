"""The ``keras-mrigan`` command line.

Each subcommand parses its arguments and calls one library function; the logic lives in the
library, so everything the command does can also be done from Python. The flags of run
settings are derived from the ``RunConfig`` fields (``add_setting_flags``): their names,
types, help and choices are declared once, in ``keras_mrigan.config``. The command starts
from ``keras_mrigan_cli``, which imports TensorFlow with its start-up lines hidden before this
module (and so the package) is imported.
"""

import argparse
import contextlib
import dataclasses
import logging
import sys
import time
import warnings
from pathlib import Path

from keras_mrigan import config as run_config
from keras_mrigan import training, tuning, utility
from keras_mrigan.data import info, pipeline
from keras_mrigan.data.labels import LABEL_SETTINGS, label_options
from keras_mrigan.evaluation import MEMORIZATION_SOURCES, evaluate_path
from keras_mrigan.export import export_generator
from keras_mrigan.generate import write_samples
from keras_mrigan.version import __version__

# The names of every run setting and of the slice options (``LABEL_SETTINGS``: the label
# options').
RUN_SETTINGS = tuple(run_config.fields())
SLICE_SETTINGS = tuple(field.name for field in dataclasses.fields(pipeline.SliceOptions))


def __getattr__(name):
    if name == "RUN_FLAGS":
        warnings.warn("`keras_mrigan.cli.RUN_FLAGS` is deprecated; use `RUN_SETTINGS`.",
                      DeprecationWarning, stacklevel=2)
        return RUN_SETTINGS
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _bool_or_text(text):
    """``true``/``false`` (any case, also yes/no, 1/0) as a bool, anything else as given."""
    lowered = text.lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    return text


def setting_flags(name):
    """The command-line option strings of a run setting (``--field-name`` by default)."""
    field = run_config.fields()[name]
    return field.metadata["flags"] or (f"--{name.replace('_', '-')}",)


def _flag_arguments(name):
    """``add_argument`` keywords of a run setting, from its field: type, help, choices (in
    the metavar: the value is checked by ``config.validate``, so the command line fails with
    the same message as the library), default ``None`` (the preset's value)."""
    field = run_config.fields()[name]
    meta = field.metadata
    kinds = run_config.kinds(name)
    default = field.default
    shown = "none" if default is None or default == "" else default
    if isinstance(default, tuple):
        shown = " ".join(map(str, default))
    help_text = meta["help"] + ("" if "default" in meta["help"] else f" (default: {shown})")
    arguments = dict(dest=name, default=None, help=help_text.replace("%", "%%"))
    choices = meta["choices"]
    if choices is not None:
        arguments["metavar"] = "{" + ",".join(str(c).lower() if isinstance(c, bool) else str(c)
                                              for c in choices) + "}"
    if meta["metavar"] is not None:
        arguments["metavar"] = meta["metavar"]
    if kinds == (bool,):
        arguments["action"] = argparse.BooleanOptionalAction
        arguments.pop("metavar", None)
    elif bool in kinds:  # A flag alone means true; else true, false or a word.
        arguments.update(nargs="?", const=True, type=_bool_or_text)
    elif tuple in kinds:
        arguments.update(nargs=len(default), type=type(default[0]))
    elif int in kinds:
        arguments["type"] = int
    elif float in kinds:
        arguments["type"] = float
    return arguments


def add_setting_flags(parser, names=None, required=()):
    """Adds a flag for each run setting in ``names`` (default: all), grouped by section.

    Args:
        parser: an ``argparse.ArgumentParser``.
        names: the settings to add, among ``config.fields()``.
        required: settings whose flag must be given.
    """
    names = RUN_SETTINGS if names is None else tuple(names)
    for section_name, section in run_config.SECTIONS.items():
        group = None
        for field in dataclasses.fields(section):
            if field.name not in names or field.metadata["no_flag"]:
                continue
            group = group or parser.add_argument_group(f"{section_name} settings")
            group.add_argument(*setting_flags(field.name), required=field.name in required,
                               **_flag_arguments(field.name))


def given_settings(args, names=None):
    """The run settings given on the command line: ``{name: value}``."""
    names = RUN_SETTINGS if names is None else names
    return {name: getattr(args, name) for name in names
            if getattr(args, name, None) is not None}


def config_flags(config, names=None):
    """The command-line arguments that set ``config``'s values of ``names`` (default: every
    setting with a flag): ``RunConfig().replace(**given_settings(parse(flags)))`` gives
    ``config`` back."""
    argv = []
    for name, value in config.settings().items():
        field = run_config.fields()[name]
        if (names is not None and name not in names) or field.metadata["no_flag"] \
                or value is None:
            continue
        flag = setting_flags(name)[0]
        if run_config.kinds(name) == (bool,):
            argv.append(flag if value else f"--no-{flag[2:]}")
        elif isinstance(value, bool):
            argv += [flag, str(value).lower()]
        elif isinstance(value, tuple):
            argv += [flag, *map(str, value)]
        else:
            argv += [flag, str(value)]
    return argv


def _raw_generator(parser):
    parser.add_argument("--raw-generator", action="store_true",
                        help="sample a run with its trained generator instead of the moving "
                        "average of its weights (runs trained with --ema-half-life)")


def _data_preview(args):
    options = pipeline.SliceOptions(**given_settings(args, SLICE_SETTINGS))
    summary = pipeline.preview(args.source, args.resolution, args.out, n=args.n,
                               seed=args.seed, options=options)
    print(summary)
    print(f"Wrote a grid of {min(args.n, summary.total)} slices to {args.out}")


def _data_info(args):
    options = pipeline.SliceOptions(**given_settings(args, SLICE_SETTINGS))
    rows = info.describe(args.source, options)
    print(info.to_json(rows) if args.json else info.format_table(rows))


def _train(args):
    given = given_settings(args)
    if args.resume:
        extra = sorted(set(given) - {"epochs", "minutes"})
        if extra or args.preset or args.out:
            raise ValueError(
                "--resume continues a run with its own settings; only --epochs and --minutes "
                "may change. Received also: "
                f"{extra + [f for f in ('preset', 'out') if getattr(args, f)]}"
            )
        training.resume(args.resume, epochs=args.epochs, minutes=args.minutes)
        print(f"Finished run {args.resume}")
        return
    if not args.out:
        raise ValueError("--out RUN_FOLDER is required (or --resume RUN_FOLDER).")
    base = run_config.get_preset(args.preset) if args.preset else run_config.RunConfig()
    training.train(base.replace(**given), args.out, overwrite=args.overwrite)
    print(f"Finished run {args.out}: model.keras, history.csv, loss_curves.png, samples/")


def _tune(args):
    given = given_settings(args)
    config = run_config.get_preset(args.preset).replace(**given)
    tuning.tune(config, args.out, tuner=args.tuner, max_trials=args.max_trials,
                space=args.space, fixed=given, objective=args.objective,
                metrics_n=config.schedule.metrics_n, overwrite=args.overwrite,
                seed=config.schedule.seed, default_space=not args.no_default_space,
                top=args.top)
    if not tuning.is_worker():
        print(f"Wrote {args.out}/results.md, results.csv, best_trials.png; the best run is "
              f"{args.out}/{tuning.BEST_RUN} (keras-mrigan export --run {args.out}/"
              f"{tuning.BEST_RUN} --name NAME)")


def _demo(args):
    settings = given_settings(args)
    minutes = settings.pop("minutes", training.DEMO_MINUTES)
    print(f"keras-mrigan demo: at most {minutes:g} minutes in all, the demo cohort's first "
          "build included.")
    settings.pop("preset", None)  # The preset's name is recorded by training.demo.
    result = training.demo(args.out, minutes=minutes, preset=args.preset, started=args.started,
                           **settings)
    print(result.text())


def _evaluate(args):
    labels = label_options(args.labels, label_column=args.label_column,
                           id_column=args.id_column, label_map=args.label_map,
                           drop_unlabelled=args.drop_unlabelled)
    report = evaluate_path(args.generated, args.reference, out=args.out, n=args.n,
                           seed=args.seed, raw=args.raw_generator, labels=labels,
                           stats_path=args.reference_stats,
                           options=pipeline.SliceOptions(subject_pattern=args.subject_pattern,
                                                         masks=args.masks,
                                                         mask_classes=args.mask_classes),
                           segmenter_steps=args.segmenter_steps,
                           memorization=args.memorization)
    print(report.text())
    print(f"Wrote {args.out}/" + ", ".join(report.files))


def _export(args):
    path = export_generator(args.run, args.name, base=args.base, version=args.version,
                            overwrite=args.overwrite, raw=args.raw_generator)
    print(f"Exported the generator of {args.run} to {path} (serving_default, "
          "generate_from_seed)")


def _generate(args):
    for written in write_samples(args.model, args.out, n=args.n, per_class=args.per_class,
                                 label=args.label, seed=args.seed, batch_size=args.batch_size,
                                 format=args.format, nifti_per_slice=args.nifti_per_slice,
                                 raw=args.raw_generator, masks=False if args.no_masks else None):
        masks = f" and their masks to {written.mask_folder}" if written.mask_folder else ""
        print(f"Wrote {written.n} images ({args.format}, {len(written.files)} file(s)) to "
              f"{written.folder}{masks}")


def _utility(args):
    config = run_config.get_preset(args.preset).replace(**given_settings(args))
    common = dict(seeds=args.seeds, generator=args.generator, test_fraction=args.test_fraction,
                  **({"rows": [row.strip() for row in args.rows.split(",")]} if args.rows
                     else {}))
    if args.task == "segmentation":
        subjects = [part.strip() if part.strip() == "all" else _integer(part, "--subjects")
                    for part in args.subjects.split(",") if part.strip()]
        report = utility.study(config, args.out, task="segmentation", subjects=subjects,
                               segmenter_steps=args.segmenter_steps,
                               fractions=None if args.fractions is None
                               else _floats(args.fractions, "--fractions"), **common)
    else:
        report = utility.study(config, args.out,
                               fractions=_floats(args.fractions or "0.25,1", "--fractions"),
                               classifier_epochs=args.classifier_epochs, **common)
    print((Path(args.out) / "utility.md").read_text())
    print(f"Wrote {args.out}/utility.md, utility.json, utility.png "
          f"({len(report['regimes'])} regime(s), {len(report['seeds'])} seeds)")


def _integer(text, flag):
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated integers or 'all', e.g. 2,4,8,all. "
                         f"Received: {text!r}") from None


def _floats(text, flag):
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"{flag} takes comma-separated numbers, e.g. 0.25,1. Received: "
                         f"{text!r}") from None


def build_parser():
    parser = argparse.ArgumentParser(
        prog="keras-mrigan",
        description="Train GANs that synthesize brain MRI slices, and work with their data.",
    )
    parser.add_argument("--version", action="version", version=f"keras-mrigan {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's start-up and log lines (hidden by default "
                        "unless TF_CPP_MIN_LOG_LEVEL is set), and the full traceback of an "
                        "error")
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
    add_setting_flags(preview, ("source", *SLICE_SETTINGS), required=("source",))
    preview.add_argument("--resolution", type=int, default=64,
                         help="side of the slices, a power of two from 16 to 1024 (default: 64)")
    preview.add_argument("--out", required=True, help="PNG file to write")
    preview.add_argument("--n", type=int, default=64, help="slices in the grid (default: 64)")
    preview.add_argument("--seed", type=int, default=0, help="which slices are shown")
    preview.set_defaults(func=_data_preview)
    data_info = data_commands.add_parser(
        "info", parents=[common], help="list what a source holds: per file or DICOM series "
        "its kind, shape, voxel size, orientation, slices and subject, or why it is skipped")
    data_info.add_argument("source", metavar="SOURCE",
                           help="folder or file of slices, volumes or DICOM series, 'demo' "
                           "or 'demo:N'")
    add_setting_flags(data_info, SLICE_SETTINGS)
    data_info.add_argument("--json", action="store_true",
                           help="print a JSON list instead of a table")
    data_info.set_defaults(func=_data_info)

    presets = "\n".join(f"  {name}: {text}" for name, (text, _) in run_config.PRESETS.items())
    train = commands.add_parser(
        "train", parents=[common], help="train a GAN into a run folder (or resume one)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=f"presets:\n{presets}\n\nFlags override the preset's values.",
    )
    train.add_argument("--out", help="run folder to create")
    train.add_argument("--resume", metavar="RUN", help="continue an interrupted run folder")
    train.add_argument("--preset", help="named settings, listed below")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    add_setting_flags(train)
    train.set_defaults(func=_train)

    tune = commands.add_parser(
        "tune", parents=[common], help="search hyperparameters with Keras Tuner",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Trains one run per trial and scores it by a quality measure of its "
        "samples (not by a loss). Searched by default: " + ", ".join(tuning.DEFAULT_SPACE) + ". "
        "Model, loss "
        "and optimization flags fix that setting in the search; --space FILE.json gives "
        "ranges ({\"g_learning_rate\": {\"min\": 1e-5, \"max\": 1e-3, \"log\": true}, "
        "\"loss\": [\"wgan-gp\", \"dragan\"], \"width\": 0.5}). Run it again with the same "
        "--out to resume. Distributed: start one chief and N workers with "
        "KERASTUNER_TUNER_ID=chief|tuner0|..., KERASTUNER_ORACLE_IP and "
        "KERASTUNER_ORACLE_PORT set.",
    )
    tune.add_argument("--out", required=True, help="search folder")
    tune.add_argument("--tuner", choices=tuning.TUNERS, default="random")
    tune.add_argument("--max-trials", type=int, default=10, help="number of trials (10)")
    tune.add_argument("--objective", choices=sorted(tuning.OBJECTIVES), default="swd",
                      help="quality measure to optimize (swd, minimized)")
    tune.add_argument("--space", metavar="FILE.json", help="search space")
    tune.add_argument("--no-default-space", action="store_true",
                      help="search only what --space gives")
    tune.add_argument("--preset", default="paper-dcgan",
                      help="base settings (default: paper-dcgan)")
    tune.add_argument("--top", type=int, default=4, help="trials in best_trials.png (4)")
    tune.add_argument("--overwrite", action="store_true", help="start afresh, do not resume")
    add_setting_flags(tune, required=("source",))
    tune.set_defaults(func=_tune)

    evaluate = commands.add_parser(
        "evaluate", parents=[common],
        help="measure realism, diversity, SWD, MS-SSIM and memorization",
        description="Evaluates generated images against a reference set: the paper's rho, "
        "sigma and delta, multi-scale SWD, MS-SSIM diversity, memorization, and latent "
        "interpolation strips when a generator is given. A conditional generator: every "
        "measure per class against that class's real slices, and class fidelity; the real "
        "slices are labelled by --labels, or else by the labels the generator was trained "
        "with.",
    )
    evaluate.add_argument("--generated", required=True,
                          help="folder of images, run folder, .keras GAN or SavedModel")
    evaluate.add_argument("--reference", required=True,
                          help="the real images (folder, files, 'demo' or 'demo:N'), or a "
                          "statistics .npz")
    evaluate.add_argument("--reference-stats", metavar="FILE.npz",
                          help="reuse this statistics file, or write it after fitting")
    evaluate.add_argument("--n", type=int,
                          help="images to sample from a generator, per class for a "
                          "conditional one (default: 1000), or the most to read from a folder")
    evaluate.add_argument("--out", default="evaluation", help="report folder")
    evaluate.add_argument("--seed", type=int, default=0)
    _raw_generator(evaluate)
    evaluate.add_argument("--memorization", choices=MEMORIZATION_SOURCES,
                          default="reference",
                          help="search for near copies among the reference's slices (default) "
                          "or among the slices the run folder given as --generated trained on")
    evaluate.add_argument("--segmenter-steps", type=int, default=600,
                          help="updates of the U-Net that checks whether a pair generator's "
                          "masks fit its images (default: 600)")
    add_setting_flags(evaluate, ("subject_pattern", "masks", "mask_classes", *LABEL_SETTINGS))
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
    _raw_generator(export)
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
    gen.add_argument("--no-masks", action="store_true",
                     help="generators of image + mask pairs: write the images only (default: "
                     "OUT/images/NAME and OUT/masks/NAME, masks in the training masks' values)")
    _raw_generator(gen)
    gen.add_argument("--out", required=True, help="output folder")
    gen.set_defaults(func=_generate)

    util = commands.add_parser(
        "utility", parents=[common],
        help="do synthetic slices help a classifier (or, with --task segmentation, a "
        "U-Net)? train it on real, real + classic augmentation, real + synthetic and "
        "synthetic slices; test on held-out subjects",
        description="Splits the labelled data (with --task segmentation: the image and mask "
        "pairs, --masks) by subject, trains a GAN (the preset) on each fraction or number of "
        "the training subjects, then a fixed small CNN (a U-Net) on every mix, over several "
        "seeds; writes utility.md, utility.json and utility.png.",
    )
    add_setting_flags(util, required=("source",))
    util.add_argument("--preset", default="demo-dcgan",
                      help="the generators' training settings (default: demo-dcgan)")
    util.add_argument("--task", choices=("classification", "segmentation"),
                      default="classification",
                      help="classify slices (labels) or segment them (masks); default: "
                      "classification")
    util.add_argument("--fractions", default=None,
                      help="classification: fractions of the training subjects, "
                      "comma-separated (default: 0.25,1)")
    util.add_argument("--subjects", default="2,4,8,all",
                      help="segmentation: numbers of training subjects, comma-separated, or "
                      "all (default: 2,4,8,all)")
    util.add_argument("--segmenter-steps", type=int, default=600,
                      help="segmentation: updates of every U-Net (default: 600)")
    util.add_argument("--seeds", type=int, default=5, help="seeds per row (default: 5)")
    util.add_argument("--test-fraction", type=float, default=0.3,
                      help="fraction of each class's subjects held out for testing (0.3)")
    util.add_argument("--classifier-epochs", type=int, default=15,
                      help="epochs of every classifier (default: 15)")
    util.add_argument("--generator", metavar="RUN_OR_SAVEDMODEL",
                      help="reuse a trained conditional generator for a single fraction "
                      "(refused if it has seen a test subject)")
    util.add_argument("--rows", metavar="ROW,ROW", default=None,
                      help="only these rows, comma-separated (default: all of real, "
                      "real+classic, real+synthetic 1:1, real+synthetic 1:2, synthetic, ...)")
    util.add_argument("--out", required=True, help="output folder")
    util.set_defaults(func=_utility)

    demo = commands.add_parser(
        "demo", parents=[common],
        help="train the demo preset on the embedded demo cohort, at most 10 minutes in all",
        description="Trains the demo preset for at most --minutes (default 10) in all, the "
        "demo cohort's first build included; flags override its settings.",
    )
    demo.add_argument("--out", default="runs/demo", help="run folder (default: runs/demo)")
    demo.add_argument("--preset", default=None, choices=sorted(
        name for name in run_config.PRESETS if name.startswith("demo-")),
        help=f"the settings to train (default: {run_config.DEMO_PRESET}, or "
        f"{run_config.DEMO_SMALL_BUDGET_PRESET} where a few timed steps say this CPU trains "
        f"fewer than {run_config.DEMO_SMALL_BUDGET_IMAGES:,} images of it in the budget)")
    add_setting_flags(demo)
    demo.set_defaults(func=_demo)
    return parser


# The errors the package raises on purpose about what it was given: reported in one line
# (unless --verbose), when raised by the package's own code.
_USAGE_ERRORS = (ValueError, FileNotFoundError, FloatingPointError)
_PACKAGE_DIR = Path(__file__).resolve().parent


def _raised_by_package(exc):
    """Whether ``exc`` was raised in this package's code, not inside Keras or TensorFlow
    (an error there is a bug to show whole, not a message about the arguments)."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return Path(tb.tb_frame.f_code.co_filename).resolve().is_relative_to(_PACKAGE_DIR)


@contextlib.contextmanager
def _progress_to_stdout():
    """The package's ``logging`` lines (training progress, rollbacks) on standard output
    while a command runs; the logger is as it was afterwards."""
    logger = logging.getLogger("keras_mrigan")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv=None, started=None):
    """Runs ``keras-mrigan`` with ``argv`` (default: the process's arguments).

    Args:
        argv: the command line's arguments.
        started: when the command started, on ``time.monotonic`` (default: now): the demo's
            time budget counts from it.

    Returns:
        The exit status.
    """
    started = time.monotonic() if started is None else started
    argv = sys.argv[1:] if argv is None else list(argv)
    verbose = "--verbose" in argv
    args = build_parser().parse_args(argv)
    args.started = started
    try:
        with _progress_to_stdout():
            args.func(args)
    except _USAGE_ERRORS as exc:
        if verbose or not _raised_by_package(exc):
            raise
        print(f"keras-mrigan: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
