//! Rank fusion of several runs, query by query, with ranx's definitions so
//! results can be checked against it.
//!
//! Rank-based methods use 1-based ranks in each run's order:
//! * `Rrf`: `sum_r w_r / (k + rank_r(d))` (Cormack et al. 2009; k = 60).
//! * `Isr`: `n(d) * sum_r w_r / rank_r(d)^2` (Mourão et al. 2015), where
//!   `n(d)` counts the runs that retrieved `d`.
//! * `Borda`: in each run with `m` of the query's `c` candidates (the union
//!   over runs), rank `i` gets `c - i + 1` points and unranked candidates
//!   `(c - m + 1) / 2`; points are summed with weights.
//!
//! Score-based methods apply a normalisation per run and query first:
//! * `CombSum`: `sum_r w_r * s_r(d)`; `CombMnz`: `n(d) * CombSum`;
//!   `WSum`: the same weighted sum, for explicit weights.
//!
//! Documents absent from a run contribute nothing to it.

use crate::error::{Error, Result};
use crate::trec::Run;
use rustc_hash::FxHashMap;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    Rrf { k: f64 },
    Isr,
    Borda,
    CombSum,
    CombMnz,
    WSum,
}

crate::names! {
    /// Score normalisation before score-based fusion (ranx's definitions,
    /// denominators floored at 1e-9).
    pub enum Norm("norm") {
        None = "none",
        /// `(s - min) / (max - min)`
        MinMax = "min-max" | "minmax",
        /// `(s - mean) / std` (population std)
        ZScore = "z-score" | "zscore" | "zmuv",
        /// `(s - min) / sum(s - min)`
        Sum = "sum",
        /// `s / max`
        Max = "max",
        /// `1 - (rank - 1) / n`
        Rank = "rank",
    }
}

crate::names! {
    /// The fusion methods by name ([`Method`] adds RRF's `k`).
    pub enum Name("method") {
        Rrf = "rrf",
        Isr = "isr",
        Borda = "borda",
        CombSum = "combsum" | "sum",
        CombMnz = "combmnz" | "mnz",
        WSum = "wsum",
    }
}

impl Method {
    pub fn parse(name: &str, k: f64) -> Result<Self> {
        if !(k.is_finite() && k > 0.0) {
            return Err(Error::invalid("k", format!("must be a positive finite number, got {k}")));
        }
        Ok(match name.parse::<Name>()? {
            Name::Rrf => Method::Rrf { k },
            Name::Isr => Method::Isr,
            Name::Borda => Method::Borda,
            Name::CombSum => Method::CombSum,
            Name::CombMnz => Method::CombMnz,
            Name::WSum => Method::WSum,
        })
    }

    fn uses_scores(self) -> bool {
        matches!(self, Method::CombSum | Method::CombMnz | Method::WSum)
    }
}

/// Per-thread buffers reused across queries (doc ids borrowed from the runs).
#[derive(Default)]
struct Scratch<'a> {
    slot: FxHashMap<&'a str, usize>,
    docs: Vec<&'a str>,
    score: Vec<f64>,
    hits: Vec<u32>,
    seen: Vec<bool>,
    order: Vec<(u64, u32)>,
}

/// An integer that sorts ascending as `x` sorts descending (total order on
/// finite floats; -0.0 and 0.0 are made equal first).
#[inline]
fn descending_key(x: f64) -> u64 {
    let b = (x + 0.0).to_bits();
    let ascending = if b >> 63 == 1 { !b } else { b | (1 << 63) };
    !ascending
}

/// Scores at or below this magnitude are normalised as they are; larger
/// ones are first scaled down by a power of two (exact), so that `max - min`,
/// sums and squares cannot overflow. Every normalisation but `none` is
/// invariant to that scaling (the 1e-9 floors aside, which only matter for
/// tiny ranges, never scaled).
const NORM_SAFE: f64 = 1e150;

fn normalise(scores: &[f64], norm: Norm) -> Vec<f64> {
    let n = scores.len();
    if n == 0 {
        return Vec::new();
    }
    let top = scores.iter().fold(0.0f64, |a, s| a.max(s.abs()));
    if top > NORM_SAFE && !matches!(norm, Norm::None | Norm::Rank) {
        let f = crate::comparisons::scale_to_one(top);
        let scaled: Vec<f64> = scores.iter().map(|s| s * f).collect();
        return normalise(&scaled, norm);
    }
    let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    match norm {
        Norm::None => scores.to_vec(),
        Norm::MinMax => {
            let d = (max - min).max(1e-9);
            scores.iter().map(|s| (s - min) / d).collect()
        }
        Norm::ZScore => {
            let mean = scores.iter().sum::<f64>() / n as f64;
            let var = scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n as f64;
            let d = var.sqrt().max(1e-9);
            scores.iter().map(|s| (s - mean) / d).collect()
        }
        Norm::Sum => {
            let d = (scores.iter().sum::<f64>() - min * n as f64).max(1e-9);
            scores.iter().map(|s| (s - min) / d).collect()
        }
        Norm::Max => {
            let d = max.max(1e-9);
            scores.iter().map(|s| s / d).collect()
        }
        Norm::Rank => (0..n).map(|i| 1.0 - i as f64 / n as f64).collect(),
    }
}

/// Fuse `runs` (each in its own best-first order). Queries: the union over
/// runs, in order of first appearance. The fused run is ordered by fused
/// score descending, ties by doc id descending (trec_eval's order).
/// Scores must be finite (as every [`Run`] constructor ensures); a fused
/// score that overflows (huge weights times huge scores under `none`) is an
/// error naming the query and document, never an `inf` or NaN in the run.
pub fn fuse(runs: &[&Run], method: Method, weights: Option<&[f64]>, norm: Norm) -> Result<Run> {
    if runs.is_empty() {
        return Err(Error::invalid("runs", "no runs to fuse"));
    }
    if let Some(w) = weights {
        if w.len() != runs.len() {
            return Err(Error::invalid("weights", format!("has {} weights for {} runs", w.len(), runs.len())));
        }
        if let Some(x) = w.iter().find(|x| !x.is_finite()) {
            return Err(Error::invalid("weights", format!("weight {x} is not finite")));
        }
    }
    let weight = |r: usize| weights.map_or(1.0, |w| w[r]);
    // union of query ids, and where each run has each query
    let mut qindex: FxHashMap<&str, usize> = FxHashMap::default();
    let mut qids: Vec<&str> = Vec::new();
    for run in runs {
        for q in &run.qids {
            qindex.entry(q.as_str()).or_insert_with(|| {
                qids.push(q.as_str());
                qids.len() - 1
            });
        }
    }
    for (r, run) in runs.iter().enumerate() {
        if let Some(k) = run.scores.iter().position(|x| !x.is_finite()) {
            return Err(Error::invalid("runs", format!("runs[{r}]: score {} is not finite", run.scores[k])));
        }
    }
    // where each run has each query, as (run, query index) grouped by union
    // query in run order: O(total queries), not queries x runs
    let mut member_offsets = vec![0usize; qids.len() + 1];
    for run in runs {
        for qid in &run.qids {
            member_offsets[qindex[qid.as_str()] + 1] += 1;
        }
    }
    for q in 0..qids.len() {
        member_offsets[q + 1] += member_offsets[q];
    }
    let mut members = vec![(0usize, 0usize); member_offsets[qids.len()]];
    {
        let mut cursor = member_offsets[..qids.len()].to_vec();
        for (r, run) in runs.iter().enumerate() {
            for (x, qid) in run.qids.iter().enumerate() {
                let q = qindex[qid.as_str()];
                members[cursor[q]] = (r, x);
                cursor[q] += 1;
            }
        }
    }
    let at = |q: usize| &members[member_offsets[q]..member_offsets[q + 1]];
    let mut work = vec![0usize; qids.len() + 1];
    for q in 0..qids.len() {
        let docs: usize = at(q).iter().map(|&(r, x)| runs[r].offsets[x + 1] - runs[r].offsets[x]).sum();
        work[q + 1] = work[q] + docs;
    }
    let mut fused: Vec<Result<Run>> = vec![Ok(Run::default()); qids.len()];
    crate::parallel::map_rows_with(&mut fused, &work, Scratch::default, |sc, q| {
        let total = work[q + 1] - work[q];
        let Scratch { slot, docs, score, hits, seen, order } = sc;
        slot.clear();
        slot.reserve(total);
        docs.clear();
        for &(r, x) in at(q) {
            {
                for d in runs[r].query(x).0.iter() {
                    slot.entry(d).or_insert_with(|| {
                        docs.push(d);
                        docs.len() - 1
                    });
                }
            }
        }
        let c = docs.len();
        score.clear();
        score.resize(c, 0.0);
        hits.clear();
        hits.resize(c, 0);
        let mut present = at(q).iter().peekable();
        for (r, run) in runs.iter().enumerate() {
            let w = weight(r);
            let Some(&(_, x)) = present.next_if(|&&(pr, _)| pr == r) else {
                if method == Method::Borda {
                    // a run without the query ranks nothing: every candidate unranked
                    let pts = (c as f64 + 1.0) / 2.0;
                    score.iter_mut().for_each(|s| *s += w * pts);
                }
                continue;
            };
            let (rdocs, rscores) = run.query(x);
            let values = if method.uses_scores() { normalise(rscores, norm) } else { Vec::new() };
            seen.clear();
            seen.resize(if method == Method::Borda { c } else { 0 }, false);
            for (i, d) in rdocs.iter().enumerate() {
                let j = slot[d];
                hits[j] += 1;
                let rank = (i + 1) as f64;
                score[j] += w * match method {
                    Method::Rrf { k } => 1.0 / (k + rank),
                    Method::Isr => 1.0 / (rank * rank),
                    Method::Borda => {
                        seen[j] = true;
                        c as f64 - rank + 1.0
                    }
                    Method::CombSum | Method::CombMnz | Method::WSum => values[i],
                };
            }
            if method == Method::Borda {
                let pts = (c as f64 - rdocs.len() as f64 + 1.0) / 2.0;
                for j in 0..c {
                    if !seen[j] {
                        score[j] += w * pts;
                    }
                }
            }
        }
        if matches!(method, Method::CombMnz | Method::Isr) {
            for j in 0..c {
                score[j] *= hits[j] as f64;
            }
        }
        if let Some(j) = score.iter().position(|s| !s.is_finite()) {
            return Err(Error::invalid(
                "weights",
                format!(
                    "query {:?}, document {:?}: the fused score overflows (weights times scores beyond the \
                     floating-point range); use smaller weights or a normalisation",
                    qids[q], docs[j]
                ),
            ));
        }
        // an empty or all-negative-zero sum is -0.0: report 0
        score.iter_mut().for_each(|s| *s += 0.0);
        // score descending via integer keys, then equal scores by doc id descending
        order.clear();
        order.extend((0..c).map(|j| (descending_key(score[j]), j as u32)));
        order.sort_unstable();
        let mut i = 0;
        while i < order.len() {
            let mut e = i + 1;
            while e < order.len() && order[e].0 == order[i].0 {
                e += 1;
            }
            if e - i > 1 {
                order[i..e].sort_unstable_by(|a, b| docs[b.1 as usize].cmp(docs[a.1 as usize]));
            }
            i = e;
        }
        let order = order.iter().map(|&(_, j)| j as usize);
        let sorted: Vec<f64> = order.clone().map(|j| score[j]).collect();
        let mut one = Run::default();
        one.push_query(qids[q], order.map(|j| docs[j]), &sorted);
        Ok(one)
    });
    let mut out = Run::default();
    for part in fused {
        let part = part?;
        let (docs, scores) = part.query(0);
        out.push_query(&part.qids[0], docs.iter(), scores);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trec::Order;

    fn runs() -> (Run, Run) {
        let a = Run::parse("1 Q0 a 1 3 t\n1 Q0 b 2 2 t\n1 Q0 c 3 1 t\n", "a", Order::Score).unwrap();
        let b = Run::parse("1 Q0 b 1 10 t\n1 Q0 d 2 5 t\n2 Q0 x 1 1 t\n", "b", Order::Score).unwrap();
        (a, b)
    }

    fn get(run: &Run, q: usize, d: &str) -> f64 {
        let (docs, scores) = run.query(q);
        scores[docs.iter().position(|x| x == d).unwrap()]
    }

    #[test]
    fn rrf_by_hand() {
        let (a, b) = runs();
        let f = fuse(&[&a, &b], Method::Rrf { k: 60.0 }, None, Norm::None).unwrap();
        assert_eq!(f.qids, vec!["1", "2"]);
        assert!((get(&f, 0, "b") - (1.0 / 62.0 + 1.0 / 61.0)).abs() < 1e-15);
        assert!((get(&f, 0, "a") - 1.0 / 61.0).abs() < 1e-15);
        assert_eq!(f.query(0).0.get(0), "b");
        let w = fuse(&[&a, &b], Method::Rrf { k: 60.0 }, Some(&[2.0, 0.0]), Norm::None).unwrap();
        assert!((get(&w, 0, "b") - 2.0 / 62.0).abs() < 1e-15);
    }

    #[test]
    fn combsum_combmnz_isr_borda_by_hand() {
        let (a, b) = runs();
        let s = fuse(&[&a, &b], Method::CombSum, None, Norm::MinMax).unwrap();
        assert!((get(&s, 0, "b") - (0.5 + 1.0)).abs() < 1e-12);
        assert!((get(&s, 0, "d")).abs() < 1e-12);
        let m = fuse(&[&a, &b], Method::CombMnz, None, Norm::MinMax).unwrap();
        assert!((get(&m, 0, "b") - 2.0 * 1.5).abs() < 1e-12);
        let i = fuse(&[&a, &b], Method::Isr, None, Norm::None).unwrap();
        assert!((get(&i, 0, "b") - 2.0 * (0.25 + 1.0)).abs() < 1e-15);
        // 4 candidates: run a ranks a,b,c (4,3,2 points), d unranked (4-3+1)/2 = 1;
        // run b ranks b,d (4,3), a and c unranked (4-2+1)/2 = 1.5
        let bo = fuse(&[&a, &b], Method::Borda, None, Norm::None).unwrap();
        assert_eq!(get(&bo, 0, "b"), 3.0 + 4.0);
        assert_eq!(get(&bo, 0, "a"), 4.0 + 1.5);
        assert_eq!(get(&bo, 0, "d"), 1.0 + 3.0);
    }

    #[test]
    fn descending_keys_order_floats() {
        let xs = [3.5, -1.0, 0.0, -0.0, 1e-300, -1e300, 2.0];
        let mut by_key: Vec<f64> = xs.to_vec();
        by_key.sort_by_key(|&x| descending_key(x));
        let mut by_cmp = xs.to_vec();
        by_cmp.sort_by(|a, b| b.partial_cmp(a).unwrap());
        assert_eq!(by_key, by_cmp);
        assert_eq!(descending_key(0.0), descending_key(-0.0));
    }

    #[test]
    fn norms() {
        let s = [3.0, 2.0, 1.0];
        assert_eq!(normalise(&s, Norm::MinMax), vec![1.0, 0.5, 0.0]);
        assert_eq!(normalise(&s, Norm::Sum), vec![2.0 / 3.0, 1.0 / 3.0, 0.0]);
        assert_eq!(normalise(&s, Norm::Rank), vec![1.0, 1.0 - 1.0 / 3.0, 1.0 - 2.0 / 3.0]);
        let z = normalise(&s, Norm::ZScore);
        assert!((z[0] - 1.0 / (2.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(normalise(&[5.0, 5.0], Norm::MinMax), vec![0.0, 0.0]);
    }

    #[test]
    fn huge_scores_normalise_and_overflow_is_an_error() {
        let a = Run::parse("1 Q0 a 1 1.7e308 t\n1 Q0 b 2 -1.7e308 t\n1 Q0 c 3 0 t\n", "a", Order::Score).unwrap();
        for norm in [Norm::MinMax, Norm::ZScore, Norm::Sum, Norm::Max, Norm::Rank] {
            let f = fuse(&[&a], Method::CombSum, None, norm).unwrap();
            assert!(f.scores.iter().all(|s| s.is_finite()), "{norm:?}: {:?}", f.scores);
            assert_eq!(f.query(0).0.get(0), "a", "{norm:?}: the best document stays first");
        }
        assert_eq!(normalise(&[1.7e308, -1.7e308, 0.0], Norm::MinMax), vec![1.0, 0.0, 0.5]);
        let e = fuse(&[&a, &a], Method::CombSum, None, Norm::None).unwrap_err();
        assert!(e.to_string().contains("overflows"), "{e}");
        let mut inf = Run::default();
        inf.push_query("1", ["a"], &[f64::INFINITY]);
        assert!(fuse(&[&inf], Method::Rrf { k: 60.0 }, None, Norm::None).is_err());
        // no negative zero: a z-scored constant run
        let z = Run::parse("1 Q0 a 1 -0.0 t\n", "z", Order::Score).unwrap();
        let f = fuse(&[&z], Method::CombSum, None, Norm::None).unwrap();
        assert!(f.scores[0].is_sign_positive());
    }

    #[test]
    fn borda_with_runs_missing_queries() {
        let (a, b) = runs();
        let only2 = Run::parse("2 Q0 y 1 1 t\n", "c", Order::Score).unwrap();
        let f = fuse(&[&a, &only2, &b], Method::Borda, None, Norm::None).unwrap();
        // query 1 has candidates a b c d; run "c" lacks it: (4 + 1) / 2 to each
        assert_eq!(get(&f, 0, "b"), 3.0 + 2.5 + 4.0);
        assert_eq!(f.qids, vec!["1", "2"]);
    }

    #[test]
    fn bad_arguments() {
        let (a, _) = runs();
        assert!(fuse(&[], Method::CombSum, None, Norm::None).is_err());
        assert!(fuse(&[&a], Method::CombSum, Some(&[1.0, 2.0]), Norm::None).is_err());
        assert!(Method::parse("rrf", 0.0).is_err());
        assert!(Method::parse("nope", 60.0).is_err());
        assert!("nope".parse::<Norm>().is_err());
    }
}
