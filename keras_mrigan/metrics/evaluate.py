"""Reference statistics and the full evaluation of a generated set (``keras-mrigan evaluate``).

A ``ReferenceStats`` holds what the measures need from the real images, fitted once and saved
to one ``.npz``: the paper's mean image and principal directions, SWD descriptors of a sample,
32 x 32 thumbnails for the memorization search with each one's subject (the real-to-real
baseline is a sample of them against their nearest image of another subject), and the
reference set's own row of the table.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from keras_mrigan.metrics import memorization as memo
from keras_mrigan.metrics import msssim, swd
from keras_mrigan.metrics.paper import PaperReference, diversity
from keras_mrigan.utils import atomic_path

SWD_IMAGES = 1024  # Images per set whose patches the SWD compares.
BASELINE = 1000  # Reference images in the memorization baseline (against other subjects).
MS_SSIM_PAIRS = 1000


@dataclasses.dataclass
class ReferenceStats:
    """Everything the measures need from a reference (real) image set; see ``fit``."""

    paper: PaperReference
    swd_descriptors: list
    thumbnails: np.ndarray  # (n, 32, 32) average-pooled reference images.
    subjects: np.ndarray  # (n,) integer subject of each thumbnail.
    baseline: np.ndarray  # Indices of the thumbnails that form the real-to-real baseline.
    row: dict  # The reference set's own measures (the first row of the table).

    @property
    def resolution(self):
        return int(self.paper.shape[0])

    @classmethod
    def fit(cls, images, n=None, seed=0, swd_images=SWD_IMAGES, progress=None, subjects=None):
        """Fits the statistics of ``images`` ``(N, H, W[, 1])`` in ``[-1, 1]``.

        Args:
            subjects: each image's subject (``load_slices(..., return_subjects=True)``): the
                memorization baseline compares images of different subjects. ``None``: each
                image is its own subject (then an image's nearest other image is usually the
                neighbouring slice of the same person, and the baseline is far too strict).
            n: images in the reference's own table row (its sigma grows with n; use the
                generated set's size). Default: all.
            progress: a callable taking a message, or ``None``.
        """
        images = np.asarray(images, np.float32)
        say = progress or (lambda message: None)
        rng = np.random.default_rng(seed)
        say(f"fitting the mean and 16 principal directions of {len(images)} images")
        paper = PaperReference.fit(images, seed=seed)
        say("SWD descriptors")
        sample = rng.choice(len(images), min(swd_images, len(images)), replace=False)
        descriptors = swd.descriptors(images[sample], seed=seed)
        thumbnails = memo.pool(images)
        codes = (np.arange(len(images)) if subjects is None
                 else np.unique(np.asarray(subjects), return_inverse=True)[1])
        if codes.max() < 1:
            raise ValueError("The memorization baseline needs images of at least 2 subjects; "
                             f"all {len(images)} reference images are of one.")
        baseline = np.sort(rng.choice(len(images), min(BASELINE, len(images)), replace=False))
        stats = cls(paper, descriptors, thumbnails, codes, baseline, {})
        say("the reference set's own measures")
        own = images if n is None or n >= len(images) else images[
            rng.choice(len(images), n, replace=False)]
        other = rng.choice(len(images), min(swd_images, len(images)), replace=False)
        stats.row = {
            **_paper_measures(own, paper, seed),
            # A second sample of the same set: the SWD floor of two real samples.
            "swd": swd.swd(descriptors, swd.descriptors(images[other], seed=seed + 7),
                           seed=seed),
            "ms_ssim": msssim.mean_ms_ssim(own, MS_SSIM_PAIRS, seed=seed),
        }
        return stats

    def save(self, path):
        """Writes the statistics to one ``.npz`` (atomically)."""
        arrays = {f"swd_{i}": d for i, d in enumerate(self.swd_descriptors)}
        self.paper.save(path, thumbnails=self.thumbnails, subjects=self.subjects,
                        baseline=self.baseline,
                        row=np.array(json.dumps(self.row)), **arrays)
        return Path(path)

    @classmethod
    def load(cls, path):
        try:
            with np.load(path) as arrays:
                levels = sorted(k for k in arrays.files if k.startswith("swd_"))
                return cls(
                    paper=PaperReference.from_arrays(arrays),
                    swd_descriptors=[arrays[f"swd_{i}"] for i in range(len(levels))],
                    thumbnails=arrays["thumbnails"], subjects=arrays["subjects"],
                    baseline=arrays["baseline"],
                    row=json.loads(str(arrays["row"])),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a reference statistics file ({exc})") from exc


def _paper_measures(images, paper, seed):
    d = diversity(images, seed=seed)
    return {"n": int(len(images)), "rho": paper.realism(images), "sigma": d.sigma,
            "sigma_per_image": d.sigma_per_image, "delta": d.delta}


def cheap_measures(images, stats, names=("rho", "sigma", "sigma_per_image", "delta", "swd"),
                   seed=0):
    """The measures cheap enough for every epoch, as a flat ``{name: float}``."""
    out = {}
    if {"rho", "sigma", "sigma_per_image", "delta"} & set(names):
        out.update(_paper_measures(images, stats.paper, seed))
    if "swd" in names:
        out["swd"] = swd.swd(stats.swd_descriptors, _swd_sample(images, seed), seed=seed)["mean"]
    if "ms_ssim" in names:
        out["ms_ssim"] = msssim.mean_ms_ssim(images, MS_SSIM_PAIRS, seed=seed)
    return {k: float(v) for k, v in out.items() if k in names}


def _swd_sample(images, seed):
    rng = np.random.default_rng(seed + 1)
    pick = rng.choice(len(images), min(SWD_IMAGES, len(images)), replace=False)
    return swd.descriptors(images[np.sort(pick)], seed=seed + 1)


def evaluate(images, stats, out=None, name="generated", generate=None, seed=0):
    """All measures of ``images`` against ``stats``; with ``out``, writes the report.

    Args:
        images: ``(n, H, W[, 1])`` generated images in ``[-1, 1]``.
        stats: a ``ReferenceStats`` at the same resolution.
        out: folder for ``metrics.json``, ``table.md``, ``memorization.png`` and (with
            ``generate``) ``interpolation.png``.
        name: the generated set's name in the table.
        generate: optional ``(latent_fn, latent_dim, distribution)`` for interpolation strips.

    Returns:
        The ``metrics.json`` dict.
    """
    images = np.asarray(images, np.float32)
    if images.shape[1] != stats.resolution:
        raise ValueError(f"The generated images are {images.shape[1]} pixels wide, the "
                         f"reference statistics {stats.resolution}: fit them at the same size.")
    result = _paper_measures(images, stats.paper, seed)
    result["explained_variance_16"] = stats.paper.explained_variance
    result["swd"] = swd.swd(stats.swd_descriptors, _swd_sample(images, seed), seed=seed)
    result["ms_ssim"] = msssim.mean_ms_ssim(images, MS_SSIM_PAIRS, seed=seed)
    thumbnails = memo.pool(images)
    found = memo.memorization(thumbnails, stats.thumbnails, stats.baseline, stats.subjects)
    result["memorization"] = {k: v for k, v in found.items() if k not in ("nearest", "distance")}
    result["reference"] = stats.row
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        memo.save_closest_pairs(thumbnails, stats.thumbnails, found,
                                out / "memorization.png")
        if generate is not None:
            from keras_mrigan.metrics.interpolation import save_interpolation

            fn, latent_dim, distribution = generate
            save_interpolation(fn, latent_dim, out / "interpolation.png", distribution,
                               seed=seed)
        with atomic_path(out / "metrics.json") as tmp:
            tmp.write_text(json.dumps(result, indent=2) + "\n")
        with atomic_path(out / "table.md") as tmp:
            tmp.write_text(table(result, name))
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
    return (head + row("Training dataset", result["reference"], "-")
            + row(name, result, f"{fraction:.1%}")
            + f"\nThe principal directions explain {result['explained_variance_16']:.1%} of the "
            "reference set's variance.\n")


@dataclasses.dataclass
class GeneratedSet:
    """Images to evaluate and, when they come from a generator, the means to make more."""

    images: np.ndarray
    name: str
    generate: tuple | None = None  # (latents -> images, latent_dim, distribution)


def load_generated(path, n=None, seed=0, batch_size=64, raw=False):
    """Reads or samples the set to evaluate.

    Args:
        path: a folder (or file) of images; a run folder (its ``model.keras``) or a ``.keras``
            GAN; or a SavedModel folder exported by ``keras-mrigan export``.
        n: how many images to sample from a generator (default 1,000), or the most to read
            from a folder (default: all).
        raw: sample a run with its trained generator, not its moving average.
    """
    from keras_mrigan.export import load_run, resolve_saved_model
    from keras_mrigan.generate import Sampler, generate

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder to evaluate")
    try:
        resolve_saved_model(path)
    except FileNotFoundError:
        pass
    else:  # Seeds seed ... seed + n - 1 through generate_from_seed.
        sampler = Sampler(path)
        if sampler.class_names:
            raise ValueError(f"{path} is a conditional generator: evaluate it class by class "
                             "against labelled real data (--labels).")
        images = generate(sampler, n or 1000, seed=seed, batch_size=batch_size,
                          progress=False)[..., 0]
        return GeneratedSet(images, path.name, (sampler.from_latents, sampler.latent_dim,
                                                sampler.latent_distribution))
    if path.suffix == ".keras" or (path / "config.json").exists() \
            or (path / "model.keras").exists():
        import keras

        gan, _ = load_run(path)
        images = gan.generate(n or 1000, seed=seed, batch_size=batch_size, raw=raw)[..., 0]
        generator = gan.sampling_generator(raw)

        def fn(latents):
            images = generator(latents, training=False)
            return keras.ops.convert_to_numpy(images).astype("float32")

        return GeneratedSet(images, path.name, (fn, gan.latent_dim, gan.latent_distribution))
    from keras_mrigan.data.pipeline import load_slices
    from keras_mrigan.data.readers import find_files, read_image

    files = find_files(path)
    if not files:
        raise ValueError(f"{path}: no images found to evaluate")
    size = read_image(files[0]).shape[0]
    images = load_slices(path, size, min_foreground=0.0)[..., 0]
    if n is not None:
        images = images[:n]
    return GeneratedSet(images, path.name)


def load_reference(reference, resolution, n=None, stats_path=None, seed=0, progress=None,
                   options=None):
    """The ``ReferenceStats`` of a data source (fitted, and saved to ``stats_path`` if given),
    or loaded from an ``.npz`` (``reference`` itself, or an existing ``stats_path``).

    Args:
        options: the ``SliceOptions`` the source is read with (its ``subject_pattern`` says
            which slices belong to one subject).
    """
    if str(reference).endswith(".npz"):
        stats = ReferenceStats.load(reference)
    elif stats_path is not None and Path(stats_path).exists():
        stats = ReferenceStats.load(stats_path)
    else:
        from keras_mrigan.data.pipeline import load_slices

        images, subjects = load_slices(reference, resolution, options, return_subjects=True)
        stats = ReferenceStats.fit(images[..., 0], n=n, seed=seed, progress=progress,
                                   subjects=subjects)
        if stats_path is not None:
            stats.save(stats_path)
    if stats.resolution != resolution:
        raise ValueError(f"The reference statistics are for {stats.resolution} x "
                         f"{stats.resolution} images, the generated ones are {resolution} x "
                         f"{resolution}.")
    return stats
