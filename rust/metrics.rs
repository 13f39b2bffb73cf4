//! IR effectiveness metrics with trec_eval's semantics, on one query at a time.
//!
//! Inputs are grades: `ranked[r]` is the judged grade of the document at
//! rank `r` (0 when unjudged), `judged` every grade in the query's qrels.
//! * nDCG (trec_eval `ndcg_cut.k`): linear gains (the grade, negatives count
//!   0), discount `log2(rank + 1)` with 1-based ranks, ideal DCG from all
//!   judged documents of the query cut at the same depth; 0 when it is 0.
//! * Binary metrics count a document relevant when its grade is
//!   `>= relevance_level` (trec_eval `-l`): AP (`map`, `map_cut.k`: precision
//!   at each relevant document within the depth, divided by the number of
//!   relevant documents in the qrels), reciprocal rank (`recip_rank`, within
//!   the depth for `mrr@k`), recall (`recall.k`), precision (`P.k`, divided
//!   by k even when fewer documents were retrieved), R-precision (`Rprec`).

use crate::error::{Error, Result};
use std::fmt;
use std::str::FromStr;

/// One metric, with its cutoff where it has one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    Ndcg(Option<usize>),
    AveragePrecision(Option<usize>),
    ReciprocalRank(Option<usize>),
    Recall(Option<usize>),
    Precision(Option<usize>),
    RPrecision,
}

impl FromStr for Metric {
    type Err = Error;

    /// rankwise names (`ndcg@10`, `map`, `map@100`, `mrr@10`, `recall@100`,
    /// `precision@10` or `p@10`, `rprec`) and trec_eval/pytrec_eval names
    /// (`ndcg_cut.10`, `ndcg_cut_10`, `map_cut_100`, `recip_rank`,
    /// `recall_100`, `P_10`, `P.10`, `Rprec`).
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "metrics",
                format!(
                    "unknown metric {s:?}; expected one of ndcg@k, map, map@k, mrr, mrr@k, recall@k, \
                     precision@k (p@k), rprec, or a trec_eval name such as ndcg_cut_10"
                ),
            )
        };
        let lower = s.trim().to_ascii_lowercase();
        let (name, cut) = match lower.find(['@', '.']).or_else(|| {
            // trec_eval style "ndcg_cut_10", "p_10", "recall_100"
            lower.rfind('_').filter(|&i| lower[i + 1..].chars().all(|c| c.is_ascii_digit()) && i + 1 < lower.len())
        }) {
            Some(i) => (&lower[..i], Some(&lower[i + 1..])),
            None => (lower.as_str(), None),
        };
        let cut = match cut {
            None => None,
            Some(c) => {
                let k: usize = c.parse().map_err(|_| bad())?;
                if k == 0 {
                    return Err(Error::invalid("metrics", format!("{s:?}: the cutoff k must be >= 1")));
                }
                Some(k)
            }
        };
        let m = match name {
            "ndcg" | "ndcg_cut" => Metric::Ndcg(cut),
            "map" | "ap" | "map_cut" => Metric::AveragePrecision(cut),
            "mrr" | "rr" | "recip_rank" => Metric::ReciprocalRank(cut),
            "recall" | "r" => Metric::Recall(cut),
            "precision" | "p" => Metric::Precision(cut),
            "rprec" | "r-prec" | "rprecision" if cut.is_none() => Metric::RPrecision,
            _ => return Err(bad()),
        };
        if matches!(m, Metric::Recall(None) | Metric::Precision(None)) {
            return Err(Error::invalid("metrics", format!("{s:?} needs a cutoff, e.g. {name}@10")));
        }
        Ok(m)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, cut) = match *self {
            Metric::Ndcg(k) => ("ndcg", k),
            Metric::AveragePrecision(k) => ("map", k),
            Metric::ReciprocalRank(k) => ("mrr", k),
            Metric::Recall(k) => ("recall", k),
            Metric::Precision(k) => ("precision", k),
            Metric::RPrecision => ("rprec", None),
        };
        match cut {
            Some(k) => write!(f, "{name}@{k}"),
            None => f.write_str(name),
        }
    }
}

/// Everything a metric needs about one query's judgments.
#[derive(Debug, Clone, Default)]
pub struct Ideal {
    /// Positive grades of the judged documents, best first.
    pub gains: Vec<f64>,
    /// Number of documents with grade >= relevance_level.
    pub n_relevant: usize,
}

impl Ideal {
    pub fn new(judged: impl IntoIterator<Item = i32>, relevance_level: i32) -> Self {
        let mut gains = Vec::new();
        let mut n_relevant = 0;
        for g in judged {
            if g > 0 {
                gains.push(g as f64);
            }
            if g >= relevance_level {
                n_relevant += 1;
            }
        }
        gains.sort_by(|a, b| b.partial_cmp(a).unwrap_or(std::cmp::Ordering::Equal));
        Ideal { gains, n_relevant }
    }
}

#[inline]
fn discount(rank0: usize) -> f64 {
    1.0 / ((rank0 + 2) as f64).log2()
}

/// The value of `metric` for one query.
pub fn score(metric: Metric, ranked: &[i32], ideal: &Ideal, relevance_level: i32) -> f64 {
    // an empty f64 sum is -0.0, which trec_eval prints as 0.0000: report 0
    score_signed(metric, ranked, ideal, relevance_level) + 0.0
}

fn score_signed(metric: Metric, ranked: &[i32], ideal: &Ideal, relevance_level: i32) -> f64 {
    let depth = |k: Option<usize>| k.map_or(ranked.len(), |k| k.min(ranked.len()));
    let rel = |g: i32| g >= relevance_level;
    let nrel = ideal.n_relevant as f64;
    match metric {
        Metric::Ndcg(k) => {
            let d = depth(k);
            let dcg: f64 =
                ranked[..d].iter().enumerate().filter(|(_, &g)| g > 0).map(|(r, &g)| g as f64 * discount(r)).sum();
            let ideal_depth = k.map_or(ideal.gains.len(), |k| k.min(ideal.gains.len()));
            let idcg: f64 = ideal.gains[..ideal_depth].iter().enumerate().map(|(r, &g)| g * discount(r)).sum();
            if idcg > 0.0 {
                dcg / idcg
            } else {
                0.0
            }
        }
        Metric::AveragePrecision(k) => {
            if ideal.n_relevant == 0 {
                return 0.0;
            }
            let mut hits = 0usize;
            let mut sum = 0.0;
            for (r, &g) in ranked[..depth(k)].iter().enumerate() {
                if rel(g) {
                    hits += 1;
                    sum += hits as f64 / (r + 1) as f64;
                }
            }
            sum / nrel
        }
        Metric::ReciprocalRank(k) => {
            ranked[..depth(k)].iter().position(|&g| rel(g)).map_or(0.0, |r| 1.0 / (r + 1) as f64)
        }
        Metric::Recall(k) => {
            if ideal.n_relevant == 0 {
                return 0.0;
            }
            ranked[..depth(k)].iter().filter(|&&g| rel(g)).count() as f64 / nrel
        }
        Metric::Precision(k) => {
            let k = k.unwrap_or(ranked.len()).max(1);
            ranked[..depth(Some(k))].iter().filter(|&&g| rel(g)).count() as f64 / k as f64
        }
        Metric::RPrecision => {
            if ideal.n_relevant == 0 {
                return 0.0;
            }
            let d = ideal.n_relevant.min(ranked.len());
            ranked[..d].iter().filter(|&&g| rel(g)).count() as f64 / nrel
        }
    }
}

/// Kendall's tau-b between two equally long score vectors, O(n log n)
/// (Knight's algorithm), with ties handled as in scipy's `kendalltau`.
/// NaN when either vector is constant.
pub fn kendall_tau(a: &[f64], b: &[f64]) -> Result<f64> {
    if a.len() != b.len() {
        return Err(Error::invalid("b", format!("has length {} but a has length {}", b.len(), a.len())));
    }
    if a.len() < 2 {
        return Err(Error::invalid("a", "needs at least two items"));
    }
    if let Some(i) = a.iter().chain(b).position(|x| x.is_nan()) {
        let (arg, k) = if i < a.len() { ("a", i) } else { ("b", i - a.len()) };
        return Err(Error::invalid(arg, format!("{arg}[{k}] is NaN")));
    }
    let n = a.len();
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&i, &j| a[i].partial_cmp(&a[j]).unwrap().then(b[i].partial_cmp(&b[j]).unwrap()));
    // ties in a, and joint ties
    let (mut ties_a, mut ties_ab) = (0u64, 0u64);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && a[idx[j]] == a[idx[i]] {
            j += 1;
        }
        let t = (j - i) as u64;
        ties_a += t * (t - 1) / 2;
        let mut k = i;
        while k < j {
            let mut l = k + 1;
            while l < j && b[idx[l]] == b[idx[k]] {
                l += 1;
            }
            let u = (l - k) as u64;
            ties_ab += u * (u - 1) / 2;
            k = l;
        }
        i = j;
    }
    // count discordant pairs by merge-sorting on b, counting swaps
    let mut vals: Vec<f64> = idx.iter().map(|&i| b[i]).collect();
    let mut buf = vals.clone();
    let swaps = merge_count(&mut vals, &mut buf);
    let mut ties_b = 0u64;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && vals[j] == vals[i] {
            j += 1;
        }
        let t = (j - i) as u64;
        ties_b += t * (t - 1) / 2;
        i = j;
    }
    let n0 = (n as u64) * (n as u64 - 1) / 2;
    let concordant_minus_discordant = n0 as f64 - ties_a as f64 - ties_b as f64 + ties_ab as f64 - 2.0 * swaps as f64;
    let denom = ((n0 - ties_a) as f64 * (n0 - ties_b) as f64).sqrt();
    Ok(if denom == 0.0 { f64::NAN } else { concordant_minus_discordant / denom })
}

/// Sort `v` ascending; return the number of strictly inverted pairs.
fn merge_count(v: &mut [f64], buf: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut swaps = {
        let (l, r) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        merge_count(l, bl) + merge_count(r, br)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if v[j] < v[i] {
            buf[k] = v[j];
            swaps += (mid - i) as u64;
            j += 1;
        } else {
            buf[k] = v[i];
            i += 1;
        }
        k += 1;
    }
    buf[k..k + mid - i].copy_from_slice(&v[i..mid]);
    let k2 = k + mid - i;
    buf[k2..k2 + n - j].copy_from_slice(&v[j..n]);
    v.copy_from_slice(&buf[..n]);
    swaps
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn parses_names() {
        for (s, m) in [
            ("ndcg@10", Metric::Ndcg(Some(10))),
            ("ndcg_cut_10", Metric::Ndcg(Some(10))),
            ("ndcg_cut.10", Metric::Ndcg(Some(10))),
            ("NDCG", Metric::Ndcg(None)),
            ("map", Metric::AveragePrecision(None)),
            ("map@100", Metric::AveragePrecision(Some(100))),
            ("map_cut_100", Metric::AveragePrecision(Some(100))),
            ("mrr@10", Metric::ReciprocalRank(Some(10))),
            ("recip_rank", Metric::ReciprocalRank(None)),
            ("recall@100", Metric::Recall(Some(100))),
            ("recall_100", Metric::Recall(Some(100))),
            ("P_10", Metric::Precision(Some(10))),
            ("p@5", Metric::Precision(Some(5))),
            ("Rprec", Metric::RPrecision),
        ] {
            assert_eq!(s.parse::<Metric>().unwrap(), m, "{s}");
        }
        for s in ["ndcg@0", "foo", "recall", "ndcg@x", ""] {
            assert!(s.parse::<Metric>().is_err(), "{s}");
        }
        assert_eq!(Metric::Ndcg(Some(10)).to_string(), "ndcg@10");
    }

    #[test]
    fn hand_computed_values() {
        // ranked grades; judged grades include one relevant doc not retrieved
        let ranked = [0, 3, 1, 0, 2];
        let ideal = Ideal::new([3, 2, 2, 1, 0], 2);
        assert_eq!(ideal.n_relevant, 3);
        let dcg = 3.0 / 3f64.log2() + 1.0 / 4f64.log2() + 2.0 / 6f64.log2();
        let idcg = 3.0 + 2.0 / 3f64.log2() + 2.0 / 4f64.log2() + 1.0 / 5f64.log2();
        assert!(close(score(Metric::Ndcg(None), &ranked, &ideal, 2), dcg / idcg));
        let dcg3 = 3.0 / 3f64.log2() + 1.0 / 4f64.log2();
        let idcg3 = 3.0 + 2.0 / 3f64.log2() + 2.0 / 4f64.log2();
        assert!(close(score(Metric::Ndcg(Some(3)), &ranked, &ideal, 2), dcg3 / idcg3));
        assert!(close(score(Metric::AveragePrecision(None), &ranked, &ideal, 2), (1.0 / 2.0 + 2.0 / 5.0) / 3.0));
        assert!(close(score(Metric::AveragePrecision(Some(3)), &ranked, &ideal, 2), (1.0 / 2.0) / 3.0));
        assert!(close(score(Metric::ReciprocalRank(None), &ranked, &ideal, 2), 0.5));
        assert!(close(score(Metric::ReciprocalRank(Some(1)), &ranked, &ideal, 2), 0.0));
        assert!(close(score(Metric::Recall(Some(2)), &ranked, &ideal, 2), 1.0 / 3.0));
        assert!(close(score(Metric::Precision(Some(10)), &ranked, &ideal, 2), 2.0 / 10.0));
        assert!(close(score(Metric::RPrecision, &ranked, &ideal, 2), 1.0 / 3.0));
        // relevance level 1 counts the grade-1 document
        let ideal1 = Ideal::new([3, 2, 2, 1, 0], 1);
        assert!(close(score(Metric::Recall(Some(5)), &ranked, &ideal1, 1), 3.0 / 4.0));
    }

    #[test]
    fn no_negative_zero() {
        // nothing relevant retrieved (trec_eval's queries 301 and 303 at some cutoffs)
        let ideal = Ideal::new([2, 1], 1);
        for m in [Metric::Ndcg(Some(10)), Metric::Ndcg(None), Metric::AveragePrecision(None), Metric::Recall(Some(5))] {
            let v = score(m, &[0, 0, -1], &ideal, 1);
            assert!(v == 0.0 && v.is_sign_positive(), "{m}: {v:?}");
        }
    }

    #[test]
    fn no_relevant_documents_score_zero() {
        let ideal = Ideal::new([0, 0], 1);
        for m in [Metric::Ndcg(Some(10)), Metric::AveragePrecision(None), Metric::Recall(Some(5)), Metric::RPrecision] {
            assert_eq!(score(m, &[0, 0], &ideal, 1), 0.0);
        }
    }

    fn tau_naive(a: &[f64], b: &[f64]) -> f64 {
        let n = a.len();
        let (mut s, mut ta, mut tb) = (0.0, 0.0, 0.0);
        let n0 = (n * (n - 1) / 2) as f64;
        for i in 0..n {
            for j in i + 1..n {
                let x = (a[i] - a[j]).signum() * if a[i] == a[j] { 0.0 } else { 1.0 };
                let y = (b[i] - b[j]).signum() * if b[i] == b[j] { 0.0 } else { 1.0 };
                s += x * y;
                ta += if a[i] == a[j] { 1.0 } else { 0.0 };
                tb += if b[i] == b[j] { 1.0 } else { 0.0 };
            }
        }
        s / ((n0 - ta) * (n0 - tb)).sqrt()
    }

    #[test]
    fn kendall_tau_matches_quadratic_definition() {
        let a = [1.0, 2.0, 2.0, 3.0, 5.0, 4.0, 4.0, 0.0];
        let b = [2.0, 1.0, 3.0, 3.0, 5.0, 6.0, 0.0, 0.0];
        assert!(close(kendall_tau(&a, &b).unwrap(), tau_naive(&a, &b)));
        assert!(close(kendall_tau(&a, &a).unwrap(), 1.0));
        let rev: Vec<f64> = a.iter().map(|x| -x).collect();
        assert!(close(kendall_tau(&a, &rev).unwrap(), -1.0));
        assert!(kendall_tau(&[1.0, 1.0], &[1.0, 2.0]).unwrap().is_nan());
        assert!(kendall_tau(&[1.0], &[1.0]).is_err());
        assert!(kendall_tau(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
    }
}

crate::names! {
    /// What to do with a query that has judgments but is missing from the run.
    pub enum Missing("missing") {
        /// It scores 0 on every metric (trec_eval `-c`).
        Zero = "zero",
        /// It is left out of the evaluation (trec_eval's default, pytrec_eval).
        Skip = "skip",
    }
}

/// Per-query metric values, query-major: `values[q * metrics.len() + m]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub qids: Vec<String>,
    pub metrics: Vec<Metric>,
    pub values: Vec<f64>,
    /// Queries of the run without judgments (not evaluated).
    pub unjudged_run_queries: usize,
    /// Judged queries absent from the run (scored 0 or skipped).
    pub missing_queries: usize,
}

impl Evaluation {
    /// Mean of each metric over the evaluated queries.
    pub fn means(&self) -> Vec<f64> {
        let k = self.metrics.len();
        let nq = self.qids.len().max(1) as f64;
        (0..k).map(|m| self.values.iter().skip(m).step_by(k).sum::<f64>() / nq).collect()
    }
}

/// Evaluate `run` against `qrels`, one query per judged query (in the qrels'
/// order), in parallel over queries. Queries of the run without judgments
/// are not evaluated; judged queries missing from the run follow `missing`.
pub fn evaluate(
    run: &crate::trec::Run,
    qrels: &crate::trec::Qrels,
    metrics: &[Metric],
    relevance_level: i32,
    missing: Missing,
) -> Result<Evaluation> {
    if metrics.is_empty() {
        return Err(Error::invalid("metrics", "no metrics given"));
    }
    let run_index: rustc_hash::FxHashMap<&str, usize> =
        run.qids.iter().enumerate().map(|(i, q)| (q.as_str(), i)).collect();
    let mut rows: Vec<(usize, Option<usize>)> = Vec::new(); // (qrels query, run query)
    let mut missing_queries = 0;
    for (q, qid) in qrels.qids.iter().enumerate() {
        match run_index.get(qid.as_str()) {
            Some(&r) => rows.push((q, Some(r))),
            None => {
                missing_queries += 1;
                if missing == Missing::Zero {
                    rows.push((q, None));
                }
            }
        }
    }
    let matched = rows.iter().filter(|r| r.1.is_some()).count();
    if matched == 0 {
        return Err(Error::invalid(
            "qrels",
            "no query of the run has judgments in the qrels (do the query ids match?)",
        ));
    }
    let unjudged_run_queries = run.qids.iter().filter(|q| qrels.position(q).is_none()).count();
    // balance work by run length
    let mut offsets = vec![0usize; rows.len() + 1];
    for (i, &(_, r)) in rows.iter().enumerate() {
        offsets[i + 1] = offsets[i] + r.map_or(0, |r| run.offsets[r + 1] - run.offsets[r]);
    }
    let mut per_query: Vec<Vec<f64>> = vec![Vec::new(); rows.len()];
    crate::parallel::map_rows(&mut per_query, &offsets, |i| {
        let (q, r) = rows[i];
        let Some(r) = r else { return vec![0.0; metrics.len()] };
        let judged = &qrels.judgments[q];
        let ideal = Ideal::new(judged.values().copied(), relevance_level);
        let ranked: Vec<i32> = run.query(r).0.iter().map(|d| judged.get(d).copied().unwrap_or(0)).collect();
        metrics.iter().map(|&m| score(m, &ranked, &ideal, relevance_level)).collect()
    });
    Ok(Evaluation {
        qids: rows.iter().map(|&(q, _)| qrels.qids[q].clone()).collect(),
        metrics: metrics.to_vec(),
        values: per_query.into_iter().flatten().collect(),
        unjudged_run_queries,
        missing_queries,
    })
}

#[cfg(test)]
mod evaluate_tests {
    use super::*;
    use crate::trec::{Order, Qrels, Run};

    #[test]
    fn conventions_for_missing_and_unjudged_queries() {
        let run = Run::parse("1 Q0 a 1 2 t\n1 Q0 b 2 1 t\n3 Q0 a 1 1 t\n", "r", Order::Score).unwrap();
        let qrels = Qrels::parse("1 0 b 1\n2 0 a 1\n", "q").unwrap();
        let m = [Metric::ReciprocalRank(None)];
        let e = evaluate(&run, &qrels, &m, 1, Missing::Zero).unwrap();
        assert_eq!(e.qids, vec!["1", "2"]);
        assert_eq!(e.values, vec![0.5, 0.0]);
        assert_eq!((e.unjudged_run_queries, e.missing_queries), (1, 1));
        assert_eq!(e.means(), vec![0.25]);
        let e = evaluate(&run, &qrels, &m, 1, Missing::Skip).unwrap();
        assert_eq!(e.qids, vec!["1"]);
        let none = Qrels::parse("9 0 a 1\n", "q").unwrap();
        assert!(evaluate(&run, &none, &m, 1, Missing::Zero).is_err());
        assert!(evaluate(&run, &qrels, &[], 1, Missing::Zero).is_err());
    }
}
