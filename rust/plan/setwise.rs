//! Setwise sorting (Zhuang et al., SIGIR 2024): each call shows a set of
//! `set_size` items and only its best is used.
//!
//! * `heapsort`: a max-heap with `set_size - 1` children per node; a
//!   sift-down step shows a node with its children and swaps it with the
//!   best child when that child wins. The heap is built bottom up, the
//!   sift-downs of one level in parallel; then `top_k` times the root is
//!   emitted and the last leaf sifted down from the root.
//! * `bubblesort`: `top_k` passes; each slides a set from the bottom of the
//!   unsorted part to its top (consecutive sets share one item) and moves
//!   each set's best to the set's front, so the pass's best rises to the top.
//!
//! Items below the `top_k` keep their first-stage order (heapsort) or the
//! order the passes left (bubblesort).

use super::{check_at_least, Calls, Planner};
use crate::error::Result;

crate::names! {
    /// The sort a setwise plan runs.
    pub enum Method("method") {
        Heapsort = "heapsort",
        Bubblesort = "bubblesort" | "bubble",
    }
}

/// `set_size`, `method`, `top_k`.
pub const PLANNER: super::Registration = super::Registration {
    name: "setwise",
    build: |n, p| {
        let (set_size, method) = (p.usize("set_size")?, p.name("method")?);
        Ok(Box::new(Setwise::new(n, set_size, method, p.usize("top_k")?)?))
    },
};

pub struct Setwise {
    n: usize,
    arity: usize,
    top_k: usize,
    method: Method,
    /// Heap array (heapsort) or current order (bubblesort).
    a: Vec<u32>,
    out: Vec<u32>,
    /// Heapsort: live heap size; sift-down cursors of the pending round;
    /// the next level to build (None once built).
    heap_len: usize,
    cursors: Vec<usize>,
    build_level: Option<usize>,
    /// Bubblesort: pass and the pending set's start.
    pass: usize,
    end: usize,
    start: usize,
}

impl Setwise {
    pub fn new(n: usize, set_size: usize, method: Method, top_k: usize) -> Result<Self> {
        check_at_least("set_size", set_size, 2)?;
        check_at_least("top_k", top_k, 1)?;
        let arity = set_size - 1;
        // deepest level holding an internal node (the parent of the last item)
        let build_level = (n > 1).then(|| depth((n - 2) / arity, arity));
        Ok(Setwise {
            n,
            arity,
            top_k: top_k.min(n),
            method,
            a: (0..n as u32).collect(),
            out: Vec::new(),
            heap_len: n,
            cursors: Vec::new(),
            build_level,
            pass: 0,
            end: 0,
            start: 0,
        })
    }

    fn children(&self, i: usize) -> std::ops::Range<usize> {
        let first = (i * self.arity + 1).min(self.heap_len);
        first..(first + self.arity).min(self.heap_len)
    }

    /// Heapsort: the cursors for the next round (empty when done).
    fn heap_round(&mut self) {
        self.cursors.retain(|&i| i * self.arity + 1 < self.heap_len);
        while self.cursors.is_empty() {
            if let Some(level) = self.build_level {
                self.cursors = level_nodes(level, self.arity).filter(|&i| i * self.arity + 1 < self.heap_len).collect();
                self.build_level = level.checked_sub(1);
                continue;
            }
            // built: emit the root, move the last item up, sift it down
            if self.out.len() >= self.top_k || self.heap_len == 0 {
                return;
            }
            self.out.push(self.a[0]);
            self.heap_len -= 1;
            self.a.swap(0, self.heap_len);
            if self.out.len() >= self.top_k || self.heap_len < 2 {
                if self.heap_len == 1 && self.out.len() < self.top_k {
                    self.out.push(self.a[0]);
                    self.heap_len = 0;
                }
                return;
            }
            self.cursors = vec![0];
        }
    }

    /// Bubblesort: set up the next set (false when done). `end == 0`
    /// means the pass has not started.
    fn bubble_round(&mut self) -> bool {
        loop {
            if self.pass >= self.top_k || self.pass + 1 >= self.n {
                return false;
            }
            if self.end == 0 {
                self.end = self.n;
            } else if self.start == self.pass {
                self.pass += 1;
                self.end = 0;
                continue;
            } else {
                self.end = self.start + 1;
            }
            // at least two items: end >= pass + 2 and set_size >= 2
            self.start = self.end.saturating_sub(self.arity + 1).max(self.pass);
            return true;
        }
    }
}

/// Level (root = 0) of heap node `i` with `arity` children per node.
fn depth(mut i: usize, arity: usize) -> usize {
    let mut d = 0;
    while i > 0 {
        i = (i - 1) / arity;
        d += 1;
    }
    d
}

/// The heap nodes at `level`.
fn level_nodes(level: usize, arity: usize) -> std::ops::Range<usize> {
    let (mut first, mut width) = (0usize, 1usize);
    for _ in 0..level {
        first += width;
        width *= arity;
    }
    first..first + width
}

impl Planner for Setwise {
    fn n(&self) -> usize {
        self.n
    }
    fn next_round(&mut self, out: &mut Calls) {
        match self.method {
            Method::Heapsort => {
                self.heap_round();
                for &i in &self.cursors {
                    let mut set = vec![self.a[i]];
                    set.extend(self.children(i).map(|c| self.a[c]));
                    out.push(&set);
                }
            }
            Method::Bubblesort => {
                if self.bubble_round() {
                    out.push(&self.a[self.start..self.end]);
                }
            }
        }
    }
    fn submit_orders(&mut self, _calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        match self.method {
            Method::Heapsort => {
                let mut next = Vec::new();
                for (&i, o) in self.cursors.iter().zip(&orders) {
                    // position 0 is the node itself, 1.. its children
                    if o[0] > 0 {
                        let child = self.children(i).start + o[0] as usize - 1;
                        self.a.swap(i, child);
                        next.push(child);
                    }
                }
                self.cursors = next;
            }
            Method::Bubblesort => {
                let best = self.start + orders[0][0] as usize;
                self.a[self.start..=best].rotate_right(1);
            }
        }
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        Ok(match self.method {
            Method::Heapsort => {
                let mut r = self.out.clone();
                let mut placed = vec![false; self.n];
                r.iter().for_each(|&x| placed[x as usize] = true);
                r.extend((0..self.n as u32).filter(|&x| !placed[x as usize]));
                r
            }
            Method::Bubblesort => self.a.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::Plan;
    use super::*;

    #[test]
    fn both_methods_find_the_exact_top_k() {
        for method in [Method::Heapsort, Method::Bubblesort] {
            for (n, c, k) in [(100, 4, 10), (100, 3, 100), (2, 4, 10), (17, 5, 17), (50, 20, 5)] {
                let truth = shuffled_truth(n, (n * c) as u64);
                let u = utilities(&truth);
                let mut plan = Plan::new(Box::new(Setwise::new(n, c, method, k).unwrap()));
                let r = run(&mut plan, &u);
                for (pos, &item) in r.iter().take(k).enumerate() {
                    assert_eq!(truth[item as usize], pos, "{method:?} n={n} c={c} k={k}: {r:?}");
                }
            }
        }
    }

    #[test]
    fn heap_levels() {
        assert_eq!(depth(0, 3), 0);
        assert_eq!(depth(3, 3), 1);
        assert_eq!(depth(4, 3), 2);
        assert_eq!(level_nodes(2, 3), 4..13);
    }

    #[test]
    fn heap_build_runs_levels_in_parallel() {
        let truth = shuffled_truth(100, 2);
        let mut plan = Plan::new(Box::new(Setwise::new(100, 4, Method::Heapsort, 10).unwrap()));
        run(&mut plan, &utilities(&truth));
        // far fewer rounds than calls: one level's sift-downs share a round
        assert!(plan.spend.rounds < plan.spend.calls, "{:?}", plan.spend);
    }
}
