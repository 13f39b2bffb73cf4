//! Tournament sort with output caching (ListT5, Yoon et al. 2024; TourRank).
//!
//! The items are cut into balanced groups of at most `group_size` (leaves,
//! in first-stage order); each node ranks its inputs and passes its best
//! `advance` up; a parent takes the outputs of up to `group_size / advance`
//! children. The root's best is the winner: it is emitted and removed, and
//! only the nodes whose inputs changed are asked again, bottom up (a node
//! that only lost the winner keeps its cached ranking). This repeats until
//! `top_k` winners are out. The rest follow in the order of the highest
//! node each reached (and their place in its last ranking).
//!
//! Nodes at one level run in parallel while the tree is built; after that
//! each winner costs one sequential call per level whose inputs changed.

use super::{check_at_least, Calls, Planner};
use crate::error::{Error, Result};

/// `group_size`, `advance`, `top_k`.
pub const PLANNER: super::Registration = super::Registration {
    name: "tournament_sort",
    build: |n, p| {
        let (group_size, advance) = (p.usize("group_size")?, p.usize("advance")?);
        Ok(Box::new(Tournament::new(n, group_size, advance, p.usize("top_k")?)?))
    },
};

struct Node {
    level: usize,
    parent: Option<usize>,
    children: Vec<usize>,
    /// Current members in prompt order.
    inputs: Vec<u32>,
    /// A ranking of `inputs`, when known.
    ranked: Option<Vec<u32>>,
}

pub struct Tournament {
    n: usize,
    advance: usize,
    top_k: usize,
    nodes: Vec<Node>,
    leaf_of: Vec<usize>,
    root: usize,
    winners: Vec<u32>,
    /// Nodes asked in the pending round.
    asked: Vec<usize>,
}

/// `len` split into `parts` contiguous ranges whose sizes differ by at most one.
fn balanced(len: usize, parts: usize) -> Vec<std::ops::Range<usize>> {
    let (q, r) = (len / parts, len % parts);
    let mut start = 0;
    (0..parts)
        .map(|p| {
            let size = q + usize::from(p < r);
            let range = start..start + size;
            start += size;
            range
        })
        .collect()
}

impl Tournament {
    pub fn new(n: usize, group_size: usize, advance: usize, top_k: usize) -> Result<Self> {
        check_at_least("group_size", group_size, 2)?;
        check_at_least("advance", advance, 1)?;
        check_at_least("top_k", top_k, 1)?;
        if group_size / advance < 2 {
            return Err(Error::invalid(
                "advance",
                format!(
                    "must be at most group_size / 2 ({}) so that a parent can take two children, got {advance}",
                    group_size / 2
                ),
            ));
        }
        let fanout = group_size / advance;
        let mut nodes = Vec::new();
        let mut leaf_of = vec![0; n];
        let leaves = n.div_ceil(group_size).max(1);
        let mut level: Vec<usize> = Vec::new();
        for range in balanced(n, leaves) {
            let id = nodes.len();
            range.clone().for_each(|i| leaf_of[i] = id);
            nodes.push(Node {
                level: 0,
                parent: None,
                children: vec![],
                inputs: range.map(|i| i as u32).collect(),
                ranked: None,
            });
            level.push(id);
        }
        let mut depth = 0;
        while level.len() > 1 {
            depth += 1;
            let parents = level.len().div_ceil(fanout);
            let mut next = Vec::with_capacity(parents);
            for range in balanced(level.len(), parents) {
                let id = nodes.len();
                let children: Vec<usize> = level[range].to_vec();
                children.iter().for_each(|&c| nodes[c].parent = Some(id));
                nodes.push(Node { level: depth, parent: None, children, inputs: vec![], ranked: None });
                next.push(id);
            }
            level = next;
        }
        let root = level[0];
        Ok(Tournament { n, advance, top_k: top_k.min(n), nodes, leaf_of, root, winners: vec![], asked: vec![] })
    }

    /// The inputs of an internal node from its children's rankings.
    fn gather(&self, id: usize) -> Vec<u32> {
        let node = &self.nodes[id];
        node.children
            .iter()
            .flat_map(|&c| {
                let r = self.nodes[c].ranked.as_ref().expect("children are ranked first");
                r[..r.len().min(self.advance)].iter().copied()
            })
            .collect()
    }

    /// Nodes that need a ranking and whose children are all ranked; nodes
    /// with fewer than two inputs are settled without a call.
    fn ready(&mut self) -> Vec<usize> {
        loop {
            let mut ready = Vec::new();
            let mut settled = false;
            for id in 0..self.nodes.len() {
                let node = &self.nodes[id];
                if node.ranked.is_some() || node.children.iter().any(|&c| self.nodes[c].ranked.is_none()) {
                    continue;
                }
                if !node.children.is_empty() && node.inputs.is_empty() {
                    let inputs = self.gather(id);
                    self.nodes[id].inputs = inputs;
                }
                if self.nodes[id].inputs.len() < 2 {
                    self.nodes[id].ranked = Some(self.nodes[id].inputs.clone());
                    settled = true;
                } else {
                    ready.push(id);
                }
            }
            if !ready.is_empty() || !settled {
                return ready;
            }
        }
    }

    /// Emit the root's best, remove it, and invalidate the nodes whose
    /// inputs change. Returns false when `top_k` winners are out.
    fn extract(&mut self) -> bool {
        while self.winners.len() < self.top_k {
            let Some(&w) = self.nodes[self.root].ranked.as_ref().and_then(|r| r.first()) else { return false };
            self.winners.push(w);
            if self.winners.len() == self.top_k {
                return false;
            }
            let mut id = self.leaf_of[w as usize];
            loop {
                let node = &mut self.nodes[id];
                node.inputs.retain(|&x| x != w);
                if let Some(r) = node.ranked.as_mut() {
                    r.retain(|&x| x != w);
                }
                let Some(parent) = node.parent else { break };
                // the parent's new inputs: changed beyond losing w?
                let new_inputs = self.gather(parent);
                let old: Vec<u32> = self.nodes[parent].inputs.iter().copied().filter(|&x| x != w).collect();
                if new_inputs != old {
                    let mut up = Some(parent);
                    while let Some(p) = up {
                        self.nodes[p].ranked = None;
                        self.nodes[p].inputs.clear();
                        up = self.nodes[p].parent;
                    }
                    // w leaves the rest of the path with the invalidated nodes
                    break;
                }
                id = parent;
            }
            if self.nodes[self.root].ranked.is_none() {
                return true;
            }
        }
        false
    }
}

impl Planner for Tournament {
    fn n(&self) -> usize {
        self.n
    }
    fn next_round(&mut self, out: &mut Calls) {
        self.asked.clear();
        if self.winners.len() >= self.top_k || self.n < 2 {
            return;
        }
        let mut ready = self.ready();
        if ready.is_empty() {
            // the tree is ranked: take winners until one needs new calls
            if !self.extract() {
                return;
            }
            ready = self.ready();
        }
        for &id in &ready {
            out.push(&self.nodes[id].inputs);
        }
        self.asked = ready;
    }
    fn submit_orders(&mut self, calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        for (c, (&id, o)) in self.asked.iter().zip(&orders).enumerate() {
            let shown = calls.get(c);
            self.nodes[id].ranked = Some(o.iter().map(|&p| shown[p as usize]).collect());
        }
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        let mut placed = vec![false; self.n];
        let mut out = Vec::with_capacity(self.n);
        for &w in &self.winners {
            placed[w as usize] = true;
            out.push(w);
        }
        // the rest: by the highest level reached, then place in that node
        let mut rest: Vec<(usize, usize, usize, u32)> = Vec::new();
        // (higher level first, then position in the node, then node)
        for (id, node) in self.nodes.iter().enumerate() {
            let members = node.ranked.as_ref().unwrap_or(&node.inputs);
            for (pos, &x) in members.iter().enumerate() {
                rest.push((usize::MAX - node.level, pos, id, x));
            }
        }
        rest.sort_unstable();
        for (_, _, _, x) in rest {
            if !std::mem::replace(&mut placed[x as usize], true) {
                out.push(x);
            }
        }
        // items no node holds any more (removed winners' leaves are exact)
        out.extend((0..self.n as u32).filter(|&x| !placed[x as usize]));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::Plan;
    use super::*;

    #[test]
    fn finds_the_exact_top_k() {
        for (n, g, a, k) in [(100, 20, 5, 10), (100, 5, 2, 10), (37, 4, 1, 37), (7, 20, 5, 3), (100, 20, 10, 100)] {
            let truth = shuffled_truth(n, n as u64 + g as u64);
            let u = utilities(&truth);
            let mut plan = Plan::new(Box::new(Tournament::new(n, g, a, k).unwrap()));
            let r = run(&mut plan, &u);
            for (pos, &item) in r.iter().take(k).enumerate() {
                assert_eq!(truth[item as usize], pos, "n={n} g={g} a={a}: {r:?}");
            }
        }
    }

    #[test]
    fn caching_saves_calls() {
        let truth = shuffled_truth(100, 11);
        let u = utilities(&truth);
        let mut plan = Plan::new(Box::new(Tournament::new(100, 20, 5, 10).unwrap()));
        run(&mut plan, &u);
        // build: 5 leaves + 2 + 1 = 8 calls; each later winner re-asks at most 2 nodes
        assert!(plan.spend.calls <= 8 + 9 * 2, "{:?}", plan.spend);
        assert!(plan.spend.calls >= 8);
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(Tournament::new(10, 20, 11, 10).is_err());
        assert!(Tournament::new(10, 1, 1, 10).is_err());
        assert!(Tournament::new(10, 20, 5, 0).is_err());
    }
}
