//! rankwise: plan, drive and aggregate LLM reranking calls.
//!
//! The pure Rust core (no Python types anywhere outside `python`):
//! comparison storage, aggregators, and (in later modules) planners,
//! parsing and metrics. The `python` feature adds the `rankwise._core`
//! extension module that maturin builds.

pub mod aggregate;
pub mod comparisons;
pub mod error;
pub mod parallel;
pub mod rankings;

#[cfg(feature = "python")]
mod python;

pub use error::{Error, Result};
pub mod fusion;
pub mod metrics;
pub mod parse;
pub mod plan;
pub mod trec;
