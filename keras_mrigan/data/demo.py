"""The embedded demo cohort: a deterministic virtual cohort built from the MNI152 template.

The MNI152 T1 template (1 mm, skull-stripped) ships with ``nilearn``, so the demo needs no
download. Each virtual subject is an axial acquisition (by default 32 slices, 2 mm apart,
through the central band of the brain, as the paper's OASIS set has 32 slices per subject) of
the template under

* a random affine change: per-axis scaling, rotation about all three axes and a shift;
* random smooth elastic deformations at two scales (brain shape and folding patterns) and a
  radial term about the ventricles that enlarges or shrinks them, as atrophy does;
* ageing and contrast: widened CSF spaces, white-matter hypointensities, gamma (tissue
  contrast), a smooth multiplicative bias field, and Rician noise inside the brain mask.

Subjects are written as gzipped NIfTI volumes to a cache folder keyed by the cohort's
parameters and read back through the same readers as real data.
"""

import dataclasses
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import nibabel as nib
import numpy as np

from keras_mrigan.utils import cache_dir, progress_bar

# Bumped whenever the generation code changes what it produces, so old caches are not reused.
GENERATOR_VERSION = 4
# Voxels kept around the brain when the template is cropped to its bounding box.
_MARGIN = 12
# Bumped whenever the tissue masks' rule changes (see ``make_tissue``).
TISSUE_VERSION = 1
# The classes of the tissue masks, by value.
TISSUE_CLASSES = ("background", "CSF", "gray matter", "white matter")


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """Parameters of the virtual cohort; the defaults are the documented demo.

    Each subject is a virtual axial acquisition of ``slices`` slices, ``slice_mm`` apart, with
    1 mm pixels, centred ``slab_centre_mm`` above the anterior commissure (MNI z = 0): the
    central band of the brain that the paper's OASIS set samples with 32 slices per subject.

    Attributes:
        n_subjects: number of virtual subjects (volumes).
        seed: seed of the whole cohort; subject ``i`` uses ``(seed, i)``.
        slices: axial slices per subject.
        slice_mm: distance between slices, in millimetres.
        slab_centre_mm: MNI z coordinate of the slab's centre.
        scale: standard deviation of the log per-axis scaling (head size and shape).
        rotation_deg: maximum rotation about each axis, in degrees.
        shift_mm: maximum shift along each axis, in millimetres.
        atrophy: standard deviation of the radial expansion about the ventricles.
        elastic_mm: standard deviation of the coarse elastic displacement (brain shape).
        elastic_spacing_mm: control-point spacing of the coarse elastic field.
        fine_mm: standard deviation of the fine elastic displacement (folding patterns).
        fine_spacing_mm: control-point spacing of the fine elastic field.
        csf_widening: maximum darkening of tissue next to CSF (widened sulci with age).
        lesions: mean number of white-matter hypointensities per subject.
        gamma: standard deviation of the log gamma applied to intensities.
        bias: standard deviation of the log bias field.
        noise: maximum noise level, as a fraction of the intensity range.
    """

    n_subjects: int = 64
    seed: int = 0
    slices: int = 32
    slice_mm: float = 2.0
    slab_centre_mm: float = 18.0
    scale: float = 0.08
    rotation_deg: float = 8.0
    shift_mm: float = 5.0
    atrophy: float = 0.12
    elastic_mm: float = 4.0
    elastic_spacing_mm: float = 30.0
    fine_mm: float = 1.5
    fine_spacing_mm: float = 12.0
    csf_widening: float = 0.3
    lesions: float = 6.0
    gamma: float = 0.2
    bias: float = 0.15
    noise: float = 0.03

    def key(self):
        """A short hash of the settings and the generator version, used as the cache key."""
        fields = {"version": GENERATOR_VERSION, **dataclasses.asdict(self)}
        text = json.dumps(fields, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_template():
    """The MNI152 T1 1 mm template from nilearn, cropped to the brain, as ``(volume, affine)``.

    Intensities are in ``[0, 1]``; the affine maps voxels to MNI millimetres.
    """
    image = _nilearn_datasets().load_mni152_template(resolution=1)
    volume = np.asarray(image.get_fdata(), dtype=np.float32)
    box = _brain_box(volume)
    affine = image.affine.copy()
    affine[:3, 3] += affine[:3, :3] @ box[0]
    return _crop(volume, box) / volume.max(), affine


def load_tissue_maps():
    """nilearn's MNI152 gray- and white-matter probability maps, cropped like
    ``load_template``'s volume: ``(gray, white)``, float32 in ``[0, 1]``.

    The maps share the T1 template's voxel grid (both ship with nilearn, no download).
    """
    datasets = _nilearn_datasets()
    box = _brain_box(np.asarray(datasets.load_mni152_template(resolution=1).dataobj))
    return tuple(_crop(np.asarray(loader(resolution=1).get_fdata(), dtype=np.float32), box)
                 for loader in (datasets.load_mni152_gm_template,
                                datasets.load_mni152_wm_template))


def _nilearn_datasets():
    try:
        from nilearn import datasets
    except ImportError as exc:  # pragma: no cover - nilearn is a dependency
        raise ImportError(
            "The demo cohort needs nilearn, which ships the MNI152 template: "
            "pip install nilearn"
        ) from exc
    return datasets


def _brain_box(volume):
    """The template's bounding box of nonzero voxels with ``_MARGIN`` voxels around it."""
    nonzero = np.argwhere(volume > 0)
    lo = np.maximum(nonzero.min(axis=0) - _MARGIN, 0)
    hi = np.minimum(nonzero.max(axis=0) + _MARGIN + 1, volume.shape)
    return lo, hi


def _crop(volume, box):
    (lo, hi) = box
    return volume[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]


def _rotation(angles):
    """Rotation matrix for angles (radians) about x, y and z, applied in that order."""
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _smooth_field(rng, shape, voxel_mm, spacing_mm, std):
    """A smooth random field on a grid: normal values at control points ``spacing_mm`` apart,
    interpolated with cubic splines.

    Args:
        shape: the output grid's shape.
        voxel_mm: the output grid's voxel size along each axis, in millimetres.
        spacing_mm: distance between control points.
        std: standard deviation of the field at the control points.
    """
    return _interpolate(_control_points(rng, shape, voxel_mm, spacing_mm, std), shape)


def _control_points(rng, shape, voxel_mm, spacing_mm, std):
    """The random values of a smooth field at its control points (see ``_smooth_field``)."""
    extent = np.asarray(shape) * np.asarray(voxel_mm)
    points = np.maximum(np.ceil(extent / spacing_mm).astype(int) + 1, 2)
    return rng.normal(0.0, std, size=tuple(points)).astype(np.float32)


def _interpolate(coarse, shape):
    """Control-point values to a field of ``shape``, by cubic splines."""
    from scipy import ndimage

    # Cubic-spline zoom is linear and separable: one small interpolation matrix per axis does
    # the same as ndimage.zoom on the volume, twenty times faster.
    field = coarse
    for size, count in zip(shape, coarse.shape, strict=True):
        weights = ndimage.zoom(np.eye(count, dtype=np.float32), (size / count, 1), order=3,
                               mode="nearest", grid_mode=True)[:size]
        field = np.tensordot(field, weights, axes=([0], [1]))  # Axis 0 done, moved last.
    return field


def slab_geometry(template_affine, settings):
    """Where the virtual acquisition lies in the template: ``(shape, to_template, affine)``.

    ``to_template`` maps the slab's voxel indices to template voxel indices; ``affine`` maps
    them to MNI millimetres (the NIfTI affine of every subject).
    """
    inverse = np.linalg.inv(template_affine)
    centre_vox = inverse @ np.array([0.0, 0.0, settings.slab_centre_mm, 1.0])
    first = centre_vox[2] - (settings.slices - 1) / 2.0 * settings.slice_mm
    to_template = np.diag([1.0, 1.0, settings.slice_mm, 1.0])
    to_template[2, 3] = first
    return to_template, template_affine @ to_template


def make_subject(template, template_affine, settings, index):
    """Synthesizes one virtual subject: a slab of axial slices through a deformed template.

    Args:
        template: float32 volume in ``[0, 1]`` with 1 mm voxels.
        template_affine: the template's voxel-to-MNI affine.
        settings: a ``DemoSettings``.
        index: the subject's number; with ``settings.seed`` it fixes every random draw.

    Returns:
        ``(volume, affine)``: float32 ``(X, Y, slices)`` intensities roughly in ``[0, 1]``
        with a zero background, and its voxel-to-MNI affine.
    """
    from scipy import ndimage

    rng = np.random.default_rng([settings.seed, index])
    to_template, affine = slab_geometry(template_affine, settings)
    shape = (template.shape[0], template.shape[1], settings.slices)
    voxel_mm = (1.0, 1.0, settings.slice_mm)
    anatomy = _draw_anatomy(rng, settings, shape)
    coords = _template_coordinates(template.shape, to_template, anatomy, shape)

    volume = ndimage.map_coordinates(template, coords, order=1, mode="constant", cval=0.0)
    volume = np.clip(volume.reshape(shape), 0.0, 1.0)
    brain = volume > 0.0
    # Ageing widens the CSF spaces (sulci, ventricles): tissue next to CSF darkens.
    widening = anatomy["csf_widening"]
    volume = np.clip((volume - widening) / (1.0 - widening), 0.0, 1.0)
    volume *= 1.0 - _lesions(rng, volume, voxel_mm, settings)

    gamma = np.exp(rng.normal(0.0, settings.gamma))
    bias = np.exp(_smooth_field(rng, shape, voxel_mm, 60.0, settings.bias))
    volume = np.power(volume, gamma) * bias
    noise_level = rng.uniform(0.2, 1.0) * settings.noise
    real = volume + noise_level * rng.standard_normal(size=shape, dtype=np.float32)
    imag = noise_level * rng.standard_normal(size=shape, dtype=np.float32)
    # Skull-stripped ("masked") scans such as OASIS's have a zero background.
    volume = np.where(brain, np.sqrt(real * real + imag * imag), 0.0).astype(np.float32)
    return volume, affine


def make_tissue(template, tissue_maps, template_affine, settings, index):
    """The tissue mask of subject ``index``: its anatomy's classes voxel for voxel.

    The subject's deformation (``make_subject``'s random draws, replayed) carries nilearn's
    MNI152 gray- and white-matter probability maps to the subject's slab, at the very points
    where its image samples the T1 template. Background (0) is outside the subject's brain,
    exactly where its image is zero; inside, each voxel takes the most probable of CSF (1:
    neither gray nor white matter, probability ``1 - gray - white``), gray matter (2) and
    white matter (3). The image's ageing (darker tissue next to CSF, white-matter
    hypointensities) changes intensities, not classes: hypointensities stay white matter, as
    in a segmentation of healthy anatomy.

    Args:
        template: the T1 template (``load_template``'s volume).
        tissue_maps: ``(gray, white)`` from ``load_tissue_maps``.
        template_affine, settings, index: as for ``make_subject``.

    Returns:
        uint8 ``(X, Y, slices)`` class values 0..3, on the grid of ``make_subject``'s volume.
    """
    from scipy import ndimage

    rng = np.random.default_rng([settings.seed, index])
    to_template, _ = slab_geometry(template_affine, settings)
    shape = (template.shape[0], template.shape[1], settings.slices)
    anatomy = _draw_anatomy(rng, settings, shape)
    coords = _template_coordinates(template.shape, to_template, anatomy, shape)

    def warp(volume):
        return ndimage.map_coordinates(volume, coords, order=1, mode="constant",
                                       cval=0.0).reshape(shape)

    # The image's own test of the brain, on the same interpolated template values.
    brain = np.clip(warp(template), 0.0, 1.0) > 0.0
    gray, white = (np.clip(warp(m), 0.0, 1.0) for m in tissue_maps)
    csf = np.clip(1.0 - gray - white, 0.0, 1.0)
    tissue = np.argmax(np.stack([csf, gray, white]), axis=0).astype(np.uint8) + 1
    return np.where(brain, tissue, 0).astype(np.uint8)


def _template_coordinates(template_shape, to_template, anatomy, shape):
    """Where each voxel of a subject's slab samples the template: float32 ``(3, voxels)``
    template voxel coordinates, from the slab's geometry and the subject's ``anatomy`` (see
    ``_draw_anatomy``). The image and its tissue masks sample the same points."""
    grid = np.indices(shape, dtype=np.float32).reshape(3, -1)
    points = to_template[:3, :3].astype(np.float32) @ grid + to_template[:3, 3:].astype(np.float32)
    centre = np.array([(template_shape[0] - 1) / 2, (template_shape[1] - 1) / 2,
                       to_template[2, 3] + to_template[2, 2] * (shape[2] - 1) / 2],
                      dtype=np.float32)[:, None]
    offsets = points - centre
    matrix = (_rotation(anatomy["angles"]) @ np.diag(1.0 / anatomy["scales"])).astype(np.float32)
    coords = matrix @ offsets + centre + anatomy["shift"].astype(np.float32)
    # Radial expansion about the ventricles (the slab's centre): a positive factor enlarges
    # them, as atrophy does, and a negative one shrinks them.
    radius2 = (offsets**2).sum(axis=0) / np.float32(60.0**2)
    coords -= (anatomy["atrophy"] * np.exp(-radius2)) * offsets
    for axis, coarse in enumerate(anatomy["elastic"]):
        coords[axis % 3] += _interpolate(coarse, shape).reshape(-1)
    return coords


def _draw_anatomy(rng, settings, shape):
    """The random draws that shape one subject's anatomy, in the order ``make_subject`` has
    always made them: affine (scales, angles, shift), ventricular expansion, the control points
    of the coarse then fine elastic fields (x, y, z each), and the widening of CSF spaces.
    ``subject_anatomy`` replays them without synthesizing the volume."""
    voxel_mm = (1.0, 1.0, settings.slice_mm)
    scales = np.exp(rng.normal(0.0, settings.scale, size=3) + rng.normal(0.0, settings.scale))
    angles = np.deg2rad(rng.uniform(-settings.rotation_deg, settings.rotation_deg, size=3))
    shift = rng.uniform(-settings.shift_mm, settings.shift_mm, size=(3, 1))
    atrophy = rng.normal(0.0, settings.atrophy)
    elastic = [
        _control_points(rng, shape, voxel_mm, spacing, std)
        for spacing, std in ((settings.elastic_spacing_mm, settings.elastic_mm),
                             (settings.fine_spacing_mm, settings.fine_mm))
        for _ in range(3)
    ]
    widening = rng.uniform(0.0, settings.csf_widening)
    return {"scales": scales, "angles": angles, "shift": shift, "atrophy": atrophy,
            "elastic": elastic, "csf_widening": widening}


def _lesions(rng, volume, voxel_mm, settings):
    """White-matter hypointensities: a few soft dark blobs in bright tissue, as in older
    subjects' T1 scans. Returns the fraction of intensity each voxel loses."""
    from scipy import ndimage

    count = rng.poisson(settings.lesions)
    white = np.flatnonzero(volume > 0.8)
    if count == 0 or white.size == 0:
        return np.zeros_like(volume)
    impulses = np.zeros(volume.shape, np.float32)
    radius_mm = rng.uniform(1.5, 4.0)
    sigma = radius_mm / np.asarray(voxel_mm)
    # Scaled so that a lone blob peaks at 1 after blurring.
    impulses.flat[rng.choice(white, size=count)] = (2 * np.pi) ** 1.5 * np.prod(sigma)
    blobs = ndimage.gaussian_filter(impulses, sigma, truncate=3.0)
    return np.clip(blobs, 0.0, 1.0) * rng.uniform(0.3, 0.6)


# The demo cohort's two classes, by index: subjects whose atrophy score is above the
# cohort's median are "atrophy".
CLASSES = ("control", "atrophy")


def subject_anatomy(settings, index, template_shape):
    """The two draws of subject ``index`` that ageing changes: ``atrophy`` (the radial
    expansion about the ventricles) and ``csf_widening`` (how far tissue next to CSF darkens).

    Replays ``make_subject``'s random draws up to them, without synthesizing the volume.
    """
    rng = np.random.default_rng([settings.seed, index])
    shape = (template_shape[0], template_shape[1], settings.slices)
    anatomy = _draw_anatomy(rng, settings, shape)
    return {"atrophy": float(anatomy["atrophy"]), "csf_widening": float(anatomy["csf_widening"])}


def atrophy_scores(settings=None):
    """Each subject's atrophy score: the sum of its standardized ventricular expansion and CSF
    widening (``atrophy / settings.atrophy`` plus the widening's z-score under its uniform
    draw), both of which enlarge the dark CSF spaces of the slices."""
    settings = settings or DemoSettings()
    shape = load_template()[0].shape
    scores = []
    for index in range(settings.n_subjects):
        anatomy = subject_anatomy(settings, index, shape)
        widening = settings.csf_widening
        scores.append(anatomy["atrophy"] / max(settings.atrophy, 1e-12)
                      + (anatomy["csf_widening"] - widening / 2) / max(widening / 12**0.5, 1e-12))
    return np.array(scores)


def subject_classes(settings=None):
    """The demo cohort's labels: ``{"sub-XXX.nii.gz": class index}`` into ``CLASSES``.

    A subject is "atrophy" (1) when its ``atrophy_scores`` is above the cohort's median,
    else "control" (0): the classes are balanced over subjects, differ in ventricle size and
    the darkening around CSF on average, and overlap near the median, so that a classifier can
    learn them but not perfectly.
    """
    scores = atrophy_scores(settings)
    order = np.argsort(scores, kind="stable")
    classes = np.zeros(len(scores), dtype=int)
    classes[order[len(scores) // 2:]] = 1
    return {f"sub-{index:03d}.nii.gz": int(c) for index, c in enumerate(classes)}


def demo_source_settings(source):
    """The ``DemoSettings`` a data source names, or ``None`` if it names no demo cohort.

    ``"demo"`` is the documented cohort; ``"demo:N"`` the same cohort with ``N`` subjects
    (subject ``i`` depends only on the cohort's seed and ``i``, so the first 64 of any size
    are the demo's). Long runs need the larger ones: a critic learns 2,048 slices by heart.

    Raises:
        ValueError: ``"demo:"`` followed by anything but a whole number of at least 1.
    """
    if not isinstance(source, str) or not (source == "demo" or source.startswith("demo:")):
        return None
    count = source.partition(":")[2]
    if not count:
        return DemoSettings()
    if not count.isdigit() or int(count) < 1:
        raise ValueError(f"A demo source is 'demo' or 'demo:N', N the number of subjects "
                         f"(at least 1). Received: {source!r}")
    return DemoSettings(n_subjects=int(count))


def cohort_folder_settings(roots):
    """The ``DemoSettings`` of a source's folders if they are one demo cohort's folder (the
    ``cohort.json`` that ``demo_cohort`` writes), else ``None``."""
    roots = list(roots)
    description = Path(roots[0]) / "cohort.json" if len(roots) == 1 else None
    if description is None or not description.exists():
        return None
    fields = json.loads(description.read_text())
    fields.pop("generator_version", None)
    return DemoSettings(**fields)


def demo_cohort(settings=None, directory=None, progress=True):
    """Returns the folder of the demo cohort's NIfTI volumes, building it on first use.

    Args:
        settings: a ``DemoSettings`` (default: the documented demo).
        directory: cache root; default ``keras_mrigan.utils.cache_dir()``.
        progress: show a progress bar while subjects are synthesized.

    Returns:
        ``Path`` of a folder holding ``sub-XXX.nii.gz`` files and ``cohort.json``.
    """
    settings = settings or DemoSettings()
    inputs = {}

    def write_subject(index, folder):
        if not inputs:
            inputs["template"], inputs["affine"] = load_template()
        volume, subject_affine = make_subject(inputs["template"], inputs["affine"], settings,
                                              index)
        # Stored as int16 in arbitrary units, as scanners do: readers normalize per volume.
        counts = np.round(np.clip(volume, 0.0, 3.0) * 10000.0).astype(np.int16)
        nib.save(nib.Nifti1Image(counts, subject_affine), folder / f"sub-{index:03d}.nii.gz")

    description = {"generator_version": GENERATOR_VERSION, **dataclasses.asdict(settings)}
    return _cached_subjects(settings, directory, f"demo-{settings.key()}", "cohort.json",
                            description, write_subject, "Building demo cohort", progress)


def demo_masks(settings=None, directory=None, progress=True):
    """Returns the folder of the demo cohort's tissue masks, building it on first use.

    Each ``sub-XXX.nii.gz`` (uint8, values ``0..3`` for ``TISSUE_CLASSES``) has the voxel
    grid and affine of the cohort's volume of the same name (see ``make_tissue``). The masks
    are cached beside the cohort, keyed by its settings and ``TISSUE_VERSION``, and built only
    when asked for, so the cohort itself costs no more without them.

    Args:
        settings, directory, progress: as for ``demo_cohort``.

    Returns:
        ``Path`` of a folder holding ``sub-XXX.nii.gz`` masks and ``tissue.json``.
    """
    settings = settings or DemoSettings()
    inputs = {}

    def write_subject(index, folder):
        if not inputs:
            inputs["template"], inputs["affine"] = load_template()
            inputs["maps"] = load_tissue_maps()
        tissue = make_tissue(inputs["template"], inputs["maps"], inputs["affine"], settings,
                             index)
        _, subject_affine = slab_geometry(inputs["affine"], settings)
        nib.save(nib.Nifti1Image(tissue, subject_affine), folder / f"sub-{index:03d}.nii.gz")

    description = {"tissue_version": TISSUE_VERSION, "generator_version": GENERATOR_VERSION,
                   "classes": dict(enumerate(TISSUE_CLASSES)), **dataclasses.asdict(settings)}
    return _cached_subjects(settings, directory,
                            f"demo-{settings.key()}-tissue{TISSUE_VERSION}", "tissue.json",
                            description, write_subject, "Building demo tissue masks", progress)


def _cached_subjects(settings, directory, name, marker, description, write_subject, title,
                     progress):
    """The cache folder ``name`` of one file per subject, built on first use: each subject
    written by ``write_subject(index, folder)`` into a temporary folder, then ``marker`` (the
    ``description`` as JSON), then the folder renamed into place, so a build killed midway
    leaves no folder that looks finished (and two processes building at once both succeed).
    """
    if settings.n_subjects < 1:
        raise ValueError(
            f"`n_subjects` must be at least 1. Received: n_subjects={settings.n_subjects}"
        )
    root = Path(directory) if directory is not None else cache_dir()
    target = root / name
    if (target / marker).exists():
        return target
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=root))
    try:
        bar = progress_bar(settings.n_subjects, title, "subject") if progress else None
        for index in range(settings.n_subjects):
            write_subject(index, tmp)
            if bar:
                bar.add(1)
        (tmp / marker).write_text(json.dumps(description, indent=2) + "\n")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / marker).exists():  # Not another process winning the race.
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
