//! The `rankwise._core` extension module: bindings only. Each function borrows
//! the numpy arrays, detaches from the interpreter while the pure core works,
//! and maps core errors to the exception classes of `rankwise._errors`.

use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};

use crate::aggregate::bradley_terry::Method;
use crate::aggregate::elo::EloParams;
use crate::aggregate::{self as agg, counting, ranking_from_scores, Estimate, Stopping};
use crate::comparisons::{pairs_from_rankings_checked, resolve_n_items, Comparisons};
use crate::error::Error;
use crate::fusion;
use crate::metrics::{self, Metric, Missing};
use crate::plan::blocks::Design;
use crate::plan::{self, Params, Plan, Value};
use crate::rankings::Rankings;
use crate::trec::{self, Order};

/// mimalloc keeps freed pages mapped and reuses them, so large per-call
/// buffers (the comparison store, run buffers) do not pay page faults again
/// on every call; glibc returns them to the OS. Rust allocations only.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The one error conversion: a core error raises `rankwise.InvalidInputError`
/// or `rankwise.EstimationError` (both subclasses of `ValueError`), or
/// `MemoryError`; so `?` turns a core `Result` into a `PyResult`. (No
/// newtype is needed: the orphan rule allows `From<crate::Error>` for `PyErr`.)
impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        to_exception(e)
    }
}

fn to_exception(e: Error) -> PyErr {
    let class = match e {
        Error::InvalidInput { .. } => "InvalidInputError",
        Error::NotEstimable(_) => "EstimationError",
        Error::OutOfMemory { .. } => return pyo3::exceptions::PyMemoryError::new_err(e.to_string()),
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
/// (winners, losers)
type Pairs<'py> = (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>);
/// (scores, ranking, iterations, converged)
type Estimated<'py> = (Bound<'py, PyArray1<f64>>, Bound<'py, PyArray1<i64>>, usize, bool);

/// The one conversion into the core's sizes: int64 from numpy to `usize`,
/// refusing negatives by the argument's name.
fn usizes(arg: &str, a: &[i64]) -> PyResult<Vec<usize>> {
    a.iter()
        .map(|&x| usize::try_from(x).map_err(|_| Error::invalid(arg, format!("must be non-negative, got {x}")).into()))
        .collect()
}

/// The one conversion out: ids, offsets and lengths (`u32` or `usize`,
/// always below 2^63 as they index memory) as numpy's int64.
fn i64s<T: Copy>(v: &[T]) -> Vec<i64>
where
    i64: TryFrom<T>,
{
    v.iter().map(|&x| i64::try_from(x).unwrap_or(i64::MAX)).collect()
}

fn scored<'py>(py: Python<'py>, scores: Vec<f64>) -> Scored<'py> {
    let ranking = i64s(&ranking_from_scores(&scores));
    (scores.into_pyarray(py), ranking.into_pyarray(py))
}

fn estimated<'py>(py: Python<'py>, e: Estimate) -> Estimated<'py> {
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
    .map_err(PyErr::from)
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
    let lengths = usizes("lengths", lengths.as_slice()?)?;
    let wt = weights.as_ref().map(|a| a.as_slice()).transpose()?;
    py.detach(|| f(&Rankings::new(n_items, &lengths, items, wt)?)).map_err(PyErr::from)
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
) -> PyResult<Estimated<'py>> {
    let method: Method = method.parse()?;
    let stop = Stopping { tol, max_iter };
    // scalar arguments first: before anything sized by n_items is allocated
    stop.check().and_then(|_| agg::check_prior_value(prior))?;
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
) -> PyResult<Estimated<'py>> {
    let method: Method = method.parse()?;
    let stop = Stopping { tol, max_iter };
    stop.check().and_then(|_| agg::check_prior_value(prior))?;
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
) -> PyResult<Estimated<'py>> {
    let stop = Stopping { tol, max_iter };
    stop.check().and_then(|_| agg::pagerank::check_damping(damping))?;
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
    let s = with_rankings(py, &items, &lengths, n_items, &weights, counting::borda)?;
    Ok(scored(py, s))
}

#[pyfunction]
#[pyo3(signature = (winners, losers, n_items, weights, draws, initial, k, scale, base))]
#[allow(clippy::too_many_arguments)]
fn elo<'py>(
    py: Python<'py>,
    winners: Ids<'py>,
    losers: Ids<'py>,
    n_items: Option<usize>,
    weights: Option<Floats<'py>>,
    draws: Option<PyReadonlyArray1<'py, bool>>,
    initial: f64,
    k: f64,
    scale: f64,
    base: f64,
) -> PyResult<Scored<'py>> {
    let (w, l) = (winners.as_slice()?, losers.as_slice()?);
    let wt = weights.as_ref().map(|a| a.as_slice()).transpose()?;
    let d = draws.as_ref().map(|a| a.as_slice()).transpose()?;
    let p = EloParams { initial, k, scale, base };
    let s = py.detach(|| agg::elo::elo(resolve_n_items(n_items, &[w, l])?, w, l, wt, d, p))?;
    Ok(scored(py, s))
}

#[pyfunction]
#[pyo3(signature = (items, lengths))]
fn comparisons_from_rankings<'py>(py: Python<'py>, items: Ids<'py>, lengths: Ids<'py>) -> PyResult<Pairs<'py>> {
    let (w, l) = with_rankings(py, &items, &lengths, None, &None, |r| {
        let (w, l) = pairs_from_rankings_checked(r.offsets(), r.items())?;
        Ok((i64s(&w), i64s(&l)))
    })?;
    Ok((w.into_pyarray(py), l.into_pyarray(py)))
}

/// A run held in Rust (the data behind `rankwise.Run`).
#[pyclass(frozen, module = "rankwise._core")]
struct RunData(trec::Run);

#[pymethods]
impl RunData {
    fn __len__(&self) -> usize {
        self.0.len()
    }
    /// Query ids, in order.
    fn qids(&self) -> Vec<String> {
        self.0.qids.clone()
    }
    /// Total number of (query, document) entries.
    fn n_entries(&self) -> usize {
        self.0.n_entries()
    }
    /// Lines of the parsed file with more than six columns (ignored, as trec_eval does).
    #[getter]
    fn extra_column_lines(&self) -> usize {
        self.0.extra_column_lines
    }
    /// Query `i`: (qid, doc ids best first, scores).
    fn query<'py>(&self, py: Python<'py>, i: usize) -> PyResult<(String, Vec<String>, Bound<'py, PyArray1<f64>>)> {
        if i >= self.0.len() {
            return Err(pyo3::exceptions::PyIndexError::new_err(format!("query index {i} out of range")));
        }
        let (d, s) = self.0.query(i);
        Ok((self.0.qids[i].clone(), d.iter().map(str::to_string).collect(), s.to_vec().into_pyarray(py)))
    }
    /// The run as TREC text.
    fn to_trec(&self, py: Python<'_>, tag: &str) -> PyResult<String> {
        py.detach(|| self.0.to_trec(tag)).map_err(PyErr::from)
    }
}

/// Relevance judgments held in Rust (the data behind `rankwise.Qrels`).
#[pyclass(frozen, module = "rankwise._core")]
struct QrelsData(trec::Qrels);

#[pymethods]
impl QrelsData {
    fn __len__(&self) -> usize {
        self.0.len()
    }
    fn qids(&self) -> Vec<String> {
        self.0.qids.clone()
    }
    /// Judgments of query `i` as (doc ids, grades), doc ids sorted.
    fn query(&self, i: usize) -> PyResult<(Vec<String>, Vec<i32>)> {
        let j = self
            .0
            .judgments
            .get(i)
            .ok_or_else(|| pyo3::exceptions::PyIndexError::new_err(format!("query index {i} out of range")))?;
        let mut v: Vec<(&String, &i32)> = j.iter().collect();
        v.sort();
        Ok((v.iter().map(|x| x.0.clone()).collect(), v.iter().map(|x| *x.1).collect()))
    }
}

#[pyfunction]
#[pyo3(signature = (text, source, order))]
fn run_from_trec(py: Python<'_>, text: &str, source: &str, order: &str) -> PyResult<RunData> {
    let order: Order = order.parse()?;
    py.detach(|| trec::Run::parse(text, source, order)).map(RunData).map_err(PyErr::from)
}

#[pyfunction]
#[pyo3(signature = (qids, docids, scores, order))]
fn run_from_lists(
    py: Python<'_>,
    qids: Vec<String>,
    docids: Vec<Vec<String>>,
    scores: Vec<PyReadonlyArray1<'_, f64>>,
    order: &str,
) -> PyResult<RunData> {
    let order: Order = order.parse()?;
    let scores: Vec<Vec<f64>> = scores.iter().map(|s| Ok(s.as_slice()?.to_vec())).collect::<PyResult<_>>()?;
    Ok(RunData(py.detach(|| trec::Run::from_lists(qids, &docids, scores, order))?))
}

#[pyfunction]
#[pyo3(signature = (text, source))]
fn qrels_from_trec(py: Python<'_>, text: &str, source: &str) -> PyResult<QrelsData> {
    py.detach(|| trec::Qrels::parse(text, source)).map(QrelsData).map_err(PyErr::from)
}

#[pyfunction]
#[pyo3(signature = (qids, docids, grades))]
fn qrels_from_lists(qids: Vec<String>, docids: Vec<Vec<String>>, grades: Vec<Vec<i32>>) -> PyResult<QrelsData> {
    Ok(QrelsData(trec::Qrels::from_lists(&qids, &docids, &grades)?))
}

type EvalOut<'py> = (Vec<String>, Vec<String>, Bound<'py, PyArray1<f64>>, usize, usize);

#[pyfunction]
#[pyo3(signature = (run, qrels, metrics, relevance_level, missing))]
fn evaluate<'py>(
    py: Python<'py>,
    run: &RunData,
    qrels: &QrelsData,
    metrics: Vec<String>,
    relevance_level: i32,
    missing: &str,
) -> PyResult<EvalOut<'py>> {
    let ms: Vec<Metric> = metrics.iter().map(|m| m.parse()).collect::<Result<_, _>>()?;
    let missing: Missing = missing.parse()?;
    let e = py.detach(|| metrics::evaluate(&run.0, &qrels.0, &ms, relevance_level, missing))?;
    let names = e.metrics.iter().map(|m| m.to_string()).collect();
    Ok((e.qids, names, e.values.into_pyarray(py), e.unjudged_run_queries, e.missing_queries))
}

#[pyfunction]
#[pyo3(signature = (runs, method, k, weights, norm))]
fn fuse(
    py: Python<'_>,
    runs: Vec<Bound<'_, RunData>>,
    method: &str,
    k: f64,
    weights: Option<Vec<f64>>,
    norm: &str,
) -> PyResult<RunData> {
    let method = fusion::Method::parse(method, k)?;
    let norm: fusion::Norm = norm.parse()?;
    let refs: Vec<&trec::Run> = runs.iter().map(|r| &r.get().0).collect();
    py.detach(|| fusion::fuse(&refs, method, weights.as_deref(), norm)).map(RunData).map_err(PyErr::from)
}

#[pyfunction]
#[pyo3(signature = (a, b))]
fn kendall_tau(py: Python<'_>, a: Floats<'_>, b: Floats<'_>) -> PyResult<f64> {
    let (a, b) = (a.as_slice()?, b.as_slice()?);
    py.detach(|| metrics::kendall_tau(a, b)).map_err(PyErr::from)
}

/// (order, parsed, duplicates, out_of_range, missing, letters)
type ParsedOut<'py> = (Bound<'py, PyArray1<i64>>, usize, Vec<u32>, Vec<i64>, Vec<u32>, bool);

/// The item count of a parser, checked: `0..=MAX_WINDOW`, named `n`.
fn window_items(n: i64) -> PyResult<usize> {
    match usize::try_from(n) {
        Ok(k) if k <= crate::parse::MAX_WINDOW => Ok(k),
        _ => Err(Error::invalid("n", format!("must be in [0, {}], got {n}", crate::parse::MAX_WINDOW)).into()),
    }
}

#[pyfunction]
#[pyo3(signature = (text, n))]
fn parse_permutation<'py>(py: Python<'py>, text: &str, n: i64) -> PyResult<ParsedOut<'py>> {
    let p = crate::parse::parse_permutation(text, window_items(n)?);
    let order = i64s(&p.order);
    Ok((order.into_pyarray(py), p.parsed, p.duplicates, p.out_of_range, p.missing, p.letters))
}

type ScoresOut<'py> = (Bound<'py, PyArray1<f64>>, usize, Vec<u32>, Vec<i64>, Vec<u32>);

#[pyfunction]
#[pyo3(signature = (text, n))]
fn parse_scores<'py>(py: Python<'py>, text: &str, n: i64) -> PyResult<ScoresOut<'py>> {
    let p = crate::parse::parse_scores(text, window_items(n)?);
    Ok((p.scores.into_pyarray(py), p.parsed, p.duplicates, p.out_of_range, p.missing))
}

/// The names a user may pick for `what` ("block_aggregator", "design",
/// "pair_aggregator", "sampler", "setwise_method", "call_kind",
/// "strength_method", "fusion", "norm", "order", "missing"), canonical
/// spelling; `-` and `_` are accepted alike wherever these are parsed.
#[pyfunction]
#[pyo3(signature = (what))]
fn choices(what: &str) -> PyResult<Vec<&'static str>> {
    crate::names::choices(what).map(<[_]>::to_vec).ok_or_else(|| {
        PyErr::from(Error::invalid(
            "what",
            format!("unknown choice list {what:?}; expected one of {}", crate::names::CHOICES.join(", ")),
        ))
    })
}

/// One query's planner (see `rust/plan`): `requests()` gives the calls to
/// answer now as flat (offsets, items) arrays, `submit_*` takes their
/// answers, `result()` the ranking once `done`.
#[pyclass(module = "rankwise._core", name = "Plan")]
struct PyPlan(Plan);

/// A Python value as a planner parameter: the one conversion of Python
/// ints into the core (every int as `i128`; larger ones kept as text so the
/// core names the argument, not an OverflowError).
fn param(v: &Bound<'_, PyAny>) -> PyResult<Value> {
    use pyo3::types::{PyBool, PyFloat, PyList, PyString, PyTuple};
    if v.is_none() {
        return Ok(Value::None);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(t) = v.cast::<PyString>() {
        return Ok(Value::Str(t.to_str()?.to_owned()));
    }
    if let Ok(f) = v.cast::<PyFloat>() {
        return Ok(Value::Float(f.value()));
    }
    if v.cast::<PyList>().is_ok() || v.cast::<PyTuple>().is_ok() {
        return Ok(Value::List(v.try_iter()?.map(|x| param(&x?)).collect::<PyResult<_>>()?));
    }
    match v.extract::<i128>() {
        Ok(x) => Ok(Value::Int(x)),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(v.py()) => {
            Ok(Value::TooLarge(v.str()?.to_string()))
        }
        Err(_) => Ok(Value::Other(v.get_type().name()?.to_string())),
    }
}

fn params(d: &Bound<'_, PyDict>) -> PyResult<Params> {
    let mut out = Vec::with_capacity(d.len());
    for (k, v) in d.iter() {
        out.push((k.extract::<String>()?, param(&v)?));
    }
    Ok(Params::new(out))
}

#[pymethods]
impl PyPlan {
    /// The planner `name` (see `plan::PLANNERS`) for `n` items, with its
    /// parameters by name; every value is checked in the core, naming it.
    #[staticmethod]
    fn new(py: Python<'_>, name: &str, n: &Bound<'_, PyAny>, params: &Bound<'_, PyDict>) -> PyResult<Self> {
        let mut p = self::params(params)?;
        p.push("n", param(n)?);
        let n = p.usize("n")?;
        let name = name.to_owned();
        py.detach(|| plan::build(&name, n, p)).map(|planner| PyPlan(Plan::new(planner))).map_err(PyErr::from)
    }
    /// The names of the registered planners.
    #[staticmethod]
    fn planners() -> Vec<&'static str> {
        plan::params::names()
    }
    /// The design JointRank uses for `n` items ("auto" resolved).
    #[staticmethod]
    fn block_design(n: &Bound<'_, PyAny>, params: &Bound<'_, PyDict>) -> PyResult<&'static str> {
        let mut p = self::params(params)?;
        p.push("n", param(n)?);
        let f = |mut p: Params| -> Result<&'static str, Error> {
            let (n, k, r, d) =
                (p.usize("n")?, p.usize("block_size")?, p.usize("replicas")?, p.name::<Design>("design")?);
            Ok(d.resolve(n, k, r).name())
        };
        f(p).map_err(PyErr::from)
    }
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.kind().name()
    }
    #[getter]
    fn n(&self) -> usize {
        self.0.n()
    }
    fn requests<'py>(&mut self, py: Python<'py>) -> (Bound<'py, PyArray1<i64>>, Bound<'py, PyArray1<i64>>) {
        let calls = self.0.requests();
        (i64s(&calls.offsets).into_pyarray(py), i64s(&calls.items).into_pyarray(py))
    }
    fn submit_orders(&mut self, offsets: Ids<'_>, ids: Ids<'_>) -> PyResult<()> {
        let offsets = usizes("offsets", offsets.as_slice()?)?;
        self.0.submit_orders(&offsets, ids.as_slice()?).map_err(PyErr::from)
    }
    fn submit_scores(&mut self, offsets: Ids<'_>, scores: Floats<'_>) -> PyResult<()> {
        let offsets = usizes("offsets", offsets.as_slice()?)?;
        self.0.submit_scores(&offsets, scores.as_slice()?).map_err(PyErr::from)
    }
    fn submit_values(&mut self, values: Floats<'_>) -> PyResult<()> {
        self.0.submit_values(values.as_slice()?).map_err(PyErr::from)
    }
    fn result<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let r = py.detach(|| self.0.result())?;
        Ok(i64s(&r).into_pyarray(py))
    }
    /// (calls, docs_shown, rounds, repaired, unparsed)
    fn spend(&self) -> (usize, usize, usize, usize, usize) {
        let s = self.0.spend;
        (s.calls, s.docs_shown, s.rounds, s.repaired, s.unparsed)
    }
}

// Free-threaded CPython may load this module without turning the GIL back on: the core keeps no mutable
// global state, the classes go through PyO3's runtime borrow checks, and arrays are read with the GIL released
// already.
/// The module, declared: every binding above is exported by name.
#[pymodule(gil_used = false)]
mod _core {
    use pyo3::prelude::*;

    #[pymodule_export]
    use super::{
        borda, bradley_terry, choices, comparisons_from_rankings, copeland, elo, evaluate, fuse, kendall_tau, pagerank,
        parse_permutation, parse_scores, plackett_luce, qrels_from_lists, qrels_from_trec, run_from_lists,
        run_from_trec, win_rate, PyPlan, QrelsData, RunData,
    };

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("MAX_WINDOW", crate::parse::MAX_WINDOW)?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))
    }
}
