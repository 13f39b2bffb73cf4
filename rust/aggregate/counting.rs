//! Non-iterative aggregators: average win rate, Copeland, Borda.

use crate::comparisons::Comparisons;
use crate::error::{Error, Result};
use crate::parallel::map_rows;
use crate::rankings::Rankings;

/// Score of items that were never compared under [`win_rate`]: below any
/// real win rate, so they rank last.
pub const NEVER_COMPARED: f64 = -1.0;

/// JointRank's average win rate: for each opponent met, the share of the
/// games against it that the item won, averaged over the opponents met.
/// Items never compared score [`NEVER_COMPARED`].
pub fn win_rate(c: &Comparisons) -> Vec<f64> {
    let mut out = vec![0.0; c.n_items()];
    map_rows(&mut out, c.offsets(), |i| {
        let (nbr, won, lost) = c.row(i);
        if nbr.is_empty() {
            return NEVER_COMPARED;
        }
        let s: f64 = won.iter().zip(lost).map(|(&w, &l)| share(w, l)).sum();
        s / nbr.len() as f64
    });
    out
}

/// `w / (w + l)` without overflow for weights near f64::MAX.
#[inline]
fn share(w: f64, l: f64) -> f64 {
    if w >= l {
        1.0 / (1.0 + l / w)
    } else {
        let r = w / l;
        r / (1.0 + r)
    }
}

/// Copeland score: opponents beaten (more weight won than lost against them)
/// minus opponents lost to; an even record counts 0.
pub fn copeland(c: &Comparisons) -> Vec<f64> {
    let mut out = vec![0.0; c.n_items()];
    map_rows(&mut out, c.offsets(), |i| {
        let (_, won, lost) = c.row(i);
        won.iter()
            .zip(lost)
            .map(|(w, l)| {
                if w > l {
                    1.0
                } else if w < l {
                    -1.0
                } else {
                    0.0
                }
            })
            .sum::<f64>()
            + 0.0 // an empty sum is -0.0; report 0
    });
    out
}

/// Borda count: in a ranking of length `L`, the item at position `p`
/// (0-based) gets `weight * (L - 1 - p)` points, the number of items it is
/// ranked above. Items absent from a ranking get nothing from it. Weights so
/// large that a score overflows a float are an error naming `weights`.
pub fn borda(r: &Rankings) -> Result<Vec<f64>> {
    let mut out = vec![0.0; r.n_items()];
    for k in 0..r.len() {
        let items = r.get(k);
        let w = r.weight(k);
        let l = items.len();
        for (p, &i) in items.iter().enumerate() {
            out[i as usize] += w * (l - 1 - p) as f64;
        }
    }
    if let Some(i) = out.iter().position(|x| !x.is_finite()) {
        return Err(Error::invalid(
            "weights",
            format!("item {i}'s Borda score overflows a float; scale the weights down (they only matter relative to each other)"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn win_rate_averages_over_opponents() {
        // 0 beats 1 twice, loses once; 0 beats 2 once; 3 never compared
        let c = Comparisons::new(4, &[0i64, 0, 1, 0], &[1i64, 1, 0, 2], None).unwrap();
        let s = win_rate(&c);
        assert!((s[0] - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-15);
        assert!((s[1] - 1.0 / 3.0).abs() < 1e-15);
        assert_eq!(s[2], 0.0);
        assert_eq!(s[3], NEVER_COMPARED);
    }

    #[test]
    fn win_rate_survives_huge_weights() {
        let c = Comparisons::new(2, &[0i64, 1], &[1i64, 0], Some(&[1e308, 1e308])).unwrap();
        assert_eq!(win_rate(&c), vec![0.5, 0.5]);
    }

    #[test]
    fn copeland_counts_net_pairwise_majorities() {
        let c = Comparisons::new(3, &[0i64, 0, 1, 2, 1], &[1i64, 1, 0, 1, 2], None).unwrap();
        assert_eq!(copeland(&c), vec![1.0, -1.0, 0.0]);
        // an item never compared scores +0.0, not -0.0
        let c = Comparisons::new(3, &[0i64], &[1i64], None).unwrap();
        assert!(copeland(&c)[2].is_sign_positive());
    }

    #[test]
    fn borda_points() {
        let r = Rankings::new(Some(4), &[3, 2], &[2i64, 0, 1, 0, 3], Some(&[1.0, 2.0])).unwrap();
        assert_eq!(borda(&r).unwrap(), vec![1.0 + 2.0, 0.0, 2.0, 0.0]);
        let huge = Rankings::new(Some(3), &[3], &[0i64, 1, 2], Some(&[1.7e308])).unwrap();
        assert!(borda(&huge).is_err(), "an overflowing score is an error, not inf");
    }
}
