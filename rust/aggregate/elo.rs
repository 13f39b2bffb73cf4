//! Elo ratings, updated sequentially in comparison order.

use crate::comparisons::{check_pairs, ItemId};
use crate::error::{Error, Result};

/// Elo parameters (defaults follow evalica: initial 1000, k 4, scale 400, base 10).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EloParams {
    pub initial: f64,
    pub k: f64,
    pub scale: f64,
    pub base: f64,
}

/// For each comparison in order: the winner's expected score is
/// `E = 1 / (1 + base^((R_l - R_w) / scale))`; the winner gains and the loser
/// loses `k * weight * (S - E)`, where the winner's actual score `S` is 1,
/// or 1/2 for a comparison marked in `draws` (a draw between equal ratings
/// changes nothing). A rating that leaves the floating-point range is an
/// error naming `k` and `weights`, never an `inf` or NaN.
pub fn elo<T>(
    n: usize,
    winners: &[T],
    losers: &[T],
    weights: Option<&[f64]>,
    draws: Option<&[bool]>,
    p: EloParams,
) -> Result<Vec<f64>>
where
    T: ItemId + std::fmt::Display + PartialEq,
{
    check_pairs(n, winners, losers, weights)?;
    if let Some(d) = draws {
        if d.len() != winners.len() {
            return Err(Error::invalid(
                "draws",
                format!("has length {} but there are {} comparisons", d.len(), winners.len()),
            ));
        }
    }
    if !p.initial.is_finite() {
        return Err(Error::invalid("initial", format!("must be finite, got {}", p.initial)));
    }
    if !(p.k.is_finite() && p.k >= 0.0) {
        return Err(Error::invalid("k", format!("must be finite and >= 0, got {}", p.k)));
    }
    if !(p.scale.is_finite() && p.scale > 0.0) {
        return Err(Error::invalid("scale", format!("must be finite and > 0, got {}", p.scale)));
    }
    if !(p.base.is_finite() && p.base > 1.0) {
        return Err(Error::invalid("base", format!("must be finite and > 1, got {}", p.base)));
    }
    crate::comparisons::check_working_memory("n_items", || format!("{n} items"), n as u128 * 32)?;
    let ln_base = p.base.ln();
    let mut r = vec![p.initial; n];
    for k in 0..winners.len() {
        let (w, l) = (winners[k].index(n).unwrap_or(0), losers[k].index(n).unwrap_or(0));
        let expected = 1.0 / (1.0 + ((r[l] - r[w]) / p.scale * ln_base).exp());
        let actual = if draws.is_some_and(|d| d[k]) { 0.5 } else { 1.0 };
        let delta = p.k * weights.map_or(1.0, |x| x[k]) * (actual - expected);
        r[w] += delta;
        r[l] -= delta;
        if !(r[w].is_finite() && r[l].is_finite()) {
            return Err(Error::invalid(
                "weights",
                format!(
                    "comparison {k}: the rating change k * weight * (S - E) = {delta:e} takes a rating out of the \
                     floating-point range; use smaller k or weights"
                ),
            ));
        }
    }
    // -0.0 (an initial rating of -0.0 that never moved) is reported as 0
    r.iter_mut().for_each(|x| *x += 0.0);
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: EloParams = EloParams { initial: 1000.0, k: 32.0, scale: 400.0, base: 10.0 };

    #[test]
    fn first_game_moves_half_k() {
        let r = elo(2, &[0i64], &[1i64], None, None, P).unwrap();
        assert_eq!(r, vec![1016.0, 984.0]);
    }

    #[test]
    fn order_matters_and_total_is_conserved() {
        let a = elo(3, &[0i64, 1, 2], &[1i64, 2, 0], None, None, P).unwrap();
        let b = elo(3, &[2i64, 1, 0], &[0i64, 2, 1], None, None, P).unwrap();
        assert_ne!(a, b);
        assert!((a.iter().sum::<f64>() - 3000.0).abs() < 1e-9);
    }

    #[test]
    fn rejects_bad_params() {
        assert!(elo(2, &[0i64], &[1i64], None, None, EloParams { k: -1.0, ..P }).is_err());
        assert!(elo(2, &[0i64], &[1i64], None, None, EloParams { base: 1.0, ..P }).is_err());
        assert!(elo(2, &[0i64], &[1i64], None, Some(&[true, false]), P).is_err());
    }

    #[test]
    fn a_draw_between_equals_changes_nothing() {
        let r = elo(2, &[0i64, 1], &[1i64, 0], None, Some(&[true, true]), P).unwrap();
        assert_eq!(r, vec![1000.0, 1000.0]);
        // two half-weight opposite wins do not express a draw exactly
        let h = elo(2, &[0i64, 1], &[1i64, 0], Some(&[0.5, 0.5]), None, P).unwrap();
        assert_ne!(h, vec![1000.0, 1000.0]);
    }

    #[test]
    fn overflowing_ratings_are_an_error() {
        let p = EloParams { k: 1e300, ..P };
        let e = elo(2, &[0i64, 1], &[1i64, 0], Some(&[1e300, 1e300]), None, p).unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
        let r = elo(2, &[0i64], &[1i64], None, None, EloParams { initial: -0.0, k: 0.0, ..P }).unwrap();
        assert!(r.iter().all(|x| x.is_sign_positive()));
    }
}
