//! Qualtrics CSV exports (`format = "qualtrics"`): row 1 the column names (`ResponseId`,
//! `Q5_1`, …), row 2 the question texts, row 3 the ImportIds as JSON
//! (`{"ImportId":"QID5_1"}`), the responses from row 4. Only the two extra header rows
//! are specific: the records are read and validated as any CSV
//! (see [`crate::ingest::microdata`]).

use std::io::Read;

use crate::error::{Error, InputError, Result};
use crate::ingest::decode::Tracked;
use crate::ingest::microdata::{csv_input_error, quote_bytes, record_line, unclosed_quote_error};

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
    let bad = if crate::ingest::microdata::is_blank_record(record) {
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
        .line(line + crate::ingest::microdata::lines_before(record, i));
        if let Some(c) = header.get(i).filter(|c| !c.is_empty()) {
            e = e.column(c);
        }
        return Err(Error::input(e));
    }
    Ok((2, line))
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
