"""Reading, preprocessing and batching brain MRI slices."""

from keras_mrigan.data.errors import DataError
from keras_mrigan.data.masks import MaskClasses, parse_mask_classes, split_pair, to_pair
from keras_mrigan.data.readers import (
    find_files,
    read_image,
    read_volume,
    slice_volume,
)

__all__ = ["DataError", "MaskClasses", "find_files", "parse_mask_classes", "read_image",
           "read_volume", "slice_volume", "split_pair", "to_pair"]
