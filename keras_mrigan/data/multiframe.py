"""Enhanced (multi-frame) DICOM: each frame's geometry from its functional groups, and the
frames of a file sorted into stacks.

Enhanced MR Image Storage (and the legacy-converted enhanced classes, which scanners' and
PACS' converters write from a series of single images) keeps every frame of a series in one
file. What a single-image file holds at its top level lives, for a frame, in its item of the
PerFrameFunctionalGroupsSequence or, when all frames share it, in the
SharedFunctionalGroupsSequence: PlanePositionSequence (ImagePositionPatient),
PlaneOrientationSequence (ImageOrientationPatient), PixelMeasuresSequence (PixelSpacing,
SliceThickness), PixelValueTransformationSequence (RescaleSlope, RescaleIntercept) and
FrameContentSequence (StackID). Frames are often stored in acquisition order (interleaved),
so a frame's place in a volume comes from its position, never from its index.

Reference:
    DICOM PS3.3, C.7.6.16 "Multi-frame Functional Groups Module" and C.7.6.16.2 "Common
    Functional Group Macros" (https://dicom.nema.org/medical/dicom/current/output/html/part03.html).
"""

import dataclasses

import numpy as np

# Orientation cosines that differ by less than this are the same orientation.
ORIENTATION_TOLERANCE = 1e-3
STACK_ID = 0x00209056  # The tag a DimensionIndexPointer names when a dimension is the stack.


@dataclasses.dataclass(frozen=True, eq=False)
class Frame:
    """What one frame of a multi-frame file says about itself (``None`` where it is silent).

    Attributes:
        index: its place in the file's pixel data, from 0 (messages say ``frame index + 1``,
            DICOM's frame number).
        orientation: ImageOrientationPatient (6 direction cosines, LPS).
        position: ImagePositionPatient (3 numbers, LPS mm) of its first pixel.
        spacing: PixelSpacing ``(between rows, between columns)`` in mm.
        thickness: SliceThickness in mm.
        slope: RescaleSlope (1 if not given).
        intercept: RescaleIntercept (0 if not given).
        stack: its StackID, if the file divides its frames into stacks.
    """

    index: int
    orientation: np.ndarray | None
    position: np.ndarray | None
    spacing: tuple | None
    thickness: float | None
    slope: float = 1.0
    intercept: float = 0.0
    stack: str | None = None

    @property
    def number(self):
        """DICOM's frame number (from 1), as messages name the frame."""
        return self.index + 1


def is_multiframe(ds):
    """Whether a dataset (or a header read with ``NumberOfFrames``) holds several frames."""
    try:
        return int(ds.get("NumberOfFrames", 1) or 1) > 1
    except (TypeError, ValueError):
        return False


def has_functional_groups(ds):
    """Whether a multi-frame dataset carries per-frame or shared functional groups (the
    enhanced classes do; older multi-frame images, such as cine loops, do not)."""
    return "PerFrameFunctionalGroupsSequence" in ds or "SharedFunctionalGroupsSequence" in ds


def frames(ds):
    """The frames of a multi-frame dataset, in stored order, each with its geometry.

    A per-frame functional group overrides the shared one; an attribute found in neither is
    taken from the dataset's top level (where some converters leave it), else ``None``.

    Args:
        ds: a ``pydicom.Dataset`` (its pixel data need not be loaded).

    Returns:
        A list of ``Frame``, one per frame (``NumberOfFrames``).
    """
    count = int(ds.get("NumberOfFrames", 1) or 1)
    per_frame = list(ds.get("PerFrameFunctionalGroupsSequence", None) or [])
    shared = (ds.get("SharedFunctionalGroupsSequence", None) or [None])[0]
    stack_dimension = _stack_dimension(ds)
    found = []
    for index in range(count):
        own = per_frame[index] if index < len(per_frame) else None

        def value(sequence, keyword, own=own):
            for group in (own, shared):
                item = _first(group, sequence)
                if item is not None and item.get(keyword) is not None:
                    return item.get(keyword)
            return ds.get(keyword)

        slope = value("PixelValueTransformationSequence", "RescaleSlope")
        intercept = value("PixelValueTransformationSequence", "RescaleIntercept")
        thickness = value("PixelMeasuresSequence", "SliceThickness")
        found.append(Frame(
            index=index,
            orientation=_numbers(value("PlaneOrientationSequence", "ImageOrientationPatient"),
                                 6),
            position=_numbers(value("PlanePositionSequence", "ImagePositionPatient"), 3),
            spacing=_pair(value("PixelMeasuresSequence", "PixelSpacing")),
            thickness=float(thickness) if thickness not in (None, "") else None,
            slope=float(slope) if slope not in (None, "") else 1.0,
            intercept=float(intercept) if intercept not in (None, "") else 0.0,
            stack=_stack(own, stack_dimension)))
    return found


def stacks(frames):
    """The frames grouped into stacks: by StackID where the file gives one, and by
    orientation (frames at one orientation without a StackID form one stack).

    Returns:
        A list of lists of ``Frame`` (each in stored order), ordered by StackID (numbers
        numerically) and then by their first frame.
    """
    groups = []  # [(stack id, orientation, frames)]
    for frame in frames:
        for stack, orientation, members in groups:
            if stack == frame.stack and _same(orientation, frame.orientation):
                members.append(frame)
                break
        else:
            groups.append((frame.stack, frame.orientation, [frame]))

    def key(group):
        stack, _, members = group
        number = stack is not None and stack.strip().lstrip("-").isdigit()
        return (stack is not None, not number, int(stack) if number else 0, stack or "",
                members[0].index)

    return [members for _, _, members in sorted(groups, key=key)]


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return bool(np.allclose(a, b, atol=ORIENTATION_TOLERANCE))


def _first(group, sequence):
    if group is None:
        return None
    items = group.get(sequence)
    return items[0] if items else None


def _numbers(value, count):
    try:
        numbers = np.array([float(v) for v in value])
    except (TypeError, ValueError):
        return None
    return numbers if numbers.shape == (count,) else None


def _pair(value):
    numbers = _numbers(value, 2)
    return None if numbers is None else (float(numbers[0]), float(numbers[1]))


def _stack_dimension(ds):
    """Where StackID sits in each frame's DimensionIndexValues, if the file says."""
    for i, item in enumerate(ds.get("DimensionIndexSequence", None) or []):
        pointer = item.get("DimensionIndexPointer")
        if pointer is not None and int(pointer) == STACK_ID:
            return i
    return None


def _stack(own, dimension):
    content = _first(own, "FrameContentSequence")
    if content is None:
        return None
    if content.get("StackID") not in (None, ""):
        return str(content.StackID).strip()
    values = content.get("DimensionIndexValues")
    if dimension is not None and values is not None:
        # One value is stored as a number, several as a list.
        values = [values] if isinstance(values, (int, float, str)) else list(values)
        if dimension < len(values):
            return str(values[dimension])
    return None
