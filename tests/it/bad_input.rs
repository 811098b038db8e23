//! The catalogue of bad input: every fixture of `tests/data/bad/` goes through the binary
//! against a store that already holds a good wave. Each must exit with its code, print a
//! first stderr line that names the file, the line, the column and the offending value
//! (where they exist) and says what would be valid, never panic, and leave every file and
//! directory of the store byte for byte as it was.
//!
//! The fixtures are copies of `good.toml` / `good.csv` with one thing broken; the comment
//! on the first line of each spec says what. `make_fixtures.py` writes them all.

use crate::support::{snapshot, stderr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Case {
    /// Arguments after `ingest`, relative to tests/data/bad (the working directory).
    specs: &'static [&'static str],
    /// `--store` instead of the test's store.
    store: Option<&'static str>,
    code: i32,
    /// Pieces the first stderr line must contain (after `error: `).
    first: &'static [&'static str],
}

macro_rules! case {
    ($spec:literal, $code:literal, [$($piece:expr),+ $(,)?]) => {
        Case { specs: &[$spec], store: None, code: $code, first: &[$($piece),+] }
    };
    ([$($spec:literal),+], $code:literal, [$($piece:expr),+ $(,)?]) => {
        Case { specs: &[$($spec),+], store: None, code: $code, first: &[$($piece),+] }
    };
    (store $store:literal, $code:literal, [$($piece:expr),+ $(,)?]) => {
        Case { specs: &["good.toml"], store: Some($store), code: $code, first: &[$($piece),+] }
    };
}

const SCALE5: &str = "an answer from 1 to 5 (missing codes: 9)";
const SCALE7: &str = "an answer from 1 to 7 (missing codes: 9)";
const POSITIVE: &str = "weights must be positive finite numbers";
const ENCODING: &str = "set `encoding` in the spec";

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Answers.
    case!("answer_off_scale.toml", 3, ["answer_off_scale.csv line 4, column Q1: \"7\" is not an answer from 1 to 5 (missing codes: 9)"]),
    case!("answer_zero.toml", 3, ["answer_zero.csv line 3, column Q1: \"0\" is not ", SCALE5]),
    case!("answer_negative.toml", 3, ["answer_negative.csv line 5, column Q1: \"-1\" is not ", SCALE5]),
    case!("answer_not_numeric.toml", 3, ["answer_not_numeric.csv line 2, column Q1: \"agree\" is not a number; expected ", SCALE5]),
    case!("answer_fractional.toml", 3, ["answer_fractional.csv line 6, column Q1: \"3.5\" is not a whole number; expected ", SCALE5]),
    case!("answer_seven_point_out_of_range.toml", 3, ["answer_seven_point_out_of_range.csv line 3, column Q2: \"8\" is not ", SCALE7]),
    case!("answer_excel_na.toml", 3, ["answer_excel_na.csv line 4, column Q2: \"#N/A\" is not a number (an Excel error value", SCALE7]),
    case!("answer_huge.toml", 3, ["answer_huge.csv line 2, column Q1: \"99999999999999999999\" is not ", SCALE5]),
    // Respondents.
    case!("duplicate_id.toml", 3, ["duplicate_id.csv line 5, column resp_id: \"r2\" is a duplicate respondent id (first on line 3)"]),
    case!("blank_id.toml", 3, ["blank_id.csv line 4, column resp_id: \"\" is blank: every row needs a unique respondent id"]),
    case!("blank_group.toml", 3, ["blank_group.csv line 3, column function: \"\" is blank: every respondent needs a group"]),
    // Weights.
    case!("weight_negative.toml", 3, ["weight_negative.csv line 3, column wt: \"-0.8\" is negative", POSITIVE]),
    case!("weight_zero.toml", 3, ["weight_zero.csv line 5, column wt: \"0\" is zero", POSITIVE]),
    case!("weight_nan.toml", 3, ["weight_nan.csv line 2, column wt: \"NaN\" is not a number", POSITIVE]),
    case!("weight_infinite.toml", 3, ["weight_infinite.csv line 6, column wt: \"inf\" is infinite", POSITIVE]),
    case!("weight_blank.toml", 3, ["weight_blank.csv line 4, column wt: \"\" is blank", "positive finite number"]),
    case!("weight_text.toml", 3, ["weight_text.csv line 2, column wt: \"one\" is not a number", POSITIVE]),
    case!("weight_decimal_comma.toml", 3, ["weight_decimal_comma.csv line 3, column wt: \"0,8\" is not a number (a decimal comma? write a decimal point"]),
    // The shape of the file.
    case!("too_many_fields.toml", 3, ["too_many_fields.csv line 3: the row has 7 fields but the header has 6: extra value \"7\""]),
    case!("too_few_fields.toml", 3, ["too_few_fields.csv line 4: the row has 5 fields but the header has 6: no value for column \"Q2\""]),
    case!("unterminated_quote.toml", 3, ["unterminated_quote.csv line 3, column function: a quoted field starting on line 3 is never closed (\"Marketing,0.8,", "add the closing quote"]),
    case!("unterminated_quote_last_line.toml", 3, ["unterminated_quote_last_line.csv line 6, column industry: a quoted field starting on line 6 is never closed (\"tech,5,1\""]),
    case!("multiline_field_then_bad.toml", 3, ["multiline_field_then_bad.csv line 4, column Q2: \"77\" is not ", SCALE7]),
    case!("blank_lines_then_bad.toml", 3, ["blank_lines_then_bad.csv line 8, column Q2: \"0\" is not ", SCALE7]),
    case!("crlf_bad_last_line.toml", 3, ["crlf_bad_last_line.csv line 6, column Q2: \"x\" is not a number; expected ", SCALE7]),
    case!("cr_only_bad.toml", 3, ["cr_only_bad.csv line 5, column Q1: \"6\" is not ", SCALE5]),
    case!("many_errors.toml", 3, ["many_errors.csv line 2, column Q1: \"7\" is not ", SCALE5]),
    // Encodings.
    case!("invalid_utf8.toml", 3, ["invalid_utf8.csv line 4, column industry: \"caf\\xE9\" is not valid UTF-8 (byte 0xE9); ", ENCODING, "windows-1252"]),
    case!("invalid_utf8_header.toml", 3, ["invalid_utf8_header.csv line 1: header field 7: \"Bemerkung \\xB4\" is not valid UTF-8", ENCODING]),
    case!("utf16_without_bom.toml", 3, ["utf16_without_bom.csv line 1: ", "looks like UTF-16", "encoding = \"utf-16\""]),
    // Empty files and headers.
    case!("empty_file.toml", 3, ["empty_file.csv: the file is empty: expected a header row and data rows"]),
    case!("bom_only.toml", 3, ["bom_only.csv: the file is empty"]),
    case!("header_only.toml", 3, ["header_only.csv line 1: the file has a header row but no data rows"]),
    case!("header_only_bom_crlf.toml", 3, ["header_only_bom_crlf.csv line 1: the file has a header row but no data rows"]),
    case!("blank_rows_only.toml", 3, ["blank_rows_only.csv line 1: the file has a header row but no data rows"]),
    case!("missing_id_column.toml", 3, ["missing_id_column.csv line 1: column \"resp_id\" (respondent id) is not in the header", "\"respondent\""]),
    case!("missing_group_column.toml", 3, ["missing_group_column.csv line 1: column \"function\" (group) is not in the header"]),
    case!("missing_weight_column.toml", 3, ["missing_weight_column.csv line 1: column \"wt\" (weight) is not in the header"]),
    case!("missing_segment_column.toml", 3, ["missing_segment_column.csv line 1: column \"industry\" (segment) is not in the header"]),
    case!("missing_statement_column.toml", 3, ["missing_statement_column.csv line 1: column \"Q2\" (statement aligned) is not in the header"]),
    case!("near_miss_header.toml", 3, ["near_miss_header.csv line 1: column \"resp_id\" (respondent id) is not in the header (did you mean \"Resp ID\"?)"]),
    case!("duplicate_header.toml", 3, ["duplicate_header.csv line 1: column \"Q1\" (statement understands) appears more than once in the header (fields 5 and 7)"]),
    // Published figures (format = "cells").
    case!("cells_pct_over_100.toml", 3, ["cells_pct_over_100.csv line 3, column agree_pct: \"120\" is not a percentage between 0 and 100"]),
    case!("cells_n_not_a_number.toml", 3, ["cells_n_not_a_number.csv line 4, column n: \"abc\" is not a valid base: a positive whole number, or blank"]),
    case!("cells_n_thousands.toml", 3, ["cells_n_thousands.csv line 2, column n: \"1,200\" is not a valid base (write it without thousands separators)"]),
    case!("cells_pct_blank.toml", 3, ["cells_pct_blank.csv line 5, column agree_pct: \"\" is blank: a percentage between 0 and 100"]),
    case!("cells_unknown_statement.toml", 3, ["cells_unknown_statement.csv line 4, column statement: \"alligned\" is not a statement of the spec (statements: aligned, understands)"]),
    case!("cells_duplicate.toml", 3, ["cells_duplicate.csv line 4, column group: statement \"understands\" and group \"sales\" appear twice (first on line 2)"]),
    case!("cells_missing_column.toml", 3, ["cells_missing_column.csv line 1: the header has no column agree_pct"]),
    // Specs.
    case!("spec_toml_syntax.toml", 3, ["spec_toml_syntax.toml line 3: invalid TOML: invalid string"]),
    case!("spec_unknown_key.toml", 3, ["spec_unknown_key.toml line 10: invalid TOML: unknown field `wieght`, expected one of `id`, `group`, `weight`, `segments`"]),
    case!("spec_unknown_top_key.toml", 3, ["spec_unknown_top_key.toml line 5: invalid TOML: unknown field `sorce`"]),
    case!("spec_windows_path.toml", 3, ["spec_windows_path.toml line 5: invalid TOML: invalid escape sequence", "single quotes"]),
    case!("spec_points_float.toml", 3, ["spec_points_float.toml line 18: invalid TOML: invalid type: floating point `5.5`, expected a whole number"]),
    case!("spec_not_utf8.toml", 3, ["spec_not_utf8.toml line 4: the spec is not valid UTF-8 text"]),
    case!("spec_illegal_wave_id.toml", 3, ["spec_illegal_wave_id.toml line 2, column wave: \"2019 spring\" is not a valid wave id (1-64 characters of A-Z a-z 0-9 . _ -)"]),
    case!("spec_impossible_date.toml", 3, ["spec_impossible_date.toml line 3, column date: \"2019-02-30\" is not a valid ISO date (YYYY-MM-DD"]),
    case!("spec_agree_outside_scale.toml", 3, ["spec_agree_outside_scale.toml line 19, column scale.agree: agree code \"6\" is outside the scale from 1 to 5"]),
    case!("spec_missing_inside_scale.toml", 3, ["spec_missing_inside_scale.toml line 20, column scale.missing: missing code \"3\" is a valid answer on the scale of statement \"aligned\" (from 1 to 7); missing codes must lie outside it"]),
    case!("spec_agree_missing_overlap.toml", 3, ["spec_agree_missing_overlap.toml line 25, column statements.understands.missing: missing code \"4\" is also an agree code"]),
    case!("spec_no_scale.toml", 3, ["spec_no_scale.toml line 21, column statements.understands.points: no scale: set `points`"]),
    case!("spec_no_statements.toml", 3, ["spec_no_statements.toml column statements: the spec has no statements: add at least one [statements.<id>] table"]),
    case!("spec_column_twice.toml", 3, ["spec_column_twice.toml line 23, column statements.understands.column: column \"Q1\" is used by both statements \"aligned\" and \"understands\""]),
    case!("spec_role_column_twice.toml", 3, ["spec_role_column_twice.toml line 11, column respondent.segments: column \"function\" is used both as `group` and as `segments`"]),
    case!("spec_bad_encoding.toml", 3, ["spec_bad_encoding.toml line 5, column encoding: \"klingon\" is not a supported encoding (utf-8, utf-16, windows-1252, latin-1"]),
    case!("spec_bad_delimiter.toml", 3, ["spec_bad_delimiter.toml line 5, column delimiter: \";;\" is not a valid delimiter (one ASCII character"]),
    case!("spec_source_missing.toml", 3, ["spec_source_missing.toml line 5, column source: source \"no_such_file.csv\" cannot be read: no such file"]),
    case!("spec_source_directory.toml", 3, ["spec_source_directory.toml line 5, column source: source \"a_directory.csv\" is not a file"]),
    case!("no_such_spec.toml", 3, ["no_such_spec.toml: cannot read the wave spec: no such file"]),
    case!(["spec_twin_a.toml", "spec_twin_b.toml"], 3, ["spec_twin_b.toml line 2, column wave: wave \"twin\" is also defined by spec_twin_a.toml"]),
    // Store URLs.
    case!(store "s3://", 3, ["s3://", "not a usable store URL: an s3 URL needs a bucket"]),
    case!(store "ftp://x", 3, ["ftp://x", "not a usable store URL: unsupported scheme \"ftp\""]),
    case!(store "s3://a b/c", 3, ["s3://a b/c", "not a usable store URL"]),
    case!(store "", 3, ["not a usable store URL: it is empty"]),
];

fn bad_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/bad")
}

fn gaptrack(store: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gaptrack"))
        .current_dir(bad_dir())
        .env_remove("GAPTRACK_STORE")
        .env_remove("GAPTRACK_LOG")
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn every_bad_input_is_refused_with_its_place_and_leaves_the_store_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let store = store.to_str().unwrap();
    let o = gaptrack(store, &["ingest", "good.toml"]);
    assert!(o.status.success(), "the good wave: {}", stderr(&o));
    let before = snapshot(Path::new(store));
    assert!(before.len() > 5, "the store has files");

    let mut failures = Vec::new();
    for c in CASES {
        let mut args = vec!["ingest"];
        args.extend_from_slice(c.specs);
        let o = gaptrack(c.store.unwrap_or(store), &args);
        let err = stderr(&o);
        let first = err.lines().next().unwrap_or("");
        let mut why = Vec::new();
        if o.status.code() != Some(c.code) {
            why.push(format!("exit {:?}, expected {}", o.status.code(), c.code));
        }
        if err.contains("panicked") {
            why.push("panicked".into());
        }
        if !first.starts_with("error: ") {
            why.push("the first line does not start with `error: `".into());
        }
        for piece in c.first {
            if !first.contains(piece) {
                why.push(format!("missing {piece:?}"));
            }
        }
        if !o.stdout.is_empty() {
            why.push(format!(
                "wrote to stdout: {}",
                String::from_utf8_lossy(&o.stdout)
            ));
        }
        if snapshot(Path::new(store)) != before {
            why.push("the store changed".into());
        }
        if !why.is_empty() {
            failures.push(format!(
                "{:?}: {}\n    first line: {first}",
                c.specs,
                why.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// Every bad fixture is in the table (and every spec of the table exists), so the
/// catalogue and the directory cannot drift apart.
#[test]
fn the_catalogue_covers_every_fixture() {
    let listed: Vec<&str> = CASES.iter().flat_map(|c| c.specs.iter().copied()).collect();
    for e in std::fs::read_dir(bad_dir()).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".toml") && name != "good.toml" && !name.starts_with("ok_") {
            assert!(listed.contains(&name.as_str()), "{name} is not in CASES");
        }
    }
    for s in listed {
        assert!(
            s == "no_such_spec.toml" || bad_dir().join(s).is_file(),
            "{s} does not exist"
        );
    }
}

#[test]
fn the_first_error_is_followed_by_twenty_more_and_a_count() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = gaptrack(store.to_str().unwrap(), &["ingest", "many_errors.toml"]);
    assert_eq!(o.status.code(), Some(3));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    // 30 rows are wrong: the first, 20 more, and the count of the rest.
    assert_eq!(lines.len(), 22, "{err}");
    assert!(lines[0].starts_with("error: many_errors.csv line 2, column Q1"));
    for (i, l) in lines[1..21].iter().enumerate() {
        assert!(
            l.starts_with(&format!("  many_errors.csv line {}, column Q1: ", i + 3)),
            "{l}"
        );
    }
    assert_eq!(lines[21], "  … and 9 more");
    assert!(!store.exists(), "a refused ingest creates no store");
}

#[test]
fn json_errors_carry_file_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let o = gaptrack(
        store.to_str().unwrap(),
        &["--log-format", "json", "ingest", "answer_off_scale.toml"],
    );
    assert_eq!(o.status.code(), Some(3));
    let first = stderr(&o);
    let first = first.lines().next().unwrap();
    for piece in [
        "\"file\":\"answer_off_scale.csv\"",
        "\"line\":4",
        "\"column\":\"Q1\"",
        "\"exit_code\":3",
    ] {
        assert!(first.contains(piece), "{piece} in {first}");
    }
}

/// Real exports that are not errors: BOMs, CRLF and CR line ends, trailing delimiters,
/// Excel's blank rows, "4.0" codes, quoted line breaks, windows-1252, latin-1 and
/// UTF-16 (with its BOM, labelled or not). They load, and their text arrives decoded.
#[test]
fn accepted_exports_load_and_are_decoded() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let store = store.to_str().unwrap();
    let mut specs: Vec<String> = std::fs::read_dir(bad_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("ok_") && n.ends_with(".toml"))
        .collect();
    specs.sort();
    assert!(specs.len() >= 10);
    let mut args = vec!["ingest"];
    args.extend(specs.iter().map(String::as_str));
    let o = gaptrack(store, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        out.matches(": loaded: 5 respondents, 10 rows").count(),
        specs.len(),
        "{out}"
    );
    let q = gaptrack(
        store,
        &[
            "query",
            "SELECT wave, industry FROM responses WHERE statement = 'aligned' \
             AND industry NOT IN ('tech', 'retail', 'finance') ORDER BY wave, respondent",
            "--format",
            "csv",
        ],
    );
    assert!(q.status.success(), "{}", stderr(&q));
    assert_eq!(
        String::from_utf8_lossy(&q.stdout),
        "wave,industry\n\
         ok-latin1,Einzelhändler\n\
         ok-multiline-segment,\"retail\nand wholesale\"\n\
         ok-utf16le-bom-tsv,rétail\n\
         ok-utf16le-bom-unlabelled,rétail\n\
         ok-windows1252-semicolon,Cafés\n\
         ok-windows1252-semicolon,Cafés\n\
         ok-windows1252-semicolon,Cafés\n"
    );
    // Loaded again unchanged: the source hash is the hash of the file's bytes.
    let o = gaptrack(store, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches(": unchanged").count(), specs.len(), "{out}");
}

#[test]
fn dry_run_prints_the_summary_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let store_s = store.to_str().unwrap();
    let o = gaptrack(store_s, &["ingest", "good.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let before = snapshot(&store);
    let o = gaptrack(store_s, &["ingest", "--dry-run", "ok_bom_crlf.toml"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(
        lines[0]
            .starts_with("ok-bom-crlf: valid (dry run; nothing written): 5 respondents, 10 rows ("),
        "{out}"
    );
    assert_eq!(lines[1], "  respondents by group: marketing 2, sales 3");
    // r3 answered Q1 with the missing code 9, r4 left it empty.
    assert_eq!(
        lines[2],
        "  missing answers by statement: aligned 0, understands 2"
    );
    assert_eq!(snapshot(&store), before, "a dry run writes nothing");
}

/// A store that cannot be reached is not invalid input: it exits 1 (anything else), so a
/// scheduler may retry, and the message names the store.
#[test]
fn an_unreachable_store_exits_1_and_names_it() {
    let o = Command::new(env!("CARGO_BIN_EXE_gaptrack"))
        .current_dir(bad_dir())
        .env_remove("GAPTRACK_STORE")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env("AWS_ALLOW_HTTP", "true")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .args(["--store", "s3://bucket/prefix", "ingest", "good.toml"])
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let first = err.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error: ") && first.contains("s3://bucket/prefix"),
        "{first}"
    );
    assert!(!err.contains("panicked"), "{err}");
}
