//! Pointwise: one call per item, one round; sorted by score (ties keep the
//! first-stage order).

use super::{CallKind, Calls, Planner};
use crate::aggregate::ranking_from_scores;
use crate::error::Result;

/// No parameters.
pub const PLANNER: super::Registration =
    super::Registration { name: "pointwise", build: |n, _| Ok(Box::new(Pointwise::new(n))) };

pub struct Pointwise {
    n: usize,
    scores: Vec<f64>,
    asked: bool,
}

impl Pointwise {
    pub fn new(n: usize) -> Self {
        Pointwise { n, scores: vec![0.0; n], asked: false }
    }
}

impl Planner for Pointwise {
    fn n(&self) -> usize {
        self.n
    }
    fn kind(&self) -> CallKind {
        CallKind::Point
    }
    fn next_round(&mut self, out: &mut Calls) {
        if !self.asked && self.n > 1 {
            for i in 0..self.n as u32 {
                out.push(&[i]);
            }
        }
        self.asked = true;
    }
    fn submit_values(&mut self, _calls: &Calls, values: Vec<f64>) -> Result<()> {
        self.scores = values;
        Ok(())
    }
    fn ranking(&mut self) -> Result<Vec<u32>> {
        Ok(ranking_from_scores(&self.scores))
    }
    fn scores(&self) -> Option<Vec<f64>> {
        Some(self.scores.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{run, shuffled_truth, utilities};
    use super::super::Plan;
    use super::*;

    #[test]
    fn sorts_by_score() {
        let truth = shuffled_truth(30, 1);
        let mut plan = Plan::new(Box::new(Pointwise::new(30)));
        let r = run(&mut plan, &utilities(&truth));
        assert!(r.iter().enumerate().all(|(k, &i)| truth[i as usize] == k));
        assert_eq!((plan.spend.calls, plan.spend.rounds), (30, 1));
    }
}
