//! Open-data metadata of the published CSV files: `datapackage.json` (a Frictionless
//! Tabular Data Package with a Table Schema per CSV) and CSVW metadata
//! (`trend.csv-metadata.json`, `breakdown.csv-metadata.json`), so that a data portal or
//! `frictionless validate` reads the files with their types, descriptions, missing
//! values and primary keys. Written with the CSV files; deterministic.

use serde_json::{json, Value};

use super::model::Report;
use super::tables::{BREAKDOWN_COLUMNS, COLUMNS};

/// A column's type in Table Schema words (CSVW: `string`, `date`, `integer`, `double`,
/// `boolean`) and its description.
fn column(name: &str) -> (&'static str, &'static str) {
    match name {
        "segment" => (
            "string",
            "The segment column of the breakdown (report --by)",
        ),
        "segment_value" => ("string", "The segment's value"),
        "statement" => ("string", "Statement id, stable across waves"),
        "text" => ("string", "Wording of the statement"),
        "wave" => ("string", "Wave id"),
        "date" => ("date", "Date of the wave"),
        "group_a" => (
            "string",
            "First group of the pair (the gap is group_a minus group_b)",
        ),
        "group_b" => ("string", "Second group of the pair"),
        "n_a" => (
            "integer",
            "Respondents of group_a who answered (empty for a published figure without base)",
        ),
        "n_b" => (
            "integer",
            "Respondents of group_b who answered (empty for a published figure without base)",
        ),
        "pct_a" => ("number", "Weighted percent of group_a agreeing, 0-100"),
        "pct_b" => ("number", "Weighted percent of group_b agreeing, 0-100"),
        "gap_pp" => ("number", "pct_a minus pct_b, in percentage points"),
        "gap_ci_low" => (
            "number",
            "Lower bound of the 95 % Newcombe interval of the gap, in points",
        ),
        "gap_ci_high" => (
            "number",
            "Upper bound of the 95 % Newcombe interval of the gap, in points",
        ),
        "gap_p_value" => ("number", "Two-sided z test of the gap"),
        "change_pp" => (
            "number",
            "Change of the gap since the previous wave of the series, in points",
        ),
        "change_p_value" => ("number", "Two-sided z test of the change"),
        "change_q_value" => (
            "number",
            "Benjamini-Hochberg q value of the change (all statements of the wave)",
        ),
        "trend" => ("string", "widened, narrowed (q < 0.05) or stable"),
        "low_base" => ("boolean", "Either base below the report's minimum base"),
        _ => ("string", ""),
    }
}

/// The published CSV files and their columns and primary keys (breakdown.csv only with
/// breakdowns).
fn tables(r: &Report) -> Vec<(&'static str, &'static [&'static str], Vec<&'static str>)> {
    let mut t = vec![("trend", &COLUMNS[..], vec!["statement", "wave"])];
    if !r.breakdowns.is_empty() {
        t.push((
            "breakdown",
            &BREAKDOWN_COLUMNS[..],
            vec!["segment", "segment_value", "statement", "wave"],
        ));
    }
    t
}

/// A name as a Data Package takes it: lower case, `a-z 0-9 . _ -` only.
fn slug(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | '.' | '_' | '-' => c,
            _ => '-',
        })
        .collect()
}

/// `datapackage.json`.
pub fn render_datapackage(r: &Report) -> String {
    let resources: Vec<Value> = tables(r)
        .into_iter()
        .map(|(name, columns, key)| {
            let fields: Vec<Value> = columns
                .iter()
                .map(|c| {
                    let (ty, description) = column(c);
                    json!({"name": c, "type": ty, "description": description})
                })
                .collect();
            json!({
                "name": name,
                "path": format!("{name}.csv"),
                "profile": "tabular-data-resource",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
                "schema": {
                    "fields": fields,
                    "missingValues": [""],
                    "primaryKey": key,
                },
            })
        })
        .collect();
    let package = json!({
        "profile": "tabular-data-package",
        "name": slug(&format!("gaptrack-{}-{}", r.group_a, r.group_b)),
        "title": super::view::title(r),
        "description": format!(
            "The agreement gap {} minus {} by statement and wave, with 95 % intervals, tests and their trend (data version {}).",
            r.group_a, r.group_b, r.data_version
        ),
        "resources": resources,
    });
    pretty(&package)
}

/// The CSVW metadata of each published CSV file: (file name, text).
pub fn render_csvw(r: &Report) -> Vec<(String, String)> {
    tables(r)
        .into_iter()
        .map(|(name, columns, key)| {
            let cols: Vec<Value> = columns
                .iter()
                .map(|c| {
                    let (ty, description) = column(c);
                    let datatype = match ty {
                        "number" => "double",
                        other => other,
                    };
                    json!({
                        "name": c,
                        "titles": c,
                        "datatype": datatype,
                        "null": "",
                        "dc:description": description,
                    })
                })
                .collect();
            let meta = json!({
                "@context": "http://www.w3.org/ns/csvw",
                "url": format!("{name}.csv"),
                "dc:title": super::view::title(r),
                "tableSchema": {"columns": cols, "primaryKey": key},
            });
            (format!("{name}.csv-metadata.json"), pretty(&meta))
        })
        .collect()
}

fn pretty(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON values always serialize");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_column_has_a_type_and_a_description() {
        for c in BREAKDOWN_COLUMNS.iter().chain(COLUMNS.iter()) {
            let (ty, description) = column(c);
            assert!(!description.is_empty(), "{c}");
            assert!(
                ["string", "date", "integer", "number", "boolean"].contains(&ty),
                "{c}"
            );
        }
        assert_eq!(
            slug("gaptrack-Marketing-Sales Ops"),
            "gaptrack-marketing-sales-ops"
        );
    }
}
