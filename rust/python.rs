//! The `rankwise._core` extension module: bindings only. Each function borrows
//! the numpy arrays, detaches from the interpreter while the pure core works,
//! and maps core errors to the exception classes of `rankwise._errors`.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyType;

use crate::aggregate::bradley_terry::Method;
use crate::aggregate::elo::EloParams;
use crate::aggregate::{self as agg, counting, ranking_from_scores, Estimate, Stopping};
use crate::comparisons::{pairs_from_rankings, resolve_n_items, Comparisons};
use crate::error::Error;
use crate::rankings::Rankings;

/// Raise a core error as `rankwise.InvalidInputError` or
/// `rankwise.EstimationError` (both subclasses of `ValueError`).
fn to_py(e: Error) -> PyErr {
    let class = match e {
        Error::InvalidInput { .. } => "InvalidInputError",
        Error::NotEstimable(_) => "EstimationError",
    };
    Python::attach(|py| {
        match py.import("rankwise._errors").and_then(|m| m.getattr(class)).and_then(|t| Ok(t.cast_into::<PyType>()?)) {
            Ok(t) => PyErr::from_type(t, e.to_string()),
            Err(_) => PyValueError::new_err(e.to_string()),
        }
    })
}

type Ids<'py> = PyReadonlyArray1<'py, i64>;
type Floats<'py> = PyReadonlyArray1<'py, f64>;
type Scored<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>);

fn scored<'py>(py: Python<'py>, scores: Vec<f64>) -> Scored<'py> {
    let ranking: Vec<i64> = ranking_from_scores(&scores).into_iter().map(i64::from).collect();
    (scores.into_pyarray(py), ranking.into_pyarray(py))
}

fn estimated<'py>(py: Python<'py>, e: Estimate) -> (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>, usize, bool) {
    let (s, r) = scored(py, e.scores);
    (s, r, e.iterations, e.converged)
}

/// Run `f` on the comparisons built from the arrays, detached from Python.
fn with_comparisons<T: Send>(
    py: Python<'_>,
    winners: &Ids<'_>,
    losers: &Ids<'_>,
    n_items: Option<usize>,
    weights: &Option<Floats<'_>>,
    f: impl FnOnce(&Comparisons) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let (w, l) = (winners.as_slice()?, losers.as_slice()?);
    let wt = weights.as_ref().map(|a| a.as_slice()).transpose()?;
    py.detach(|| {
        let n = resolve_n_items(n_items, &[w, l])?;
        f(&Comparisons::new(n, w, l, wt)?)
    })
    .map_err(to_py)
}

/// Run `f` on the validated rankings (`items` concatenated, `lengths` each), detached.
fn with_rankings<T: Send>(
    py: Python<'_>,
    items: &Ids<'_>,
    lengths: &Ids<'_>,
    n_items: Option<usize>,
    weights: &Option<Floats<'_>>,
    f: impl FnOnce(&Rankings) -> Result<T, Error> + Send,
) -> PyResult<T> {
    let items = items.as_slice()?;
    let lengths: Vec<usize> = lengths.as_slice()?.iter().map(|&x| x.max(0) as usize).collect();
    let wt = weights.as_ref().map(|a| a.as_slice()).transpose()?;
    py.detach(|| f(&Rankings::new(n_items, &lengths, items, wt)?)).map_err(to_py)
}

#[pyfunction]
#[pyo3(signature = (winners, losers, n_items, weights, method, prior, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn bradley_terry<'py>(
    py: Python<'py>,
    winners: Ids<'py>,
    losers: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
    method: &str,
    prior: f64,
    tol: f64,
    max_iter: usize,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>, usize, bool)> {
    let method: Method = method.parse().map_err(to_py)?;
    let stop = Stopping { tol, max_iter };
    let e = with_comparisons(py, &winners, &losers, n_items, &weights, |c| {
        agg::bradley_terry::bradley_terry(c, method, prior, stop)
    })?;
    Ok(estimated(py, e))
}

#[pyfunction]
#[pyo3(signature = (items, lengths, n_items, weights, method, prior, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn plackett_luce<'py>(
    py: Python<'py>,
    items: Ids<'py>,
    lengths: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
    method: &str,
    prior: f64,
    tol: f64,
    max_iter: usize,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>, usize, bool)> {
    let method: Method = method.parse().map_err(to_py)?;
    let stop = Stopping { tol, max_iter };
    let e = with_rankings(py, &items, &lengths, n_items, &weights, |r| {
        agg::plackett_luce::plackett_luce(r, method, prior, stop)
    })?;
    Ok(estimated(py, e))
}

#[pyfunction]
#[pyo3(signature = (winners, losers, n_items, weights, damping, tol, max_iter))]
#[allow(clippy::too_many_arguments)]
fn pagerank<'py>(
    py: Python<'py>,
    winners: Ids<'py>,
    losers: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
    damping: f64,
    tol: f64,
    max_iter: usize,
) -> PyResult<(Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>, usize, bool)> {
    let stop = Stopping { tol, max_iter };
    let e = with_comparisons(py, &winners, &losers, n_items, &weights, |c| agg::pagerank::pagerank(c, damping, stop))?;
    Ok(estimated(py, e))
}

#[pyfunction]
#[pyo3(signature = (winners, losers, n_items, weights))]
fn win_rate<'py>(
    py: Python<'py>,
    winners: Ids<'py>,
    losers: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
) -> PyResult<Scored<'py>> {
    let s = with_comparisons(py, &winners, &losers, n_items, &weights, |c| Ok(counting::win_rate(c)))?;
    Ok(scored(py, s))
}

#[pyfunction]
#[pyo3(signature = (winners, losers, n_items, weights))]
fn copeland<'py>(
    py: Python<'py>,
    winners: Ids<'py>,
    losers: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
) -> PyResult<Scored<'py>> {
    let s = with_comparisons(py, &winners, &losers, n_items, &weights, |c| Ok(counting::copeland(c)))?;
    Ok(scored(py, s))
}

#[pyfunction]
#[pyo3(signature = (items, lengths, n_items, weights))]
fn borda<'py>(
    py: Python<'py>,
    items: Ids<'py>,
    lengths: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
) -> PyResult<Scored<'py>> {
    let s = with_rankings(py, &items, &lengths, n_items, &weights, |r| Ok(counting::borda(r)))?;
    Ok(scored(py, s))
}

#[pyfunction]
#[pyo3(signature = (winners, losers, n_items, weights, initial, k, scale, base))]
#[allow(clippy::too_many_arguments)]
fn elo<'py>(
    py: Python<'py>,
    winners: Ids<'py>,
    losers: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
    initial: f64,
    k: f64,
    scale: f64,
    base: f64,
) -> PyResult<Scored<'py>> {
    let (w, l) = (winners.as_slice()?, losers.as_slice()?);
    let wt = weights.as_ref().map(|a| a.as_slice()).transpose()?;
    let p = EloParams { initial, k, scale, base };
    let s = py
        .detach(|| agg::elo::elo(resolve_n_items(n_items, &[w, l])?, w, l, wt, p))
        .map_err(to_py)?;
    Ok(scored(py, s))
}

#[pyfunction]
#[pyo3(signature = (items, lengths))]
fn comparisons_from_rankings<'py>(
    py: Python<'py>,
    items: Ids<'py>,
    lengths: Ids<'py>,
) -> PyResult<(Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>)> {
    let (w, l) = with_rankings(py, &items, &lengths, None, &None, |r| {
        let (w, l) = pairs_from_rankings(r.offsets(), r.items());
        Ok((w.into_iter().map(i64::from).collect::<Vec<_>>(), l.into_iter().map(i64::from).collect::<Vec<_>>()))
    })?;
    Ok((w.into_pyarray(py), l.into_pyarray(py)))
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(bradley_terry, m)?)?;
    m.add_function(wrap_pyfunction!(plackett_luce, m)?)?;
    m.add_function(wrap_pyfunction!(pagerank, m)?)?;
    m.add_function(wrap_pyfunction!(win_rate, m)?)?;
    m.add_function(wrap_pyfunction!(copeland, m)?)?;
    m.add_function(wrap_pyfunction!(borda, m)?)?;
    m.add_function(wrap_pyfunction!(elo, m)?)?;
    m.add_function(wrap_pyfunction!(comparisons_from_rankings, m)?)?;
    Ok(())
}
