"""Evaluating generated images (``keras-mrigan evaluate``): of a run folder, an exported
SavedModel or a folder of images, against the reference statistics of real data; class by
class, with class fidelity, for a conditional generator; and the reports.

A generator is sampled through the one seed mapping (``runs.Sampler``): image ``i`` of seed
``s`` is the image of ``seed_latents([s + i])``, so a run folder and its export are scored on
the same images.

A generator of image + mask pairs is measured on its images (channel 0) like any other, and
its masks too (``mask_measures``): their class proportions per slice against the real masks',
and whether each mask fits its image, the Dice of a segmenter trained on real pairs applied
to the generated images against their own generated masks.

A report is built in a temporary folder beside ``out`` and moved into place only when
complete, so a failing evaluation leaves no half-written report.
"""

import contextlib
import dataclasses
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from keras_mrigan import runs
from keras_mrigan.config import RunConfig
from keras_mrigan.data.labels import label_options
from keras_mrigan.data.masks import split_pair
from keras_mrigan.data.pipeline import SliceOptions, load_slices
from keras_mrigan.data.readers import find_files, read_image
from keras_mrigan.deprecation import moved
from keras_mrigan.generate import generate
from keras_mrigan.metrics.fidelity import fidelity_scores, fidelity_table
from keras_mrigan.metrics.interpolation import save_interpolation
from keras_mrigan.metrics.masks import class_proportions, proportion_distance
from keras_mrigan.metrics.memorization import MemorizationIndex, pool, save_closest_pairs
from keras_mrigan.metrics.msssim import mean_ms_ssim
from keras_mrigan.metrics.reference import (
    BASELINE,
    MS_SSIM_PAIRS,
    SWD_IMAGES,
    ReferenceStats,
    cheap_measures,
    paper_measures,
    swd_sample,
)
from keras_mrigan.metrics.swd import swd
from keras_mrigan.runs import Sampler, is_saved_model
from keras_mrigan.training import slice_options
from keras_mrigan.utility import (
    SEGMENTER_STEPS,
    scores,
    segmentation_scores,
    subject_split,
    train_classifier,
    train_segmenter,
)

__all__ = [
    "BASELINE", "MS_SSIM_PAIRS", "SWD_IMAGES", "GeneratedSet", "Report", "ReferenceStats",
    "cheap_measures", "class_fidelity", "evaluate", "evaluate_classes", "evaluate_path",
    "fidelity_table", "load_generated", "mask_fit", "mask_measures", "mask_table", "table",
    "training_index",
]

logger = logging.getLogger(__name__)

# Loading reference statistics moved to ``keras_mrigan.runs``.
__getattr__ = moved(__name__, ("load_reference",), "keras_mrigan.runs")

DEFAULT_N = 1000  # Images sampled from a generator (per class for a conditional one).
CLASSIFIER_EPOCHS = 15
MEMORIZATION_SOURCES = ("reference", "training")


@contextlib.contextmanager
def report_folder(out):
    """Yields an empty temporary folder beside ``out``; when the block succeeds its files
    become ``out``'s (``out`` itself is created then, or, if it exists, receives them one
    by one, other files left alone). When the block raises, nothing is left behind."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        yield staging
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(staging, 0o777 & ~umask)  # mkdtemp makes a private folder.
        if not out.exists():
            staging.rename(out)
            return
        for item in staging.iterdir():
            target = out / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(item, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def measure(images, stats, seed=0, index=None):
    """All measures of ``images`` ``(n, H, W[, 1])`` in ``[-1, 1]`` against ``stats``.

    Args:
        index: the ``MemorizationIndex`` the memorization search compares with (default:
            the reference's own, ``stats.memorization_index``).

    Returns:
        ``(metrics, thumbnails, found)``: the ``metrics.json`` dict, the generated images'
        memorization thumbnails and the memorization search's result.
    """
    images = np.asarray(images, np.float32)
    if images.ndim == 4:
        images = images[..., 0]
    if images.shape[1] != stats.resolution:
        raise ValueError(f"The generated images are {images.shape[1]} pixels wide, the "
                         f"reference statistics {stats.resolution}: fit them at the same size.")
    result = paper_measures(images, stats.paper, seed)
    result["explained_variance_16"] = stats.paper.explained_variance
    result["swd"] = swd(stats.swd_descriptors, swd_sample(images, seed), seed=seed)
    result["ms_ssim"] = mean_ms_ssim(images, MS_SSIM_PAIRS, seed=seed)
    thumbnails = pool(images)
    found = (index or stats.memorization_index).search(thumbnails)
    result["memorization"] = {k: v for k, v in found.items() if k not in ("nearest", "distance")}
    result["reference"] = stats.row
    return result, thumbnails, found


def evaluate(images, stats, out=None, name="generated", generate=None, seed=0, masks=None,
             index=None):
    """All measures of ``images`` against ``stats``; with ``out``, writes the report.

    Args:
        images: ``(n, H, W[, 1])`` generated images in ``[-1, 1]``.
        stats: a ``ReferenceStats`` at the same resolution.
        out: folder for ``metrics.json``, ``table.md``, ``memorization.png`` and (with
            ``generate``) ``interpolation.png``; written only when everything succeeded.
        name: the generated set's name in the table.
        generate: optional ``(latent_fn, latent_dim, distribution)`` for interpolation strips.
        seed: seed of the samples the measures draw (and of the interpolation's ends).
        masks: the measures of a pair generator's masks (``mask_measures``), kept as
            ``metrics.json``'s ``masks`` and tabled after the images'.
        index: the ``MemorizationIndex`` of the memorization search (default: the
            reference's); ``training_index`` gives the slices a run trained on.

    Returns:
        The ``metrics.json`` dict.
    """
    index = index or stats.memorization_index
    result, thumbnails, found = measure(images, stats, seed, index)
    if masks is not None:
        result["masks"] = masks
    if out is not None:
        with report_folder(out) as folder:
            save_closest_pairs(thumbnails, index.thumbnails, found, folder / "memorization.png")
            if generate is not None:
                fn, latent_dim, distribution = generate
                save_interpolation(fn, latent_dim, folder / "interpolation.png", distribution,
                                   seed=seed)
            (folder / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
            (folder / "table.md").write_text(table(result, name))
    return result


def table(result, name="generated"):
    """A Markdown table in the layout of the paper's Table 3, reference set first."""
    head = ("| Model | n | ρ | σ | σ / n | δ | SWD ×1e3 | MS-SSIM | memorized |\n"
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")

    def row(label, r, memorized):
        return (f"| {label} | {r['n']} | {r['rho']:.3f} | {r['sigma']:.1f} | "
                f"{r['sigma_per_image']:.4f} | {r['delta']} | {r['swd']['mean']:.2f} | "
                f"{r['ms_ssim']:.3f} | {memorized} |\n")

    fraction = result["memorization"]["fraction_below"]
    floor = result["reference"]["swd"]["mean"]
    return (head + row("Training dataset", result["reference"], "-")
            + row(name, result, f"{fraction:.1%}")
            + f"\nSWD: {result['swd']['mean'] / floor:.2f}x the floor ({floor:.2f}: two samples "
            "of the reference's own slices; real slices of people outside the reference score "
            "above it).\n"
            + memorized_line(result["memorization"])
            + f"The principal directions explain {result['explained_variance_16']:.1%} of "
            "the reference set's variance.\n"
            + ("" if "masks" not in result else "\n" + mask_table(result["masks"])))


def memorized_line(found):
    """The table's line that says what "memorized" counted, and against which slices."""
    against = found.get("against")  # None in reports written before it was recorded.
    slices = ("the reference's slices" if against is None else
              f"the {against['slices']:,} {against['source']} slices "
              f"({against['subjects']:,} subjects)")
    return (f"Memorized: generated images closer to one of {slices} than "
            f"{100 - found['percentile']:g} % of real slices are to their nearest slice of "
            "another person.\n")


def mask_table(masks):
    """Markdown of a pair generator's mask measures (``mask_measures``): class proportions
    and whether the masks fit their images."""
    proportions, fit = masks["proportions"], masks["fit"]
    lines = ["Masks: class proportions per slice (mean ± std) and the 1-D Wasserstein distance "
             "between the real and generated distributions of each; Dice of a U-Net trained "
             "on real pairs, on held-out real slices and on the generated images against "
             "their own masks (mean: the distance over every class, the Dice over the "
             "foreground classes).", "",
             "| class | real proportion | generated proportion | Wasserstein | Dice, real "
             "held out | Dice, generated |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, c in proportions["classes"].items():
        lines.append(f"| {name} | {c['real_mean']:.3f} ± {c['real_std']:.3f} | "
                     f"{c['generated_mean']:.3f} ± {c['generated_std']:.3f} | "
                     f"{c['wasserstein']:.4f} | {fit['real_held_out'][f'dice_{name}']:.3f} | "
                     f"{fit['generated'][f'dice_{name}']:.3f} |")
    lines.append(f"| mean | | | {proportions['mean_wasserstein']:.4f} | "
                 f"{fit['real_held_out']['dice_mean']:.3f} | "
                 f"{fit['generated']['dice_mean']:.3f} |")
    return "\n".join(lines) + "\n"


@dataclasses.dataclass
class GeneratedSet:
    """Images to evaluate and, when they come from a generator, the means to make more."""

    images: np.ndarray
    name: str
    generate: tuple | None = None  # (latents -> images, latent_dim, distribution)


def is_generator(path):
    """Whether ``path`` is a SavedModel, a run folder or a ``.keras`` GAN (else: images)."""
    path = Path(path)
    return (is_saved_model(path) or path.suffix == ".keras" or (path / "config.json").exists()
            or (path / "model.keras").exists())


def load_generated(path, n=None, seed=0, batch_size=64, raw=False):
    """Reads or samples the set to evaluate.

    Args:
        path: a folder (or file) of images; a run folder (its ``model.keras``) or a ``.keras``
            GAN; or a SavedModel folder exported by ``keras-mrigan export``.
        n: how many images to sample from a generator (default 1,000, seeds ``seed ...
            seed + n - 1``), or the most to read from a folder (default: all).
        raw: sample a run with its trained generator, not its moving average.

    Raises:
        ValueError: a conditional generator (evaluate it with ``evaluate_classes``), or a
            folder without images.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder to evaluate")
    if is_generator(path):
        sampler = Sampler(path, raw=raw)
        if sampler.class_names:
            raise ValueError(f"{path} is a conditional generator: evaluate it class by class "
                             "against labelled real data (--labels).")
        images = generate(sampler, n or DEFAULT_N, seed=seed, batch_size=batch_size,
                          progress=False)[..., 0]
        return GeneratedSet(images, path.name, (sampler.from_latents, sampler.latent_dim,
                                                sampler.latent_distribution))
    files = find_files(path)
    if not files:
        raise ValueError(f"{path}: no images found to evaluate")
    size = read_image(files[0]).shape[0]
    images = load_slices(path, size, min_foreground=0.0)[..., 0]
    if n is not None:
        images = images[:n]
    return GeneratedSet(images, path.name)


def class_fidelity(real_images, real_labels, real_subjects, generated, class_names, seed=0,
                   epochs=CLASSIFIER_EPOCHS, test_fraction=0.3):
    """How often a classifier trained on real slices recognizes the class asked for.

    The classifier (``utility.train_classifier``) is trained on a subject split of the real
    slices; its balanced accuracy on the held-out subjects is set beside its accuracy on each
    generated class (``metrics.fidelity.fidelity_scores``).

    Args:
        real_images, real_labels, real_subjects: the labelled reference slices.
        generated: ``{class index: images}``.
        test_fraction: subjects held out to measure the classifier on real slices.

    Returns:
        ``{"real_held_out": accuracy on held-out real subjects, "generated": {class name:
        accuracy}, "generated_mean": mean over classes}``.
    """
    train, _ = subject_split(real_subjects, real_labels, test_fraction, seed)
    fit = np.isin(real_subjects, train)
    model = train_classifier(real_images[fit], real_labels[fit], len(class_names), seed=seed,
                             epochs=epochs)
    real = scores(model, real_images[~fit], real_labels[~fit],
                  len(class_names))["balanced_accuracy"]
    predicted = {label: model.predict(images, batch_size=256, verbose=0)
                 for label, images in generated.items()}
    return fidelity_scores(predicted, class_names, real_held_out=real)


def mask_fit(real_images, real_masks, real_subjects, images, masks, class_names, seed=0,
             steps=SEGMENTER_STEPS, test_fraction=0.3):
    """Does each generated mask fit its image? The Dice of a segmenter trained on real pairs,
    applied to the generated images, against the generated masks.

    The segmenter (``utility.train_segmenter``) is trained on a subject split of the real
    pairs; its Dice on the held-out real subjects is set beside its Dice on the generated
    pairs, the ceiling a generator whose masks fit its images would reach.

    Args:
        real_images, real_masks, real_subjects: the real pairs and their subjects.
        images, masks: the generated images ``(n, H, W[, 1])`` and their masks ``(n, H, W)``.
        class_names: the masks' classes, in index order.
        seed: the segmenter's seed and the split's.
        steps: the segmenter's updates.
        test_fraction: subjects held out to measure the segmenter on real pairs.

    Returns:
        ``{"real_held_out": {...}, "generated": {...}}``, each the measures of
        ``utility.segmentation_scores`` (``dice_mean``, ``dice_<class>``).
    """
    real_subjects = np.asarray(real_subjects).astype(str)
    train, _ = subject_split(real_subjects, np.zeros(len(real_subjects), np.int32),
                             test_fraction, seed)
    fit = np.isin(real_subjects, train)
    model = train_segmenter(real_images[fit], real_masks[fit], len(class_names), seed=seed,
                            steps=steps)
    return {"real_held_out": segmentation_scores(model, real_images[~fit], real_masks[~fit],
                                                 class_names),
            "generated": segmentation_scores(model, images, masks, class_names)}


def mask_measures(images, masks, real_pairs, mask_classes, real_subjects, seed=0,
                  steps=SEGMENTER_STEPS):
    """The measures of a pair generator's masks against real pairs.

    Args:
        images: generated images ``(n, H, W[, 1])``.
        masks: their masks, class indices ``(n, H, W)``.
        real_pairs: real pairs ``(m, H, W, 1 + K)`` (``data.load_slices`` with masks).
        mask_classes: their ``MaskClasses``.
        real_subjects: the subject of each real pair.
        seed: the segmenter's seed.
        steps: the segmenter's updates.

    Returns:
        ``{"proportions": metrics.masks.proportion_distance(...), "fit": mask_fit(...)}``.
    """
    names = list(mask_classes.names)
    real_images, real_masks = split_pair(real_pairs)
    proportions = proportion_distance(class_proportions(masks, len(names)),
                                      class_proportions(real_masks, len(names)), names)
    fit = mask_fit(real_images, real_masks, real_subjects, images, masks, names, seed=seed,
                   steps=steps)
    return {"proportions": proportions, "fit": fit}


def _real_pairs(sampler, reference, options):
    """The real pairs to measure a pair generator's masks against: the reference read with
    ``options.masks``, or else with the masks setting the generator's run recorded."""
    if options.masks is None:
        data = (sampler.config or {}).get("data", {})
        if not data.get("masks"):
            raise ValueError(f"{sampler.path} makes image + mask pairs: give the reference's "
                             "masks (--masks demo, a folder or a pattern) to measure its masks "
                             "against real ones.")
        options = dataclasses.replace(options, masks=data["masks"],
                                      mask_classes=data.get("mask_classes"))
    pairs, mask_classes, subjects = load_slices(reference, sampler.resolution, options,
                                                return_subjects=True)
    if mask_classes.num_classes != sampler.mask_classes.num_classes:
        raise ValueError(f"The reference's masks have {mask_classes.num_classes} classes "
                         f"({', '.join(mask_classes.names)}), the generator's "
                         f"{sampler.mask_classes.num_classes} "
                         f"({', '.join(sampler.mask_classes.names)}).")
    return pairs, mask_classes, subjects


def evaluate_classes(sampler, reference, labels, n=DEFAULT_N, seed=0, out=None, options=None,
                     classifier_epochs=CLASSIFIER_EPOCHS, progress=None, batch_size=64):
    """Evaluates a conditional generator class by class, with class fidelity.

    Args:
        sampler: a ``runs.Sampler`` of a conditional generator.
        reference: the labelled real data (path or ``"demo"``).
        labels: its labels (``data.labels.LabelOptions``, ``"folders"``, ``"demo"``, ...);
            their class names must be the generator's.
        n: generated images per class (seeds ``seed ... seed + n - 1`` for each).
        out: folder for ``classes.json``, ``classes.md`` and one ``evaluate`` report per
            class (``out/<class>/``), written only when everything succeeded.
        progress: a callable taking a message (default: this module's logger).

    Returns:
        ``{"classes": {name: metrics}, "fidelity": class_fidelity(...)}``.
    """
    say = progress or logger.info
    if not sampler.class_names:
        raise ValueError(f"{sampler.path} is unconditional: per-class evaluation needs a "
                         "conditional generator (trained with --labels).")
    real, real_labels, names, subjects = load_slices(reference, sampler.resolution, options,
                                                     labels=labels, return_subjects=True)
    if sorted(names) != sorted(sampler.class_names):
        raise ValueError(f"The reference's classes {list(names)} are not the generator's "
                         f"{list(sampler.class_names)}.")
    with contextlib.ExitStack() as stack:
        folder = None if out is None else stack.enter_context(report_folder(out))
        results, generated = {}, {}
        for label, name in enumerate(names):
            say(f"class {name}: {n} generated images against "
                f"{int((real_labels == label).sum())} real slices")
            images = generate(sampler, n, seed=seed, batch_size=batch_size, progress=False,
                              label=name)
            generated[label] = images
            mine = real_labels == label
            stats = ReferenceStats.fit(real[mine][..., 0], n=n, seed=seed,
                                       subjects=subjects[mine])
            results[name] = evaluate(images[..., 0], stats, name=name, seed=seed,
                                     out=None if folder is None else folder / name)
        say("class fidelity: a classifier trained on real slices labels the generated ones")
        fidelity = class_fidelity(real, real_labels, subjects, generated, names, seed=seed,
                                  epochs=classifier_epochs)
        report = {"classes": results, "fidelity": fidelity}
        if folder is not None:
            (folder / "classes.json").write_text(json.dumps(report, indent=2) + "\n")
            (folder / "classes.md").write_text(classes_table(report))
    return report


def classes_table(report):
    """Markdown: one table per class and the class fidelity."""
    text = [f"## {name}\n\n{table(result, name)}" for name, result in report["classes"].items()]
    text.append(fidelity_table(report["fidelity"]))
    return "\n".join(text)


@dataclasses.dataclass
class Report:
    """What ``evaluate_path`` measured and wrote.

    Attributes:
        name: the evaluated set's name (its folder's).
        metrics: the ``metrics.json`` dict, or for a conditional generator the
            ``classes.json`` dict (``{"classes": {name: metrics}, "fidelity": {...}}``).
        files: the names written in ``out`` (empty without ``out``).
        per_class: whether the generator was evaluated class by class.
    """

    name: str
    metrics: dict
    files: list
    per_class: bool = False

    def text(self):
        """The report's Markdown tables."""
        return classes_table(self.metrics) if self.per_class else table(self.metrics, self.name)


def training_labels(sampler):
    """The labels a conditional generator was trained with (a ``LabelOptions``), from its run's
    config or its SavedModel's metadata; ``None`` when neither records them."""
    if sampler.config is not None:
        data = sampler.config.get("data", {})
    else:
        data = (sampler.metadata or {}).get("labels") or {}
    if not data.get("labels"):
        return None
    return label_options(data["labels"], label_column=data.get("label_column"),
                         id_column=data.get("id_column"), label_map=data.get("label_map"),
                         drop_unlabelled=data.get("drop_unlabelled"))


def training_index(run, resolution, seed=0, progress=None):
    """The ``MemorizationIndex`` of the slices a run trained on: its configured source, read
    with its slice options, of the subjects its ``split.json`` records.

    Searched against these, "memorized" asks what the measure is for, whether the generator
    copies its own training images, when the reference holds other people (or only some of
    the training ones).

    Raises:
        ValueError: ``run`` is not a run folder, or it trained on slices given in memory.
    """
    run = Path(run)
    recorded = runs.read_config(run) if run.is_dir() else None
    if recorded is None:
        raise ValueError(f"{run} is not a run folder (no {runs.CONFIG}): it records no "
                         "training slices to search. Pass a run folder, or search the "
                         "reference (--memorization reference).")
    if runs.trained_in_memory(run):
        raise ValueError(f"{run} trained on a selection of slices given in memory, not on its "
                         "configured source: its training slices cannot be read again. Search "
                         "the reference (--memorization reference).")
    config = RunConfig.from_dict(recorded)
    options = dataclasses.replace(slice_options(config), masks=None, mask_classes=None)
    say = progress or (lambda message: None)
    say(f"training slices: reading {config.data.source} at {resolution} x {resolution}")
    images, subjects = load_slices(config.data.source, resolution, options,
                                   return_subjects=True)
    split = runs.read_split(run)
    if split is not None:  # The run's subjects only (a labelled run drops unlabelled ones).
        keep = np.isin(subjects, split)
        images, subjects = images[keep], subjects[keep]
    return MemorizationIndex.fit(images[..., 0], subjects, np.random.default_rng(seed),
                                 source="training")


def evaluate_path(generated, reference, out=None, n=None, seed=0, raw=False, labels=None,
                  stats_path=None, options=None, classifier_epochs=CLASSIFIER_EPOCHS,
                  batch_size=64, progress=None, segmenter_steps=SEGMENTER_STEPS,
                  memorization="reference"):
    """Evaluates a generator or a folder of images against real data: what
    ``keras-mrigan evaluate`` does.

    An unconditional generator or a folder of images is measured against the reference's
    statistics (``evaluate``); a generator of image + mask pairs also has its masks measured
    against the reference's real pairs (``mask_measures``: read with ``options.masks``, or
    the masks setting its run recorded). A conditional generator is evaluated class by class,
    with class fidelity (``evaluate_classes``), against the reference labelled by ``labels``,
    or without them by the labels it was trained with (recorded in its run's config or its
    export's metadata); when it records none, this fails before any work.

    Args:
        generated: a run folder, a ``.keras`` GAN, a SavedModel, or a folder of images.
        reference: the real data (a path or ``"demo"``) or, for an unconditional set, a
            statistics ``.npz``.
        out: the report folder (``None``: measure only).
        n: images to sample (per class for a conditional generator; default 1,000) or the
            most to read from a folder (default: all).
        seed: image ``i`` is made from seed ``seed + i``; also the measures' sampling seed.
        raw: sample a run with its trained generator, not its moving average.
        labels: the reference's labels (``"folders"``, ``"demo"``, a CSV table or a
            ``LabelOptions``), for a conditional generator.
        stats_path: a file that keeps the reference statistics between calls (refitted when
            it was fitted on other data or settings).
        options: the ``SliceOptions`` the reference is read with.
        classifier_epochs: epochs of the class-fidelity classifier.
        batch_size: images per generator call.
        progress: a callable taking a message (default: this module's logger).
        segmenter_steps: updates of the segmenter that measures a pair generator's masks.
        memorization: what the memorization search compares with: ``"reference"`` (the
            reference's slices) or ``"training"`` (the slices a run folder trained on,
            ``training_index``; unconditional generators).

    Returns:
        A ``Report``.

    Raises:
        ValueError: ``n`` not a positive integer; ``labels`` for a set that is not a
            conditional generator; a conditional generator without labels to evaluate it by;
            ``memorization="training"`` for a set that is not an unconditional run folder.
    """
    say = progress or logger.info
    if n is not None and (isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1):
        raise ValueError(f"`n` must be a positive integer. Received: n={n!r}")
    if memorization not in MEMORIZATION_SOURCES:
        raise ValueError(f"`memorization` must be one of {MEMORIZATION_SOURCES}. Received: "
                         f"memorization={memorization!r}")
    options = options or SliceOptions()
    path = Path(generated)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder to evaluate")
    sampler = Sampler(path, raw=raw) if is_generator(path) else None
    if labels is not None and (sampler is None or not sampler.class_names):
        raise ValueError(f"{path} is not a conditional generator: --labels applies to "
                         "generators trained with labels.")
    if memorization == "training" and (sampler is None or sampler.config is None
                                       or sampler.class_names):
        raise ValueError(f"{path} is not the run folder of an unconditional generator: "
                         "--memorization training searches the slices a run folder records "
                         "it trained on.")
    index = None if memorization == "reference" else training_index(
        path, sampler.resolution, seed=seed,
        progress=lambda message: say(f"memorization: {message}"))
    if options.masks is not None and (sampler is None or sampler.mask_classes is None):
        raise ValueError(f"{path} makes no masks: --masks applies to generators trained on "
                         "image + mask pairs.")
    if sampler is not None and sampler.class_names:
        # Class by class, the images are measured; a pair generator's masks are not.
        options = dataclasses.replace(options, masks=None, mask_classes=None)
        labels = label_options(labels) if labels is not None else training_labels(sampler)
        if labels is None:
            raise ValueError(
                f"{path} is a conditional generator of classes {list(sampler.class_names)} "
                "that does not record the labels it was trained with: pass the reference's "
                "labels (--labels folders, --labels demo or --labels TABLE.csv with "
                "--label-column) to evaluate it class by class.")
        say(f"{path.name}: a conditional generator, evaluated class by class "
            f"({', '.join(sampler.class_names)}) with labels {labels.labels!r}")
        report = evaluate_classes(sampler, reference, labels, n=n or DEFAULT_N, seed=seed,
                                  out=out, options=options, progress=say,
                                  classifier_epochs=classifier_epochs, batch_size=batch_size)
        files = [] if out is None else ["classes.json", "classes.md",
                                         *(f"{name}/" for name in report["classes"])]
        return Report(path.name, report, files, per_class=True)
    masks = None
    if sampler is not None:
        pairs = sampler.mask_classes is not None
        images = generate(sampler, n or DEFAULT_N, seed=seed, batch_size=batch_size,
                          progress=False, **({"return_masks": True} if pairs else {}))
        if pairs:
            images, generated_masks = images
        found = GeneratedSet(images[..., 0], path.name, (sampler.from_latents,
                                                         sampler.latent_dim,
                                                         sampler.latent_distribution))
        if pairs:
            real_pairs, mask_classes, real_subjects = _real_pairs(sampler, reference, options)
            say(f"masks: class proportions and their fit to the images, against "
                f"{len(real_pairs)} real pairs ({', '.join(mask_classes.names)})")
            masks = mask_measures(found.images, generated_masks, real_pairs, mask_classes,
                                  real_subjects, seed=seed, steps=segmenter_steps)
            # The images' statistics are of the images alone.
            options = dataclasses.replace(options, masks=None, mask_classes=None)
    else:
        found = load_generated(path, n=n, seed=seed, batch_size=batch_size)
    say(f"{len(found.images)} generated images of {found.images.shape[1:]} from {path}")
    stats = runs.load_reference(reference, found.images.shape[1], n=len(found.images),
                                stats_path=stats_path, seed=seed, options=options,
                                progress=lambda message: say(f"reference: {message}"))
    result = evaluate(found.images, stats, out=out, name=found.name, generate=found.generate,
                      seed=seed, masks=masks, index=index)
    files = [] if out is None else ["metrics.json", "table.md", "memorization.png",
                                    *(["interpolation.png"] if found.generate else [])]
    return Report(found.name, result, files)

