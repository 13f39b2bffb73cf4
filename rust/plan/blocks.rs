//! JointRank (Dedov, 2025): overlapping blocks of candidates ranked in one
//! parallel round, the block rankings turned into pairwise comparisons (or
//! used directly as rankings) and aggregated.
//!
//! Blocks answered with scores (a groupwise scorer, or a pointwise one
//! scoring each shown item) are ordered by their scores and aggregated as
//! rankings like any other answer, so `bradley_terry` is Bradley-Terry on
//! the pairs the scores imply; or, with the `zscore` aggregator, the scores
//! themselves are used: each block's scores are standardised (minus the
//! block's mean, over its standard deviation; all zero when it is 0 or the
//! block scored one item) and an item's score is the mean of its
//! standardised scores over the blocks that scored it. Items no block scored
//! follow in first-stage order; ties keep first-stage order.
//!
//! Block designs for `n` items, blocks of `k`, `r` replicas:
//! * `equi_replicate`: every item in exactly `r` blocks (needs `r n % k == 0`);
//!   `r` shuffles of the items cut into blocks of `k`, a repeat within a
//!   block swapped for a later item;
//! * `replicate`: the same for any `n`: `floor(r n / k)` blocks (at least
//!   one), as JointRank's `ReplicateBlockDesign`, so a few items appear once
//!   less (`r - 1` times);
//! * `random`: `ceil(r n / k)` independent random `k`-subsets;
//! * `latin`: `n = k^2`, the items in a `k x k` square; blocks are its rows,
//!   its columns and, for `r > 2`, the cells of equal `(col + s row) mod k`
//!   (`s = 1, ..., r - 2`; `r <= k + 1`);
//! * `triangular`: `n = k (k + 1) / 2`, items are the pairs of `k + 1` block
//!   labels and block `a` holds the items whose pair contains `a` (`r = 2`:
//!   every two blocks share exactly one item);
//! * `auto`: as the JointRank code (`reranker_factory.get_joint`): with
//!   `r = 2` latin when it fits, then equi_replicate when it fits, else
//!   replicate (triangular and random are never picked).
//!
//! Block counts and the designs `auto` picks match JointRank's code (Dedov's
//! `jointrank/blocks/design.py`); the constructions differ: JointRank deals a
//! shuffled pool and tops a short block up from outside it, refilling the
//! pool, while here `r` shuffles are concatenated and a repeat within a
//! block is swapped for a later item, both seeded. `random` here makes
//! `ceil(r n / k)` blocks for any `n` (JointRank's needs `r n % k == 0`).
//!
//! With `n <= k` every design is `r` shuffled copies of the whole list.

use super::{check_at_least, check_shown, Calls, Planner, Rng};
use crate::aggregate::bradley_terry::{bradley_terry, Method};
use crate::aggregate::counting::{borda, copeland, win_rate};
use crate::aggregate::pagerank::pagerank;
use crate::aggregate::plackett_luce::plackett_luce;
use crate::aggregate::{ranking_from_scores, Stopping};
use crate::comparisons::{pairs_from_rankings, Comparisons};
use crate::error::{Error, Result};
use crate::rankings::Rankings;

crate::names! {
    /// A block design (see the module docs).
    pub enum Design("design") {
        Auto = "auto",
        EquiReplicate = "equi_replicate",
        Replicate = "replicate",
        Random = "random",
        Latin = "latin",
        Triangular = "triangular",
    }
}

impl Design {
    fn fits(self, n: usize, k: usize, r: usize) -> bool {
        match self {
            Design::Latin => n == k * k && r <= k + 1,
            Design::Triangular => 2 * n == k * (k + 1) && r == 2,
            Design::EquiReplicate => (r * n) % k == 0,
            _ => true,
        }
    }

    /// The design `auto` picks for these sizes (and `self` otherwise).
    pub fn resolve(self, n: usize, k: usize, r: usize) -> Design {
        if self != Design::Auto {
            return self;
        }
        let mut order = vec![];
        if r == 2 {
            order.push(Design::Latin);
        }
        order.push(Design::EquiReplicate);
        order.into_iter().find(|d| d.fits(n, k, r)).unwrap_or(Design::Replicate)
    }
}

/// The blocks (each in prompt order) for `n` items.
pub fn blocks(n: usize, k: usize, r: usize, design: Design, rng: &mut Rng) -> Result<Vec<Vec<u32>>> {
    check_at_least("block_size", k, 2)?;
    check_at_least("replicas", r, 1)?;
    // every design shows about r n documents (random: ceil(r n / k) blocks of k)
    check_shown("replicas", (r as u128) * (n as u128) + k as u128, &format!("{r} replicas of {n} candidates"))?;
    let items: Vec<u32> = (0..n as u32).collect();
    if n <= k {
        return Ok((0..r)
            .map(|_| {
                let mut b = items.clone();
                rng.shuffle(&mut b);
                b
            })
            .collect());
    }
    let design = design.resolve(n, k, r);
    if !design.fits(n, k, r) {
        let need = match design {
            Design::Latin => format!("n = block_size^2 ({}) and replicas <= block_size + 1", k * k),
            Design::Triangular => format!("n = block_size (block_size + 1) / 2 ({}) and replicas = 2", k * (k + 1) / 2),
            _ => format!("replicas x n ({}) divisible by block_size", r * n),
        };
        return Err(Error::invalid("design", format!("{:?} needs {need}; this list has n = {n}", design.name())));
    }
    Ok(match design {
        Design::Latin => latin(k, r),
        Design::Triangular => triangular(k),
        Design::Random => {
            let count = (r * n).div_ceil(k);
            (0..count)
                .map(|_| {
                    let mut pool = items.clone();
                    // partial Fisher-Yates: the first k of a random shuffle
                    for i in 0..k {
                        let j = i + rng.below(n - i);
                        pool.swap(i, j);
                    }
                    pool.truncate(k);
                    pool
                })
                .collect()
        }
        _ => replicated(n, k, r, rng),
    })
}

/// `r` shuffles of `0..n` concatenated and cut into blocks of `k`; an item
/// already in the current block is swapped with the next stream item that
/// is not; `floor(r n / k)` blocks are kept (at least one, the last topped
/// up with random items it lacks), as JointRank's count.
fn replicated(n: usize, k: usize, r: usize, rng: &mut Rng) -> Vec<Vec<u32>> {
    let mut stream: Vec<u32> = Vec::with_capacity(r * n);
    for _ in 0..r {
        let mut s: Vec<u32> = (0..n as u32).collect();
        rng.shuffle(&mut s);
        stream.extend(s);
    }
    let mut out = Vec::new();
    let mut in_block = vec![false; n];
    let mut block: Vec<u32> = Vec::with_capacity(k);
    let mut i = 0;
    while i < stream.len() {
        if in_block[stream[i] as usize] {
            match (i + 1..stream.len()).find(|&j| !in_block[stream[j] as usize]) {
                Some(j) => stream.swap(i, j),
                None => break,
            }
        }
        let x = stream[i];
        in_block[x as usize] = true;
        block.push(x);
        i += 1;
        if block.len() == k {
            block.iter().for_each(|&y| in_block[y as usize] = false);
            out.push(std::mem::replace(&mut block, Vec::with_capacity(k)));
        }
    }
    if !block.is_empty() {
        while block.len() < k {
            let x = rng.below(n) as u32;
            if !in_block[x as usize] {
                in_block[x as usize] = true;
                block.push(x);
            }
        }
        out.push(block);
    }
    out.truncate(((r * n) / k).max(1));
    out
}

fn latin(k: usize, r: usize) -> Vec<Vec<u32>> {
    let cell = |row: usize, col: usize| (row * k + col) as u32;
    let mut out: Vec<Vec<u32>> = (0..k).map(|row| (0..k).map(|col| cell(row, col)).collect()).collect();
    if r >= 2 {
        out.extend((0..k).map(|col| (0..k).map(|row| cell(row, col)).collect()));
    }
    for s in 1..r.saturating_sub(1) {
        for c in 0..k {
            out.push((0..k).map(|row| cell(row, (c + k * k - s * row % k) % k)).collect());
        }
    }
    out.truncate(r * k);
    out
}

fn triangular(k: usize) -> Vec<Vec<u32>> {
    // item id of the pair {a, b} of the k + 1 labels, row-major over a < b
    let labels = k + 1;
    let id = |a: usize, b: usize| {
        let (a, b) = (a.min(b), a.max(b));
        (a * labels - a * (a + 1) / 2 + (b - a - 1)) as u32
    };
    (0..labels)
        .map(|a| {
            let mut block: Vec<u32> = (0..labels).filter(|&b| b != a).map(|b| id(a, b)).collect();
            block.sort_unstable();
            block
        })
        .collect()
}

crate::names! {
    /// How block rankings become one ranking.
    pub enum BlockAggregator("aggregator") {
        PageRank = "pagerank",
        WinRate = "win_rate",
        BradleyTerry = "bradley_terry",
        PlackettLuce = "plackett_luce",
        Copeland = "copeland",
        Borda = "borda",
        ZScore = "zscore",
    }
}

/// `block_size`, `replicas`, `design`, `aggregator`, `seed`.
pub const PLANNER: super::Registration = super::Registration {
    name: "jointrank",
    build: |n, p| {
        let (k, r) = (p.usize("block_size")?, p.usize("replicas")?);
        let (design, aggregator) = (p.name("design")?, p.name("aggregator")?);
        Ok(Box::new(JointRank::new(n, k, r, design, aggregator, p.u64("seed")?)?))
    },
};

pub struct JointRank {
    n: usize,
    blocks: Vec<Vec<u32>>,
    ranked: Vec<Vec<u32>>,
    /// `zscore`: the sum of each item's standardised scores and how many blocks scored it.
    z: Vec<(f64, u32)>,
    aggregator: BlockAggregator,
    asked: bool,
}

impl JointRank {
    pub fn new(
        n: usize,
        block_size: usize,
        replicas: usize,
        design: Design,
        aggregator: BlockAggregator,
        seed: u64,
    ) -> Result<Self> {
        let blocks = if n < 2 {
            check_at_least("block_size", block_size, 2)?;
            check_at_least("replicas", replicas, 1)?;
            Vec::new()
        } else {
            blocks(n, block_size, replicas, design, &mut Rng::new(seed))?
        };
        Ok(JointRank { n, blocks, ranked: Vec::new(), z: Vec::new(), aggregator, asked: false })
    }

    pub fn blocks(&self) -> &[Vec<u32>] {
        &self.blocks
    }
}

/// Scores for `n` items from rankings (flat: `offsets`, `items`) by `agg`.
pub fn aggregate_rankings(n: usize, offsets: &[usize], items: &[u32], agg: BlockAggregator) -> Result<Vec<f64>> {
    let stop = Stopping { tol: 1e-8, max_iter: 10_000 };
    let lengths: Vec<usize> = offsets.windows(2).map(|w| w[1] - w[0]).collect();
    Ok(match agg {
        BlockAggregator::PlackettLuce => {
            plackett_luce(&Rankings::new(Some(n), &lengths, items, None)?, Method::Newman, 1.0, stop)?.scores
        }
        BlockAggregator::Borda => borda(&Rankings::new(Some(n), &lengths, items, None)?)?,
        BlockAggregator::ZScore => return Err(needs_scores()),
        _ => {
            let (w, l) = pairs_from_rankings(offsets, items);
            let c = Comparisons::new(n, &w, &l, None)?;
            match agg {
                BlockAggregator::PageRank => pagerank(&c, 0.85, Stopping { tol: 1e-10, ..stop })?.scores,
                BlockAggregator::WinRate => win_rate(&c),
                BlockAggregator::Copeland => copeland(&c),
                _ => bradley_terry(&c, Method::Newman, 1.0, stop)?.scores,
            }
        }
    })
}

fn needs_scores() -> Error {
    Error::invalid(
        "aggregator",
        "'zscore' averages per-document scores, and these answers are orders; use a groupwise or pointwise \
         scorer, or another aggregator",
    )
}

/// Add one block's standardised scores (NaN: not scored, skipped) to `z`.
/// Standardising ignores offset and scale, so the scores are first divided by
/// their largest magnitude and shifted by the first one: 1e300 or 1e-300 give
/// the z-scores 1 and 1e-5 would, where their squares would overflow or vanish.
pub fn add_standardised(z: &mut [(f64, u32)], items: &[u32], scores: &[f64]) {
    let top = scores.iter().filter(|s| !s.is_nan()).fold(0.0f64, |m, s| m.max(s.abs()));
    let first = scores.iter().find(|s| !s.is_nan()).map_or(0.0, |s| s / top);
    let given: Vec<(u32, f64)> = items
        .iter()
        .zip(scores)
        .filter(|(_, s)| !s.is_nan())
        .map(|(&i, &s)| (i, if top > 0.0 { s / top - first } else { 0.0 }))
        .collect();
    let m = given.len() as f64;
    let mean = given.iter().map(|g| g.1).sum::<f64>() / m;
    let sd = (given.iter().map(|g| (g.1 - mean).powi(2)).sum::<f64>() / m).sqrt();
    for (i, s) in given {
        let zi = if sd > 0.0 && sd.is_finite() { (s - mean) / sd } else { 0.0 };
        let e = &mut z[i as usize];
        e.0 += zi;
        e.1 += 1;
    }
}

impl Planner for JointRank {
    fn n(&self) -> usize {
        self.n
    }
    fn next_round(&mut self, out: &mut Calls) {
        if !self.asked {
            self.blocks.iter().for_each(|b| out.push(b));
        }
        self.asked = true;
    }
    fn submit_scores(&mut self, calls: &Calls, scores: Vec<Vec<f64>>) -> Result<()> {
        if self.aggregator != BlockAggregator::ZScore {
            return self.submit_orders(calls, super::orders_by_scores(&scores));
        }
        self.z = vec![(0.0, 0); self.n];
        for (c, s) in scores.iter().enumerate() {
            add_standardised(&mut self.z, calls.get(c), s);
        }
        Ok(())
    }
    fn takes_orders(&self) -> Result<()> {
        if self.aggregator == BlockAggregator::ZScore {
            return Err(needs_scores());
        }
        Ok(())
    }
    fn submit_orders(&mut self, calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        self.takes_orders()?;
        self.ranked =
            orders.iter().enumerate().map(|(c, o)| o.iter().map(|&p| calls.get(c)[p as usize]).collect()).collect();
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        if self.aggregator == BlockAggregator::ZScore && !self.z.is_empty() {
            // the unscored after every scored item (mean z is finite), in first-stage order
            let mean: Vec<f64> =
                self.z.iter().map(|&(s, c)| if c > 0 { s / f64::from(c) } else { f64::NEG_INFINITY }).collect();
            return Ok(ranking_from_scores(&mean));
        }
        if self.ranked.is_empty() {
            return Ok((0..self.n as u32).collect());
        }
        let mut offsets = vec![0];
        let mut items = Vec::new();
        for r in &self.ranked {
            items.extend_from_slice(r);
            offsets.push(items.len());
        }
        let scores = aggregate_rankings(self.n, &offsets, &items, self.aggregator)?;
        Ok(ranking_from_scores(&scores))
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::Plan;
    use super::*;

    fn counts(n: usize, bs: &[Vec<u32>]) -> Vec<usize> {
        let mut c = vec![0; n];
        bs.iter().flatten().for_each(|&x| c[x as usize] += 1);
        c
    }

    fn no_repeats(bs: &[Vec<u32>]) -> bool {
        bs.iter().all(|b| {
            let mut s = b.clone();
            s.sort_unstable();
            s.dedup();
            s.len() == b.len()
        })
    }

    #[test]
    fn designs_have_their_shapes() {
        let mut rng = Rng::new(1);
        let eq = blocks(100, 20, 4, Design::EquiReplicate, &mut rng).unwrap();
        assert_eq!(eq.len(), 20);
        assert!(eq.iter().all(|b| b.len() == 20) && no_repeats(&eq));
        assert!(counts(100, &eq).iter().all(|&c| c == 4));

        let rep = blocks(95, 20, 3, Design::Replicate, &mut rng).unwrap();
        assert_eq!(rep.len(), 14);
        assert!(rep.iter().all(|b| b.len() == 20) && no_repeats(&rep));
        assert!(counts(95, &rep).iter().all(|&c| (2..=3).contains(&c)));
        // JointRank's ReplicateBlockDesign: n=101, k=20, r=4 gives 20 blocks, items 3-4 times
        let rep = blocks(101, 20, 4, Design::Replicate, &mut rng).unwrap();
        assert_eq!(rep.len(), 20);
        assert!(counts(101, &rep).iter().all(|&c| (3..=4).contains(&c)));

        let rnd = blocks(50, 10, 2, Design::Random, &mut rng).unwrap();
        assert_eq!(rnd.len(), 10);
        assert!(no_repeats(&rnd));

        let lat = blocks(25, 5, 3, Design::Latin, &mut rng).unwrap();
        assert_eq!(lat.len(), 15);
        assert!(counts(25, &lat).iter().all(|&c| c == 3) && no_repeats(&lat));
        // rows and columns meet in exactly one item
        assert_eq!(lat[0].iter().filter(|x| lat[5].contains(x)).count(), 1);

        let tri = blocks(10, 4, 2, Design::Triangular, &mut rng).unwrap();
        assert_eq!(tri.len(), 5);
        assert!(counts(10, &tri).iter().all(|&c| c == 2));
        for a in 0..5 {
            for b in a + 1..5 {
                assert_eq!(tri[a].iter().filter(|x| tri[b].contains(x)).count(), 1);
            }
        }
        assert!(blocks(24, 5, 2, Design::Latin, &mut rng).is_err());
        assert!(blocks(100, 20, 4, Design::Triangular, &mut rng).is_err());
        assert!(blocks(101, 20, 4, Design::EquiReplicate, &mut rng).is_err());
    }

    #[test]
    fn auto_follows_jointrank() {
        assert_eq!(Design::Auto.resolve(100, 10, 2), Design::Latin);
        // JointRank's code never picks triangular: 2 x 10 % 4 == 0, equi_replicate
        assert_eq!(Design::Auto.resolve(10, 4, 2), Design::EquiReplicate);
        assert_eq!(Design::Auto.resolve(55, 10, 2), Design::EquiReplicate);
        assert_eq!(Design::Auto.resolve(55, 10, 3), Design::Replicate);
        assert_eq!(Design::Auto.resolve(100, 20, 4), Design::EquiReplicate);
        assert_eq!(Design::Auto.resolve(100, 10, 4), Design::EquiReplicate);
        assert_eq!(Design::Auto.resolve(95, 20, 3), Design::Replicate);
    }

    #[test]
    fn short_lists_are_shuffled_copies() {
        let bs = blocks(7, 20, 3, Design::Latin, &mut Rng::new(0)).unwrap();
        assert_eq!(bs.len(), 3);
        assert!(counts(7, &bs).iter().all(|&c| c == 3));
    }

    #[test]
    fn zscore_averages_standardised_block_scores() {
        // blocks scored on different scales: the raw means would favour item 3's block
        let mut z = vec![(0.0, 0); 4];
        add_standardised(&mut z, &[0, 1], &[1.0, 3.0]);
        add_standardised(&mut z, &[2, 3], &[100.0, 104.0]);
        add_standardised(&mut z, &[1, 2, 3], &[5.0, 5.0, f64::NAN]);
        let mean: Vec<f64> = z.iter().map(|&(s, c)| s / f64::from(c)).collect();
        assert_eq!(z.iter().map(|e| e.1).collect::<Vec<_>>(), vec![1, 2, 2, 1]);
        assert_eq!(mean, vec![-1.0, 0.5, -0.5, 1.0], "sd 0 gives zeros; NaN is skipped");

        let truth = shuffled_truth(60, 2);
        let u = utilities(&truth);
        let jr = JointRank::new(60, 10, 3, Design::Auto, BlockAggregator::ZScore, 1).unwrap();
        let mut plan = Plan::new(Box::new(jr));
        let calls = plan.requests().clone();
        assert!(plan.submit_orders(&[0, 0], &[]).is_err());
        let mut offsets = vec![0];
        let mut scores = vec![];
        for c in 0..calls.len() {
            // each block on its own affine scale: standardisation removes it
            scores.extend(calls.get(c).iter().map(|&i| 10.0 * c as f64 + (1.0 + c as f64) * u[i as usize]));
            offsets.push(scores.len());
        }
        plan.submit_scores(&offsets, &scores).unwrap();
        assert!(plan.requests().is_empty());
        let r = plan.result().unwrap();
        assert!(r[..3].iter().all(|&i| truth[i as usize] < 6), "{:?}", &r[..5]);
        let e = JointRank::new(60, 10, 3, Design::Auto, BlockAggregator::ZScore, 1).unwrap();
        let mut plan = Plan::new(Box::new(e));
        let (offsets, ids, _) = super::super::testing::answer(&plan.requests().clone(), plan.kind(), &u);
        let err = plan.submit_orders(&offsets, &ids).unwrap_err().to_string();
        assert!(err.starts_with("aggregator: ") && err.contains("zscore"), "{err}");
        assert_eq!(plan.spend.calls, 0, "refused before the round was taken");
        assert!(!plan.requests().is_empty() && !plan.is_done());

        // magnitudes whose squares overflow or vanish standardise as any other
        for scale in [1e300, 1e160, 1e-170, 1e-320, 1.0] {
            let mut z = vec![(0.0, 0); 3];
            add_standardised(&mut z, &[0, 1, 2], &[3.0 * scale, 1.0 * scale, 2.0 * scale]);
            let got: Vec<f64> = z.iter().map(|e| e.0).collect();
            let want = [1.224744871391589, -1.224744871391589, 0.0];
            assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{scale}: {got:?}");
        }
        let mut z = vec![(0.0, 0); 2];
        add_standardised(&mut z, &[0, 1], &[1e308, -1e308]);
        assert_eq!(z, vec![(1.0, 1), (-1.0, 1)]);
    }

    #[test]
    fn consistent_judge_finds_the_top_with_every_aggregator() {
        let truth = shuffled_truth(100, 4);
        let u = utilities(&truth);
        for agg in ["pagerank", "win_rate", "bradley_terry", "plackett_luce", "copeland", "borda"] {
            let jr = JointRank::new(100, 20, 4, Design::Auto, agg.parse().unwrap(), 7).unwrap();
            let mut plan = Plan::new(Box::new(jr));
            let r = run(&mut plan, &u);
            // aggregation of 20 overlapping blocks is approximate: most of
            // the true top 10 is in the top 10, and the best near the top
            let hits = r[..10].iter().filter(|&&i| truth[i as usize] < 10).count();
            assert!(hits >= 7 && truth[r[0] as usize] < 3, "{agg}: {hits} {:?}", &r[..10]);
            assert_eq!((plan.spend.calls, plan.spend.rounds, plan.spend.docs_shown), (20, 1, 400));
        }
    }
}
