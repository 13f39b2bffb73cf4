//! RankGPT's sliding window, back to front.
//!
//! A window of `window` items slides from the bottom of the list to the top
//! in steps of `step`; each call reorders the window in place, so strong
//! items bubble up across windows. Windows are `(n - window, n)`,
//! `(n - window - step, n - step)`, ... and always end with one that starts
//! at the top: when `n - window` is not a multiple of `step` the last window
//! is shorter (`(0, end)`, as rank_llm does), never skipped (the original
//! RankGPT code skips it). Were that last window a single item (possible
//! when `step == window`), a full window at the top is ranked instead.
//! `passes` repeats the sweep.

use super::{apply_order, check_at_least, check_shown, Calls, Planner};
use crate::error::{Error, Result};

/// The windows `(start, end)` of one pass over `n` items, bottom first.
pub fn windows(n: usize, window: usize, step: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if n < 2 {
        return out;
    }
    let mut end = n;
    loop {
        let start = end.saturating_sub(window);
        if start == 0 && end < 2 {
            // the top window would hold the first item alone (step == window):
            // rank a full window at the top instead, so item 0 is compared
            out.push((0, window.min(n)));
            return out;
        }
        out.push((start, end));
        if start == 0 {
            return out;
        }
        end -= step;
    }
}

pub fn check(window: usize, step: usize, passes: usize) -> Result<()> {
    check_at_least("window", window, 2)?;
    if step == 0 || step > window {
        return Err(Error::invalid("step", format!("must be in 1..=window ({window}), got {step}")));
    }
    check_at_least("passes", passes, 1)
}

/// `window`, `step` (None: `window / 2`, RankGPT's 20 and 10), `passes`.
pub const PLANNER: super::Registration = super::Registration {
    name: "sliding_window",
    build: |n, p| {
        let window = p.usize("window")?;
        let step = p.opt_usize("step")?.unwrap_or(window / 2);
        Ok(Box::new(SlidingWindow::new(n, window, step, p.usize("passes")?)?))
    },
};

pub struct SlidingWindow {
    perm: Vec<u32>,
    /// The windows of one pass; pass `p`'s window `w` is call `p * len + w`.
    windows: Vec<(usize, usize)>,
    calls: usize,
    cursor: usize,
}

impl SlidingWindow {
    pub fn new(n: usize, window: usize, step: usize, passes: usize) -> Result<Self> {
        check(window, step, passes)?;
        let windows = windows(n, window, step);
        let per_pass: u128 = windows.iter().map(|&(s, e)| (e - s) as u128).sum();
        check_shown("passes", per_pass * passes as u128, &format!("{passes} passes over {n} candidates"))?;
        let calls = windows.len() * passes;
        Ok(SlidingWindow { perm: (0..n as u32).collect(), windows, calls, cursor: 0 })
    }
}

impl Planner for SlidingWindow {
    fn n(&self) -> usize {
        self.perm.len()
    }
    fn next_round(&mut self, out: &mut Calls) {
        if self.cursor < self.calls {
            let (s, e) = self.windows[self.cursor % self.windows.len()];
            out.push(&self.perm[s..e]);
        }
    }
    fn submit_orders(&mut self, _calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        let (s, e) = self.windows[self.cursor % self.windows.len()];
        apply_order(&mut self.perm[s..e], &orders[0]);
        self.cursor += 1;
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        Ok(self.perm.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::Plan;
    use super::*;

    #[test]
    fn windows_cover_the_top() {
        assert_eq!(windows(100, 20, 10).len(), 9);
        assert_eq!(windows(100, 20, 10)[0], (80, 100));
        assert_eq!(*windows(100, 20, 10).last().unwrap(), (0, 20));
        // 95 - 20 is not a multiple of 10: the top window is (0, 15), not dropped
        assert_eq!(*windows(95, 20, 10).last().unwrap(), (0, 15));
        assert_eq!(windows(15, 20, 10), vec![(0, 15)]);
        assert!(windows(1, 20, 10).is_empty());
        assert_eq!(windows(5, 2, 2), vec![(3, 5), (1, 3), (0, 2)]);
        assert_eq!(windows(21, 20, 20), vec![(1, 21), (0, 20)]);
    }

    #[test]
    fn rejects_bad_steps() {
        assert!(SlidingWindow::new(10, 20, 0, 1).is_err());
        assert!(SlidingWindow::new(10, 20, 21, 1).is_err());
        assert!(SlidingWindow::new(10, 1, 1, 1).is_err());
        assert!(SlidingWindow::new(10, 20, 20, 0).is_err());
    }

    #[test]
    fn perfect_judge_finds_the_top_step_items() {
        let truth = shuffled_truth(100, 3);
        let u = utilities(&truth);
        let mut plan = Plan::new(Box::new(SlidingWindow::new(100, 20, 10, 1).unwrap()));
        let r = run(&mut plan, &u);
        // one back-to-front pass brings the best `step` items to the top, in order
        for (k, &item) in r.iter().take(10).enumerate() {
            assert_eq!(truth[item as usize], k);
        }
        assert_eq!(plan.spend.calls, 9);
        assert_eq!(plan.spend.rounds, 9);
        assert_eq!(plan.spend.docs_shown, 180);
    }
}
