//! Plackett–Luce strengths from rankings (e.g. the block rankings a listwise
//! LLM returns), maximising the same kind of posterior as Bradley–Terry:
//! the Plackett–Luce likelihood times Newman's prior (`prior` virtual wins
//! and losses of every item against a dummy of strength 1).
//!
//! A ranking `i_0 > i_1 > ... > i_{L-1}` is `L-1` choices: at stage `t` item
//! `i_t` is chosen from `{i_t, ..., i_{L-1}}`, whose total strength is `D_t`.
//!
//! * `Method::Newman` generalises Newman's iteration:
//!   `p_i <- (prior/(p_i+1) + sum_{stages won} (D_t - p_i)/D_t) /
//!            (prior/(p_i+1) + sum_{stages lost} 1/D_t)`.
//! * `Method::Mm` is Hunter's (2004) MM algorithm:
//!   `p_i <- (wins_i + prior) / (sum_{stages containing i} 1/D_t + 2 prior/(p_i+1))`.
//!
//! With two items per ranking both are exactly the Bradley–Terry iterations.
//! Each sweep first computes every ranking's suffix sums (parallel over
//! rankings), then every item's update (parallel over items, from an index of
//! where each item occurs), so results do not depend on the thread count.

use super::bradley_terry::Method;
use super::{check_prior, strengths_fixed_point, Estimate, ScaleFix, Stopping};
use crate::comparisons::Comparisons;
use crate::error::{Error, Result};
use crate::parallel::{for_each_segment, map_rows};
use crate::rankings::Rankings;

/// Maximum a posteriori Plackett–Luce log-strengths.
///
/// As in [`super::bradley_terry::bradley_terry`], huge weights are scaled
/// down by a power of two and `prior` with them; `prior` must be 0 or at
/// least [`super::MIN_RELATIVE_PRIOR`] times the largest weight (or 1).
pub fn plackett_luce(r: &Rankings, method: Method, prior: f64, stop: Stopping) -> Result<Estimate> {
    let max_weight = (0..r.len()).map(|k| r.weight(k)).fold(0.0, f64::max);
    let weight_scale = crate::comparisons::weight_scale_for(max_weight);
    let prior = check_prior(prior, max_weight, weight_scale)?;
    stop.check()?;
    let n = r.n_items();
    let offsets = r.offsets();
    let items = r.items();
    let scale = match adjacent_pairs(r) {
        Some(graph) if prior > 0.0 => Some(ScaleFix::new(&graph)),
        Some(graph) => {
            graph.check_ml_exists()?;
            None
        }
        None if prior > 0.0 => None, // nothing compared: every strength stays 1
        None => {
            return Err(Error::NotEstimable(
                "no ranking with two or more items (and positive weight): the maximum-likelihood \
                 estimate does not exist; use prior > 0 (e.g. prior=1.0)"
                    .into(),
            ))
        }
    };
    // where each item occurs: flat positions, grouped by item
    let mut occ_offsets = vec![0usize; n + 1];
    for &i in items {
        occ_offsets[i as usize + 1] += 1;
    }
    for i in 0..n {
        occ_offsets[i + 1] += occ_offsets[i];
    }
    let mut cursor = occ_offsets[..n].to_vec();
    let mut occ = vec![0u32; items.len()];
    let mut ranking_of = vec![0u32; items.len()];
    for k in 0..r.len() {
        for pos in offsets[k]..offsets[k + 1] {
            ranking_of[pos] = k as u32;
            let i = items[pos] as usize;
            occ[cursor[i]] = pos as u32;
            cursor[i] += 1;
        }
    }
    drop(cursor);
    if items.len() > u32::MAX as usize {
        return Err(Error::invalid("rankings", "more than 2^32 ranked positions in total"));
    }
    let wins: Vec<f64> = (0..n)
        .map(|i| {
            occ[occ_offsets[i]..occ_offsets[i + 1]]
                .iter()
                .filter(|&&pos| (pos as usize) + 1 < offsets[ranking_of[pos as usize] as usize + 1])
                .map(|&pos| r.weight(ranking_of[pos as usize] as usize) * weight_scale)
                .sum()
        })
        .collect();

    // per ranked position: (D_t, P_t) with P_t = sum_{u<t} 1/D_u
    let mut stage = vec![(0.0f64, 0.0f64); items.len()];
    let stage = &mut stage;
    strengths_fixed_point(n, stop, method == Method::Newman, prior, scale.as_ref(), "Plackett–Luce", |p, next| {
        {
            for_each_segment(stage, offsets, |k, seg| {
                let its = &items[offsets[k]..offsets[k + 1]];
                let mut d = 0.0;
                for t in (0..its.len()).rev() {
                    d += p[its[t] as usize];
                    seg[t].0 = d;
                }
                let mut acc = 0.0;
                for s in seg.iter_mut() {
                    s.1 = acc;
                    acc += 1.0 / s.0;
                }
            });
        }
        {
            let (stage, wins) = (&*stage, &wins);
            let (occ, ranking_of) = (&occ, &ranking_of);
            map_rows(next, &occ_offsets, |i| {
                let pi = p[i];
                let (mut num, mut den) = (0.0, 0.0);
                for &pos in &occ[occ_offsets[i]..occ_offsets[i + 1]] {
                    let pos = pos as usize;
                    let k = ranking_of[pos] as usize;
                    let (start, end) = (offsets[k], offsets[k + 1]);
                    let last = end - 1; // position of the last item: not a choice
                    let w = r.weight(k) * weight_scale;
                    match method {
                        Method::Newman => {
                            if pos < last {
                                num += w * stage[pos + 1].0 / stage[pos].0;
                            }
                            den += w * stage[pos.min(last)].1;
                        }
                        Method::Zermelo => {
                            den += w * stage[(pos + 1).min(last)].1;
                        }
                    }
                    debug_assert!(pos >= start);
                }
                let d = prior / (pi + 1.0);
                match method {
                    Method::Newman => (d + num) / (d + den),
                    Method::Zermelo => (wins[i] + prior) / (den + 2.0 * d),
                }
            });
        }
    })
}

/// The graph "ranked directly above": consecutive pairs give the same
/// reachability (for the ML existence check) and the same connected
/// components (for the scale step) as all pairs, in O(total length).
fn adjacent_pairs(r: &Rankings) -> Option<Comparisons> {
    let (mut w, mut l) = (Vec::new(), Vec::new());
    for k in 0..r.len() {
        for pair in r.get(k).windows(2) {
            if r.weight(k) > 0.0 {
                w.push(pair[0]);
                l.push(pair[1]);
            }
        }
    }
    // validated ids, no self pairs, at least one pair: cannot fail
    Comparisons::new(r.n_items(), &w, &l, None).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::bradley_terry::bradley_terry;

    fn stop() -> Stopping {
        Stopping { tol: 1e-12, max_iter: 100_000 }
    }

    #[test]
    fn pairs_reduce_to_bradley_terry() {
        let w = [0i64, 1, 2, 3, 0, 2, 4, 4, 1];
        let l = [1i64, 2, 3, 0, 2, 1, 0, 3, 4];
        let wt = [1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 1.0, 0.25, 1.0];
        let flat: Vec<i64> = w.iter().zip(&l).flat_map(|(&a, &b)| [a, b]).collect();
        let r = Rankings::new(None, &[2; 9], &flat, Some(&wt)).unwrap();
        let c = Comparisons::new(5, &w, &l, Some(&wt)).unwrap();
        for m in [Method::Newman, Method::Zermelo] {
            for prior in [0.0, 1.0] {
                let a = plackett_luce(&r, m, prior, stop()).unwrap();
                let b = bradley_terry(&c, m, prior, stop()).unwrap();
                for (x, y) in a.scores.iter().zip(&b.scores) {
                    assert!((x - y).abs() < 1e-9, "{m:?} {prior}: {:?} vs {:?}", a.scores, b.scores);
                }
            }
        }
    }

    #[test]
    fn newman_and_mm_agree_on_longer_rankings() {
        let lens = [4, 3, 5, 2, 1];
        let items = [0i64, 1, 2, 3, 3, 1, 0, 4, 2, 0, 3, 1, 2, 4, 3];
        let r = Rankings::new(None, &lens, &items, None).unwrap();
        for prior in [0.0, 0.5] {
            let a = plackett_luce(&r, Method::Newman, prior, stop()).unwrap();
            let b = plackett_luce(&r, Method::Zermelo, prior, stop()).unwrap();
            assert!(a.converged && b.converged);
            for (x, y) in a.scores.iter().zip(&b.scores) {
                assert!((x - y).abs() < 1e-8, "{:?} vs {:?}", a.scores, b.scores);
            }
        }
    }

    #[test]
    fn stationary_point_of_the_log_posterior() {
        let lens = [3, 3, 4];
        let items = [0i64, 1, 2, 2, 3, 0, 1, 3, 2, 0];
        let r = Rankings::new(None, &lens, &items, Some(&[1.0, 2.0, 0.5])).unwrap();
        let prior = 1.0;
        let e = plackett_luce(&r, Method::Newman, prior, stop()).unwrap();
        let p: Vec<f64> = e.scores.iter().map(|s| s.exp()).collect();
        // d/d log p_i of the log-posterior
        let mut g: Vec<f64> = p.iter().map(|&pi| prior * (1.0 - 2.0 * pi / (pi + 1.0))).collect();
        for k in 0..r.len() {
            let its = r.get(k);
            for t in 0..its.len() - 1 {
                let d: f64 = its[t..].iter().map(|&i| p[i as usize]).sum();
                g[its[t] as usize] += r.weight(k);
                for &i in &its[t..] {
                    g[i as usize] -= r.weight(k) * p[i as usize] / d;
                }
            }
        }
        assert!(g.iter().all(|x| x.abs() < 1e-9), "{g:?}");
    }

    #[test]
    fn huge_weights_are_the_same_estimate() {
        let items = [0i64, 1, 2, 1, 0, 2, 2, 1, 0];
        let plain = Rankings::new(None, &[3, 3, 3], &items, None).unwrap();
        let huge = Rankings::new(None, &[3, 3, 3], &items, Some(&[1e300; 3])).unwrap();
        for m in [Method::Newman, Method::Zermelo] {
            let a = plackett_luce(&plain, m, 0.0, stop()).unwrap();
            let b = plackett_luce(&huge, m, 0.0, stop()).unwrap();
            assert!(b.converged && b.scores.iter().all(|s| s.is_finite()));
            for (x, y) in a.scores.iter().zip(&b.scores) {
                assert!((x - y).abs() < 1e-9, "{:?} vs {:?}", a.scores, b.scores);
            }
            // prior 1 next to weights of 1e300: a clear error about the prior, not "use prior > 0"
            let e = plackett_luce(&huge, m, 1.0, stop()).unwrap_err();
            assert!(e.to_string().starts_with("prior:"), "{e}");
        }
    }

    #[test]
    fn ml_needs_strong_connectivity() {
        let r = Rankings::new(None, &[3, 2], &[0i64, 1, 2, 1, 2], None).unwrap();
        assert!(matches!(plackett_luce(&r, Method::Newman, 0.0, stop()), Err(Error::NotEstimable(_))));
        assert!(plackett_luce(&r, Method::Newman, 1.0, stop()).is_ok());
    }
}
