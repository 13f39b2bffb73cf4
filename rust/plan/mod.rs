//! Planners: small state machines that decide which scorer calls to make.
//!
//! A planner works on the items `0..n` of one query (its candidates in
//! first-stage order, best first). Each round it lists the calls that can run
//! now ([`Calls`]: for every call the items it shows, in prompt order); the
//! driver answers them (in batches that span many queries) and submits the
//! answers; when a round comes back empty the planner is done and gives its
//! ranking, a permutation of `0..n`.
//!
//! [`Plan`] wraps any [`Planner`] with what is common to all of them: the
//! pending round, validation and repair of answers, and the spend (calls,
//! documents shown, sequential rounds, repaired answers).

pub mod blocks;
pub mod compose;
pub mod pairs;
pub mod params;
pub mod pointwise;
pub mod setwise;
pub mod tournament;
pub mod tourrank;
pub mod window;

use crate::error::{Error, Result};
use crate::parse::{complete, order_by_scores};
pub use params::{build, Params, Registration, Value};

/// Every planner the bindings can build by name (see [`params::build`]):
/// a new planner is its file, its `pub mod` line above and its line here.
pub static PLANNERS: &[&Registration] = &[
    &window::PLANNER,
    &tournament::PLANNER,
    &blocks::PLANNER,
    &pairs::SPARSE,
    &pairs::ALL,
    &setwise::PLANNER,
    &pointwise::PLANNER,
    &tourrank::PLANNER,
];

crate::names! {
    /// What a call asks the scorer for.
    pub enum CallKind("kind") {
        /// Rank the shown items; the answer is an order of their positions.
        List = "listwise",
        /// Score one item; the answer is a finite number.
        Point = "pointwise",
        /// Compare two items; the answer is P(first beats second) in [0, 1].
        Pair = "pairwise",
    }
}

/// The calls of one round, flat: call `c` shows `items[offsets[c]..offsets[c + 1]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calls {
    pub offsets: Vec<usize>,
    pub items: Vec<u32>,
}

impl Default for Calls {
    fn default() -> Self {
        Calls { offsets: vec![0], items: Vec::new() }
    }
}

impl Calls {
    pub fn push(&mut self, items: &[u32]) {
        self.items.extend_from_slice(items);
        self.offsets.push(self.items.len());
    }
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, c: usize) -> &[u32] {
        &self.items[self.offsets[c]..self.offsets[c + 1]]
    }
    fn clear(&mut self) {
        self.offsets.truncate(1);
        self.items.clear();
    }
}

/// One strategy's state machine over the items `0..n`.
///
/// Answers arrive through [`Planner::submit_orders`] (listwise rounds) or
/// [`Planner::submit_values`] (pointwise and pairwise rounds); a planner
/// implements the one its rounds need, the other refuses by default. A
/// listwise round may also be answered with one score per shown item
/// ([`Planner::submit_scores`]: a groupwise scorer, or a pointwise one
/// scoring each shown item); by default the scores only order each call.
pub trait Planner: Send + Sync {
    /// The number of items, `0..n`.
    fn n(&self) -> usize;
    /// The kind of the calls of the current round (the one `next_round`
    /// made last, or will make next); a planner may change kind between
    /// rounds. Listwise unless a planner says otherwise.
    fn kind(&self) -> CallKind {
        CallKind::List
    }
    /// Append the calls that can run now; appending none means done.
    /// Called again only after the previous round's answers were submitted.
    fn next_round(&mut self, out: &mut Calls);
    /// Listwise answers to the round `next_round` produced, already
    /// validated: for each call a permutation of its positions, best first.
    fn submit_orders(&mut self, calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        let _ = (calls, orders);
        Err(wrong_kind(self.kind(), CallKind::List))
    }
    /// Listwise calls answered with one score per shown item, in prompt
    /// order, already validated: finite, or NaN for an item the answer gave
    /// no score. By default each call becomes the order of its scores (ties
    /// in prompt order, the unscored last in prompt order) for
    /// [`Planner::submit_orders`]; a planner that can use the scores
    /// themselves (JointRank's `zscore`) overrides it.
    fn submit_scores(&mut self, calls: &Calls, scores: Vec<Vec<f64>>) -> Result<()> {
        self.submit_orders(calls, orders_by_scores(&scores))
    }
    /// Whether listwise orders answer this planner's rounds (the error says
    /// why not: JointRank's `zscore` needs scores); checked before a round is taken.
    fn takes_orders(&self) -> Result<()> {
        Ok(())
    }
    /// Pointwise scores (finite) or pairwise probabilities (in [0, 1]), one
    /// per call, already validated.
    fn submit_values(&mut self, calls: &Calls, values: Vec<f64>) -> Result<()> {
        let _ = (calls, values);
        Err(wrong_kind(self.kind(), CallKind::Point))
    }
    /// The final ranking, a permutation of `0..n`, best first.
    fn ranking(&mut self) -> Result<Vec<u32>>;
    /// Scores behind the ranking (higher is better), once done, for planners
    /// that have them (TourRank's points); combiners of [`compose`] sum them.
    fn scores(&self) -> Option<Vec<f64>> {
        None
    }
}

/// Each call's items ordered by its scores ([`order_by_scores`]): how a
/// planner that takes orders reads a round answered with scores.
pub(crate) fn orders_by_scores(scores: &[Vec<f64>]) -> Vec<Vec<u32>> {
    scores.iter().map(|s| order_by_scores(s)).collect()
}

fn wrong_kind(have: CallKind, got: CallKind) -> Error {
    let what = if got == CallKind::List { "orders" } else { "values" };
    Error::invalid("answers", format!("this plan makes {} calls; {what} do not answer them", have.name()))
}

/// What a plan spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    pub calls: usize,
    pub docs_shown: usize,
    pub rounds: usize,
    /// Listwise answers that were not a clean permutation (omitted, repeated
    /// or invented positions), or groupwise ones that left an item without a
    /// score; the unparsed ones included.
    pub repaired: usize,
    /// Listwise answers that named no valid position at all (text that
    /// parsed to nothing, `[]`), or groupwise ones that scored no item: the
    /// call's first-stage order was kept.
    pub unparsed: usize,
}

/// A planner with its pending round and its spend.
pub struct Plan {
    planner: Box<dyn Planner>,
    pending: Calls,
    /// The kind of the pending round.
    pending_kind: CallKind,
    has_pending: bool,
    done: bool,
    pub spend: Spend,
}

impl Plan {
    pub fn new(planner: Box<dyn Planner>) -> Self {
        let pending_kind = planner.kind();
        Plan {
            planner,
            pending: Calls::default(),
            pending_kind,
            has_pending: false,
            done: false,
            spend: Spend::default(),
        }
    }

    /// The kind of the current round's calls (the pending round once
    /// `requests` made it).
    pub fn kind(&self) -> CallKind {
        if self.has_pending {
            self.pending_kind
        } else {
            self.planner.kind()
        }
    }

    pub fn n(&self) -> usize {
        self.planner.n()
    }

    /// The calls to answer now (the same ones until they are submitted);
    /// none when the plan is done.
    pub fn requests(&mut self) -> &Calls {
        if !self.has_pending && !self.done {
            self.pending.clear();
            self.planner.next_round(&mut self.pending);
            if self.pending.is_empty() {
                self.done = true;
            } else {
                self.has_pending = true;
                self.pending_kind = self.planner.kind();
                self.spend.rounds += 1;
            }
        }
        &self.pending
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    fn finish_round(&mut self, submit: impl FnOnce(&mut dyn Planner, &Calls) -> Result<()>) -> Result<()> {
        let calls = std::mem::take(&mut self.pending);
        self.has_pending = false;
        self.spend.calls += calls.len();
        self.spend.docs_shown += calls.items.len();
        let out = submit(self.planner.as_mut(), &calls);
        self.pending = calls;
        self.pending.clear();
        out
    }

    fn check_pending(&self, got: usize) -> Result<()> {
        if !self.has_pending {
            return Err(Error::invalid("answers", "no calls are pending: call requests() first"));
        }
        if got != self.pending.len() {
            return Err(Error::invalid("answers", format!("{got} answers for {} pending calls", self.pending.len())));
        }
        Ok(())
    }

    /// Listwise answers, flat: call `c`'s answer is `ids[offsets[c]..offsets[c+1]]`,
    /// positions (0-based) into the call's items, best first. Partial answers
    /// are repaired (first occurrence wins; out-of-range positions dropped;
    /// positions never named appended in prompt order) and counted.
    pub fn submit_orders(&mut self, offsets: &[usize], ids: &[i64]) -> Result<()> {
        if self.kind() != CallKind::List {
            return Err(wrong_kind(self.kind(), CallKind::List));
        }
        self.planner.takes_orders()?;
        if offsets.is_empty()
            || offsets[0] != 0
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets[offsets.len() - 1] != ids.len()
        {
            return Err(Error::invalid("offsets", "must start at 0, not decrease, and end at the number of ids"));
        }
        self.check_pending(offsets.len() - 1)?;
        let mut orders = Vec::with_capacity(offsets.len() - 1);
        for (c, w) in offsets.windows(2).enumerate() {
            let k = self.pending.offsets[c + 1] - self.pending.offsets[c];
            let p = complete(ids[w[0]..w[1]].iter().map(|&x| u64::try_from(x).unwrap_or(u64::MAX)), k);
            if !p.is_clean() {
                self.spend.repaired += 1;
                if p.parsed == 0 {
                    self.spend.unparsed += 1;
                }
            }
            orders.push(p.order);
        }
        self.finish_round(|planner, calls| planner.submit_orders(calls, orders))
    }

    /// Listwise calls answered with scores, flat: call `c`'s scores are
    /// `scores[offsets[c]..offsets[c+1]]`, one per shown item in prompt order
    /// (exactly as many as the call showed), higher is better; NaN marks an
    /// item the answer gave no score (a repaired answer; all NaN: unparsed),
    /// an infinite score is refused.
    pub fn submit_scores(&mut self, offsets: &[usize], scores: &[f64]) -> Result<()> {
        if self.kind() != CallKind::List {
            return Err(wrong_kind(self.kind(), CallKind::List));
        }
        if offsets.is_empty()
            || offsets[0] != 0
            || offsets.windows(2).any(|w| w[0] > w[1])
            || offsets[offsets.len() - 1] != scores.len()
        {
            return Err(Error::invalid("offsets", "must start at 0, not decrease, and end at the number of scores"));
        }
        self.check_pending(offsets.len() - 1)?;
        // every answer checked before anything is counted: a refused round leaves the plan as it was
        for (c, w) in offsets.windows(2).enumerate() {
            let k = self.pending.offsets[c + 1] - self.pending.offsets[c];
            let s = &scores[w[0]..w[1]];
            if s.len() != k {
                return Err(Error::invalid(
                    "answers",
                    format!("answer {c} has {} scores for the {k} documents its call showed", s.len()),
                ));
            }
            if let Some(v) = s.iter().find(|v| v.is_infinite()) {
                return Err(Error::invalid("answers", format!("answer {c} has the score {v}, not a finite number")));
            }
        }
        let mut out = Vec::with_capacity(offsets.len() - 1);
        for w in offsets.windows(2) {
            let s = &scores[w[0]..w[1]];
            let k = s.len();
            let unscored = s.iter().filter(|v| v.is_nan()).count();
            if unscored > 0 {
                self.spend.repaired += 1;
                if unscored == k {
                    self.spend.unparsed += 1;
                }
            }
            out.push(s.to_vec());
        }
        self.finish_round(|planner, calls| planner.submit_scores(calls, out))
    }

    /// Pointwise scores (finite) or pairwise probabilities (in [0, 1]).
    pub fn submit_values(&mut self, values: &[f64]) -> Result<()> {
        let kind = self.kind();
        if kind == CallKind::List {
            return Err(wrong_kind(kind, CallKind::Point));
        }
        self.check_pending(values.len())?;
        for (c, &v) in values.iter().enumerate() {
            let bad = match kind {
                CallKind::Pair => !(0.0..=1.0).contains(&v),
                _ => !v.is_finite(),
            };
            if bad {
                let want = if kind == CallKind::Pair { "a probability in [0, 1]" } else { "a finite score" };
                return Err(Error::invalid("answers", format!("answer {c} is {v}, not {want}")));
            }
        }
        self.finish_round(|planner, calls| planner.submit_values(calls, values.to_vec()))
    }

    /// The ranking of `0..n`, best first; an error before the plan is done.
    pub fn result(&mut self) -> Result<Vec<u32>> {
        if !self.done {
            return Err(Error::invalid("plan", "not done: answer its requests until none are left"));
        }
        let r = self.planner.ranking()?;
        if !is_permutation(&r, self.n()) {
            return Err(Error::invalid("plan", "the planner's ranking is not a permutation (a bug in rankwise)"));
        }
        Ok(r)
    }
}

/// The most documents one query's plan may show in all its calls together
/// (2^27, 134,217,728: about 1 GiB as the int64 arrays `requests()` hands
/// out). Planners check what they would show before they allocate it.
pub const MAX_SHOWN: u128 = 1 << 27;

/// Refuse a plan that would show `shown` documents in all (`u128`, so the
/// product of two user sizes cannot overflow), naming the argument that
/// makes it that large.
pub(crate) fn check_shown(arg: &str, shown: u128, what: &str) -> Result<()> {
    if shown > MAX_SHOWN {
        let gib = shown as f64 * 8.0 / f64::from(1u32 << 30);
        return Err(Error::invalid(
            arg,
            format!(
                "{what} would show {shown} documents in one query's plan (about {gib:.1} GiB of requests); \
                 the limit is {MAX_SHOWN}"
            ),
        ));
    }
    Ok(())
}

/// Check the number of items of one query's plan: ids are `u32`, and the
/// per-item arrays stay within [`MAX_SHOWN`].
pub fn check_n(n: usize) -> Result<()> {
    check_shown("n", n as u128, &format!("a list of {n} candidates"))
}

pub(crate) fn is_permutation(r: &[u32], n: usize) -> bool {
    let mut seen = vec![false; n];
    r.len() == n && r.iter().all(|&x| (x as usize) < n && !std::mem::replace(&mut seen[x as usize], true))
}

/// Check a size parameter: an integer at least `min`.
pub(crate) fn check_at_least(arg: &str, value: usize, min: usize) -> Result<()> {
    if value < min {
        return Err(Error::invalid(arg, format!("must be at least {min}, got {value}")));
    }
    Ok(())
}

/// SplitMix64: a small, fast, seedable generator; planners draw their
/// random designs and pivots from it, so a seed fixes every plan.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by Lemire's multiply-shift with rejection.
    pub fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as usize;
            }
        }
    }
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }
}

/// Reorder `slots` by a permutation of its positions (best first).
pub(crate) fn apply_order(slots: &mut [u32], order: &[u32]) {
    let old = slots.to_vec();
    for (dst, &p) in slots.iter_mut().zip(order) {
        *dst = old[p as usize];
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A deterministic judge for planner tests: item `i` has utility `u[i]`.
    use super::*;

    pub fn answer(calls: &Calls, kind: CallKind, u: &[f64]) -> (Vec<usize>, Vec<i64>, Vec<f64>) {
        let mut offsets = vec![0];
        let mut ids = vec![];
        let mut values = vec![];
        for c in 0..calls.len() {
            let items = calls.get(c);
            match kind {
                CallKind::List => {
                    let mut pos: Vec<usize> = (0..items.len()).collect();
                    pos.sort_by(|&a, &b| u[items[b] as usize].total_cmp(&u[items[a] as usize]));
                    ids.extend(pos.iter().map(|&p| p as i64));
                    offsets.push(ids.len());
                }
                CallKind::Point => values.push(u[items[0] as usize]),
                CallKind::Pair => {
                    let d = u[items[0] as usize] - u[items[1] as usize];
                    values.push(1.0 / (1.0 + (-d).exp()));
                }
            }
        }
        (offsets, ids, values)
    }

    /// Run a plan to the end against utilities `u`; returns the ranking.
    pub fn run(plan: &mut Plan, u: &[f64]) -> Vec<u32> {
        loop {
            let calls = plan.requests().clone();
            if calls.is_empty() {
                break;
            }
            let kind = plan.kind();
            let (offsets, ids, values) = answer(&calls, kind, u);
            match kind {
                CallKind::List => plan.submit_orders(&offsets, &ids).unwrap(),
                _ => plan.submit_values(&values).unwrap(),
            }
        }
        let r = plan.result().unwrap();
        assert!(is_permutation(&r, plan.n()));
        r
    }

    /// Utilities that make item `i`'s true rank `truth[i]` (0 = best).
    pub fn utilities(truth: &[usize]) -> Vec<f64> {
        truth.iter().map(|&r| (truth.len() - r) as f64).collect()
    }

    /// A shuffled truth: the best items are not simply the first ones.
    pub fn shuffled_truth(n: usize, seed: u64) -> Vec<usize> {
        let mut t: Vec<usize> = (0..n).collect();
        Rng::new(seed).shuffle(&mut t);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_uniform_enough_and_seeded() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let xs: Vec<usize> = (0..1000).map(|_| a.below(10)).collect();
        let ys: Vec<usize> = (0..1000).map(|_| b.below(10)).collect();
        assert_eq!(xs, ys);
        for d in 0..10 {
            let c = xs.iter().filter(|&&x| x == d).count();
            assert!((60..140).contains(&c), "digit {d} drawn {c} times");
        }
    }

    #[test]
    fn plan_repairs_and_counts_partial_answers() {
        let mut plan = Plan::new(Box::new(window::SlidingWindow::new(3, 3, 1, 1).unwrap()));
        assert_eq!(plan.requests().get(0), &[0, 1, 2]);
        // "2, 2, 7" -> 2 first, the repeat and the out-of-range dropped, 0 and 1 appended
        plan.submit_orders(&[0, 3], &[2, 2, 7]).unwrap();
        assert!(plan.requests().is_empty());
        assert_eq!(plan.result().unwrap(), vec![2, 0, 1]);
        assert_eq!(plan.spend, Spend { calls: 1, docs_shown: 3, rounds: 1, repaired: 1, unparsed: 0 });
    }

    #[test]
    fn plan_rejects_wrong_answers() {
        let mut plan = Plan::new(Box::new(pointwise::Pointwise::new(3)));
        assert!(plan.submit_values(&[1.0, 2.0, 3.0]).is_err(), "nothing pending yet");
        plan.requests();
        assert!(plan.submit_values(&[1.0, 2.0]).is_err(), "wrong count");
        assert!(plan.submit_values(&[1.0, f64::NAN, 3.0]).is_err(), "NaN");
        assert!(plan.submit_orders(&[0, 1], &[0]).is_err(), "wrong kind");
        assert!(plan.result().is_err(), "not done");
        plan.submit_values(&[1.0, 3.0, 2.0]).unwrap();
        plan.requests();
        assert_eq!(plan.result().unwrap(), vec![1, 2, 0]);

        let s = pairs::Sampling { sampler: pairs::Sampler::All, window: 1, skip: 1, budget: None };
        let mut plan = Plan::new(Box::new(pairs::Pairwise::new(2, s, pairs::PairAggregator::Additive, 0).unwrap()));
        plan.requests();
        assert!(plan.submit_values(&[0.5, 1.5]).is_err(), "probability above 1");
        let mut plan = Plan::new(Box::new(window::SlidingWindow::new(3, 3, 1, 1).unwrap()));
        plan.requests();
        assert!(plan.submit_orders(&[0, 2, 1], &[0, 1]).is_err(), "decreasing offsets");
    }

    #[test]
    fn scores_order_each_call_and_their_gaps_are_counted() {
        let mut plan = Plan::new(Box::new(window::SlidingWindow::new(4, 4, 4, 1).unwrap()));
        plan.requests();
        assert!(plan.submit_scores(&[0, 3], &[1.0, 2.0, 3.0]).is_err(), "3 scores for 4 shown");
        assert!(plan.submit_scores(&[0, 4], &[1.0, f64::INFINITY, 0.0, 0.0]).is_err(), "infinite");
        // item 3 unscored: last; 1 and 2 tie: prompt order
        plan.submit_scores(&[0, 4], &[0.5, 2.0, 2.0, f64::NAN]).unwrap();
        assert!(plan.requests().is_empty());
        assert_eq!(plan.result().unwrap(), vec![1, 2, 0, 3]);
        assert_eq!((plan.spend.repaired, plan.spend.unparsed), (1, 0));
        let jr = blocks::JointRank::new(4, 2, 1, blocks::Design::Replicate, "pagerank".parse().unwrap(), 0).unwrap();
        let mut plan = Plan::new(Box::new(jr));
        assert_eq!(plan.requests().len(), 2);
        // a refused round counts nothing and can be answered again
        assert!(plan.submit_scores(&[0, 2, 4], &[f64::NAN, 1.0, 0.0, f64::INFINITY]).is_err());
        assert_eq!((plan.spend.repaired, plan.spend.calls), (0, 0));
        plan.submit_scores(&[0, 2, 4], &[f64::NAN, 1.0, 0.0, 2.0]).unwrap();
        assert_eq!((plan.spend.repaired, plan.spend.calls), (1, 2));
        let mut plan = Plan::new(Box::new(window::SlidingWindow::new(2, 2, 2, 1).unwrap()));
        plan.requests();
        plan.submit_scores(&[0, 2], &[f64::NAN, f64::NAN]).unwrap();
        assert_eq!((plan.spend.repaired, plan.spend.unparsed), (1, 1));
        let mut plan = Plan::new(Box::new(pointwise::Pointwise::new(2)));
        plan.requests();
        assert!(plan.submit_scores(&[0, 1, 2], &[1.0, 2.0]).is_err(), "a pointwise plan takes values");
    }

    #[test]
    fn unparsed_answers_are_counted_apart_from_partial_ones() {
        let mut plan = Plan::new(Box::new(window::SlidingWindow::new(6, 2, 2, 1).unwrap()));
        plan.requests();
        plan.submit_orders(&[0, 0], &[]).unwrap();
        plan.requests();
        plan.submit_orders(&[0, 2], &[-1, 9]).unwrap();
        plan.requests();
        plan.submit_orders(&[0, 1], &[1]).unwrap();
        assert!(plan.requests().is_empty());
        assert_eq!((plan.spend.repaired, plan.spend.unparsed), (3, 2));
    }

    #[test]
    fn sizes_from_input_are_checked_before_allocating() {
        let all = pairs::Sampling { sampler: pairs::Sampler::All, window: 1, skip: 1, budget: None };
        let e = pairs::Pairwise::new(50_000, all, pairs::PairAggregator::Additive, 0).err().unwrap();
        assert!(e.to_string().starts_with("n: ") && e.to_string().contains("2499950000 pairs"), "{e}");
        let e = window::SlidingWindow::new(100, 2, 1, 1_000_000_000).err().unwrap();
        assert!(e.to_string().starts_with("passes: "), "{e}");
        let e = blocks::JointRank::new(100, 20, 10_000_000, blocks::Design::Auto, "pagerank".parse().unwrap(), 0)
            .err()
            .unwrap();
        assert!(e.to_string().starts_with("replicas: "), "{e}");
        let w = pairs::Sampling { sampler: pairs::Sampler::Window, window: 1_000_000_000, skip: 1, budget: None };
        let e = pairs::Pairwise::new(100_000, w, pairs::PairAggregator::Additive, 0).err().unwrap();
        assert!(e.to_string().starts_with("window: "), "{e}");
        // a budget keeps the same sampler small
        let p = pairs::Pairwise::new(
            100_000,
            pairs::Sampling { budget: Some(1000), ..w },
            pairs::PairAggregator::Additive,
            0,
        );
        assert!(p.is_ok());
        assert!(check_n(1 << 28).is_err() && check_n(1000).is_ok());
    }

    #[test]
    fn pair_counts_match_the_samplers() {
        let mut rng = Rng::new(3);
        for sampler in [pairs::Sampler::All, pairs::Sampler::Window, pairs::Sampler::Skip, pairs::Sampler::Random] {
            for (n, window, skip, budget) in
                [(0, 1, 1, None), (1, 3, 2, None), (10, 3, 2, None), (10, 30, 4, Some(7)), (37, 5, 5, None)]
            {
                let s = pairs::Sampling { sampler, window, skip, budget };
                assert_eq!(pairs::sample(n, s, &mut rng).unwrap().len() as u128, pairs::count(n, s), "{s:?} n={n}");
            }
        }
    }

    #[test]
    fn apply_order_reorders() {
        let mut s = vec![10, 11, 12];
        apply_order(&mut s, &[2, 0, 1]);
        assert_eq!(s, vec![12, 10, 11]);
    }
}
