"""The array types the core's signatures name (numpy's own generic types, spelt once)."""

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[Any]  # any dtype, any shape
Gray = NDArray[np.uint8]  # an 8-bit grayscale slice, (h, w)
Mask = NDArray[np.bool_]  # a boolean mask, (h, w)
Probabilities = dict[str, float]  # class name -> 0..1
