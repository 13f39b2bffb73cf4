"""Turning user input into the contiguous arrays the Rust core borrows.

Only types and shapes are checked here; value checks (ranges, NaN, negative
weights, repeated ids) happen in Rust, once, on the same pass that uses them.
"""

from __future__ import annotations

import operator
import os
from typing import Any, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

from ._errors import InvalidInputError

IdArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
ArrayLike = Union[npt.ArrayLike, Sequence[int]]

_INT64_MAX = np.iinfo(np.int64).max
MAX_ITEMS = 2**32 - 1  # item ids are stored as u32 in the core
BYTES_PER_ITEM = 64  # per-item arrays of the aggregators (offsets, strengths, scratch), generously


def _max_items_in_memory() -> int:
    """Items whose per-item arrays fit in physical memory (no limit if unknown)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) // BYTES_PER_ITEM
    except (AttributeError, ValueError, OSError):
        return MAX_ITEMS


def ids(name: str, values: Any) -> IdArray:
    """A 1-D array of integer ids as contiguous int64."""
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as e:  # ragged nesting such as [[0, 1], [2]]
        raise InvalidInputError(f"{name}: must be a 1-D array of integer item ids ({e})") from None
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: must be a 1-D array of item ids, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype == object:
        big = [x for x in arr.tolist() if isinstance(x, int) and not isinstance(x, bool) and abs(x) > _INT64_MAX]
        if big:  # Python ints beyond int64 make numpy fall back to objects
            raise InvalidInputError(f"{name}: id {big[0]} is out of range (item ids are below {MAX_ITEMS + 1})")
    if arr.dtype.kind not in "iu":
        raise InvalidInputError(f"{name}: item ids must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and int(arr.max()) > _INT64_MAX:
        raise InvalidInputError(f"{name}: id {int(arr.max())} is too large (item ids are below {MAX_ITEMS + 1})")
    return np.ascontiguousarray(arr, dtype=np.int64)


def weights(values: Any, name: str = "weights") -> Optional[FloatArray]:
    """None, or a 1-D array of real weights as contiguous float64."""
    if values is None:
        return None
    try:
        arr = np.asarray(values)
    except (ValueError, TypeError) as e:  # ragged nesting
        raise InvalidInputError(f"{name}: must be a 1-D array of real numbers ({e})") from None
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: must be a 1-D array, got shape {arr.shape}")
    if arr.size and arr.dtype.kind not in "iuf":
        raise InvalidInputError(f"{name}: must be real numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def _integer(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise InvalidInputError(f"{name}: must be an integer, got a bool")
    try:
        return operator.index(value)
    except TypeError:
        raise InvalidInputError(f"{name}: must be an integer, got {type(value).__name__}") from None


def n_items(value: Any) -> Optional[int]:
    """None or a non-negative int."""
    if value is None:
        return None
    n = _integer("n_items", value)
    if n < 0:
        raise InvalidInputError(f"n_items: must be >= 0, got {n}")
    if n > MAX_ITEMS:
        raise InvalidInputError(f"n_items: {n} items is more than the supported {MAX_ITEMS}")
    if n > _max_items_in_memory():
        raise InvalidInputError(
            f"n_items: {n} items would need about {n * BYTES_PER_ITEM / 2**30:.0f} GiB of working memory, "
            "more than this machine has; is n_items right?"
        )
    return n


def at_least(name: str, value: Any, minimum: int) -> int:
    """An integer (bools refused) no smaller than ``minimum``."""
    n = _integer(name, value)
    if n < minimum:
        raise InvalidInputError(f"{name}: must be >= {minimum}, got {n}")
    return n


def positive_int(name: str, value: Any) -> int:
    return min(at_least(name, value, 1), _INT64_MAX)  # larger limits mean "no limit"


def real(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"{name}: must be a real number, got {type(value).__name__}")
    return float(value)


def _check_implied_items(name: str, arr: IdArray) -> None:
    """The largest id sets n_items when it is not given: keep it in memory."""
    if arr.size:
        top = int(arr.max())
        if top >= _max_items_in_memory():
            raise InvalidInputError(
                f"{name}: id {top} implies {top + 1} items, more than fit in this machine's memory; "
                "are the ids dense integers from 0?"
            )


def pairs(winners: Any, losers: Any) -> Tuple[IdArray, IdArray]:
    w, l = ids("winners", winners), ids("losers", losers)
    if w.shape != l.shape:
        raise InvalidInputError(f"losers: has length {l.size} but winners has length {w.size}")
    _check_implied_items("winners", w)
    _check_implied_items("losers", l)
    return w, l


def rankings(values: Any, name: str = "rankings") -> Tuple[IdArray, IdArray]:
    """A list of rankings (1-D integer arrays, best first) or a 2-D integer
    array (one ranking per row), flattened to ``(items, lengths)``."""
    if isinstance(values, np.ndarray) and values.ndim == 2:
        flat = ids(name, values.reshape(-1))
        _check_implied_items(name, flat)
        return flat, np.full(values.shape[0], values.shape[1], dtype=np.int64)
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise InvalidInputError(f"{name}: must be a list of 1-D integer arrays, got {type(values).__name__}")
    parts = [ids(f"{name}[{k}]", r) for k, r in enumerate(values)]
    lengths = np.array([p.size for p in parts], dtype=np.int64)
    flat = np.ascontiguousarray(np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64), dtype=np.int64)
    _check_implied_items(name, flat)
    return flat, lengths
