//! The published files read back by the programs their readers use: `trend.xlsx` by
//! openpyxl, `datapackage.json` by `frictionless validate` (both in `GAPTRACK_PYTHON`,
//! installed by `.ci/run`); the publisher's words in the reading files, from flags and
//! from the scheduled job's config.

use std::path::Path;
use std::process::Command;

use crate::support::{fixture, ingest_all, png_size, run, stderr};

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

/// A CSV field as the workbook must hold it: empty is no value, a number a number (to
/// the 15 significant digits a spreadsheet keeps), `true`/`false` a boolean, anything
/// else text.
fn same_cell(field: &str, cell: &serde_json::Value) -> bool {
    let (kind, value) = (cell[0].as_str().unwrap(), &cell[1]);
    match (field, kind) {
        ("", "NoneType") => true,
        ("true", "bool") => value == true,
        ("false", "bool") => value == false,
        (_, "int" | "float") => match (field.parse::<f64>(), value.as_f64()) {
            (Ok(x), Some(y)) => (x - y).abs() <= 1e-14 * x.abs(),
            _ => false,
        },
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
        "Slopes",
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

#[test]
fn every_statement_gets_a_chart_picture_and_the_same_bytes_every_time() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = ingest_all(&store, &fixture());
    assert!(o.status.success(), "{}", stderr(&o));
    let publish = |out: &str, formats: &str| {
        let dir = tmp.path().join(out);
        let args = [
            "report",
            "--out",
            dir.to_str().unwrap(),
            "--formats",
            formats,
        ];
        let o = run(&store, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    };
    let one = publish("one", "md,csv,json,html,xlsx,charts");
    let two = publish("two", "charts");
    let manifest = std::fs::read_to_string(one.join("manifest.json")).unwrap();
    let html = std::fs::read_to_string(one.join("index.html")).unwrap();
    for st in [
        "understands_customers",
        "work_well_together",
        "qualifies_leads",
    ] {
        let svg = std::fs::read_to_string(one.join(format!("charts/{st}.svg"))).unwrap();
        let png = std::fs::read(one.join(format!("charts/{st}.png"))).unwrap();
        // Another process, another directory: the same bytes.
        assert_eq!(
            svg.as_bytes(),
            std::fs::read(two.join(format!("charts/{st}.svg"))).unwrap()
        );
        assert_eq!(
            png,
            std::fs::read(two.join(format!("charts/{st}.png"))).unwrap()
        );
        assert_eq!(png_size(&png), (1280, 720));
        // Lines, bands, points and text drawn: far from a blank picture.
        assert!(png.len() > 20_000, "charts/{st}.png: {} bytes", png.len());
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        for part in [
            "<style>",
            "<polyline class=\"la\"",
            ">2021<",
            ">Gap<",
            "Marketing",
        ] {
            assert!(svg.contains(part), "charts/{st}.svg has no {part}");
        }
        for f in [format!("charts/{st}.svg"), format!("charts/{st}.png")] {
            assert!(manifest.contains(&format!("\"{f}\"")), "{manifest}");
            assert!(
                html.contains(&format!("href=\"{f}\"")),
                "the page does not link {f}"
            );
        }
    }
    // Only the charts: no other file, and a publication without charts has none.
    let names: Vec<String> = std::fs::read_dir(&two)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let three = publish("one", "csv");
    assert!(!three.join("charts").exists(), "charts/ left behind");
}

#[test]
fn the_data_package_validates_and_the_page_links_every_data_file() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let out = tmp.path().join("out");
    let o = run(
        &store,
        &["report", "--out", out.to_str().unwrap(), "--by", "region"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // `frictionless validate` reads every CSV with its Table Schema: types, missing
    // values, primary keys.
    let o = Command::new(python())
        .args([
            "-m",
            "frictionless",
            "validate",
            "--json",
            "datapackage.json",
        ])
        .current_dir(&out)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&o.stderr)));
    assert_eq!(report["valid"], true, "{report:#}");
    let tasks = report["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 2, "trend.csv and breakdown.csv: {report:#}");
    // The CSVW metadata names the columns of its file, in order.
    for name in ["trend.csv", "breakdown.csv"] {
        let header = std::fs::read_to_string(out.join(name)).unwrap();
        let header: Vec<&str> = header.lines().next().unwrap().split(',').collect();
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(out.join(format!("{name}-metadata.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["url"], name);
        let cols: Vec<&str> = meta["tableSchema"]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(cols, header);
    }
    // The page links every other file of the publication.
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    for f in manifest["files"].as_array().unwrap() {
        let name = f["name"].as_str().unwrap();
        if name != "index.html" {
            assert!(html.contains(&format!("<a href=\"{name}\">")), "{name}");
        }
    }
}

#[test]
fn the_publishers_words_replace_the_defaults_in_the_reading_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &fixture()).status.success());
    let notes = tmp.path().join("notes.md");
    std::fs::write(
        &notes,
        "Fieldwork by **Acme**.\n\n<script>alert(1)</script>\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let args = |out: &Path, extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "report",
            "--out",
            out.to_str().unwrap(),
            "--title",
            "Are sales and marketing aligned?",
            "--subtitle",
            "Five years of the benchmark",
            "--byline",
            "Research team",
            "--source",
            "Alignment benchmark",
            "--notes",
            notes.to_str().unwrap(),
            "--wave-label",
            "2019=2019 (first wave)",
            "--group-label",
            "marketing=Marketers",
            "--statement-order",
            "qualifies_leads",
            "--by",
            "region",
            "--segment-label",
            "region=Region of HQ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        a.extend(extra.iter().map(|s| s.to_string()));
        a
    };
    let a = args(&out, &[]);
    let o = run(&store, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(o.status.success(), "{}", stderr(&o));
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    for want in [
        "<title>Are sales and marketing aligned?</title>",
        "<p class=\"subtitle\">Five years of the benchmark</p>",
        "<p class=\"byline\">Research team</p>",
        "<b>Source:</b> Alignment benchmark",
        "<p>Fieldwork by <strong>Acme</strong>.</p>",
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "2019 (first wave)<small>",
        "Marketers",
        ">Gap by Region of HQ</h2>",
        "understands_customers = “Our marketing team understands our customers”",
    ] {
        assert!(html.contains(want), "{want:?} not in the page");
    }
    // The notes' script is text; the page's one script is its own (opening the
    // collapsed sections to print).
    assert!(!html.contains("<script>alert"));
    assert_eq!(html.matches("<script").count(), 1);
    assert!(
        !html.contains("class=\"id\""),
        "statement ids under chart titles"
    );
    assert!(
        !html.contains("Data version"),
        "the data version is in the footer only"
    );
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    assert!(md.starts_with("# Are sales and marketing aligned?\n\nFive years of the benchmark\n\nResearch team\n\n"), "{md}");
    assert!(md.contains("## Notes\n\n**Source:** Alignment benchmark\n\nFieldwork by **Acme**."));
    // The listed statement comes first in the gap table; the others keep their order.
    let first = md
        .find("| Our sales team is effective at qualifying leads")
        .unwrap();
    let other = md
        .find("| Our marketing team understands our customers")
        .unwrap();
    assert!(first < other, "{md}");
    // The data files keep the ids.
    let csv = std::fs::read_to_string(out.join("trend.csv")).unwrap();
    assert!(csv.contains(",2019,2019-04-30,marketing,sales,"), "{csv}");
    // A name that matches nothing is an error naming it; nothing is written.
    let out2 = tmp.path().join("out2");
    let a = args(&out2, &["--wave-label", "2018=2018"]);
    let o = run(&store, &a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "column report.wave_labels: \"2018\" is not a wave of the report (2019, 2020, 2021)"
        ),
        "{}",
        stderr(&o)
    );
    assert!(!out2.exists());
}

#[test]
fn the_scheduled_job_takes_the_publishers_words_from_its_config() {
    let tmp = tempfile::tempdir().unwrap();
    crate::support::fixture_copy(tmp.path());
    let config = tmp.path().join("pipeline.toml");
    std::fs::write(
        &config,
        "store = \"wh\"\nwaves = [\"data/*.toml\"]\n[report]\nout = \"report\"\n\
         title = \"Alignment, five years on\"\nsource = \"Benchmark\"\n\
         wave_labels = { \"2021\" = \"2021 (latest)\" }\n\
         group_labels = { sales = \"Sellers\" }\nstatement_order = [\"work_well_together\"]\n",
    )
    .unwrap();
    let o = crate::support::bin()
        .args(["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let md = std::fs::read_to_string(tmp.path().join("report/trend.md")).unwrap();
    assert!(md.starts_with("# Alignment, five years on\n"), "{md}");
    assert!(
        md.contains("| 2021 (latest) |") && md.contains("Sellers"),
        "{md}"
    );
    assert!(md.contains("**Source:** Benchmark"), "{md}");
    // A statement the report does not have: exit 3 at the config's key.
    let text = std::fs::read_to_string(&config)
        .unwrap()
        .replace("[\"work_well_together\"]", "[\"no_such_statement\"]");
    std::fs::write(&config, text).unwrap();
    let o = crate::support::bin()
        .args(["run", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("pipeline.toml column report.statement_order: \"no_such_statement\" is not a statement of the report"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn every_row_carries_its_waves_wording_and_the_tables_footnote_a_change() {
    let tmp = tempfile::tempdir().unwrap();
    let data = crate::support::fixture_copy(tmp.path());
    let spec = data.join("2021.toml");
    let text = std::fs::read_to_string(&spec).unwrap().replace(
        "text = \"Our sales and marketing organizations work well together\"",
        "text = \"Sales and marketing work well together\"",
    );
    std::fs::write(&spec, text).unwrap();
    let store = tmp.path().join("store");
    assert!(ingest_all(&store, &data).status.success());
    let out = tmp.path().join("out");
    let o = run(&store, &["report", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("trend.csv")).unwrap();
    let rows: Vec<&str> = csv
        .lines()
        .filter(|l| l.starts_with("work_well_together,"))
        .collect();
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(rows[0].contains(",Our sales and marketing organizations work well together,2019,"));
    assert!(rows[1].contains(",Our sales and marketing organizations work well together,2020,"));
    assert!(rows[2].contains(",Sales and marketing work well together,2021,"));
    let note = "from 2021, asked as “Sales and marketing work well together”; before, as “Our sales and marketing organizations work well together”";
    let md = std::fs::read_to_string(out.join("trend.md")).unwrap();
    assert!(
        md.contains(&format!(
            "- *Sales and marketing work well together*: {note}."
        )),
        "{md}"
    );
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains(note), "the page has no wording note");
}
