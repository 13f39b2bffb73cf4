//! PageRank over the comparison graph: every loser passes its score to the
//! items that beat it, in proportion to the weight of those wins (the
//! convention of JointRank and evalica). Items that never lost are dangling
//! and spread their score uniformly. Scores sum to 1.
//!
//! Pull form, row by row: `pr_i <- (1-d)/n + d * (dangling/n + sum_j t_ij pr_j)`
//! with the transition share `t_ij = won_ij / lost_j` in [0, 1], computed
//! once (so no sweep divides, and tiny weights cannot overflow).
//! Stops when the L1 change between sweeps is below `tol`.

use super::{Estimate, Stopping};
use crate::comparisons::Comparisons;
use crate::error::{Error, Result};
use crate::parallel::map_rows;

/// Check the damping factor: in `[0, 1)`. Callers check it (and
/// [`Stopping::check`]) before building the comparisons, so a bad parameter
/// is reported before any work sized by the input.
pub fn check_damping(damping: f64) -> Result<()> {
    if !(damping.is_finite() && (0.0..1.0).contains(&damping)) {
        return Err(Error::invalid("damping", format!("must be in [0, 1), got {damping}")));
    }
    Ok(())
}

pub fn pagerank(c: &Comparisons, damping: f64, stop: Stopping) -> Result<Estimate> {
    check_damping(damping)?;
    stop.check()?;
    let n = c.n_items();
    let offsets = c.offsets();
    let out = c.total_lost();
    let mut share = vec![0.0f64; offsets[n]];
    {
        let out = &out;
        crate::parallel::for_each_segment(&mut share, offsets, |i, seg| {
            let (nbr, won, _) = c.row(i);
            for k in 0..nbr.len() {
                // an opponent that never lost passes nothing (and 0/0 is no share)
                seg[k] = if won[k] > 0.0 { won[k] / out[nbr[k] as usize] } else { 0.0 };
            }
        });
    }
    let mut pr = vec![1.0 / n as f64; n];
    let mut next = vec![0.0; n];
    let mut iterations = 0;
    let mut converged = false;
    while iterations < stop.max_iter {
        iterations += 1;
        let dangling: f64 = (0..n).filter(|&j| out[j] == 0.0).map(|j| pr[j]).sum();
        let base = (1.0 - damping) / n as f64 + damping * dangling / n as f64;
        {
            let (pr, share) = (&pr, &share);
            map_rows(&mut next, offsets, |i| {
                let nbr = c.row(i).0;
                let t = &share[offsets[i]..offsets[i] + nbr.len()];
                let mut s = 0.0;
                for k in 0..nbr.len() {
                    s += t[k] * pr[nbr[k] as usize];
                }
                base + damping * s
            });
        }
        let total: f64 = next.iter().sum();
        next.iter_mut().for_each(|v| *v /= total);
        let change: f64 = pr.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
        std::mem::swap(&mut pr, &mut next);
        if change < stop.tol {
            converged = true;
            break;
        }
    }
    Ok(Estimate { scores: pr, iterations, converged })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop() -> Stopping {
        Stopping { tol: 1e-14, max_iter: 10_000 }
    }

    #[test]
    fn sums_to_one_and_orders_a_chain() {
        // 0 > 1 > 2, 0 > 2
        let c = Comparisons::new(3, &[0i64, 1, 0], &[1i64, 2, 2], None).unwrap();
        let e = pagerank(&c, 0.85, stop()).unwrap();
        assert!(e.converged);
        assert!((e.scores.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(e.scores[0] > e.scores[1] && e.scores[1] > e.scores[2], "{:?}", e.scores);
    }

    #[test]
    fn matches_dense_power_iteration() {
        let w = [0i64, 1, 2, 3, 3, 1];
        let l = [1i64, 2, 0, 1, 0, 3];
        let wt = [1.0, 2.0, 1.0, 0.5, 1.0, 1.0];
        let c = Comparisons::new(5, &w, &l, Some(&wt)).unwrap(); // item 4 isolated, dangling
        let d = 0.85;
        let n = 5;
        // dense transition: column-stochastic M[win][lose]
        let mut m = vec![vec![0.0; n]; n];
        let mut out = vec![0.0; n];
        for k in 0..w.len() {
            m[w[k] as usize][l[k] as usize] += wt[k];
            out[l[k] as usize] += wt[k];
        }
        let mut pr = vec![1.0 / n as f64; n];
        for _ in 0..2000 {
            let dangling: f64 = (0..n).filter(|&j| out[j] == 0.0).map(|j| pr[j]).sum();
            pr = (0..n)
                .map(|i| {
                    let s: f64 = (0..n).filter(|&j| out[j] > 0.0).map(|j| m[i][j] / out[j] * pr[j]).sum();
                    (1.0 - d) / n as f64 + d * (s + dangling / n as f64)
                })
                .collect();
        }
        let e = pagerank(&c, d, stop()).unwrap();
        for (a, b) in e.scores.iter().zip(&pr) {
            assert!((a - b).abs() < 1e-12, "{:?} vs {:?}", e.scores, pr);
        }
    }

    #[test]
    fn tiny_weights_stay_finite() {
        let c = Comparisons::new(3, &[0i64, 1, 2], &[1i64, 2, 0], Some(&[5e-324, 1.0, 1.0])).unwrap();
        let e = pagerank(&c, 0.85, stop()).unwrap();
        assert!(e.scores.iter().all(|x| x.is_finite()), "{:?}", e.scores);
        assert!((e.scores.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn rejects_bad_damping() {
        let c = Comparisons::new(2, &[0i64], &[1i64], None).unwrap();
        assert!(pagerank(&c, 1.0, stop()).is_err());
        assert!(pagerank(&c, f64::NAN, stop()).is_err());
    }
}
