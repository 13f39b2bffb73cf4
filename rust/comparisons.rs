//! A compact store of who beat whom: comparisons aggregated per unordered
//! pair, laid out as a symmetric CSR (every pair appears in both items' rows).
//!
//! Row `i` lists each opponent `j` once, with `won` = the total weight of
//! comparisons `i` won against `j` and `lost` = the total weight `j` won
//! against `i`. Memory is O(n_items + unique pairs) after the build; every
//! aggregator iterates rows independently, so they parallelise without locks
//! and give the same bits on any number of threads.

use crate::error::{Error, Result};
use crate::parallel;

/// Item ids as they arrive: `i64` from numpy, `u32` from Rust planners.
pub trait ItemId: Copy + Send + Sync {
    /// The id as an index if it lies in `[0, n)`.
    fn index(self, n: usize) -> Option<usize>;
}

impl ItemId for i64 {
    #[inline]
    fn index(self, n: usize) -> Option<usize> {
        (self >= 0 && (self as u64) < n as u64).then_some(self as usize)
    }
}

impl ItemId for u32 {
    #[inline]
    fn index(self, n: usize) -> Option<usize> {
        ((self as usize) < n).then_some(self as usize)
    }
}

/// Largest number of items: ids are stored as `u32`.
pub const MAX_ITEMS: usize = u32::MAX as usize;

/// `n_items` given by the caller, or one more than the largest id seen.
pub fn resolve_n_items<T: ItemId + Into<i64>>(n_items: Option<usize>, ids: &[&[T]]) -> Result<usize> {
    let max_id = ids.iter().flat_map(|a| a.iter()).map(|&x| x.into()).max();
    let n = match (n_items, max_id) {
        (Some(n), _) => n,
        (None, Some(m)) if m >= 0 => (m as usize).saturating_add(1),
        (None, _) => 0,
    };
    if n > MAX_ITEMS {
        return Err(Error::invalid("n_items", format!("{n} items is more than the supported {MAX_ITEMS}")));
    }
    Ok(n)
}

/// Check one id array: every id in `[0, n)`.
pub fn check_ids<T: ItemId + std::fmt::Display>(arg: &str, ids: &[T], n: usize) -> Result<()> {
    for (k, &x) in ids.iter().enumerate() {
        if x.index(n).is_none() {
            return Err(Error::invalid(arg, format!("{arg}[{k}] = {x} is not an item id in [0, n_items={n})")));
        }
    }
    Ok(())
}

/// Check a weight array: right length, finite, non-negative.
pub fn check_weights(weights: Option<&[f64]>, expected_len: usize, of: &str) -> Result<()> {
    let Some(w) = weights else { return Ok(()) };
    if w.len() != expected_len {
        return Err(Error::invalid("weights", format!("has length {} but there are {expected_len} {of}", w.len())));
    }
    for (k, &x) in w.iter().enumerate() {
        if !x.is_finite() || x < 0.0 {
            return Err(Error::invalid(
                "weights",
                format!("weights[{k}] = {x}: weights must be finite and non-negative"),
            ));
        }
    }
    Ok(())
}

/// Validate parallel comparison arrays; returns nothing, errors name the argument.
pub fn check_pairs<T: ItemId + std::fmt::Display + PartialEq>(
    n: usize,
    winners: &[T],
    losers: &[T],
    weights: Option<&[f64]>,
) -> Result<()> {
    if winners.len() != losers.len() {
        return Err(Error::invalid(
            "losers",
            format!("has length {} but winners has length {}", losers.len(), winners.len()),
        ));
    }
    if winners.is_empty() {
        return Err(Error::invalid("winners", "no comparisons given (empty input)"));
    }
    check_ids("winners", winners, n)?;
    check_ids("losers", losers, n)?;
    if let Some(k) = winners.iter().zip(losers).position(|(a, b)| a == b) {
        return Err(Error::invalid(
            "losers",
            format!("comparison {k} has winner == loser == {}: an item cannot be compared with itself", winners[k]),
        ));
    }
    check_weights(weights, winners.len(), "comparisons")
}

/// Comparisons aggregated per pair, as a symmetric CSR.
///
/// The stored weights are the given ones times [`Comparisons::weight_scale`]:
/// 1, unless a weight exceeds [`SCALE_WEIGHTS_ABOVE`]; then a power of two
/// that brings the largest weight to at most 1, so that no sum over them
/// overflows (weights of 1e308 are valid input). Ratios are unchanged,
/// except that a weight below 2^-1074 of the largest becomes 0.
#[derive(Debug, Clone)]
pub struct Comparisons {
    n: usize,
    max_weight: f64,
    weight_scale: f64,
    /// Row `i` is `offsets[i]..ends[i]`; `offsets[n]` bounds the storage, so
    /// `offsets` also serves to balance work across threads.
    offsets: Vec<usize>,
    ends: Vec<usize>,
    n_entries: usize,
    nbr: Vec<u32>,
    won: Vec<f64>,
    lost: Vec<f64>,
}

impl Comparisons {
    /// Build from parallel arrays `winners[k]` beat `losers[k]` with weight
    /// `weights[k]` (1 when absent). Comparisons of weight 0 are dropped.
    pub fn new<T>(n_items: usize, winners: &[T], losers: &[T], weights: Option<&[f64]>) -> Result<Self>
    where
        T: ItemId + std::fmt::Display + PartialEq,
    {
        check_pairs(n_items, winners, losers, weights)?;
        let threads = parallel::num_threads() as u128;
        check_working_memory(
            "n_items",
            || format!("{n_items} items and {} comparisons", winners.len()),
            n_items as u128 * (BYTES_PER_ITEM + 12 * threads) + winners.len() as u128 * BYTES_PER_COMPARISON,
        )?;
        Ok(Self::build(n_items, winners, losers, weights))
    }

    /// The build proper; inputs already validated.
    ///
    /// 1. Each of T chunks of the comparisons counts its row degrees.
    /// 2. Row offsets, and per chunk a write cursor per row, such that chunk
    ///    t's entries of a row follow chunk t-1's: entries stay in comparison
    ///    order whatever T is, so the result does not depend on the threads.
    /// 3. Chunks scatter into the rows in parallel (disjoint positions).
    /// 4. Repeated opponents are merged row by row, in parallel.
    /// 5. Rows are closed up when merging freed a quarter of the space or
    ///    more, so memory stays O(n_items + unique pairs).
    fn build<T: ItemId>(n: usize, winners: &[T], losers: &[T], weights: Option<&[f64]>) -> Self {
        let m = winners.len();
        let idx = |x: T| x.index(n).unwrap_or(0);
        let max_weight = weights.map_or(1.0, |w| w.iter().copied().fold(0.0, f64::max));
        let weight_scale = weight_scale_for(max_weight);
        let weight = |k: usize| weights.map_or(1.0, |w| w[k] * weight_scale);
        let threads = parallel::num_threads().min(m / parallel::PAR_MIN_WORK).max(1);
        let chunk_bounds: Vec<usize> = (0..=threads).map(|t| m * t / threads).collect();
        // 1. per-chunk degrees
        let mut counts: Vec<Vec<usize>> = vec![Vec::new(); threads];
        std::thread::scope(|s| {
            for (t, c) in counts.iter_mut().enumerate() {
                let (k0, k1) = (chunk_bounds[t], chunk_bounds[t + 1]);
                let mut job = move || {
                    let mut deg = vec![0usize; n];
                    for k in k0..k1 {
                        if weight(k) > 0.0 {
                            deg[idx(winners[k])] += 1;
                            deg[idx(losers[k])] += 1;
                        }
                    }
                    *c = deg;
                };
                if threads == 1 {
                    job();
                } else {
                    s.spawn(job);
                }
            }
        });
        // 2. offsets; counts become per-chunk cursors
        let mut offsets = vec![0usize; n + 1];
        for i in 0..n {
            let mut at = offsets[i];
            for c in counts.iter_mut() {
                let d = c[i];
                c[i] = at;
                at += d;
            }
            offsets[i + 1] = at;
        }
        let total = offsets[n];
        // 3. scatter
        let mut nbr = vec![0u32; total];
        let mut won = vec![0.0f64; total];
        let mut lost = vec![0.0f64; total];
        {
            let (nb, wo, lo) = (Disjoint::new(&mut nbr), Disjoint::new(&mut won), Disjoint::new(&mut lost));
            let (nb, wo, lo) = (&nb, &wo, &lo);
            std::thread::scope(|s| {
                for (t, cursor) in counts.iter_mut().enumerate() {
                    let (k0, k1) = (chunk_bounds[t], chunk_bounds[t + 1]);
                    let mut job = move || {
                        for k in k0..k1 {
                            let wt = weight(k);
                            if wt > 0.0 {
                                let (a, b) = (idx(winners[k]), idx(losers[k]));
                                let (p, q) = (cursor[a], cursor[b]);
                                cursor[a] += 1;
                                cursor[b] += 1;
                                // SAFETY: p and q lie in rows a and b, in the
                                // range reserved for chunk t in step 2: no
                                // other chunk writes there, and each position
                                // is written once.
                                unsafe {
                                    nb.write(p, b as u32);
                                    wo.write(p, wt);
                                    nb.write(q, a as u32);
                                    lo.write(q, wt);
                                }
                            }
                        }
                    };
                    if threads == 1 {
                        job();
                    } else {
                        s.spawn(job);
                    }
                }
            });
        }
        drop(counts);
        // 4. merge repeated opponents, in parallel over row ranges
        let bounds = parallel::row_ranges(&offsets);
        let mut lens = vec![0usize; n];
        {
            let offsets = &offsets;
            std::thread::scope(|s| {
                let (mut nb, mut wo, mut lo, mut ln) = (&mut nbr[..], &mut won[..], &mut lost[..], &mut lens[..]);
                for w in bounds.windows(2) {
                    let (r0, r1) = (w[0], w[1]);
                    let len = offsets[r1] - offsets[r0];
                    let (nb_c, nb_t) = nb.split_at_mut(len);
                    let (wo_c, wo_t) = wo.split_at_mut(len);
                    let (lo_c, lo_t) = lo.split_at_mut(len);
                    let (ln_c, ln_t) = ln.split_at_mut(r1 - r0);
                    (nb, wo, lo, ln) = (nb_t, wo_t, lo_t, ln_t);
                    let mut job = move || {
                        let mut slot = vec![u32::MAX; n];
                        merge_rows(&mut slot, &offsets[r0..=r1], nb_c, wo_c, lo_c, ln_c);
                    };
                    if bounds.len() == 2 {
                        job();
                    } else {
                        s.spawn(job);
                    }
                }
            });
        }
        // 5. close the gaps left by merging
        let merged: usize = lens.iter().sum();
        let mut ends = vec![0usize; n];
        if merged * 4 <= total * 3 {
            let mut write = 0;
            for i in 0..n {
                let (start, len) = (offsets[i], lens[i]);
                nbr.copy_within(start..start + len, write);
                won.copy_within(start..start + len, write);
                lost.copy_within(start..start + len, write);
                offsets[i] = write;
                write += len;
                ends[i] = write;
            }
            offsets[n] = write;
            nbr.truncate(write);
            won.truncate(write);
            lost.truncate(write);
            nbr.shrink_to_fit();
            won.shrink_to_fit();
            lost.shrink_to_fit();
        } else {
            for i in 0..n {
                ends[i] = offsets[i] + lens[i];
            }
        }
        Comparisons { n, max_weight, weight_scale, offsets, ends, n_entries: merged, nbr, won, lost }
    }

    /// The power of two the given weights were multiplied by (1 unless a
    /// weight exceeded [`SCALE_WEIGHTS_ABOVE`]). Aggregators with a prior
    /// scale it the same way.
    pub fn weight_scale(&self) -> f64 {
        self.weight_scale
    }

    /// The largest weight given (1 without weights).
    pub fn max_weight(&self) -> f64 {
        self.max_weight
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.n
    }

    /// Number of distinct unordered pairs that were compared.
    pub fn n_pairs(&self) -> usize {
        self.n_entries / 2
    }

    /// Row starts (plus the end of storage): row `i` lies within
    /// `offsets[i]..offsets[i+1]`; use for balancing work across rows.
    pub fn offsets(&self) -> &[usize] {
        &self.offsets
    }

    /// Row `i`: opponents, weight `i` won against each, weight `i` lost to each.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64], &[f64]) {
        let r = self.offsets[i]..self.ends[i];
        (&self.nbr[r.clone()], &self.won[r.clone()], &self.lost[r])
    }

    /// Total weight each item won.
    pub fn total_won(&self) -> Vec<f64> {
        (0..self.n).map(|i| self.row(i).1.iter().sum()).collect()
    }

    /// Total weight each item lost.
    pub fn total_lost(&self) -> Vec<f64> {
        (0..self.n).map(|i| self.row(i).2.iter().sum()).collect()
    }

    /// `Ok` when the directed "beat" graph is strongly connected, which is
    /// exactly when the maximum-likelihood Bradley–Terry (and Plackett–Luce)
    /// estimate exists; otherwise an error that names an offending item.
    pub fn check_ml_exists(&self) -> Result<()> {
        let hint = "the maximum-likelihood estimate does not exist; use prior > 0 (e.g. prior=1.0)";
        let won = self.total_won();
        let lost = self.total_lost();
        for i in 0..self.n {
            if won[i] == 0.0 {
                return Err(Error::NotEstimable(format!("item {i} never wins: {hint}")));
            }
            if lost[i] == 0.0 {
                return Err(Error::NotEstimable(format!("item {i} never loses: {hint}")));
            }
        }
        for forward in [true, false] {
            let reached = self.reach_from(0, forward);
            if let Some(i) = reached.iter().position(|&r| !r) {
                let msg = if forward {
                    format!("item {i} is never beaten, directly or indirectly, by item 0")
                } else {
                    format!("item {i} never beats item 0, directly or indirectly")
                };
                return Err(Error::NotEstimable(format!(
                    "the comparison graph is not strongly connected ({msg}): {hint}"
                )));
            }
        }
        Ok(())
    }

    /// Items reachable from `start` along "beat" edges (forward) or "beaten by" edges.
    fn reach_from(&self, start: usize, forward: bool) -> Vec<bool> {
        let mut seen = vec![false; self.n];
        let mut stack = vec![start];
        seen[start] = true;
        while let Some(i) = stack.pop() {
            let (nbr, won, lost) = self.row(i);
            let edge = if forward { won } else { lost };
            for (&j, &w) in nbr.iter().zip(edge) {
                if w > 0.0 && !seen[j as usize] {
                    seen[j as usize] = true;
                    stack.push(j as usize);
                }
            }
        }
        seen
    }
}

/// Working memory per item of the comparison store and the aggregators
/// that run on it (offsets, row ends and lengths, strengths, scratch, the
/// scores and ranking handed out), generously; per-thread scratch comes on top.
pub const BYTES_PER_ITEM: u128 = 160;
/// Working memory per comparison (its entry in both rows, transition shares).
pub const BYTES_PER_COMPARISON: u128 = 64;
/// Below this, working memory is not probed.
const PROBE_ABOVE: u128 = 64 << 20;

/// Make sure `bytes` of working memory can be had before work that needs
/// them, so that a process under a memory cap (`RLIMIT_AS`, a container)
/// gets an [`Error::OutOfMemory`] naming `arg` instead of an abort in the
/// middle of the work: that much is reserved once (address space only,
/// nothing is touched) and given back. `what()` says what needs it.
pub fn check_working_memory(arg: &str, what: impl FnOnce() -> String, bytes: u128) -> Result<()> {
    if bytes <= PROBE_ABOVE {
        return Ok(());
    }
    let fail = |what: String| Error::OutOfMemory {
        arg: arg.to_string(),
        msg: format!(
            "{what} need about {:.1} GiB of working memory, which could not be allocated",
            bytes as f64 / f64::from(1u32 << 30)
        ),
    };
    let Ok(len) = usize::try_from(bytes) else { return Err(fail(what())) };
    let mut probe: Vec<u8> = Vec::new();
    if probe.try_reserve_exact(len).is_err() {
        return Err(fail(what()));
    }
    Ok(())
}

/// Weights up to this are stored as given: sums of up to 2^64 of them
/// cannot overflow.
pub const SCALE_WEIGHTS_ABOVE: f64 = 1e150;

/// The factor weights whose largest is `max` are stored at: 1, or
/// [`scale_to_one`] above [`SCALE_WEIGHTS_ABOVE`].
pub fn weight_scale_for(max: f64) -> f64 {
    if max > SCALE_WEIGHTS_ABOVE {
        scale_to_one(max)
    } else {
        1.0
    }
}

/// The power of two `2^-e` that brings `max` (finite, >= 0) to at most 1:
/// 1 when `max <= 1`. Multiplying by it is exact, barring underflow.
pub fn scale_to_one(max: f64) -> f64 {
    if max <= 1.0 {
        return 1.0;
    }
    // max lies in [2^e, 2^(e+1)) with e = its binary exponent
    let e = ((max.to_bits() >> 52) & 0x7ff) as i32 - 1023;
    0.5f64.powi(e + 1)
}

/// Shared write access to a slice for threads that write disjoint positions.
struct Disjoint<T> {
    ptr: *mut T,
    len: usize,
}

// SAFETY: only `write` touches the data, and its callers guarantee that no
// two threads write the same position and nobody reads during the writes.
unsafe impl<T: Send> Sync for Disjoint<T> {}

impl<T> Disjoint<T> {
    fn new(v: &mut [T]) -> Self {
        Disjoint { ptr: v.as_mut_ptr(), len: v.len() }
    }

    /// # Safety
    /// No other thread may access position `i` concurrently.
    #[inline]
    unsafe fn write(&self, i: usize, value: T) {
        assert!(i < self.len);
        unsafe { self.ptr.add(i).write(value) }
    }
}

/// Merge repeated opponents in each row (`rows` = row offsets of the slices),
/// compacting each row towards its start; `lens[r]` receives the merged
/// length. `slot` is scratch of length n_items, reusable across calls.
fn merge_rows(
    slot: &mut [u32],
    rows: &[usize],
    nbr: &mut [u32],
    won: &mut [f64],
    lost: &mut [f64],
    lens: &mut [usize],
) {
    const NONE: u32 = u32::MAX;
    let base = rows[0];
    for r in 0..lens.len() {
        let (s, e) = (rows[r] - base, rows[r + 1] - base);
        let mut w = s;
        for k in s..e {
            let j = nbr[k] as usize;
            let at = slot[j] as usize;
            if slot[j] != NONE && at >= s && at < w && nbr[at] as usize == j {
                won[at] += won[k];
                lost[at] += lost[k];
            } else {
                slot[j] = w as u32;
                nbr[w] = nbr[k];
                won[w] = won[k];
                lost[w] = lost[k];
                w += 1;
            }
        }
        lens[r] = w - s;
    }
}

/// The most pairs [`pairs_from_rankings_checked`] hands out: 2^26
/// (67,108,864), about 1.5 GiB with the int64 copies Python receives.
pub const MAX_PAIRS: u128 = 1 << 26;

/// Every (earlier, later) pair within each ranking, in ranking order.
/// `offsets` delimit the rankings inside `items`. The number of pairs grows
/// with the square of a ranking's length, so for user input use
/// [`pairs_from_rankings_checked`].
pub fn pairs_from_rankings(offsets: &[usize], items: &[u32]) -> (Vec<u32>, Vec<u32>) {
    let total: usize = offsets.windows(2).map(|w| (w[1] - w[0]) * (w[1] - w[0]).saturating_sub(1) / 2).sum();
    let mut winners = Vec::with_capacity(total);
    let mut losers = Vec::with_capacity(total);
    push_pairs(offsets, items, &mut winners, &mut losers);
    (winners, losers)
}

/// [`pairs_from_rankings`] after counting the pairs: more than
/// [`MAX_PAIRS`], or more than can be allocated, is an error naming
/// `rankings` and the memory it would need, never an abort.
pub fn pairs_from_rankings_checked(offsets: &[usize], items: &[u32]) -> Result<(Vec<u32>, Vec<u32>)> {
    let total: u128 =
        offsets.windows(2).map(|w| (w[1] - w[0]) as u128 * (w[1] - w[0]).saturating_sub(1) as u128 / 2).sum();
    let too_many = |why: &str| {
        let gib = total as f64 * 24.0 / f64::from(1u32 << 30);
        Error::invalid("rankings", format!("{total} pairs would need about {gib:.1} GiB of memory; {why}"))
    };
    if total > MAX_PAIRS {
        return Err(too_many(&format!("the limit is {MAX_PAIRS} pairs (rankings of at most ~11,000 items)")));
    }
    let (mut winners, mut losers) = (Vec::new(), Vec::new());
    winners.try_reserve_exact(total as usize).map_err(|_| too_many("that much could not be allocated"))?;
    losers.try_reserve_exact(total as usize).map_err(|_| too_many("that much could not be allocated"))?;
    push_pairs(offsets, items, &mut winners, &mut losers);
    Ok((winners, losers))
}

fn push_pairs(offsets: &[usize], items: &[u32], winners: &mut Vec<u32>, losers: &mut Vec<u32>) {
    for w in offsets.windows(2) {
        let r = &items[w[0]..w[1]];
        for a in 0..r.len() {
            for b in a + 1..r.len() {
                winners.push(r[a]);
                losers.push(r[b]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row_map(c: &Comparisons, i: usize) -> Vec<(u32, f64, f64)> {
        let (n, w, l) = c.row(i);
        let mut v: Vec<_> = (0..n.len()).map(|k| (n[k], w[k], l[k])).collect();
        v.sort_by_key(|a| a.0);
        v
    }

    #[test]
    fn aggregates_repeated_pairs_in_both_rows() {
        let c = Comparisons::new(3, &[0i64, 0, 1, 2], &[1i64, 1, 0, 0], Some(&[1.0, 0.5, 2.0, 0.0])).unwrap();
        assert_eq!(c.n_pairs(), 1, "the zero-weight comparison is dropped");
        assert_eq!(row_map(&c, 0), vec![(1, 1.5, 2.0)]);
        assert_eq!(row_map(&c, 1), vec![(0, 2.0, 1.5)]);
        assert!(row_map(&c, 2).is_empty());
    }

    #[test]
    fn rejects_bad_input_with_argument_names() {
        let e = Comparisons::new(2, &[0i64, 2], &[1i64, 0], None).unwrap_err();
        assert!(e.to_string().starts_with("winners: winners[1] = 2"), "{e}");
        let e = Comparisons::new(2, &[0i64], &[-1i64], None).unwrap_err();
        assert!(e.to_string().starts_with("losers:"), "{e}");
        let e = Comparisons::new(2, &[0i64], &[1i64, 0], None).unwrap_err();
        assert!(e.to_string().contains("length"), "{e}");
        let e = Comparisons::new(2, &[0i64], &[1i64], Some(&[f64::NAN])).unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
        let e = Comparisons::new(2, &[0i64], &[1i64], Some(&[-1.0])).unwrap_err();
        assert!(e.to_string().starts_with("weights:"), "{e}");
        let e = Comparisons::new(2, &[1i64], &[1i64], None).unwrap_err();
        assert!(e.to_string().contains("itself"), "{e}");
        let e = Comparisons::new::<i64>(2, &[], &[], None).unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
    }

    #[test]
    fn strong_connectivity() {
        // a cycle 0>1>2>0 is strongly connected
        let c = Comparisons::new(3, &[0i64, 1, 2], &[1i64, 2, 0], None).unwrap();
        assert!(c.check_ml_exists().is_ok());
        // two cycles joined one way only
        let c = Comparisons::new(4, &[0i64, 1, 2, 3, 0], &[1i64, 0, 3, 2, 2], None).unwrap();
        let e = c.check_ml_exists().unwrap_err();
        assert!(e.to_string().contains("not strongly connected"), "{e}");
        let c = Comparisons::new(2, &[0i64], &[1i64], None).unwrap();
        assert!(c.check_ml_exists().unwrap_err().to_string().contains("never"));
    }

    #[test]
    fn large_builds_match_direct_counts() {
        // enough comparisons to go parallel; many repeats (rows get closed
        // up) and few repeats (rows keep their gaps)
        let m = 2 * crate::parallel::PAR_MIN_WORK + 1;
        check_large_build(500, m);
        check_large_build(100_000, m);
    }

    fn check_large_build(n: usize, m: usize) {
        let mut s = 12345u64;
        let mut rnd = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut w = Vec::new();
        let mut l = Vec::new();
        while w.len() < m {
            let a = (rnd() % n as u64) as u32;
            let b = (rnd() % n as u64) as u32;
            if a != b {
                w.push(a);
                l.push(b);
            }
        }
        let c = Comparisons::new(n, &w, &l, None).unwrap();
        let mut won = vec![0.0; n];
        for &a in &w {
            won[a as usize] += 1.0;
        }
        assert_eq!(c.total_won(), won);
        let mut lost = vec![0.0; n];
        for &b in &l {
            lost[b as usize] += 1.0;
        }
        assert_eq!(c.total_lost(), lost);
        // each row lists each opponent once, and the two rows of a pair agree
        for i in 0..n {
            let (nb, wo, lo) = c.row(i);
            let mut seen = std::collections::HashSet::new();
            for k in 0..nb.len() {
                assert!(seen.insert(nb[k]));
                let (nb2, wo2, lo2) = c.row(nb[k] as usize);
                let at = nb2.iter().position(|&x| x as usize == i).unwrap();
                assert_eq!((wo[k], lo[k]), (lo2[at], wo2[at]));
            }
        }
        let pairs: std::collections::HashSet<(u32, u32)> =
            w.iter().zip(&l).map(|(&a, &b)| (a.min(b), a.max(b))).collect();
        assert_eq!(c.n_pairs(), pairs.len());
    }

    #[test]
    fn pairs_from_rankings_all_ordered_pairs() {
        let (w, l) = pairs_from_rankings(&[0, 3, 5], &[2, 0, 1, 4, 3]);
        assert_eq!(w, vec![2, 2, 0, 4]);
        assert_eq!(l, vec![0, 1, 1, 3]);
        assert_eq!(pairs_from_rankings_checked(&[0, 3, 5], &[2, 0, 1, 4, 3]).unwrap(), (w, l));
    }

    #[test]
    fn too_many_pairs_are_refused_before_allocating() {
        // one ranking of 100,000 items: 5e9 pairs, 120 GB; refused from the offsets alone
        let items: Vec<u32> = (0..100_000).collect();
        let e = pairs_from_rankings_checked(&[0, items.len()], &items).unwrap_err();
        assert!(e.to_string().starts_with("rankings: 4999950000 pairs"), "{e}");
    }

    #[test]
    fn working_memory_that_cannot_exist_is_an_error() {
        let e = check_working_memory("n_items", || "everything".into(), u128::from(u64::MAX) * 4).unwrap_err();
        assert!(matches!(e, Error::OutOfMemory { .. }), "{e}");
        assert!(e.to_string().starts_with("n_items: everything need about"), "{e}");
        // a plausible amount is only reserved, never touched
        assert!(check_working_memory("n_items", String::new, 1 << 30).is_ok());
        assert!(check_working_memory("n_items", String::new, 100).is_ok());
    }

    #[test]
    fn huge_weights_are_scaled_exactly() {
        let c = Comparisons::new(2, &[0i64, 1], &[1i64, 0], Some(&[1.7e308, 1.7e308])).unwrap();
        let s = c.weight_scale();
        assert_eq!(s, 0.5f64.powi(1024));
        assert_eq!(row_map(&c, 0), vec![(1, 1.7e308 * s, 1.7e308 * s)]);
        assert!(c.total_won().iter().all(|x| x.is_finite() && *x <= 1.0));
        assert_eq!(scale_to_one(1.0), 1.0);
        let small = Comparisons::new(2, &[0i64], &[1i64], Some(&[3.0])).unwrap();
        assert_eq!((small.weight_scale(), small.max_weight()), (1.0, 3.0), "ordinary weights are stored as given");
        assert_eq!(scale_to_one(3.0), 0.25);
        assert_eq!(scale_to_one(f64::MAX) * f64::MAX, f64::MAX * 0.5f64.powi(1024));
    }
}
