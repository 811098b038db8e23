//! Turning a source file into the text the CSV reader sees.
//!
//! [`decoder`] yields UTF-8 bytes: a UTF-8 BOM is always skipped; a UTF-16 BOM (LE or BE)
//! always selects UTF-16, whatever the spec says (Excel's "Unicode text"); other encodings
//! (Excel's windows-1252, latin-1, UTF-16 without BOM) are transcoded on the fly from the
//! spec's `encoding`. UTF-8 is passed through unchanged, so the reader can report invalid
//! UTF-8 with its line.
//!
//! [`Tracked`] then normalizes line ends (CRLF and a lone CR, as written by Excel for Mac,
//! become LF, so the CSV reader counts lines as an editor does) and follows the CSV
//! quoting rules byte by byte, to know on which line each record starts (the CSV reader
//! only knows where the previous one ended, which is off after blank lines) and whether
//! the file ended inside a quoted field (which the CSV reader silently accepts).
//!
//! The helpers after them read CSV records over a [`Tracked`] source (the header, the line
//! of a record and of each field, blank and ragged rows, unclosed quotes) for the readers
//! of CSV-shaped formats.

use std::collections::VecDeque;
use std::io::{self, Cursor, Read};

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

use crate::diag::{not_utf8, quote, quote_bytes, quote_bytes_max};
use crate::error::{Error, InputError, Result};
use crate::spec::encoding_for;

/// Wraps the raw bytes of a source into a reader of UTF-8 bytes (see the module docs).
/// Only the first three bytes are read here, to look for a BOM.
pub fn decoder<'a, R: Read + 'a>(mut inner: R, encoding: &str) -> io::Result<Box<dyn Read + 'a>> {
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < head.len() {
        match inner.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    let head = &head[..n];
    let bom = Encoding::for_bom(head);
    let enc = match bom {
        Some((e, _)) => e,
        None => encoding_for(encoding).unwrap_or(encoding_rs::UTF_8),
    };
    if enc == encoding_rs::UTF_8 {
        let skip = bom.map(|(_, len)| len).unwrap_or(0);
        Ok(Box::new(Cursor::new(head[skip..].to_vec()).chain(inner)))
    } else {
        let r = DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_override(true)
            .strip_bom(true)
            .build(Cursor::new(head.to_vec()).chain(inner));
        Ok(Box::new(r))
    }
}

/// Where the CSV state machine is (csv-core's, with its default quoting: `"` opens a
/// quoted field only at the start of a field, `""` inside one is a quote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StartRecord,
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

/// A reader that normalizes line ends and tracks records and quotes (see the module docs).
pub struct Tracked<R> {
    inner: R,
    delimiter: u8,
    /// The previous input byte was a CR (turned into LF): an LF right after it is dropped.
    after_cr: bool,
    state: State,
    /// 1-based line of the next byte.
    line: u64,
    /// Records started so far.
    records: u64,
    /// 0-based field index within the current record.
    field: usize,
    /// The start line of records the consumer has not taken yet.
    starts: VecDeque<u64>,
    /// Where the current quoted field opened: (record index, line, field index).
    quote: (u64, u64, usize),
    eof: bool,
}

impl<R: Read> Tracked<R> {
    pub fn new(inner: R, delimiter: u8) -> Self {
        Tracked {
            inner,
            delimiter,
            after_cr: false,
            state: State::StartRecord,
            line: 1,
            records: 0,
            field: 0,
            starts: VecDeque::new(),
            quote: (0, 0, 0),
            eof: false,
        }
    }

    /// The start line of the next record the CSV reader returned (call once per record,
    /// in order).
    pub fn take_record_line(&mut self) -> Option<u64> {
        self.starts.pop_front()
    }

    /// Where a quoted field that was never closed opened, as (line, field index), when
    /// the input ended inside it and it belongs to record `record` (0-based, the header
    /// is record 0).
    pub fn unclosed_quote(&self, record: u64) -> Option<(u64, usize)> {
        (self.eof && self.state == State::InQuoted && self.quote.0 == record)
            .then_some((self.quote.1, self.quote.2))
    }

    /// Lines seen so far (the last line number of the input once it has been read).
    pub fn lines(&self) -> u64 {
        self.line
    }

    #[inline]
    fn end_field_or_record(&mut self, b: u8) -> bool {
        if b == self.delimiter {
            self.field += 1;
            self.state = State::StartField;
            true
        } else if b == b'\n' {
            self.field = 0;
            self.state = State::StartRecord;
            true
        } else {
            false
        }
    }

    #[inline]
    fn track(&mut self, b: u8) {
        if self.state == State::StartRecord && b != b'\n' {
            self.starts.push_back(self.line);
            self.records += 1;
            self.field = 0;
            self.state = State::StartField;
        }
        match self.state {
            State::StartRecord => {}
            State::StartField => {
                if b == b'"' {
                    self.state = State::InQuoted;
                    self.quote = (self.records - 1, self.line, self.field);
                } else if !self.end_field_or_record(b) {
                    self.state = State::InField;
                }
            }
            State::InField => {
                self.end_field_or_record(b);
            }
            State::InQuoted => {
                if b == b'"' {
                    self.state = State::QuoteInQuoted;
                }
            }
            State::QuoteInQuoted => {
                if b == b'"' {
                    self.state = State::InQuoted;
                } else if !self.end_field_or_record(b) {
                    self.state = State::InField;
                }
            }
        }
        if b == b'\n' {
            self.line += 1;
        }
    }
}

impl<R: Read> Tracked<R> {
    /// Tracks a run of bytes without line ends, carriage returns or quotes: only
    /// delimiters and ordinary bytes. The state after it follows from its first and last
    /// byte and its number of delimiters (what [`Tracked::track`] would find byte by byte).
    fn track_plain(&mut self, run: &[u8]) {
        let Some((&first, rest)) = run.split_first() else {
            return;
        };
        match self.state {
            State::InQuoted => {}
            State::StartRecord | State::QuoteInQuoted => {
                self.track(first);
                self.track_plain(rest);
            }
            State::StartField | State::InField => {
                self.field += run.iter().filter(|&&b| b == self.delimiter).count();
                self.state = if run.last() == Some(&self.delimiter) {
                    State::StartField
                } else {
                    State::InField
                };
            }
        }
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let n = self.inner.read(buf)?;
            if n == 0 {
                if !buf.is_empty() {
                    self.eof = true;
                }
                return Ok(0);
            }
            // Runs of plain bytes are tracked (and kept in place) whole; line ends, CRs
            // and quotes one by one.
            let (mut r, mut w) = (0, 0);
            while r < n {
                if self.after_cr {
                    self.after_cr = false;
                    if buf[r] == b'\n' {
                        r += 1;
                        continue;
                    }
                }
                let p = memchr::memchr3(b'\n', b'\r', b'"', &buf[r..n]).map_or(n, |k| r + k);
                self.track_plain(&buf[r..p]);
                if w != r {
                    buf.copy_within(r..p, w);
                }
                w += p - r;
                if p < n {
                    let mut b = buf[p];
                    if b == b'\r' {
                        b = b'\n';
                        self.after_cr = true;
                    }
                    self.track(b);
                    buf[w] = b;
                    w += 1;
                }
                r = p + 1;
            }
            // All that was read was the LF of a CRLF: read on (0 would mean the end).
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

/// Lines taken by the fields before field `i` of a record (quoted fields may span lines):
/// added to the record's start line, the line of field `i`.
pub(crate) fn lines_before(record: &csv::ByteRecord, i: usize) -> u64 {
    record
        .iter()
        .take(i)
        .map(|f| f.iter().filter(|&&b| b == b'\n').count() as u64)
        .sum()
}

/// `true` for a row with nothing in it but delimiters and spaces (Excel writes `,,,,` for
/// rows that were only formatted): not a respondent.
pub(crate) fn is_blank_record(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.trim_ascii().is_empty())
}

/// The message for a row whose number of fields differs from the header's, or `None`
/// when the row fits (extra fields that are all empty, from a trailing delimiter, are
/// tolerated).
pub(crate) fn width_problem(record: &csv::ByteRecord, header: &[String]) -> Option<String> {
    let width = header.len();
    let n = record.len();
    if n < width {
        let next = header.get(n).map(String::as_str).unwrap_or("");
        Some(format!(
            "the row has {n} fields but the header has {width}: no value for column {} onwards (a missing delimiter, or a line break inside an unquoted field?)",
            quote(next)
        ))
    } else if n > width {
        let extra = record
            .iter()
            .skip(width)
            .find(|f| !f.trim_ascii().is_empty())?;
        Some(format!(
            "the row has {n} fields but the header has {width}: extra value {} (a stray delimiter, a decimal comma, or an unquoted field containing a delimiter?)",
            quote_bytes(extra.trim_ascii())
        ))
    } else {
        None
    }
}

/// The error for a quoted field that runs to the end of the input.
pub(crate) fn unclosed_quote_error(
    shown: &str,
    line: u64,
    column: Option<&str>,
    value: Option<&[u8]>,
) -> InputError {
    let start = value
        .map(|v| format!(" ({} runs to the end of the file)", quote_bytes_max(v, 30)))
        .unwrap_or_default();
    let mut e = InputError::new(
        shown,
        format!(
            "a quoted field starting on line {line} is never closed{start}; add the closing quote (a quote inside a quoted field is written \"\")"
        ),
    )
    .line(line);
    if let Some(c) = column.filter(|c| !c.is_empty()) {
        e = e.column(c);
    }
    e
}

/// [`decoder`] for the source named `shown`: a read error is an input error of the source.
pub(crate) fn decode_source<'a, R: Read + 'a>(
    inner: R,
    encoding: &str,
    shown: &str,
) -> Result<Box<dyn Read + 'a>> {
    decoder(inner, encoding).map_err(|e| {
        Error::input(InputError::new(
            shown,
            format!("cannot read the source: {e}"),
        ))
    })
}

/// The CSV records of a decoded source, its lines tracked: no header row is taken for
/// granted and records of any width are read (each reader checks the width itself).
pub(crate) fn csv_records<R: Read>(text: R, delimiter: u8) -> csv::Reader<Tracked<R>> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 20)
        .from_reader(Tracked::new(text, delimiter))
}

/// Reads a CSV source's header row into `record`: the line it starts on and its names,
/// trimmed (a byte-order mark too). `empty` is the message for a file without rows.
pub(crate) fn read_header<R: Read>(
    rdr: &mut csv::Reader<Tracked<R>>,
    record: &mut csv::ByteRecord,
    shown: &str,
    empty: &str,
) -> Result<(u64, Vec<String>)> {
    match rdr.read_byte_record(record) {
        Ok(false) => return Err(Error::input(InputError::new(shown, empty.to_string()))),
        Err(e) => return Err(csv_error(shown, &e)),
        Ok(true) => {}
    }
    let line = record_line(rdr, record);
    if let Some((qline, i)) = rdr.get_ref().unclosed_quote(0) {
        return Err(Error::input(unclosed_quote_error(
            shown,
            qline,
            None,
            record.get(i),
        )));
    }
    let mut names = Vec::with_capacity(record.len());
    for (i, f) in record.iter().enumerate() {
        match std::str::from_utf8(f) {
            Ok(s) => names.push(s.trim().trim_start_matches('\u{feff}').trim().to_string()),
            Err(e) => {
                return Err(Error::input(
                    InputError::new(shown, format!("header field {}: {}", i + 1, not_utf8(f, e)))
                        .line(line + lines_before(record, i)),
                ))
            }
        }
    }
    Ok((line, names))
}

/// Reads the next data record of a CSV file, after the checks every CSV reader makes: a
/// read error, a blank record or a wrong width is recorded in `errors` (when there is
/// something to say) and skipped; an I/O error or an unclosed quote ends the file.
/// `k` counts the records read. Returns the record's start line, `None` at the end.
pub(crate) fn next_record<R: Read>(
    rdr: &mut csv::Reader<Tracked<R>>,
    record: &mut csv::ByteRecord,
    k: &mut u64,
    shown: &str,
    header: &[String],
    errors: &mut crate::error::Invalid,
) -> Option<u64> {
    loop {
        match rdr.read_byte_record(record) {
            Ok(false) => return None,
            Ok(true) => {}
            Err(e) => {
                errors.push(csv_input_error(shown, &e));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return None;
                }
                continue;
            }
        }
        *k += 1;
        let line = record_line(rdr, record);
        if let Some((qline, i)) = rdr.get_ref().unclosed_quote(*k) {
            errors.push(unclosed_quote_error(
                shown,
                qline,
                header.get(i).map(String::as_str),
                record.get(i),
            ));
            return None;
        }
        if is_blank_record(record) {
            continue;
        }
        if let Some(msg) = width_problem(record, header) {
            errors.push(InputError::new(shown, msg).line(line));
            continue;
        }
        return Some(line);
    }
}

/// The start line of the record just read (as an editor counts it).
pub(crate) fn record_line<R: Read>(
    rdr: &mut csv::Reader<Tracked<R>>,
    record: &csv::ByteRecord,
) -> u64 {
    match rdr.get_mut().take_record_line() {
        Some(line) => line,
        None => {
            debug_assert!(false, "the line tracker missed a record");
            record.position().map(|p| p.line()).unwrap_or(1)
        }
    }
}

pub(crate) fn csv_input_error(shown: &str, e: &csv::Error) -> InputError {
    let line = e.position().map(|p| p.line());
    let msg = match e.kind() {
        csv::ErrorKind::Io(io) => format!("cannot read the source: {io}"),
        other => format!("malformed CSV: {other:?}"),
    };
    let mut ie = InputError::new(shown, msg);
    ie.line = line;
    ie
}

fn csv_error(shown: &str, e: &csv::Error) -> Error {
    Error::input(csv_input_error(shown, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8], enc: &str) -> String {
        let mut out = String::new();
        decoder(bytes, enc)
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn boms_and_encodings() {
        assert_eq!(decode(b"\xEF\xBB\xBFa,b\n", "utf-8"), "a,b\n");
        assert_eq!(decode(b"\xEF\xBB\xBFa,b\n", "windows-1252"), "a,b\n");
        assert_eq!(decode(b"caf\xE9\n", "windows-1252"), "caf\u{e9}\n");
        assert_eq!(decode(b"caf\xE9\n", "latin-1"), "caf\u{e9}\n");
        // UTF-16LE with BOM, whatever the label.
        let mut le = vec![0xFF, 0xFE];
        for u in "é,1\n".encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode(&le, "utf-8"), "é,1\n");
        assert_eq!(decode(&le, "utf-16"), "é,1\n");
        // UTF-16BE with BOM.
        let mut be = vec![0xFE, 0xFF];
        for u in "x\n".encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(decode(&be, "utf-8"), "x\n");
        // UTF-16 without BOM: little endian, as the label says.
        assert_eq!(decode(&le[2..], "utf-16"), "é,1\n");
        // Short inputs.
        assert_eq!(decode(b"", "utf-8"), "");
        assert_eq!(decode(b"a", "utf-16"), "\u{fffd}");
        let mut raw = Vec::new();
        decoder(&b"\xEF\xBB"[..], "utf-8")
            .unwrap()
            .read_to_end(&mut raw)
            .unwrap();
        assert_eq!(raw, b"\xEF\xBB");
        let supported = |l: &str| encoding_for(l).is_some();
        assert!(supported("latin-1") && supported("UTF-16") && supported("cp1252"));
        assert!(!supported("klingon") && !supported("replacement"));
    }

    type Tracking = (String, Vec<u64>, Option<(u64, usize)>, u64);

    /// What the tracker makes of `text` read `size` bytes at a time.
    fn track_by(text: &[u8], size: usize) -> Tracking {
        let mut t = Tracked::new(text, b',');
        let mut out = Vec::new();
        let mut buf = vec![0u8; size];
        loop {
            let n = t.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        let starts: Vec<u64> = t.starts.iter().copied().collect();
        let unclosed = t.unclosed_quote(t.records.saturating_sub(1));
        (String::from_utf8(out).unwrap(), starts, unclosed, t.records)
    }

    /// The same read in small reads (CRLF pairs across read boundaries) and large ones
    /// (runs of plain bytes tracked whole).
    fn track(text: &[u8]) -> Tracking {
        let one = track_by(text, 1);
        for size in [2, 3, 7, 4096] {
            assert_eq!(track_by(text, size), one, "reads of {size} bytes");
        }
        one
    }

    #[test]
    fn line_ends_and_record_starts() {
        let (s, starts, q, _) = track(b"a,b\r\n1,2\r\n\r\n3,\"x\r\ny\"\r\n4,5");
        assert_eq!(s, "a,b\n1,2\n\n3,\"x\ny\"\n4,5");
        assert_eq!(starts, vec![1, 2, 4, 6]);
        assert_eq!(q, None);
        // Excel for Mac: CR only.
        let (s, starts, _, _) = track(b"a,b\r1,2\r\r3,4\r");
        assert_eq!(s, "a,b\n1,2\n\n3,4\n");
        assert_eq!(starts, vec![1, 2, 4]);
        // Blank lines before and between records.
        let (_, starts, _, _) = track(b"\n\na,b\n1,2\n\n\n3,4\n");
        assert_eq!(starts, vec![3, 4, 7]);
    }

    #[test]
    fn unclosed_quote_at_end() {
        let (_, starts, q, records) = track(b"a,b\n1,\"never\nclosed,2\n3,4\n");
        assert_eq!(starts, vec![1, 2]);
        assert_eq!(records, 2);
        assert_eq!(q, Some((2, 1)));
        // A doubled quote is a quote; the field is closed.
        let (_, _, q, _) = track(b"a,b\n1,\"x\"\"y\"\n");
        assert_eq!(q, None);
        // A quote inside an unquoted field is a character.
        let (_, _, q, _) = track(b"a,b\n1,x\"y\n");
        assert_eq!(q, None);
        // Ends right after an opening quote.
        let (_, _, q, _) = track(b"a,b\n1,\"");
        assert_eq!(q, Some((2, 1)));
    }
}
