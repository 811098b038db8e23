//! The published files read back by the programs their readers use: `trend.xlsx` by
//! openpyxl (in `GAPTRACK_PYTHON`, installed by `.ci/run`).

use std::path::Path;
use std::process::Command;

use crate::support::{fixture, ingest_all, run, stderr};

/// The workbook as openpyxl reads it: every sheet's name and cells (values with their
/// Python type and number format), as JSON.
const READ_XLSX: &str = r#"
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = {}
for ws in wb.worksheets:
    rows = []
    for row in ws.iter_rows():
        rows.append([[type(c.value).__name__, c.value, c.number_format] for c in row])
    out[ws.title] = rows
json.dump(out, sys.stdout)
"#;

fn python() -> String {
    std::env::var("GAPTRACK_PYTHON")
        .expect("set GAPTRACK_PYTHON to a Python with openpyxl (see .ci/run)")
}

fn read_xlsx(path: &Path) -> serde_json::Value {
    let o = Command::new(python())
        .args(["-c", READ_XLSX])
        .arg(path)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// A CSV field as the workbook must hold it: empty is no value, a number a number,
/// `true`/`false` a boolean, anything else text.
fn same_cell(field: &str, cell: &serde_json::Value) -> bool {
    let (kind, value) = (cell[0].as_str().unwrap(), &cell[1]);
    match (field, kind) {
        ("", "NoneType") => true,
        ("true", "bool") => value == true,
        ("false", "bool") => value == false,
        (_, "int" | "float") => field.parse::<f64>().ok() == value.as_f64(),
        (_, "str") => value == field,
        _ => false,
    }
}

#[test]
fn the_workbook_holds_the_data_as_numbers_and_is_the_same_every_time() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_all(&store, &fixture());
    assert!(o.status.success(), "{}", stderr(&o));
    let publish = |out: &str| {
        let dir = tmp.path().join(out);
        let o = run(
            &store,
            &["report", "--out", dir.to_str().unwrap(), "--by", "region"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    };
    let (one, two) = (publish("one"), publish("two"));
    let bytes = std::fs::read(one.join("trend.xlsx")).unwrap();
    assert_eq!(bytes, std::fs::read(two.join("trend.xlsx")).unwrap());
    let manifest = std::fs::read_to_string(one.join("manifest.json")).unwrap();
    assert!(manifest.contains("\"trend.xlsx\""), "{manifest}");

    let wb = read_xlsx(&one.join("trend.xlsx"));
    let sheets: Vec<&String> = wb.as_object().unwrap().keys().collect();
    for s in [
        "Trend",
        "understands_customers",
        "work_well_together",
        "qualifies_leads",
        "By region",
        "Data",
        "Methods",
    ] {
        assert!(sheets.iter().any(|x| *x == s), "no sheet {s}: {sheets:?}");
    }
    // The Data sheet is trend.csv, cell by cell, numbers as numbers.
    let csv = std::fs::read_to_string(one.join("trend.csv")).unwrap();
    let data = wb["Data"].as_array().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(data.len(), lines.len());
    let (mut numbers, mut numeric_fields) = (0, 0);
    for (line, row) in lines.iter().zip(data) {
        let fields: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(line.as_bytes())
            .records()
            .next()
            .unwrap()
            .unwrap()
            .iter()
            .map(str::to_string)
            .collect();
        let row = row.as_array().unwrap();
        for (k, f) in fields.iter().enumerate() {
            let cell = row
                .get(k)
                .cloned()
                .unwrap_or(serde_json::json!(["NoneType", null]));
            assert!(same_cell(f, &cell), "{f:?} vs {cell:?} in {line}");
            numbers += usize::from(cell[0] == "float" || cell[0] == "int");
            // Wave ids (2019) are text; every other number is a number.
            numeric_fields += usize::from(k != 2 && f.parse::<f64>().is_ok());
        }
    }
    assert_eq!(numbers, numeric_fields);
    assert!(numbers > 50, "{numbers} numbers");
    // The Trend sheet: each gap a number rounded to one decimal, with its marks in the
    // number format, e.g. the 2020 understands_customers gap −6.6 (gaps.slt).
    let trend = wb["Trend"].as_array().unwrap();
    let header = trend[3].as_array().unwrap();
    let col = header.iter().position(|c| c[1] == "2020").unwrap();
    let row = trend
        .iter()
        .find(|r| r[0][1] == "Our marketing team understands our customers")
        .unwrap();
    assert_eq!(row[col][0], "float");
    assert_eq!(row[col][1].as_f64(), Some(-6.6));
    assert!(row[col][2].as_str().unwrap().starts_with("+0.0"), "{row:?}");
}
