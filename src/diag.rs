//! Input diagnostics: what every reader of user input (specs, configs, data files) needs
//! to word its problems. Values are quoted the same way everywhere ([`quote`],
//! [`quote_bytes`]), I/O failures are said in a person's words ([`io_reason`]), spec lines
//! are counted from byte offsets ([`line_of`], [`Problems`]). The bounded collector of an
//! input's problems is [`Invalid`] (see [`Invalid::push`]), re-exported here with
//! [`InputError`] so a reader finds its diagnostics in one place.

use std::ops::Range;

pub use crate::error::{InputError, Invalid, MAX_ERRORS};

/// Quotes a value for a message (at most 60 characters).
pub(crate) fn quote(v: &str) -> String {
    let mut s: String = v.chars().take(60).collect();
    if v.chars().count() > 60 {
        s.push('…');
    }
    format!("{s:?}")
}

/// Quotes bytes that may not be UTF-8: invalid bytes are shown as `\xE9`.
pub(crate) fn quote_bytes(b: &[u8]) -> String {
    quote_bytes_max(b, 60)
}

/// [`quote_bytes`] with at most `max` characters.
pub(crate) fn quote_bytes_max(b: &[u8], max: usize) -> String {
    let mut s = String::new();
    let mut chars = 0;
    'outer: for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if chars == max {
                s.push('…');
                break 'outer;
            }
            s.extend(c.escape_debug());
            chars += 1;
        }
        for byte in chunk.invalid() {
            if chars == max {
                s.push('…');
                break 'outer;
            }
            s.push_str(&format!("\\x{byte:02X}"));
            chars += 1;
        }
    }
    format!("\"{s}\"")
}

/// A message for bytes that are not UTF-8.
pub(crate) fn not_utf8(value: &[u8], e: std::str::Utf8Error) -> String {
    let byte = value[e.valid_up_to()..].first().copied().unwrap_or(0);
    format!(
        "{} is not valid UTF-8 (byte 0x{byte:02X}); set `encoding` in the spec to the file's encoding (e.g. encoding = \"windows-1252\" for Excel exports)",
        quote_bytes(value)
    )
}

/// A failure to read a file, in a person's words.
pub(crate) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        _ => e.to_string(),
    }
}

/// Collects problems with their spec line.
pub(crate) struct Problems<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
    list: Vec<InputError>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(file: &'a str, text: &'a str) -> Self {
        Problems {
            file,
            text,
            list: Vec::new(),
        }
    }

    pub(crate) fn at(&mut self, span: Range<usize>, key: &str, msg: impl Into<String>) {
        let line = line_of(self.text, span.start);
        let e = InputError::new(self.file, msg)
            .line(line)
            .column(key.to_string());
        // The default [scale] is checked once per statement: say each problem once.
        if !self.list.contains(&e) {
            self.list.push(e);
        }
    }
    pub(crate) fn top(&mut self, key: &str, msg: impl Into<String>) {
        self.list
            .push(InputError::new(self.file, msg).column(key.to_string()));
    }
    /// Every problem recorded (none is dropped), in the order of the file; problems of a
    /// missing key (no line) after. `None` when there is none.
    pub(crate) fn finish(mut self) -> Option<Invalid> {
        self.list.sort_by_key(|e| e.line.unwrap_or(u64::MAX));
        if self.list.is_empty() {
            return None;
        }
        let total = self.list.len();
        Some(Invalid {
            errors: self.list,
            total,
        })
    }
}

/// 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> u64 {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote_bytes(b"Caf\xE9"), "\"Caf\\xE9\"");
        assert_eq!(quote_bytes("a\"b\n".as_bytes()), "\"a\\\"b\\n\"");
        assert_eq!(quote(&"x".repeat(70)), format!("\"{}…\"", "x".repeat(60)));
    }
}
