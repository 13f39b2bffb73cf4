//! Planners made of planners: [`Compose`] runs child planners side by side,
//! each over its own items `0..m` mapped to the parent's items, and merges
//! their rounds into one: a round holds every unfinished child's calls (of
//! the round's kind: the first unfinished child's), the answers are split
//! back by call offsets, and a combiner turns the finished children into
//! the parent's ranking. TourRank's parallel tournaments are children over
//! the same items; a child may also see a subset (a map of fewer items).
//!
//! [`Chain`] runs stages one after another instead (a cascade): each stage
//! reranks the top of the order the stages before it left, and its rounds
//! may be of another kind (pointwise first, listwise on the top), which the
//! plan reports per round.

use super::{is_permutation, CallKind, Calls, Planner};
use crate::aggregate::ranking_from_scores;
use crate::error::{Error, Result};

/// One child: its planner, its item map (child item `i` is parent item
/// `map[i]`), and its pending calls in its own ids.
pub struct Child {
    pub planner: Box<dyn Planner>,
    pub map: Vec<u32>,
    calls: Calls,
    done: bool,
}

/// How finished children become the parent's ranking of `0..n`.
pub type Combine = fn(n: usize, children: &mut [Child]) -> Result<Vec<u32>>;

pub struct Compose {
    n: usize,
    children: Vec<Child>,
    /// The pending round: (child, first call, end call) in the merged calls.
    asked: Vec<(usize, usize, usize)>,
    combine: Combine,
}

impl Compose {
    /// Children with their maps (each a list of distinct parent items, as
    /// long as the child's `n`).
    pub fn new(n: usize, children: Vec<(Box<dyn Planner>, Vec<u32>)>, combine: Combine) -> Result<Self> {
        let mut out = Vec::with_capacity(children.len());
        for (c, (planner, map)) in children.into_iter().enumerate() {
            let mut seen = vec![false; n];
            let ok = map.len() == planner.n()
                && map.iter().all(|&x| (x as usize) < n && !std::mem::replace(&mut seen[x as usize], true));
            if !ok {
                return Err(Error::invalid(
                    "children",
                    format!("child {c}'s map must hold {} distinct items of 0..{n}", planner.n()),
                ));
            }
            out.push(Child { planner, map, calls: Calls::default(), done: false });
        }
        Ok(Compose { n, children: out, asked: Vec::new(), combine })
    }

    /// The identity map of `0..n`.
    pub fn all(n: usize) -> Vec<u32> {
        (0..n as u32).collect()
    }

    /// Combiner: the children's scores ([`Planner::scores`]) summed per
    /// parent item (items a child does not see get nothing from it); ties
    /// keep the first-stage order.
    pub fn sum_scores(n: usize, children: &mut [Child]) -> Result<Vec<u32>> {
        let mut total = vec![0.0; n];
        for (c, child) in children.iter().enumerate() {
            let s = child
                .planner
                .scores()
                .ok_or_else(|| Error::invalid("children", format!("child {c} gives no scores to sum")))?;
            for (&x, v) in child.map.iter().zip(s) {
                total[x as usize] += v;
            }
        }
        Ok(ranking_from_scores(&total))
    }

    /// Hand each asked child its slice of the round's answers.
    fn split<T: Clone>(&mut self, answers: &[T], submit: Submit<T>) -> Result<()> {
        for &(c, a, b) in &std::mem::take(&mut self.asked) {
            let child = &mut self.children[c];
            submit(child.planner.as_mut(), &child.calls, answers[a..b].to_vec())?;
        }
        Ok(())
    }
}

type Submit<T> = fn(&mut dyn Planner, &Calls, Vec<T>) -> Result<()>;

impl Planner for Compose {
    fn n(&self) -> usize {
        self.n
    }
    fn kind(&self) -> CallKind {
        self.children.iter().find(|c| !c.done).map_or(CallKind::List, |c| c.planner.kind())
    }
    fn next_round(&mut self, out: &mut Calls) {
        self.asked.clear();
        let kind = self.kind();
        for (c, child) in self.children.iter_mut().enumerate() {
            if child.done || child.planner.kind() != kind {
                continue;
            }
            child.calls = Calls::default();
            child.planner.next_round(&mut child.calls);
            if child.calls.is_empty() {
                child.done = true;
                continue;
            }
            let first = out.len();
            for k in 0..child.calls.len() {
                let mapped: Vec<u32> = child.calls.get(k).iter().map(|&i| child.map[i as usize]).collect();
                out.push(&mapped);
            }
            self.asked.push((c, first, out.len()));
        }
        // every child of this kind finished: the next kind's children go now
        if out.is_empty() && self.children.iter().any(|c| !c.done) {
            self.next_round(out);
        }
    }
    fn submit_orders(&mut self, _calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        self.split(&orders, |p, calls, o| p.submit_orders(calls, o))
    }
    fn submit_values(&mut self, _calls: &Calls, values: Vec<f64>) -> Result<()> {
        self.split(&values, |p, calls, v| p.submit_values(calls, v))
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        let r = (self.combine)(self.n, &mut self.children)?;
        if !is_permutation(&r, self.n) {
            return Err(Error::invalid("children", "the combined ranking is not a permutation"));
        }
        Ok(r)
    }
}

/// Builds stage `k` of a [`Chain`] for its `m` items.
pub type BuildStage = Box<dyn Fn(usize, usize) -> Result<Box<dyn Planner>> + Send + Sync>;

/// Stages one after another over the items `0..n`: stage `k` reranks the
/// first `depths[k]` items (all for `None`) of the order the stages before
/// it left (first-stage order to begin with); the items below keep their
/// place.
pub struct Chain {
    order: Vec<u32>,
    depths: Vec<Option<usize>>,
    build: BuildStage,
    stage: usize,
    /// The running stage: its planner, its map (own item -> parent item)
    /// and its pending calls in its own ids.
    current: Option<(Box<dyn Planner>, Vec<u32>, Calls)>,
    error: Option<Error>,
}

impl Chain {
    pub fn new(n: usize, depths: Vec<Option<usize>>, build: BuildStage) -> Result<Self> {
        let mut c = Chain { order: Compose::all(n), depths, build, stage: 0, current: None, error: None };
        c.start()?;
        Ok(c)
    }

    /// Build the next stage (none when all ran).
    fn start(&mut self) -> Result<()> {
        if let Some(&depth) = self.depths.get(self.stage) {
            let m = depth.map_or(self.order.len(), |d| d.min(self.order.len()));
            let planner = (self.build)(self.stage, m)?;
            if planner.n() != m {
                return Err(Error::invalid(
                    "stages",
                    format!("stage {} was built for {} items, not {m}", self.stage, planner.n()),
                ));
            }
            self.current = Some((planner, self.order[..m].to_vec(), Calls::default()));
        }
        Ok(())
    }

    /// The running stage is done: its ranking reorders the top.
    fn finish(&mut self) -> Result<()> {
        if let Some((mut planner, map, _)) = self.current.take() {
            let r = planner.ranking()?;
            if !is_permutation(&r, map.len()) {
                return Err(Error::invalid("stages", format!("stage {} ranked no permutation", self.stage)));
            }
            for (slot, &i) in self.order.iter_mut().zip(&r) {
                *slot = map[i as usize];
            }
            self.stage += 1;
            self.start()?;
        }
        Ok(())
    }
}

impl Planner for Chain {
    fn n(&self) -> usize {
        self.order.len()
    }
    fn kind(&self) -> CallKind {
        self.current.as_ref().map_or(CallKind::List, |c| c.0.kind())
    }
    fn next_round(&mut self, out: &mut Calls) {
        while self.error.is_none() {
            let Some((planner, map, calls)) = self.current.as_mut() else { return };
            *calls = Calls::default();
            planner.next_round(calls);
            if !calls.is_empty() {
                for k in 0..calls.len() {
                    let mapped: Vec<u32> = calls.get(k).iter().map(|&i| map[i as usize]).collect();
                    out.push(&mapped);
                }
                return;
            }
            if let Err(e) = self.finish() {
                self.error = Some(e);
            }
        }
    }
    fn submit_orders(&mut self, _calls: &Calls, orders: Vec<Vec<u32>>) -> Result<()> {
        let (planner, _, calls) =
            self.current.as_mut().ok_or_else(|| Error::invalid("answers", "no stage is running"))?;
        planner.submit_orders(calls, orders)
    }
    fn submit_values(&mut self, _calls: &Calls, values: Vec<f64>) -> Result<()> {
        let (planner, _, calls) =
            self.current.as_mut().ok_or_else(|| Error::invalid("answers", "no stage is running"))?;
        planner.submit_values(calls, values)
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        match self.error.take() {
            Some(e) => Err(e),
            None => Ok(self.order.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::pointwise::Pointwise;
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::window::SlidingWindow;
    use super::super::Plan;
    use super::*;

    #[test]
    fn children_run_in_one_round_and_answers_go_back_by_offsets() {
        // two pointwise children over the two halves of 6 items, reversed maps
        let kids: Vec<(Box<dyn Planner>, Vec<u32>)> =
            vec![(Box::new(Pointwise::new(3)), vec![5, 4, 3]), (Box::new(Pointwise::new(3)), vec![0, 1, 2])];
        let mut plan = Plan::new(Box::new(Compose::new(6, kids, Compose::sum_scores).unwrap()));
        let calls = plan.requests().clone();
        assert_eq!(calls.items, vec![5, 4, 3, 0, 1, 2]);
        // scores by parent item: item i scores i
        let values: Vec<f64> = calls.items.iter().map(|&i| i as f64).collect();
        plan.submit_values(&values).unwrap();
        assert!(plan.requests().is_empty());
        assert_eq!(plan.result().unwrap(), vec![5, 4, 3, 2, 1, 0]);
        assert_eq!(plan.spend.rounds, 1);
    }

    #[test]
    fn bad_maps_and_scoreless_children_are_errors() {
        let dup: Vec<(Box<dyn Planner>, Vec<u32>)> = vec![(Box::new(Pointwise::new(2)), vec![1, 1])];
        assert!(Compose::new(3, dup, Compose::sum_scores).is_err());
        let far: Vec<(Box<dyn Planner>, Vec<u32>)> = vec![(Box::new(Pointwise::new(1)), vec![3])];
        assert!(Compose::new(3, far, Compose::sum_scores).is_err());
        let u = utilities(&shuffled_truth(5, 1));
        let kids: Vec<(Box<dyn Planner>, Vec<u32>)> =
            vec![(Box::new(SlidingWindow::new(5, 3, 1, 1).unwrap()), Compose::all(5))];
        let mut plan = Plan::new(Box::new(Compose::new(5, kids, Compose::sum_scores).unwrap()));
        while !plan.requests().is_empty() {
            let calls = plan.requests().clone();
            let (offsets, ids, _) = super::super::testing::answer(&calls, CallKind::List, &u);
            plan.submit_orders(&offsets, &ids).unwrap();
        }
        assert!(plan.result().unwrap_err().to_string().contains("gives no scores"));
    }

    #[test]
    fn a_chain_reranks_the_top_of_the_previous_stage() {
        // pointwise over all 30, then a sliding window over the top 8 with a judge that
        // agrees: the top 8 come out exact, the rest in the pointwise order
        let truth = shuffled_truth(30, 5);
        let u = utilities(&truth);
        let build: BuildStage = Box::new(|k, m| -> Result<Box<dyn Planner>> {
            Ok(if k == 0 { Box::new(Pointwise::new(m)) } else { Box::new(SlidingWindow::new(m, 4, 2, 3)?) })
        });
        let mut plan = Plan::new(Box::new(Chain::new(30, vec![None, Some(8)], build).unwrap()));
        assert_eq!(plan.kind(), CallKind::Point);
        let calls = plan.requests().clone();
        let (_, _, values) = super::super::testing::answer(&calls, CallKind::Point, &u);
        plan.submit_values(&values).unwrap();
        // the second stage shows only the first stage's top 8, in listwise calls
        let calls = plan.requests().clone();
        assert_eq!(plan.kind(), CallKind::List);
        assert!(calls.items.iter().all(|&i| truth[i as usize] < 8), "{calls:?}");
        let r = run(&mut plan, &u);
        assert!(r.iter().enumerate().all(|(k, &i)| truth[i as usize] == k), "{r:?}");
        assert_eq!(plan.spend.calls, 30 + 3 * 3);
        // the first round is pointwise, the rest listwise over the top 8
        assert_eq!(plan.spend.rounds, 1 + 3 * 3);
    }

    #[test]
    fn children_of_different_kinds_take_turns() {
        let kids: Vec<(Box<dyn Planner>, Vec<u32>)> = vec![
            (Box::new(SlidingWindow::new(4, 4, 2, 1).unwrap()), Compose::all(4)),
            (Box::new(Pointwise::new(4)), Compose::all(4)),
        ];
        let c = Compose::new(4, kids, |n, _| Ok((0..n as u32).collect())).unwrap();
        let mut plan = Plan::new(Box::new(c));
        let u = utilities(&shuffled_truth(4, 2));
        run(&mut plan, &u);
        assert_eq!((plan.spend.rounds, plan.spend.calls), (2, 1 + 4));
    }
}
