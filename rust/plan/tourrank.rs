//! TourRank (Chen et al., WWW 2025, "TourRank: Utilizing Large Language
//! Models for Documents Ranking with a Tournament-Inspired Strategy").
//!
//! `tournaments` tournaments run side by side ([`Compose`]), each over all
//! the candidates. A tournament has stages; stage `s` keeps `stages[s]`
//! candidates: the ones alive are dealt into `g = groups[s]` groups by
//! seeding, as in a World Cup draw: the alive in the current order (points,
//! then first-stage order) are cut into pots of `g` and each pot's members go
//! one to each group, drawn at random per tournament. Each group is shown in
//! its own random order and its best advance (the group's share of
//! `stages[s]`). Every candidate that advances earns a point.
//!
//! The authors' code seeds the same way but without the draw (group `i`
//! always takes pot members `i`), so its tournaments differ only in prompt
//! order; the draw gives each tournament its own grouping, as the paper
//! describes, so the points also average over who meets whom. The final order is by the points summed over the tournaments
//! (ties keep the first-stage order), so candidates that lose early are
//! still ordered by how often they got far. Under a consistent judge the
//! points form tiers: with the defaults the last stage's two share the top
//! score (then first-stage order decides); `stages` ending in 1 gives the
//! winner a point of its own.
//!
//! Defaults are the authors' released code (TourRank_multiprocessing.py):
//! 10 tournaments; 100 candidates -> 50 (5 groups of 20) -> 20 (5 groups of
//! 10) -> 10 -> 5 -> 2 (one group each). The groups' calls of one stage
//! run in parallel, and all tournaments' stages too: 5 rounds for the
//! defaults, 13 calls per tournament. The paper's prompt asks the model to
//! select the best `k`; here a listwise call ranks its group and its first
//! `k` advance. For fewer candidates, a stage that would keep them all
//! gives each its point without a call.

use super::compose::Compose;
use super::{check_at_least, check_shown, Calls, Planner, Registration, Rng};
use crate::aggregate::ranking_from_scores;
use crate::error::{Error, Result};

/// `tournaments`, `stages`, `groups`, `seed`.
pub const PLANNER: Registration = Registration {
    name: "tourrank",
    build: |n, p| {
        let (r, stages, groups) = (p.usize("tournaments")?, p.usizes("stages")?, p.usizes("groups")?);
        Ok(Box::new(tour_rank(n, r, &stages, &groups, p.u64("seed")?)?))
    },
};

/// The TourRank planner: `tournaments` [`Knockout`]s summed by points.
pub fn tour_rank(n: usize, tournaments: usize, stages: &[usize], groups: &[usize], seed: u64) -> Result<Compose> {
    check_at_least("tournaments", tournaments, 1)?;
    if stages.is_empty() || stages.contains(&0) || stages.windows(2).any(|w| w[1] >= w[0]) {
        return Err(Error::invalid("stages", format!("must be positive and decreasing, got {stages:?}")));
    }
    if groups.len() != stages.len() || groups.contains(&0) {
        return Err(Error::invalid(
            "groups",
            format!("must be one positive count per stage ({} stages), got {groups:?}", stages.len()),
        ));
    }
    // each tournament shows up to this many, and holds a few arrays of n
    let per: u128 = shown_per_tournament(n, stages) + n as u128 + 1;
    check_shown("tournaments", per * tournaments as u128, &format!("{tournaments} tournaments of {n} candidates"))?;
    let mut rng = Rng::new(seed);
    let children = (0..tournaments)
        .map(|_| {
            let k = Knockout::new(n, stages, groups, rng.next_u64());
            (Box::new(k) as Box<dyn Planner>, Compose::all(n))
        })
        .collect();
    Compose::new(n, children, Compose::sum_scores)
}

/// Documents one tournament shows at most: every stage shows the ones alive.
fn shown_per_tournament(n: usize, stages: &[usize]) -> u128 {
    let mut alive = n as u128;
    let mut shown = 0;
    for &keep in stages {
        if (keep as u128) < alive {
            shown += alive;
            alive = keep as u128;
        }
    }
    shown
}

/// One tournament.
pub struct Knockout {
    n: usize,
    stages: Vec<(usize, usize)>,
    stage: usize,
    points: Vec<f64>,
    /// The pending stage's groups that need a call: (members in prompt
    /// order, how many advance).
    asked: Vec<(Vec<u32>, usize)>,
    rng: Rng,
}

impl Knockout {
    pub fn new(n: usize, stages: &[usize], groups: &[usize], seed: u64) -> Self {
        let stages = stages.iter().copied().zip(groups.iter().copied()).collect();
        Knockout { n, stages, stage: 0, points: vec![0.0; n], asked: Vec::new(), rng: Rng::new(seed) }
    }

    /// The candidates alive before stage `s` (the ones with the most
    /// points), best first, ties in first-stage order.
    fn alive(&self) -> Vec<u32> {
        let keep = if self.stage == 0 { self.n } else { self.stages[self.stage - 1].0.min(self.n) };
        let mut r = ranking_from_scores(&self.points);
        r.truncate(keep);
        r
    }

    /// Deal the alive into groups; award points where no call is needed;
    /// return whether any group needs a call.
    fn deal(&mut self) -> bool {
        let alive = self.alive();
        let (keep, g) = self.stages[self.stage];
        let m = alive.len();
        if keep >= m || m < 2 {
            alive.iter().take(keep).for_each(|&x| self.points[x as usize] += 1.0);
            return false;
        }
        let g = g.clamp(1, m / 2);
        let mut members: Vec<Vec<u32>> = vec![Vec::with_capacity(m / g + 1); g];
        for pot in alive.chunks(g) {
            // the draw: this pot's members to distinct groups, at random
            let mut to: Vec<usize> = (0..g).collect();
            self.rng.shuffle(&mut to);
            for (&x, &grp) in pot.iter().zip(&to) {
                members[grp].push(x);
            }
        }
        // each group's share of `keep`, the remainder to the first groups
        let shares: Vec<usize> = members.iter().map(|b| keep * b.len() / m).collect();
        let mut left = keep - shares.iter().sum::<usize>();
        for (b, share) in members.into_iter().zip(shares) {
            let extra = usize::from(left > 0 && share < b.len());
            left -= extra;
            let k = share + extra;
            if k == 0 {
                continue;
            }
            if k >= b.len() {
                b.iter().for_each(|&x| self.points[x as usize] += 1.0);
                continue;
            }
            let mut shown = b;
            self.rng.shuffle(&mut shown);
            self.asked.push((shown, k));
        }
        !self.asked.is_empty()
    }
}

impl Planner for Knockout {
    fn n(&self) -> usize {
        self.n
    }
    fn next_round(&mut self, out: &mut Calls) {
        self.asked.clear();
        while self.stage < self.stages.len() && self.n >= 2 {
            if self.deal() {
                self.asked.iter().for_each(|(b, _)| out.push(b));
                return;
            }
            self.stage += 1;
        }
    }
    fn submit_orders(&mut self, _calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        for ((shown, k), order) in self.asked.iter().zip(&orders) {
            order.iter().take(*k).for_each(|&p| self.points[shown[p as usize] as usize] += 1.0);
        }
        self.stage += 1;
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        Ok(ranking_from_scores(&self.points))
    }
    fn scores(&self) -> Option<Vec<f64>> {
        Some(self.points.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::Plan;
    use super::*;

    const STAGES: [usize; 5] = [50, 20, 10, 5, 2];
    const GROUPS: [usize; 5] = [5, 5, 1, 1, 1];

    #[test]
    fn the_papers_shape_for_100_candidates() {
        let truth = shuffled_truth(100, 8);
        let mut plan = Plan::new(Box::new(tour_rank(100, 10, &STAGES, &GROUPS, 1).unwrap()));
        let r = run(&mut plan, &utilities(&truth));
        // 5 + 5 + 1 + 1 + 1 calls per tournament, the tournaments' stages side by side
        assert_eq!((plan.spend.calls, plan.spend.rounds), (130, 5));
        assert_eq!(plan.spend.docs_shown, 10 * (100 + 50 + 20 + 10 + 5));
        // a consistent judge: the true top two win every stage of every
        // tournament (they share the top points); the true top 10 are mostly
        // in the top 10 (a draw can put too many strong ones in one group)
        assert!(r[..2].iter().all(|&i| truth[i as usize] < 2), "{:?}", &r[..10]);
        let hits = r[..10].iter().filter(|&&i| truth[i as usize] < 10).count();
        assert!(hits >= 8, "{hits}: {:?}", &r[..10]);
        // a last stage of one gives the winner a point of its own
        let mut plan = Plan::new(Box::new(tour_rank(100, 2, &[50, 20, 10, 5, 2, 1], &[5, 5, 1, 1, 1, 1], 1).unwrap()));
        let r = run(&mut plan, &utilities(&truth));
        assert_eq!(truth[r[0] as usize], 0);
    }

    #[test]
    fn small_lists_and_determinism() {
        for n in [0, 1, 2, 3, 7, 30] {
            let truth = shuffled_truth(n, 3);
            let mut a = Plan::new(Box::new(tour_rank(n, 3, &STAGES, &GROUPS, 9).unwrap()));
            let mut b = Plan::new(Box::new(tour_rank(n, 3, &STAGES, &GROUPS, 9).unwrap()));
            let (ra, rb) = (run(&mut a, &utilities(&truth)), run(&mut b, &utilities(&truth)));
            assert_eq!(ra, rb);
            if n >= 2 {
                assert!(truth[ra[0] as usize] < 2, "n={n}: {ra:?}");
            }
        }
    }

    #[test]
    fn rejects_bad_parameters() {
        assert!(tour_rank(10, 0, &STAGES, &GROUPS, 0).is_err());
        assert!(tour_rank(10, 1, &[5, 5], &[1, 1], 0).is_err());
        assert!(tour_rank(10, 1, &[5, 2], &[1], 0).is_err());
        assert!(tour_rank(10, 1, &[], &[], 0).is_err());
        let e = tour_rank(100, 1_000_000_000, &STAGES, &GROUPS, 0).err().unwrap().to_string();
        assert!(e.starts_with("tournaments: "), "{e}");
    }
}
