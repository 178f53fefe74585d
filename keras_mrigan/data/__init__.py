"""Reading, preprocessing and batching brain MRI slices."""

from keras_mrigan.data.errors import DataError
from keras_mrigan.data.readers import (
    find_files,
    read_image,
    read_volume,
    slice_volume,
)

__all__ = ["DataError", "find_files", "read_image", "read_volume", "slice_volume"]
