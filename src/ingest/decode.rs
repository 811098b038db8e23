//! Opening a source file as UTF-8 text: a UTF-8 BOM is always tolerated; other encodings
//! (Excel's windows-1252, latin-1, UTF-16 with or without BOM) are transcoded on the fly.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use encoding_rs::Encoding;
use encoding_rs_io::DecodeReaderBytesBuilder;

/// `true` when gaptrack can read this encoding label.
pub fn supported(label: &str) -> bool {
    encoding_for(label).is_some()
}

fn encoding_for(label: &str) -> Option<&'static Encoding> {
    let l = label.trim().to_ascii_lowercase();
    let l = match l.as_str() {
        "latin1" | "latin-1" | "iso-8859-1" | "iso8859-1" => "windows-1252",
        "utf8" => "utf-8",
        "utf16" => "utf-16le",
        "utf-16" => "utf-16le",
        other => other,
    };
    Encoding::for_label(l.as_bytes())
}

/// Opens `path` for reading as UTF-8 bytes. With `utf-8` the bytes are passed through (the
/// reader validates them, so invalid UTF-8 is reported with its line); a BOM is skipped.
pub fn open(path: &Path, encoding: &str) -> std::io::Result<Box<dyn Read + Send>> {
    let file = File::open(path)?;
    let enc = encoding_for(encoding).unwrap_or(encoding_rs::UTF_8);
    if enc == encoding_rs::UTF_8 {
        let mut r = BufReader::with_capacity(1 << 20, file);
        let buf = r.fill_buf()?;
        if buf.starts_with(&[0xEF, 0xBB, 0xBF]) {
            r.consume(3);
        }
        Ok(Box::new(r))
    } else {
        // A BOM, if present, overrides the label (UTF-16 BE/LE files from Excel).
        let r = DecodeReaderBytesBuilder::new()
            .encoding(Some(enc))
            .bom_override(true)
            .build(BufReader::with_capacity(1 << 20, file));
        Ok(Box::new(BufReader::with_capacity(1 << 20, r)))
    }
}
