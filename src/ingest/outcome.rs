//! What happened to each wave of a command: [`Status`] and [`Outcome`], and
//! [`summarize`], which builds a validated wave's outcome (counts, notes, warnings).

use std::collections::BTreeMap;

use super::resolve::{Resolved, Validated};
use crate::tables::CatalogEntry;

/// What happened to one wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Validated only (`--dry-run`).
    Valid,
    /// Byte-identical spec and source are already loaded: nothing written.
    Unchanged,
    /// A new wave.
    Loaded,
    /// A wave that existed was replaced.
    Replaced,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Unchanged => "unchanged",
            Status::Loaded => "loaded",
            Status::Replaced => "replaced",
        }
    }
}

/// The outcome of one wave.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub wave: String,
    pub spec: String,
    pub status: Status,
    pub kind: &'static str,
    pub respondents: Option<u64>,
    /// Long rows (respondent × statement) or published cells.
    pub rows: u64,
    pub per_group: BTreeMap<String, u64>,
    /// Missing answers per statement id.
    pub missing: Vec<(String, u64)>,
    pub seconds: f64,
    /// What rim weighting achieved (waves with `[weighting]`).
    pub weighting: Option<crate::stats::rake::Report>,
    /// The reader's notes (see [`super::read::Summary::notes`]).
    pub notes: Vec<String>,
    /// The reader's warnings (see [`super::read::Summary::warnings`]).
    pub warnings: Vec<String>,
}

/// The outcome of a validated wave (status `Valid`; the caller sets what the load did):
/// its counts, and the reader's notes and warnings.
pub(super) fn summarize(r: &Resolved, v: &Validated) -> Outcome {
    match v {
        Validated::Microdata(s, raked) => Outcome {
            wave: r.spec.wave.clone(),
            spec: r.spec.spec_path.clone(),
            status: Status::Valid,
            kind: "microdata",
            respondents: Some(s.respondents),
            rows: s.respondents * r.spec.statements.len() as u64,
            per_group: s.per_group.clone(),
            missing: r
                .spec
                .statements
                .iter()
                .zip(&s.missing)
                .map(|(st, m)| (st.id.clone(), *m))
                .collect(),
            seconds: 0.0,
            weighting: raked.as_ref().map(|r| r.report.clone()),
            notes: s.notes.clone(),
            warnings: s.warnings.clone(),
        },
        Validated::Cells(c) => Outcome {
            wave: r.spec.wave.clone(),
            spec: r.spec.spec_path.clone(),
            status: Status::Valid,
            kind: "cells",
            respondents: None,
            rows: c.len() as u64,
            per_group: BTreeMap::new(),
            missing: vec![],
            seconds: 0.0,
            weighting: None,
            notes: vec![],
            warnings: vec![],
        },
    }
}

/// The outcome of a wave whose spec and source are byte-identical to the loaded one
/// (`entry`): nothing written.
pub(super) fn unchanged(r: &Resolved, entry: &CatalogEntry, secs: f64) -> Outcome {
    Outcome {
        wave: r.spec.wave.clone(),
        spec: r.spec.spec_path.clone(),
        status: Status::Unchanged,
        kind: if entry.kind == "cells" {
            "cells"
        } else {
            "microdata"
        },
        respondents: entry.respondents.map(|n| n as u64),
        rows: 0,
        per_group: BTreeMap::new(),
        missing: vec![],
        seconds: secs,
        weighting: None,
        notes: vec![],
        warnings: vec![],
    }
}
