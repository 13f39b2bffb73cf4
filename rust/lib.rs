//! rankwise: plan, drive and aggregate LLM reranking calls.
//!
//! The pure Rust core (no Python types anywhere outside `python`):
//! comparison storage, aggregators, planners, parsing, TREC runs and qrels,
//! metrics and fusion. The `python` feature adds the `rankwise._core`
//! extension module that maturin builds.

#[macro_use]
pub mod names;

pub mod aggregate;
pub mod comparisons;
pub mod error;
pub mod fusion;
pub mod metrics;
pub mod parallel;
pub mod parse;
pub mod plan;
pub mod rankings;
pub mod trec;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
