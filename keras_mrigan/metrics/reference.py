"""Reference statistics: what the measures need from the real images, fitted once.

A ``ReferenceStats`` holds the paper's mean image and principal directions, SWD descriptors of
a sample, 32 x 32 thumbnails for the memorization search with each one's subject (the
real-to-real baseline is a sample of them against their nearest image of another subject),
the reference set's own row of the table, and a record of what it was fitted on. It is saved
to one ``.npz``.
"""

import dataclasses
import json
from pathlib import Path

import numpy as np

from keras_mrigan.metrics import memorization as memo
from keras_mrigan.metrics import msssim, swd
from keras_mrigan.metrics.paper import PaperReference, diversity

SWD_IMAGES = 1024  # Images per set whose patches the SWD compares.
BASELINE = memo.BASELINE  # Reference images in the memorization baseline.
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
    # What the statistics were fitted on (source, resolution, n, seed, options), as
    # ``runs.reference_fingerprint`` records it; ``None`` when unknown.
    fitted_on: dict | None = None

    @property
    def memorization_index(self):
        """The reference's own ``MemorizationIndex``."""
        return memo.MemorizationIndex(self.thumbnails, self.subjects, self.baseline)

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
        index = memo.MemorizationIndex.fit(images, subjects, rng)
        stats = cls(paper, descriptors, index.thumbnails, index.subjects, index.baseline, {})
        say("the reference set's own measures")
        own = images if n is None or n >= len(images) else images[
            rng.choice(len(images), n, replace=False)]
        other = rng.choice(len(images), min(swd_images, len(images)), replace=False)
        stats.row = {
            **paper_measures(own, paper, seed),
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
                        row=np.array(json.dumps(self.row)),
                        fitted_on=np.array(json.dumps(self.fitted_on)), **arrays)
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
                    fitted_on=(json.loads(str(arrays["fitted_on"]))
                               if "fitted_on" in arrays.files else None),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not a reference statistics file ({exc})") from exc


def paper_measures(images, paper, seed=0):
    """The paper's n, rho, sigma, sigma per image and delta of ``images``."""
    d = diversity(images, seed=seed)
    return {"n": int(len(images)), "rho": paper.realism(images), "sigma": d.sigma,
            "sigma_per_image": d.sigma_per_image, "delta": d.delta}


def cheap_measures(images, stats, names=("rho", "sigma", "sigma_per_image", "delta", "swd"),
                   seed=0):
    """The measures cheap enough for every epoch, as a flat ``{name: float}``."""
    out = {}
    if {"rho", "sigma", "sigma_per_image", "delta"} & set(names):
        out.update(paper_measures(images, stats.paper, seed))
    if "swd" in names:
        out["swd"] = swd.swd(stats.swd_descriptors, swd_sample(images, seed), seed=seed)["mean"]
    if "ms_ssim" in names:
        out["ms_ssim"] = msssim.mean_ms_ssim(images, MS_SSIM_PAIRS, seed=seed)
    return {k: float(v) for k, v in out.items() if k in names}


def swd_sample(images, seed=0):
    """SWD descriptors of a sample of at most ``SWD_IMAGES`` of ``images``."""
    rng = np.random.default_rng(seed + 1)
    pick = rng.choice(len(images), min(SWD_IMAGES, len(images)), replace=False)
    return swd.descriptors(images[np.sort(pick)], seed=seed + 1)
