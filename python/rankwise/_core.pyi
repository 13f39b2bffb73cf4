# Typed stubs for the Rust extension module. The public, documented API is in
# rankwise.aggregate; these functions take already-validated numpy arrays.
from typing import Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

_Ids = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]

def bradley_terry(
    winners: _Ids, losers: _Ids, n_items: Optional[int], weights: Optional[_Floats],
    method: str, prior: float, tol: float, max_iter: int,
) -> Tuple[_Floats, _Ids, int, bool]: ...
def plackett_luce(
    items: _Ids, lengths: _Ids, n_items: Optional[int], weights: Optional[_Floats],
    method: str, prior: float, tol: float, max_iter: int,
) -> Tuple[_Floats, _Ids, int, bool]: ...
def pagerank(
    winners: _Ids, losers: _Ids, n_items: Optional[int], weights: Optional[_Floats],
    damping: float, tol: float, max_iter: int,
) -> Tuple[_Floats, _Ids, int, bool]: ...
def win_rate(
    winners: _Ids, losers: _Ids, n_items: Optional[int], weights: Optional[_Floats],
) -> Tuple[_Floats, _Ids]: ...
def copeland(
    winners: _Ids, losers: _Ids, n_items: Optional[int], weights: Optional[_Floats],
) -> Tuple[_Floats, _Ids]: ...
def borda(
    items: _Ids, lengths: _Ids, n_items: Optional[int], weights: Optional[_Floats],
) -> Tuple[_Floats, _Ids]: ...
def elo(
    winners: _Ids, losers: _Ids, n_items: Optional[int], weights: Optional[_Floats],
    initial: float, k: float, scale: float, base: float,
) -> Tuple[_Floats, _Ids]: ...
def comparisons_from_rankings(items: _Ids, lengths: _Ids) -> Tuple[_Ids, _Ids]: ...
