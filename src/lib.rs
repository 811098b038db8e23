//! gaptrack: a batch pipeline and SQL front end for repeated B2B surveys.
//!
//! Waves (rounds) of a survey are validated against their spec ([`spec`]), streamed into
//! Delta tables on object storage ([`ingest`], [`store`], [`catalog`]), and queried with
//! DataFusion ([`sql`]): the views `agreement`, `gaps` and `gap_trend` answer how the
//! agreement gap between two groups moves from wave to wave, with the statistics of
//! [`stats`].

pub mod alloc;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod diag;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod ingest;
pub mod pipeline;
pub mod report;
pub mod serve;
pub mod shell;
pub mod spec;
pub mod sql;
pub mod stats;
pub mod store;
pub mod tables;
pub mod vacuum;

pub use error::{Error, Result};
