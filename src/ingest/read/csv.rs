//! CSV and TSV, and Qualtrics CSV exports (`format = "qualtrics"`). A current Qualtrics
//! export has three header rows: row 1 the column names (`ResponseId`, `Q5_1`, …), row 2
//! the question texts, row 3 the ImportIds as JSON (`{"ImportId":"QID5_1"}`), the
//! responses from row 4. A legacy export has two: row 1 the column ids (`V1`, `Q1`, …),
//! row 2 the field names and question texts (`ResponseID`, `Status`, …); its columns may
//! be named by either row. Only the extra header rows are specific: the records are read
//! and validated as any CSV (see [`super::validate`]).

use std::io::Read;

use super::text::{
    csv_input_error, csv_records, decode_source, is_blank_record, lines_before, next_record,
    read_header, record_line, unclosed_quote_error, width_problem, Tracked,
};
use super::validate::{
    available, find_columns, missing_columns_error, needed_columns, respondent, Fields,
    HashingReader, Loc, Row, Summary, Validator,
};
use crate::diag::quote_bytes;
use crate::error::{Error, InputError, Result};
use crate::spec::{Format, WaveSpec};

/// What to do when answers are words: the export was made with choice text.
pub(crate) const CHOICE_TEXT_HINT: &str = " (a Qualtrics export with choice text? map each choice text to its code in [scale.labels], or export the data as CSV with \"Use numeric values\")";

const HOW: &str = "a Qualtrics export has three header rows (column names, question texts, ImportIds such as {\"ImportId\":\"QID5_1\"}) and the responses from line 4, or, exported in the legacy format, two (column ids such as V1 and Q1, then field names and question texts) and the responses from line 3: export the data as CSV with the default header rows, or set format = \"csv\" for a file with one header row";

/// `true` for a Qualtrics ImportId cell: a JSON object with a string `ImportId`.
fn is_import_id(field: &[u8]) -> bool {
    let t = field.trim_ascii();
    if !t.starts_with(b"{") {
        return false;
    }
    match serde_json::from_slice::<serde_json::Value>(t) {
        Ok(serde_json::Value::Object(m)) => m.get("ImportId").is_some_and(|v| v.is_string()),
        _ => false,
    }
}

/// The header rows of a Qualtrics export after the first, as read.
pub(crate) struct QualtricsHeader {
    /// Records read (for the quote tracker).
    pub(crate) records: u64,
    /// The line of the last header row.
    pub(crate) last_line: u64,
    /// A legacy export: `record` already holds its first data record, which starts on
    /// this line.
    pub(crate) pending: Option<u64>,
}

/// The trimmed text of every field of `record`.
fn texts(record: &csv::ByteRecord) -> Vec<String> {
    record
        .iter()
        .map(|f| String::from_utf8_lossy(f).trim().to_string())
        .collect()
}

/// Reads one header row after the first into `record`; its line.
fn header_row<R: Read>(
    shown: &str,
    rdr: &mut csv::Reader<Tracked<R>>,
    record: &mut csv::ByteRecord,
    header: &[String],
    k: u64,
) -> Result<Option<u64>> {
    match rdr.read_byte_record(record) {
        Ok(true) => {}
        Ok(false) => return Ok(None),
        Err(e) => return Err(Error::input(csv_input_error(shown, &e))),
    }
    let line = record_line(rdr, record);
    if let Some((qline, i)) = rdr.get_ref().unclosed_quote(k) {
        return Err(Error::input(unclosed_quote_error(
            shown,
            qline,
            header.get(i).map(String::as_str),
            record.get(i),
        )));
    }
    Ok(Some(line))
}

/// `true` when `row` (the second row) holds question texts rather than answers: a
/// statement column has text that is neither a number nor a label of its scale, or a
/// column the spec names is found there and not in the first row (a legacy export's
/// field names).
fn holds_texts(spec: &WaveSpec, header: &[String], row: &[String]) -> bool {
    let in_row = |n: &str| row.iter().any(|c| c == n);
    if needed_columns(spec)
        .iter()
        .any(|n| !header.contains(n) && in_row(n))
    {
        return true;
    }
    spec.statements.iter().any(|st| {
        let Some(i) = header
            .iter()
            .position(|h| Some(h.as_str()) == st.column.as_deref())
        else {
            return false;
        };
        let t = row.get(i).map(String::as_str).unwrap_or("");
        !t.is_empty() && t.parse::<f64>().is_err() && st.scale.code_of_label(t).is_none()
    })
}

/// Reads and checks the header rows of a Qualtrics export after the first: the question
/// texts and the ImportIds (current), or the field names and question texts (legacy;
/// `header` then takes the second row's names of the columns the spec names that the
/// first row lacks).
pub(crate) fn header_rows<R: Read>(
    spec: &WaveSpec,
    shown: &str,
    rdr: &mut csv::Reader<Tracked<R>>,
    record: &mut csv::ByteRecord,
    header: &mut [String],
) -> Result<QualtricsHeader> {
    let ends = |k: u64, line: u64| {
        Error::input(
            InputError::new(shown, format!("the file ends after {k} row(s); {HOW}")).line(line),
        )
    };
    let Some(line2) = header_row(shown, rdr, record, header, 1)? else {
        return Err(ends(1, 1));
    };
    let second = texts(record);
    let Some(line3) = header_row(shown, rdr, record, header, 2)? else {
        if holds_texts(spec, header, &second) {
            legacy_names(spec, header, &second);
            return Ok(QualtricsHeader {
                records: 2,
                last_line: line2,
                pending: None,
            });
        }
        return Err(ends(2, line2));
    };
    let any_import_id = record.iter().any(is_import_id);
    if !any_import_id && !is_blank_record(record) && holds_texts(spec, header, &second) {
        legacy_names(spec, header, &second);
        return Ok(QualtricsHeader {
            records: 2,
            last_line: line2,
            pending: Some(line3),
        });
    }
    // Row 3 of a current export: every non-empty cell is an ImportId.
    let bad = if is_blank_record(record) {
        record.iter().enumerate().next()
    } else {
        record
            .iter()
            .enumerate()
            .find(|(_, f)| !f.trim_ascii().is_empty() && !is_import_id(f))
    };
    if let Some((i, f)) = bad {
        let mut e = InputError::new(
            shown,
            format!(
                "{} is not a Qualtrics ImportId; {HOW}",
                quote_bytes(f.trim_ascii())
            ),
        )
        .line(line3 + lines_before(record, i));
        if let Some(c) = header.get(i).filter(|c| !c.is_empty()) {
            e = e.column(c);
        }
        return Err(Error::input(e));
    }
    Ok(QualtricsHeader {
        records: 2,
        last_line: line3,
        pending: None,
    })
}

/// A legacy export's columns named by the second row (`ResponseID`, `Status`) where the
/// first (`V1`, `V7`) does not have the name the spec uses.
fn legacy_names(spec: &WaveSpec, header: &mut [String], second: &[String]) {
    for n in needed_columns(spec) {
        if header.contains(&n) {
            continue;
        }
        let at: Vec<usize> = (0..second.len()).filter(|&i| second[i] == n).collect();
        if let [i] = at[..] {
            if i < header.len() {
                header[i] = n;
            }
        }
    }
}

/// A CSV record as [`Fields`]: quoted fields may span lines.
struct CsvFields<'r> {
    record: &'r csv::ByteRecord,
    line: u64,
}

impl<'r> CsvFields<'r> {
    fn at(record: &'r csv::ByteRecord, line: u64) -> Self {
        CsvFields { record, line }
    }
}

impl Fields for CsvFields<'_> {
    #[inline]
    fn get(&self, i: usize) -> &[u8] {
        &self.record[i]
    }
    fn loc(&self, i: usize) -> Loc {
        Loc::Line(self.line + lines_before(self.record, i))
    }
}

/// Refuses a header row without names, or one that is UTF-16 read as bytes.
fn check_header(header: &[String], shown: &str, header_line: u64) -> Result<()> {
    if header.iter().all(|h| h.is_empty()) {
        return Err(Error::input(
            InputError::new(shown, "the header row is empty: expected column names")
                .line(header_line),
        ));
    }
    if header.iter().any(|h| h.contains('\0')) {
        return Err(Error::input(
            InputError::new(
                shown,
                "the header contains NUL bytes: the file looks like UTF-16 without a BOM; set encoding = \"utf-16\" in the spec",
            )
            .line(header_line),
        ));
    }
    Ok(())
}

/// The CSV/TSV/Qualtrics record source.
pub(super) fn read<R: Read>(
    spec: &WaveSpec,
    source: R,
    shown: &str,
    weights: Option<&[f64]>,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    let resp = respondent(spec)?;
    let qualtrics = spec.format == Format::Qualtrics;
    let mut hashing = HashingReader::new(source);
    let text = decode_source(&mut hashing, &spec.encoding, shown)?;
    let mut rdr = csv_records(text, spec.delimiter);

    let mut record = csv::ByteRecord::new();

    let (header_line, header) = read_header(
        &mut rdr,
        &mut record,
        shown,
        "the file is empty: expected a header row and data rows",
    )?;
    check_header(&header, shown, header_line)?;
    // A Qualtrics export's extra header rows are checked first: a file without them
    // would otherwise be reported as missing the spec's columns.
    let mut header = header;
    let q = if qualtrics {
        Some(header_rows(
            spec,
            shown,
            &mut rdr,
            &mut record,
            &mut header,
        )?)
    } else {
        None
    };
    let k: u64 = q.as_ref().map_or(0, |q| q.records);
    let last_header_line = q.as_ref().map_or(header_line, |q| q.last_line);
    let cols = match find_columns(spec, resp, &header, "is not in the header") {
        Ok(c) => c,
        Err(messages) => {
            return Err(missing_columns_error(
                shown,
                messages,
                &format!("the header has {}", available(&header)),
                Some(Loc::Line(header_line)),
            ))
        }
    };
    let mut v = Validator::new(spec, resp, shown, cols, weights);
    if qualtrics {
        v.not_number_hint = CHOICE_TEXT_HINT;
    }

    // A legacy Qualtrics export's first data record was read with its header rows.
    if let Some(line) = q.and_then(|q| q.pending) {
        match width_problem(&record, &header) {
            Some(msg) => v.errors.push(InputError::new(shown, msg).line(line)),
            None => v.record(&CsvFields::at(&record, line), &mut on_row)?,
        }
    }
    let mut k = k;
    while let Some(line) = next_record(&mut rdr, &mut record, &mut k, shown, &header, &mut v.errors)
    {
        v.record(&CsvFields::at(&record, line), &mut on_row)?;
    }
    debug_assert!(
        rdr.get_mut().take_record_line().is_none() || v.failed(),
        "the line tracker saw more records than the CSV reader"
    );
    drop(rdr);
    let no_rows = if qualtrics {
        InputError::new(
            shown,
            "the file has its Qualtrics header rows but no responses: expected one row per respondent after them",
        )
        .line(last_header_line)
    } else {
        InputError::new(
            shown,
            "the file has a header row but no data rows: expected one row per respondent",
        )
        .line(header_line)
    };
    let mut summary = v.finish(no_rows)?;
    hashing.stamp(&mut summary);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids() {
        assert!(is_import_id(br#"{"ImportId":"QID5_1"}"#));
        assert!(is_import_id(
            br#"{"ImportId":"startDate","timeZone":"America/Denver"}"#
        ));
        assert!(!is_import_id(b"R_1abc"));
        assert!(!is_import_id(b"4"));
        assert!(!is_import_id(br#"{"id":"QID5_1"}"#));
        assert!(!is_import_id(br#"{"ImportId":"#));
    }
}
