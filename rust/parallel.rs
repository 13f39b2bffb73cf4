//! Fork-safe data parallelism on scoped threads.
//!
//! No global pool: threads live only for one call, so a process that forks
//! (multiprocessing, gunicorn) never inherits a pool whose threads are gone.
//! Work is split so that every output element is computed by exactly one
//! closure call from its own inputs: results do not depend on the number of
//! threads, bit for bit.

use std::sync::OnceLock;

/// Below this many units of work (about a millisecond) a call stays on the
/// calling thread: threads are spawned per call, which costs tens to hundreds
/// of microseconds on a busy virtual machine.
pub const PAR_MIN_WORK: usize = 1 << 19;

/// Threads to use: `RANKWISE_NUM_THREADS` if set to a positive integer,
/// otherwise the available parallelism.
pub fn num_threads() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        std::env::var("RANKWISE_NUM_THREADS")
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
    })
}

/// Split rows `0..offsets.len()-1` into at most `parts` contiguous ranges of
/// about equal work, where row `i` costs `offsets[i+1] - offsets[i] + 1`.
fn split_rows(offsets: &[usize], parts: usize) -> Vec<usize> {
    let n = offsets.len() - 1;
    let total = offsets[n] - offsets[0] + n;
    let mut bounds = vec![0];
    for p in 1..parts {
        let target = total * p / parts;
        // first row whose cumulative cost reaches target
        let (mut lo, mut hi) = (*bounds.last().unwrap(), n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if offsets[mid] - offsets[0] + mid < target {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        bounds.push(lo);
    }
    bounds.push(n);
    bounds.dedup();
    bounds
}

/// `out[i] = f(i)` for every row `i`, in parallel over balanced row ranges
/// when the total work (`offsets[n] - offsets[0]`) is large enough.
pub fn map_rows<T, F>(out: &mut [T], offsets: &[usize], f: F)
where
    T: Send,
    F: Fn(usize) -> T + Sync,
{
    map_rows_with(out, offsets, || (), |_, i| f(i));
}

/// Like [`map_rows`], with one scratch value per thread (made by `init`)
/// that `f` may reuse across rows: for per-row work that would otherwise
/// allocate. Results must not depend on the scratch's history.
pub fn map_rows_with<T, S, I, F>(out: &mut [T], offsets: &[usize], init: I, f: F)
where
    T: Send,
    I: Fn() -> S + Sync,
    F: Fn(&mut S, usize) -> T + Sync,
{
    let n = out.len();
    let work = offsets[n] - offsets[0] + n;
    let threads = num_threads().min(work / PAR_MIN_WORK).max(1);
    let bounds = split_rows(offsets, threads);
    let (f, init) = (&f, &init);
    let run = move |start: usize, chunk: &mut [T]| {
        let mut scratch = init();
        for (k, o) in chunk.iter_mut().enumerate() {
            *o = f(&mut scratch, start + k);
        }
    };
    if bounds.len() == 2 {
        run(0, out);
        return;
    }
    std::thread::scope(|s| {
        let mut rest = out;
        for w in bounds.windows(2) {
            let (chunk, tail) = rest.split_at_mut(w[1] - w[0]);
            rest = tail;
            let start = w[0];
            s.spawn(move || run(start, chunk));
        }
    });
}

/// `f(r, &mut data[offsets[r]..offsets[r+1]])` for every segment `r`, in
/// parallel over balanced segment ranges when the work is large enough.
pub fn for_each_segment<T, F>(data: &mut [T], offsets: &[usize], f: F)
where
    T: Send,
    F: Fn(usize, &mut [T]) + Sync,
{
    let bounds = row_ranges(offsets);
    let f = &f;
    let run = move |r0: usize, r1: usize, chunk: &mut [T]| {
        let base = offsets[r0];
        for r in r0..r1 {
            f(r, &mut chunk[offsets[r] - base..offsets[r + 1] - base]);
        }
    };
    if bounds.len() == 2 {
        let (a, b) = (offsets[0], offsets[offsets.len() - 1]);
        run(0, offsets.len() - 1, &mut data[a..b]);
        return;
    }
    std::thread::scope(|s| {
        let mut rest = &mut data[offsets[0]..];
        for w in bounds.windows(2) {
            let (chunk, tail) = rest.split_at_mut(offsets[w[1]] - offsets[w[0]]);
            rest = tail;
            let (r0, r1) = (w[0], w[1]);
            s.spawn(move || run(r0, r1, chunk));
        }
    });
}

/// Row ranges of about equal work for callers that need mutable access to
/// their own slice of a CSR structure; one range when parallelism does not pay.
pub fn row_ranges(offsets: &[usize]) -> Vec<usize> {
    let n = offsets.len() - 1;
    let work = offsets[n] - offsets[0] + n;
    let threads = num_threads().min(work / PAR_MIN_WORK).max(1);
    split_rows(offsets, threads)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_all_rows_in_order() {
        let offsets: Vec<usize> = (0..=1000).map(|i| i * i).collect();
        for parts in 1..6 {
            let b = split_rows(&offsets, parts);
            assert_eq!(b[0], 0);
            assert_eq!(*b.last().unwrap(), 1000);
            assert!(b.windows(2).all(|w| w[0] < w[1]));
        }
    }

    #[test]
    fn map_rows_matches_sequential() {
        let n = 2 * PAR_MIN_WORK; // large enough to split when threads > 1
        let offsets: Vec<usize> = (0..=n).collect();
        let mut out = vec![0u64; n];
        map_rows(&mut out, &offsets, |i| (i as u64) * 3);
        assert!(out.iter().enumerate().all(|(i, &v)| v == i as u64 * 3));
    }
}
