//! Bradley–Terry strengths by Newman's iteration or Zermelo's (MM) iteration.
//!
//! Both maximise the same posterior: the Bradley–Terry likelihood times
//! Newman's prior, `prior` virtual wins and `prior` virtual losses of every
//! item against a dummy item of strength 1 (M. E. J. Newman, "Efficient
//! computation of rankings from pairwise comparisons", JMLR 24, 2023). With
//! `prior = 0` the plain maximum-likelihood estimate is computed, which exists
//! only when the "beat" graph is strongly connected; otherwise an error.
//!
//! Newman's update (his eq. 26 with the prior terms) for item `i`:
//!
//! ```text
//! p_i <- (prior/(p_i+1) + sum_j w_ij p_j/(p_i+p_j)) / (prior/(p_i+1) + sum_j w_ji/(p_i+p_j))
//! ```
//!
//! Zermelo's update:
//!
//! ```text
//! p_i <- (W_i + prior) / (sum_j (w_ij+w_ji)/(p_i+p_j) + 2 prior/(p_i+1))
//! ```
//!
//! Both are Jacobi sweeps (every item updated from the previous vector), so
//! the rows are independent and run in parallel with thread-independent bits.
//! Scores are log-strengths; the stopping rule is the largest change of any
//! log-strength between sweeps being below `tol`.

use super::{check_prior, strengths_fixed_point, Estimate, ScaleFix, Stopping};
use crate::comparisons::Comparisons;
use crate::error::Result;
use crate::parallel::map_rows;

crate::names! {
    /// Which fixed-point iteration to run (Bradley–Terry and Plackett–Luce):
    /// Newman's, or Zermelo's (Hunter's MM; "mm" is an alias).
    pub enum Method("method") {
        Newman = "newman",
        Zermelo = "zermelo" | "mm",
    }
}

/// Maximum a posteriori Bradley–Terry log-strengths.
///
/// `prior` must be 0 or at least [`super::MIN_RELATIVE_PRIOR`] times the
/// largest weight (or 1); huge weights are scaled down exactly (the same
/// estimate, see [`Comparisons`]), and a result is never NaN or infinite.
pub fn bradley_terry(c: &Comparisons, method: Method, prior: f64, stop: Stopping) -> Result<Estimate> {
    let prior = check_prior(prior, c.max_weight(), c.weight_scale())?;
    stop.check()?;
    if prior == 0.0 {
        c.check_ml_exists()?;
    }
    let n = c.n_items();
    let offsets = c.offsets();
    let wins = match method {
        Method::Zermelo => c.total_won(),
        Method::Newman => Vec::new(),
    };
    let scale = (prior > 0.0).then(|| ScaleFix::new(c));
    strengths_fixed_point(n, stop, method == Method::Newman, prior, scale.as_ref(), "Bradley–Terry", |p, next| {
        match method {
            Method::Newman => map_rows(next, offsets, |i| newman_row(c, p, i, prior)),
            Method::Zermelo => map_rows(next, offsets, |i| zermelo_row(c, p, i, wins[i], prior)),
        }
    })
}

#[inline]
fn newman_row(c: &Comparisons, p: &[f64], i: usize, prior: f64) -> f64 {
    let (nbr, won, lost) = c.row(i);
    let pi = p[i];
    // two independent accumulator pairs shorten the dependency chains
    let (mut num0, mut den0, mut num1, mut den1) = (0.0, 0.0, 0.0, 0.0);
    let mut k = 0;
    while k + 1 < nbr.len() {
        let pj0 = p[nbr[k] as usize];
        let pj1 = p[nbr[k + 1] as usize];
        let inv0 = 1.0 / (pi + pj0);
        let inv1 = 1.0 / (pi + pj1);
        num0 += won[k] * pj0 * inv0;
        den0 += lost[k] * inv0;
        num1 += won[k + 1] * pj1 * inv1;
        den1 += lost[k + 1] * inv1;
        k += 2;
    }
    if k < nbr.len() {
        let pj = p[nbr[k] as usize];
        let inv = 1.0 / (pi + pj);
        num0 += won[k] * pj * inv;
        den0 += lost[k] * inv;
    }
    let d = prior / (pi + 1.0);
    (d + num0 + num1) / (d + den0 + den1)
}

#[inline]
fn zermelo_row(c: &Comparisons, p: &[f64], i: usize, wins: f64, prior: f64) -> f64 {
    let (nbr, won, lost) = c.row(i);
    let pi = p[i];
    let mut den = 0.0;
    for k in 0..nbr.len() {
        den += (won[k] + lost[k]) / (pi + p[nbr[k] as usize]);
    }
    (wins + prior) / (den + 2.0 * prior / (pi + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn stop() -> Stopping {
        Stopping { tol: 1e-12, max_iter: 100_000 }
    }

    /// The gradient of the log-posterior at the estimate is zero.
    fn gradient(c: &Comparisons, scores: &[f64], prior: f64) -> Vec<f64> {
        let p: Vec<f64> = scores.iter().map(|s| s.exp()).collect();
        (0..c.n_items())
            .map(|i| {
                let (nbr, won, lost) = c.row(i);
                let mut g = prior * (1.0 - 2.0 * p[i] / (p[i] + 1.0));
                for k in 0..nbr.len() {
                    let pj = p[nbr[k] as usize];
                    g += won[k] - (won[k] + lost[k]) * p[i] / (p[i] + pj);
                }
                g
            })
            .collect()
    }

    #[test]
    fn two_items_closed_form() {
        // with prior 0: p0/p1 = wins0/wins1 = 3
        let c = Comparisons::new(2, &[0i64, 0, 0, 1], &[1i64, 1, 1, 0], None).unwrap();
        for m in [Method::Newman, Method::Zermelo] {
            let e = bradley_terry(&c, m, 0.0, stop()).unwrap();
            assert!(e.converged);
            assert!((e.scores[0] - e.scores[1] - 3f64.ln()).abs() < 1e-9, "{:?}", e.scores);
        }
    }

    #[test]
    fn newman_and_zermelo_agree_and_are_stationary() {
        let w = [0i64, 1, 2, 3, 0, 2, 4, 4, 1];
        let l = [1i64, 2, 3, 0, 2, 1, 0, 3, 4];
        let wt = [1.0, 2.0, 0.5, 1.0, 1.0, 3.0, 1.0, 0.25, 1.0];
        let c = Comparisons::new(5, &w, &l, Some(&wt)).unwrap();
        for prior in [0.0, 0.5, 1.0] {
            let a = bradley_terry(&c, Method::Newman, prior, stop()).unwrap();
            let b = bradley_terry(&c, Method::Zermelo, prior, stop()).unwrap();
            for (x, y) in a.scores.iter().zip(&b.scores) {
                assert!((x - y).abs() < 1e-8, "prior {prior}: {:?} vs {:?}", a.scores, b.scores);
            }
            assert!(gradient(&c, &a.scores, prior).iter().all(|g| g.abs() < 1e-9));
            assert!(a.iterations < b.iterations, "Newman should need fewer sweeps");
        }
    }

    #[test]
    fn prior_zero_without_estimate_is_an_error() {
        let c = Comparisons::new(3, &[0i64, 1], &[1i64, 2], None).unwrap();
        let e = bradley_terry(&c, Method::Newman, 0.0, stop()).unwrap_err();
        assert!(matches!(e, Error::NotEstimable(_)));
        // the prior makes it estimable, and keeps the order 0 > 1 > 2
        let e = bradley_terry(&c, Method::Newman, 1.0, stop()).unwrap();
        assert!(e.scores[0] > e.scores[1] && e.scores[1] > e.scores[2]);
    }

    #[test]
    fn uncompared_item_scores_zero_under_prior() {
        let c = Comparisons::new(3, &[0i64], &[1i64], None).unwrap();
        let e = bradley_terry(&c, Method::Newman, 1.0, stop()).unwrap();
        assert_eq!(e.scores[2], 0.0);
        assert!((e.scores[0] + e.scores[1]).abs() < 1e-9, "symmetric around the dummy");
    }

    #[test]
    fn extreme_weights_and_priors_never_give_nan() {
        // weights near f64::MAX: the same estimate as weights of 1 times the prior ratio
        let w = [0i64, 1, 2, 0, 1, 2];
        let l = [1i64, 2, 0, 2, 0, 1];
        let big = Comparisons::new(3, &w, &l, Some(&[1.7e308; 6])).unwrap();
        for m in [Method::Newman, Method::Zermelo] {
            let e = bradley_terry(&big, m, 0.0, stop()).unwrap();
            assert!(e.converged && e.scores.iter().all(|s| s.abs() < 1e-9), "{m:?} {:?}", e.scores);
            // prior 1 next to weights of 1.7e308 is below the documented range
            assert!(matches!(bradley_terry(&big, m, 1.0, stop()), Err(Error::InvalidInput { .. })));
        }
        let mixed = Comparisons::new(3, &w, &l, Some(&[1e300, 1e-300, 1e300, 1e-300, 1.0, 1.0])).unwrap();
        for prior in [0.0, 1e300] {
            match bradley_terry(&mixed, Method::Newman, prior, stop()) {
                Ok(e) => assert!(e.scores.iter().all(|s| s.is_finite()), "{:?}", e.scores),
                Err(e) => assert!(matches!(e, Error::NotEstimable(_)), "{e}"),
            }
        }
        let c = Comparisons::new(9, &[7i64], &[8i64], None).unwrap();
        assert!(bradley_terry(&c, Method::Newman, 5e-324, stop()).is_err());
    }

    #[test]
    fn small_priors_are_symmetric() {
        // one comparison: the MAP is symmetric around the dummy (s0 = -s1)
        let c = Comparisons::new(2, &[0i64], &[1i64], None).unwrap();
        for prior in [1e-10, 1e-6, 1e-3] {
            for m in [Method::Newman, Method::Zermelo] {
                let e = bradley_terry(&c, m, prior, stop()).unwrap();
                assert!((e.scores[0] + e.scores[1]).abs() < 1e-6, "{m:?} {prior}: {:?}", e.scores);
                assert!(gradient(&c, &e.scores, prior).iter().all(|g| g.abs() < 1e-9));
            }
        }
    }

    #[test]
    fn max_iter_reports_not_converged() {
        let c = Comparisons::new(3, &[0i64, 1, 2, 0], &[1i64, 2, 0, 2], None).unwrap();
        let e = bradley_terry(&c, Method::Zermelo, 1.0, Stopping { tol: 1e-15, max_iter: 2 }).unwrap();
        assert_eq!(e.iterations, 2);
        assert!(!e.converged);
    }
}
