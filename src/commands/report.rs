//! `gaptrack report`: publish the trend tables.

use super::{open_existing, Context};
use crate::error::Result;
use crate::report::{self, ReportFormat};
use crate::sql::{AsOf, Session, Settings};

/// What to publish (the arguments of `gaptrack report`).
#[derive(Debug, Clone)]
pub struct ReportRequest {
    /// Output directory or store URL.
    pub out: String,
    /// The pair of groups (gap = A − B).
    pub pair: (String, String),
    /// Bases below this are flagged as low.
    pub min_base: i64,
    /// Bases below this are suppressed.
    pub suppress_below: i64,
    /// The base both thresholds compare with.
    pub min_base_on: crate::sql::BaseOn,
    pub formats: Vec<ReportFormat>,
    /// The store as it was at a catalog version or a time.
    pub as_of: Option<AsOf>,
    /// Segment breakdowns.
    pub by: Vec<String>,
    /// The wave to show the change of every gap since (`--baseline`).
    pub baseline: Option<String>,
    /// The publisher's words (title, labels, notes).
    pub words: report::model::Words,
}

/// Publishes the report; returns the line naming the files written, then the trend
/// tables as text.
pub async fn report(ctx: &Context, r: &ReportRequest) -> Result<String> {
    let store = open_existing(&ctx.store_url()).await?;
    report::refuse_inside_store(&store, &r.out, "--out")?;
    let settings = Settings {
        min_base: r.min_base,
        suppress_below: r.suppress_below,
        min_base_on: r.min_base_on,
        variance: ctx.variance.unwrap_or_default(),
    };
    let session = Session::open_on(&store, r.as_of.clone(), settings, false, &ctx.engine()).await?;
    let mut model = report::build(&session, &r.pair.0, &r.pair.1).await?;
    report::add_breakdowns(&mut model, &session, &r.by).await?;
    if let Some(b) = &r.baseline {
        report::add_baseline(&mut model, &session, b, "--baseline").await?;
    }
    report::apply_words(&mut model, r.words.clone(), "report")?;
    let files = report::publish(&model, &r.out, &r.formats).await?;
    Ok(format!(
        "report: {} written to {} (data version {})\n\n{}",
        files.join(", "),
        r.out,
        model.data_version,
        report::render_text(&model)
    ))
}
