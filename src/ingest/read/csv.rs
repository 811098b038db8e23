//! Qualtrics CSV exports (`format = "qualtrics"`): row 1 the column names (`ResponseId`,
//! `Q5_1`, …), row 2 the question texts, row 3 the ImportIds as JSON
//! (`{"ImportId":"QID5_1"}`), the responses from row 4. Only the two extra header rows
//! are specific: the records are read and validated as any CSV
//! (see [`super::validate`]).

use std::io::Read;

use super::text::{
    csv_input_error, decoder, is_blank_record, lines_before, next_record, read_header, record_line,
    unclosed_quote_error, Tracked,
};
use super::validate::{
    available, find_columns, missing_columns_error, respondent, Fields, HashingReader, Loc, Row,
    Summary, Validator,
};
use crate::diag::quote_bytes;
use crate::error::{Error, InputError, Result};
use crate::spec::{Format, WaveSpec};

/// What to do when answers are words: the export was made with choice text.
pub(crate) const CHOICE_TEXT_HINT: &str = " (a Qualtrics export with choice text? gaptrack reads numeric exports only: export the data as CSV with \"Use numeric values\")";

const HOW: &str = "a Qualtrics export has three header rows (column names, question texts, ImportIds such as {\"ImportId\":\"QID5_1\"}) and the responses from line 4: export the data as CSV with \"Use numeric values\" and the default header rows, or set format = \"csv\" for a file with one header row";

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

/// Reads and checks the question-text and ImportId rows after the header. Returns the
/// number of records read (for the quote tracker) and the line of the ImportId row.
pub(crate) fn header_rows<R: Read>(
    shown: &str,
    rdr: &mut csv::Reader<Tracked<R>>,
    record: &mut csv::ByteRecord,
    header: &[String],
) -> Result<(u64, u64)> {
    let mut line = 1;
    for k in 1..=2u64 {
        match rdr.read_byte_record(record) {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::input(
                    InputError::new(shown, format!("the file ends after {k} row(s); {HOW}"))
                        .line(line),
                ))
            }
            Err(e) => return Err(Error::input(csv_input_error(shown, &e))),
        }
        line = record_line(rdr, record);
        if let Some((qline, i)) = rdr.get_ref().unclosed_quote(k) {
            return Err(Error::input(unclosed_quote_error(
                shown,
                qline,
                header.get(i).map(String::as_str),
                record.get(i),
            )));
        }
    }
    // Row 3: every non-empty cell is an ImportId.
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
        .line(line + lines_before(record, i));
        if let Some(c) = header.get(i).filter(|c| !c.is_empty()) {
            e = e.column(c);
        }
        return Err(Error::input(e));
    }
    Ok((2, line))
}

/// A CSV record as [`Fields`]: quoted fields may span lines.
struct CsvFields<'r> {
    record: &'r csv::ByteRecord,
    line: u64,
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

/// The CSV/TSV/Qualtrics record source.
pub(super) fn read<R: Read>(
    spec: &WaveSpec,
    source: R,
    shown: &str,
    weights: Option<&[f64]>,
    mut on_row: impl FnMut(&Row) -> Result<()>,
) -> Result<Summary> {
    use sha2::Digest;
    let file_err = |msg: String| Error::input(InputError::new(shown, msg));
    let resp = respondent(spec)?;
    let qualtrics = spec.format == Format::Qualtrics;
    let mut hashing = HashingReader::new(source);
    let text = decoder(&mut hashing, &spec.encoding)
        .map_err(|e| file_err(format!("cannot read the source: {e}")))?;
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(spec.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(Tracked::new(text, spec.delimiter));

    let mut record = csv::ByteRecord::new();

    let (header_line, header) = read_header(
        &mut rdr,
        &mut record,
        shown,
        "the file is empty: expected a header row and data rows",
    )?;
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
    // A Qualtrics export's extra header rows are checked first: a file without them
    // would otherwise be reported as missing the spec's columns.
    let mut k: u64 = 0;
    let mut last_header_line = header_line;
    if qualtrics {
        (k, last_header_line) = header_rows(shown, &mut rdr, &mut record, &header)?;
    }
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

    while let Some(line) = next_record(&mut rdr, &mut record, &mut k, shown, &header, &mut v.errors)
    {
        v.record(
            &CsvFields {
                record: &record,
                line,
            },
            &mut on_row,
        )?;
    }
    debug_assert!(
        rdr.get_mut().take_record_line().is_none() || v.failed(),
        "the line tracker saw more records than the CSV reader"
    );
    drop(rdr);
    let no_rows = if qualtrics {
        InputError::new(
            shown,
            "the file has its three Qualtrics header rows but no responses: expected one row per respondent from line 4",
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
    summary.bytes = hashing.bytes;
    summary.source_sha256 = hex::encode(hashing.hasher.finalize());
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
