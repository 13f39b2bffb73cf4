# Typed stubs for the Rust extension module. The public, documented API is in
# rankwise.aggregate; these functions take already-validated numpy arrays.
from typing import Any, List, Mapping, Optional, Sequence, Tuple, final

import numpy as np
import numpy.typing as npt

__version__: str
MAX_WINDOW: int
__all__ = [
    "MAX_WINDOW",
    "Plan",
    "QrelsData",
    "RunData",
    "__version__",
    "borda",
    "bradley_terry",
    "choices",
    "comparisons_from_rankings",
    "copeland",
    "elo",
    "evaluate",
    "fuse",
    "kendall_tau",
    "pagerank",
    "parse_permutation",
    "parse_scores",
    "plackett_luce",
    "qrels_from_lists",
    "qrels_from_trec",
    "run_from_lists",
    "run_from_trec",
    "win_rate",
]

_Ids = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]

def bradley_terry(
    winners: _Ids,
    losers: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
    method: str,
    prior: float,
    tol: float,
    max_iter: int,
) -> Tuple[_Floats, _Ids, int, bool]: ...
def plackett_luce(
    items: _Ids,
    lengths: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
    method: str,
    prior: float,
    tol: float,
    max_iter: int,
) -> Tuple[_Floats, _Ids, int, bool]: ...
def pagerank(
    winners: _Ids,
    losers: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
    damping: float,
    tol: float,
    max_iter: int,
) -> Tuple[_Floats, _Ids, int, bool]: ...
def win_rate(
    winners: _Ids,
    losers: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
) -> Tuple[_Floats, _Ids]: ...
def copeland(
    winners: _Ids,
    losers: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
) -> Tuple[_Floats, _Ids]: ...
def borda(
    items: _Ids,
    lengths: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
) -> Tuple[_Floats, _Ids]: ...
def elo(
    winners: _Ids,
    losers: _Ids,
    n_items: Optional[int],
    weights: Optional[_Floats],
    draws: Optional[npt.NDArray[np.bool_]],
    initial: float,
    k: float,
    scale: float,
    base: float,
) -> Tuple[_Floats, _Ids]: ...
def comparisons_from_rankings(items: _Ids, lengths: _Ids) -> Tuple[_Ids, _Ids]: ...
def choices(what: str) -> List[str]: ...

@final
class Plan:
    """One query's planner: requests() -> (offsets, items); submit answers; result()."""

    @staticmethod
    def new(name: str, n: int, params: Mapping[str, Any]) -> Plan: ...
    @staticmethod
    def planners() -> List[str]: ...
    @staticmethod
    def block_design(n: int, params: Mapping[str, Any]) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def n(self) -> int: ...
    def requests(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
    def submit_orders(self, offsets: npt.NDArray[np.int64], ids: npt.NDArray[np.int64]) -> None: ...
    def submit_scores(self, offsets: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]) -> None: ...
    def submit_values(self, values: npt.NDArray[np.float64]) -> None: ...
    def result(self) -> npt.NDArray[np.int64]: ...
    def spend(self) -> tuple[int, int, int, int, int]: ...

@final
class RunData:
    def __len__(self) -> int: ...
    def qids(self) -> List[str]: ...
    def n_entries(self) -> int: ...
    @property
    def extra_column_lines(self) -> int: ...
    def query(self, i: int) -> Tuple[str, List[str], _Floats]: ...
    def to_trec(self, tag: str) -> str: ...

@final
class QrelsData:
    def __len__(self) -> int: ...
    def qids(self) -> List[str]: ...
    def query(self, i: int) -> Tuple[List[str], List[int]]: ...

def run_from_trec(text: str, source: str, order: str) -> RunData: ...
def run_from_lists(
    qids: Sequence[str], docids: Sequence[Sequence[str]], scores: Sequence[_Floats], order: str
) -> RunData: ...
def qrels_from_trec(text: str, source: str) -> QrelsData: ...
def qrels_from_lists(
    qids: Sequence[str], docids: Sequence[Sequence[str]], grades: Sequence[Sequence[int]]
) -> QrelsData: ...
def evaluate(
    run: RunData, qrels: QrelsData, metrics: Sequence[str], relevance_level: int, missing: str
) -> Tuple[List[str], List[str], _Floats, int, int]: ...
def fuse(runs: Sequence[RunData], method: str, k: float, weights: Optional[Sequence[float]], norm: str) -> RunData: ...
def kendall_tau(a: _Floats, b: _Floats) -> float: ...
def parse_permutation(text: str, n: int) -> Tuple[_Ids, int, List[int], List[int], List[int], bool]: ...
def parse_scores(text: str, n: int) -> Tuple[npt.NDArray[np.float64], int, List[int], List[int], List[int]]: ...
