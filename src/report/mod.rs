//! The published report (docs/report.md): the year-over-year trend of one pair of groups,
//! built from the views through SQL and rendered as `trend.csv`, `trend.json`,
//! `trend.md`, `index.html`, `trend.xlsx` and the chart files `charts/<statement>.svg|png`. The same store state gives byte-identical files.
//!
//! Layout: `model` is the data a report shows and `build` fills it from the views;
//! `view` holds what every reading file shows the same way (cells, number formatting,
//! labels, markers, the methods note); `md` and `html` (with `chart` for its SVG and
//! `report.css` for its style sheet) render only from the model and the view; `chart_file`
//! draws the same charts as standalone SVG and PNG files; `tables`
//! writes the CSV and JSON files; `xlsx` the Excel workbook; `publish` writes a set of files with its manifest.

mod build;
mod chart;
mod chart_file;
#[cfg(test)]
mod fixtures;
mod html;
mod md;
mod metadata;
pub mod model;
mod publish;
mod tables;
mod view;
mod xlsx;

pub use build::{add_baseline, add_breakdowns, apply_words, build};
use model::*;

use crate::error::{Error, Result};
pub use publish::{publish, publish_to, refuse_inside_store, Manifest, ManifestFile, MANIFEST};

/// A report file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ReportFormat {
    Md,
    Csv,
    Json,
    Html,
    Xlsx,
    Charts,
}

impl ReportFormat {
    pub fn parse(s: &str) -> std::result::Result<ReportFormat, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "md" | "markdown" => Ok(ReportFormat::Md),
            "csv" => Ok(ReportFormat::Csv),
            "json" => Ok(ReportFormat::Json),
            "html" => Ok(ReportFormat::Html),
            "xlsx" | "excel" => Ok(ReportFormat::Xlsx),
            "charts" | "png" | "svg" => Ok(ReportFormat::Charts),
            other => Err(format!(
                "{other:?} is not a report format (md, csv, json, html, xlsx, charts)"
            )),
        }
    }
    pub fn file_name(self) -> &'static str {
        match self {
            ReportFormat::Md => "trend.md",
            ReportFormat::Csv => "trend.csv",
            ReportFormat::Json => "trend.json",
            ReportFormat::Html => "index.html",
            ReportFormat::Xlsx => "trend.xlsx",
            ReportFormat::Charts => "charts/",
        }
    }
    pub fn all() -> Vec<ReportFormat> {
        vec![
            ReportFormat::Md,
            ReportFormat::Csv,
            ReportFormat::Json,
            ReportFormat::Html,
            ReportFormat::Xlsx,
            ReportFormat::Charts,
        ]
    }
}

/// Parses `A:B`.
pub fn parse_pair(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once(':') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() && a.trim() != b.trim() => {
            Ok((a.trim().to_lowercase(), b.trim().to_lowercase()))
        }
        _ => Err(format!(
            "{s:?} is not a pair of two different groups A:B (e.g. marketing:sales)"
        )),
    }
}

pub use md::render_text;

/// Renders one single-file format (`index.html` without links to the other files; see
/// [`render_set`]); `None` for the chart files, which are many (see [`render_charts`]).
pub fn render(r: &Report, f: ReportFormat) -> Option<Vec<u8>> {
    Some(match f {
        ReportFormat::Md => md::render_markdown(r).into_bytes(),
        ReportFormat::Csv => tables::render_csv(r).into_bytes(),
        ReportFormat::Json => tables::render_json(r).into_bytes(),
        ReportFormat::Html => html::render_html(r, &[]).into_bytes(),
        ReportFormat::Xlsx => xlsx::render_xlsx(r),
        ReportFormat::Charts => return None,
    })
}

/// `charts/<statement>.svg` and `.png` for every statement with something to draw.
pub fn render_charts(r: &Report) -> Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for st in r.statements.iter().filter(|st| chart_file::drawable(st)) {
        let stem = chart_file::file_stem(&st.statement);
        let svg = chart_file::chart_svg(r, st);
        let png = chart_file::chart_png(&svg)
            .map_err(|e| Error::Other(format!("rendering charts/{stem}.png: {e}")))?;
        files.push((format!("charts/{stem}.svg"), svg.into_bytes()));
        files.push((format!("charts/{stem}.png"), png));
    }
    Ok(files)
}

/// The files of one format: its own file, then the ones that go with it (the breakdown
/// files with `--by`; the open-data metadata with the CSV files).
fn files_of(r: &Report, f: ReportFormat) -> Result<Vec<(String, Vec<u8>)>> {
    let Some(bytes) = render(r, f) else {
        return render_charts(r);
    };
    let mut files = vec![(f.file_name().to_string(), bytes)];
    // The segment breakdowns (`--by`) go into files of their own, so that trend.csv
    // and trend.json keep exactly their columns and rows.
    let with_breakdowns = !r.breakdowns.is_empty();
    match f {
        ReportFormat::Csv => {
            if with_breakdowns {
                files.push((
                    "breakdown.csv".into(),
                    tables::render_breakdown_csv(r).into(),
                ));
            }
            files.push((
                "datapackage.json".into(),
                metadata::render_datapackage(r).into(),
            ));
            for (name, text) in metadata::render_csvw(r) {
                files.push((name, text.into_bytes()));
            }
        }
        ReportFormat::Json if with_breakdowns => {
            files.push((
                "breakdown.json".into(),
                tables::render_breakdown_json(r).into(),
            ));
        }
        _ => {}
    }
    Ok(files)
}

/// The files of one publication: each chosen format (sorted, once) with the files that
/// go with it, then `index.html`, which links every other file.
pub fn render_set(r: &Report, formats: &[ReportFormat]) -> Result<Vec<(String, Vec<u8>)>> {
    let mut formats = formats.to_vec();
    formats.sort();
    formats.dedup();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for &f in formats.iter().filter(|f| **f != ReportFormat::Html) {
        files.extend(files_of(r, f)?);
    }
    if formats.contains(&ReportFormat::Html) {
        let links: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let page = html::render_html(r, &links).into_bytes();
        files.push((ReportFormat::Html.file_name().to_string(), page));
    }
    Ok(files)
}
