//! Pairwise strategies: all pairs (PRP, both orders) and the sparse
//! samplers of Gienapp et al. (ICTIR 2022), one parallel round, then an
//! aggregator turns the preference probabilities into a ranking.
//!
//! Samplers over the first-stage order (pairs are shown earlier item first):
//! * `all`: every ordered pair, both orders (`n (n - 1)` calls);
//! * `window` (alias `neighbourhood`): each item against the next `window` items;
//! * `skip`: each item against the items `skip, 2 skip, ..., window skip`
//!   places below it (a skip window reaches further with the same budget);
//! * `random` (alias `global`): `budget` distinct pairs drawn uniformly (without `budget`:
//!   as many as the `window` sampler would make, so the two compare at equal cost).
//!
//! `budget` caps the window and skip samplers too (nearest pairs first).
//!
//! Aggregators: `additive` (each item's summed win probability, as PRP),
//! `bradley_terry` and `pagerank` (the probabilities as fractional wins),
//! `greedy` (Cohen, Schapire and Singer's greedy order by net preference) and
//! `kwiksort` (Ailon et al.'s randomised pivot sort; unknown pairs keep
//! their first-stage order).

use rustc_hash::FxHashMap;

use super::{check_shown, CallKind, Calls, Planner, Rng};
use crate::aggregate::bradley_terry::{bradley_terry, Method};
use crate::aggregate::pagerank::pagerank;
use crate::aggregate::{ranking_from_scores, Stopping};
use crate::comparisons::Comparisons;
use crate::error::{Error, Result};

crate::names! {
    /// Which pairs to show (see the module docs).
    pub enum Sampler("sampler") {
        All = "all",
        Window = "window" | "neighbourhood" | "neighborhood",
        Skip = "skip",
        Random = "random" | "global",
    }
}

crate::names! {
    /// How preference probabilities become a ranking.
    pub enum PairAggregator("aggregator") {
        Additive = "additive",
        BradleyTerry = "bradley_terry",
        PageRank = "pagerank",
        Greedy = "greedy",
        KwikSort = "kwiksort",
    }
}

/// Sparse pairwise: `sampler`, `budget`, `window`, `skip`, `aggregator`, `seed`.
pub const SPARSE: super::Registration = super::Registration {
    name: "sparse_pairwise",
    build: |n, p| {
        let s = Sampling {
            sampler: p.name("sampler")?,
            budget: p.opt_usize("budget")?,
            window: p.usize("window")?,
            skip: p.usize("skip")?,
        };
        Ok(Box::new(Pairwise::new(n, s, p.name("aggregator")?, p.u64("seed")?)?))
    },
};

/// All pairs, both orders: `aggregator`, `seed`.
pub const ALL: super::Registration = super::Registration {
    name: "all_pairs",
    build: |n, p| {
        let s = Sampling { sampler: Sampler::All, budget: None, window: 1, skip: 1 };
        Ok(Box::new(Pairwise::new(n, s, p.name("aggregator")?, p.u64("seed")?)?))
    },
};

/// The sampling parameters.
#[derive(Debug, Clone, Copy)]
pub struct Sampling {
    pub sampler: Sampler,
    pub window: usize,
    pub skip: usize,
    pub budget: Option<usize>,
}

fn check(s: Sampling) -> Result<()> {
    if s.window == 0 {
        return Err(Error::invalid("window", "must be at least 1"));
    }
    if s.skip == 0 {
        return Err(Error::invalid("skip", "must be at least 1"));
    }
    if s.budget == Some(0) {
        return Err(Error::invalid("budget", "must be at least 1"));
    }
    Ok(())
}

/// How many pairs each item meets at strides `stride, 2 stride, ...,
/// window stride`, summed over the items of `0..n`.
fn by_distance_count(n: usize, window: usize, stride: usize) -> u128 {
    let (n, window, stride) = (n as u128, window as u128, stride as u128);
    if n < 2 {
        return 0;
    }
    let d = window.min((n - 1) / stride);
    d * n - stride * d * (d + 1) / 2
}

/// How many pairs the sampler shows for `n` items, the budget applied.
pub fn count(n: usize, s: Sampling) -> u128 {
    let total = (n as u128) * (n.saturating_sub(1) as u128) / 2;
    let natural = match s.sampler {
        Sampler::All => 2 * total,
        Sampler::Window => by_distance_count(n, s.window, 1),
        Sampler::Skip => by_distance_count(n, s.window, s.skip),
        Sampler::Random => s.budget.map_or_else(|| by_distance_count(n, s.window, 1), |b| b as u128).min(total),
    };
    s.budget.map_or(natural, |b| natural.min(b as u128))
}

/// The pairs a sampler shows for `n` items.
pub fn sample(n: usize, s: Sampling, rng: &mut Rng) -> Result<Vec<(u32, u32)>> {
    check(s)?;
    let want = count(n, s);
    let arg = match (s.sampler, s.budget) {
        (Sampler::All, _) => "n",
        (_, Some(_)) => "budget",
        _ => "window",
    };
    check_shown(arg, 2 * want, &format!("{want} pairs of {n} candidates"))?;
    let want = want as usize;
    let by_distance = |stride: usize| -> Vec<(u32, u32)> {
        let mut out = Vec::with_capacity(want);
        for d in 1..=s.window {
            let gap = d.saturating_mul(stride);
            if gap >= n || out.len() >= want {
                break;
            }
            out.extend((0..n - gap).map(|i| (i as u32, (i + gap) as u32)));
        }
        out.truncate(want);
        out
    };
    Ok(match s.sampler {
        Sampler::All => {
            (0..n as u32).flat_map(|a| (0..n as u32).filter(move |&b| b != a).map(move |b| (a, b))).take(want).collect()
        }
        Sampler::Window => by_distance(1),
        Sampler::Skip => by_distance(s.skip),
        Sampler::Random => random_pairs(n, want, rng),
    })
}

/// `k` distinct unordered pairs of `0..n`, uniformly (Floyd's algorithm
/// over the pair indices), earlier item first, in index order.
fn random_pairs(n: usize, k: usize, rng: &mut Rng) -> Vec<(u32, u32)> {
    let total = n * n.saturating_sub(1) / 2;
    let mut chosen = rustc_hash::FxHashSet::default();
    for j in total - k..total {
        let t = rng.below(j + 1);
        if !chosen.insert(t) {
            chosen.insert(j);
        }
    }
    let mut idx: Vec<usize> = chosen.into_iter().collect();
    idx.sort_unstable();
    // decode index -> (a, b), a < b, row-major over the upper triangle
    let mut out = Vec::with_capacity(k);
    let (mut a, mut row_start) = (0usize, 0usize);
    for t in idx {
        while t >= row_start + (n - 1 - a) {
            row_start += n - 1 - a;
            a += 1;
        }
        out.push((a as u32, (a + 1 + t - row_start) as u32));
    }
    out
}

pub struct Pairwise {
    n: usize,
    pairs: Vec<(u32, u32)>,
    probs: Vec<f64>,
    aggregator: PairAggregator,
    rng: Rng,
    asked: bool,
}

impl Pairwise {
    pub fn new(n: usize, sampling: Sampling, aggregator: PairAggregator, seed: u64) -> Result<Self> {
        let mut rng = Rng::new(seed);
        check(sampling)?;
        let pairs = if n < 2 { Vec::new() } else { sample(n, sampling, &mut rng)? };
        Ok(Pairwise { n, pairs, probs: Vec::new(), aggregator, rng, asked: false })
    }
}

impl Planner for Pairwise {
    fn n(&self) -> usize {
        self.n
    }
    fn kind(&self) -> CallKind {
        CallKind::Pair
    }
    fn next_round(&mut self, out: &mut Calls) {
        if !self.asked {
            for &(a, b) in &self.pairs {
                out.push(&[a, b]);
            }
        }
        self.asked = true;
    }
    fn submit_values(&mut self, _calls: &Calls, values: Vec<f64>) -> Result<()> {
        self.probs = values;
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        if self.pairs.is_empty() {
            return Ok((0..self.n as u32).collect());
        }
        let prefs = Preferences::new(self.n, &self.pairs, &self.probs);
        Ok(match self.aggregator {
            PairAggregator::Additive => ranking_from_scores(&prefs.won),
            PairAggregator::BradleyTerry | PairAggregator::PageRank => {
                let c = prefs.comparisons(&self.pairs, &self.probs)?;
                let stop = Stopping { tol: 1e-8, max_iter: 10_000 };
                let e = if self.aggregator == PairAggregator::PageRank {
                    pagerank(&c, 0.85, stop)?
                } else {
                    bradley_terry(&c, Method::Newman, 1.0, stop)?
                };
                ranking_from_scores(&e.scores)
            }
            PairAggregator::Greedy => prefs.greedy(),
            PairAggregator::KwikSort => prefs.kwiksort(&mut self.rng),
        })
    }
}

/// Summed preferences: `w[(a, b)]` is the probability mass of "a beats b"
/// over all calls that compared them (either order), `won[a]` its row sum.
struct Preferences {
    n: usize,
    w: FxHashMap<(u32, u32), f64>,
    won: Vec<f64>,
}

impl Preferences {
    fn new(n: usize, pairs: &[(u32, u32)], probs: &[f64]) -> Self {
        let mut w = FxHashMap::default();
        let mut won = vec![0.0; n];
        for (&(a, b), &p) in pairs.iter().zip(probs) {
            *w.entry((a, b)).or_insert(0.0) += p;
            *w.entry((b, a)).or_insert(0.0) += 1.0 - p;
            won[a as usize] += p;
            won[b as usize] += 1.0 - p;
        }
        Preferences { n, w, won }
    }

    fn get(&self, a: u32, b: u32) -> f64 {
        self.w.get(&(a, b)).copied().unwrap_or(0.0)
    }

    fn comparisons(&self, pairs: &[(u32, u32)], probs: &[f64]) -> Result<Comparisons> {
        let mut winners = Vec::with_capacity(2 * pairs.len());
        let mut losers = Vec::with_capacity(2 * pairs.len());
        let mut weights = Vec::with_capacity(2 * pairs.len());
        for (&(a, b), &p) in pairs.iter().zip(probs) {
            winners.extend([a, b]);
            losers.extend([b, a]);
            weights.extend([p, 1.0 - p]);
        }
        Comparisons::new(self.n, &winners, &losers, Some(&weights))
    }

    /// Cohen et al.: repeatedly take the item with the largest net
    /// preference (won minus lost) among those left.
    fn greedy(&self) -> Vec<u32> {
        let mut adj: Vec<Vec<(u32, f64)>> = vec![Vec::new(); self.n];
        for (&(a, b), &p) in &self.w {
            adj[a as usize].push((b, p));
        }
        // potential = sum_u w(v,u) - w(u,v)
        let mut pot: Vec<f64> =
            (0..self.n).map(|v| adj[v].iter().map(|&(u, p)| p - self.get(u, v as u32)).sum()).collect();
        let mut left = vec![true; self.n];
        let mut out = Vec::with_capacity(self.n);
        for _ in 0..self.n {
            let mut best = usize::MAX;
            for v in 0..self.n {
                if left[v] && (best == usize::MAX || pot[v] > pot[best]) {
                    best = v;
                }
            }
            left[best] = false;
            out.push(best as u32);
            for &(u, p) in &adj[best] {
                // u loses its preference over/against `best`
                pot[u as usize] -= self.get(u, best as u32) - p;
            }
        }
        out
    }

    /// Ailon, Charikar and Newman's KwikSort with random pivots: items the
    /// pivot beats (P > 1/2) go below it, items that beat it above; pairs
    /// never compared (or tied) keep their first-stage order.
    fn kwiksort(&self, rng: &mut Rng) -> Vec<u32> {
        let mut out = Vec::with_capacity(self.n);
        let mut stack: Vec<Vec<u32>> = vec![(0..self.n as u32).collect()];
        // depth-first, best part first: pop the top part, push parts in reverse
        while let Some(part) = stack.pop() {
            if part.len() <= 1 {
                out.extend(part);
                continue;
            }
            let pivot = part[rng.below(part.len())];
            let (mut above, mut below) = (Vec::new(), Vec::new());
            for &x in &part {
                if x == pivot {
                    continue;
                }
                let (xp, px) = (self.get(x, pivot), self.get(pivot, x));
                let x_first = if xp != px { xp > px } else { x < pivot };
                if x_first {
                    above.push(x);
                } else {
                    below.push(x);
                }
            }
            stack.push(below);
            stack.push(vec![pivot]);
            stack.push(above);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::{is_permutation, Plan};
    use super::*;

    fn sampling(sampler: Sampler, window: usize, skip: usize, budget: Option<usize>) -> Sampling {
        Sampling { sampler, window, skip, budget }
    }

    #[test]
    fn samplers_make_the_documented_pairs() {
        let mut rng = Rng::new(0);
        assert_eq!(sample(4, sampling(Sampler::All, 1, 1, None), &mut rng).unwrap().len(), 12);
        assert_eq!(
            sample(5, sampling(Sampler::Window, 2, 1, None), &mut rng).unwrap(),
            vec![(0, 1), (1, 2), (2, 3), (3, 4), (0, 2), (1, 3), (2, 4)]
        );
        assert_eq!(
            sample(7, sampling(Sampler::Skip, 2, 3, None), &mut rng).unwrap(),
            vec![(0, 3), (1, 4), (2, 5), (3, 6), (0, 6)]
        );
        assert_eq!(sample(5, sampling(Sampler::Window, 2, 1, Some(3)), &mut rng).unwrap().len(), 3);
        let r = sample(50, sampling(Sampler::Random, 3, 1, None), &mut rng).unwrap();
        assert_eq!(r.len(), 49 + 48 + 47);
        let mut uniq = r.clone();
        uniq.sort_unstable();
        uniq.dedup();
        assert_eq!(uniq.len(), r.len());
        assert!(r.iter().all(|&(a, b)| a < b && b < 50));
        // a budget above the number of pairs takes them all
        assert_eq!(sample(5, sampling(Sampler::Random, 1, 1, Some(100)), &mut rng).unwrap().len(), 10);
        assert!(sample(5, sampling(Sampler::Skip, 1, 0, None), &mut rng).is_err());
    }

    #[test]
    fn every_aggregator_recovers_a_consistent_judge_from_all_pairs() {
        let truth = shuffled_truth(25, 5);
        let u = utilities(&truth);
        for agg in ["additive", "bradley_terry", "pagerank", "greedy", "kwiksort"] {
            let p = Pairwise::new(25, sampling(Sampler::All, 1, 1, None), agg.parse().unwrap(), 1).unwrap();
            let mut plan = Plan::new(Box::new(p));
            let r = run(&mut plan, &u);
            assert!(r.iter().enumerate().all(|(k, &i)| truth[i as usize] == k), "{agg}: {r:?}");
            assert_eq!(plan.spend.calls, 25 * 24);
        }
    }

    #[test]
    fn sparse_samplers_give_permutations() {
        let truth = shuffled_truth(40, 9);
        let u = utilities(&truth);
        for s in [Sampler::Window, Sampler::Skip, Sampler::Random] {
            for agg in ["additive", "bradley_terry", "pagerank", "greedy", "kwiksort"] {
                let p = Pairwise::new(40, sampling(s, 3, 4, None), agg.parse().unwrap(), 2).unwrap();
                let mut plan = Plan::new(Box::new(p));
                let r = run(&mut plan, &u);
                assert!(is_permutation(&r, 40));
            }
        }
    }
}
