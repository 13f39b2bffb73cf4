//! Many rankings (each a list of item ids, best first) in one flat buffer.

use crate::comparisons::{check_weights, resolve_n_items, ItemId, BYTES_PER_ITEM, MAX_ITEMS};

/// Working memory per ranked position (the flat store, Plackett–Luce's
/// occurrence index and stage sums), generously.
const BYTES_PER_POSITION: u128 = 64;
use crate::error::{Error, Result};

/// A validated set of rankings over items `0..n_items`, stored flat:
/// ranking `r` is `items[offsets[r]..offsets[r+1]]`, with optional weights.
#[derive(Debug, Clone)]
pub struct Rankings {
    n: usize,
    offsets: Vec<usize>,
    items: Vec<u32>,
    weights: Option<Vec<f64>>,
}

impl Rankings {
    /// Validate and store. `lengths[r]` is the length of ranking `r` inside
    /// the concatenation `items`; ids must be in `[0, n_items)` (n_items
    /// defaults to the largest id + 1) and distinct within each ranking.
    pub fn new<T>(n_items: Option<usize>, lengths: &[usize], items: &[T], weights: Option<&[f64]>) -> Result<Self>
    where
        T: ItemId + std::fmt::Display + Into<i64>,
    {
        if lengths.is_empty() {
            return Err(Error::invalid("rankings", "no rankings given (empty input)"));
        }
        let mut offsets = Vec::with_capacity(lengths.len() + 1);
        offsets.push(0usize);
        for &l in lengths {
            offsets.push(offsets.last().unwrap() + l);
        }
        if *offsets.last().unwrap() != items.len() {
            return Err(Error::invalid("rankings", "lengths do not add up to the number of items"));
        }
        let n = resolve_n_items(n_items, &[items])?;
        crate::comparisons::check_working_memory(
            "n_items",
            || format!("{n} items and {} ranked positions", items.len()),
            n as u128 * BYTES_PER_ITEM + items.len() as u128 * BYTES_PER_POSITION,
        )?;
        let mut seen = vec![u32::MAX; n];
        let mut flat = Vec::with_capacity(items.len());
        for (r, w) in offsets.windows(2).enumerate() {
            for (pos, &x) in items[w[0]..w[1]].iter().enumerate() {
                let Some(i) = x.index(n) else {
                    return Err(Error::invalid(
                        "rankings",
                        format!("rankings[{r}][{pos}] = {x} is not an item id in [0, n_items={n})"),
                    ));
                };
                if seen[i] == r as u32 {
                    return Err(Error::invalid("rankings", format!("rankings[{r}] lists item {x} more than once")));
                }
                seen[i] = r as u32;
                flat.push(i as u32);
            }
        }
        check_weights(weights, lengths.len(), "rankings")?;
        debug_assert!(n <= MAX_ITEMS);
        Ok(Rankings { n, offsets, items: flat, weights: weights.map(|w| w.to_vec()) })
    }

    pub fn n_items(&self) -> usize {
        self.n
    }
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }
    pub fn items(&self) -> &[u32] {
        &self.items
    }
    /// Ranking `r`, best first.
    pub fn get(&self, r: usize) -> &[u32] {
        &self.items[self.offsets[r]..self.offsets[r + 1]]
    }
    /// Weight of ranking `r` (1 when no weights were given).
    pub fn weight(&self, r: usize) -> f64 {
        self.weights.as_ref().map_or(1.0, |w| w[r])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        let r = Rankings::new(None, &[2, 3], &[1i64, 0, 4, 2, 3], None).unwrap();
        assert_eq!(r.n_items(), 5);
        assert_eq!(r.get(1), &[4, 2, 3]);
        let e = Rankings::new(None, &[3], &[1i64, 0, 1], None).unwrap_err();
        assert!(e.to_string().contains("more than once"), "{e}");
        let e = Rankings::new(Some(2), &[2], &[1i64, 2], None).unwrap_err();
        assert!(e.to_string().contains("rankings[0][1] = 2"), "{e}");
        let e = Rankings::new::<i64>(None, &[], &[], None).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let e = Rankings::new(None, &[1], &[0i64], Some(&[1.0, 2.0])).unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
    }
}
