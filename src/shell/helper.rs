//! What the shell's line editor knows of SQL: Tab completes table, view, column and
//! function names, SQL keywords and dot commands. (Lines are joined into statements by
//! the shell's loop, which shows the continuation prompt until the `;`.)

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Helper};

/// The words Tab offers, gathered once when the shell opens its session.
#[derive(Debug, Default, Clone)]
pub struct SqlHelper {
    words: Vec<String>,
}

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP BY",
    "ORDER BY",
    "HAVING",
    "LIMIT",
    "JOIN",
    "LEFT JOIN",
    "ON",
    "AND",
    "OR",
    "NOT",
    "AS",
    "DISTINCT",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "WITH",
    "UNION ALL",
    "DESC",
    "ASC",
    "COUNT",
    "NULL",
    "IS",
    "IN",
    "BETWEEN",
    "LIKE",
    "OVER",
    "PARTITION BY",
    "SHOW TABLES",
    "SHOW COLUMNS FROM",
    "DESCRIBE",
    "EXPLAIN",
];

/// Dot commands, as Tab offers them at the start of a line.
pub const DOT_COMMANDS: &[&str] = &[
    ".tables", ".schema", ".format", ".output", ".timer", ".help", ".quit", ".exit",
];

impl SqlHelper {
    /// A helper offering `names` (tables, views, columns, functions) besides the SQL
    /// keywords and the dot commands.
    pub fn new(names: impl IntoIterator<Item = String>) -> SqlHelper {
        let mut words: Vec<String> = names.into_iter().collect();
        words.extend(KEYWORDS.iter().map(|k| k.to_string()));
        words.extend(DOT_COMMANDS.iter().map(|k| k.to_string()));
        words.sort();
        words.dedup();
        SqlHelper { words }
    }

    /// The start of the word before `pos` and the words that complete it (keywords in
    /// the case the user types them in).
    pub fn candidates(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let head = &line[..pos];
        let start = head
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &head[start..];
        if word.is_empty() {
            return (start, Vec::new());
        }
        let lower = word.to_lowercase();
        let upper = word.chars().next().is_some_and(char::is_uppercase);
        let found = self
            .words
            .iter()
            .filter(|w| w.to_lowercase().starts_with(&lower))
            .filter(|w| !w.starts_with('.') || start == 0)
            .map(|w| match w.chars().next() {
                Some(c) if c.is_uppercase() && !upper => w.to_lowercase(),
                _ => w.clone(),
            })
            .collect();
        (start, found)
    }
}

impl Completer for SqlHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let (start, words) = self.candidates(line, pos);
        let pairs = words
            .into_iter()
            .map(|w| Pair {
                display: w.clone(),
                replacement: w,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Validator for SqlHelper {}

impl Hinter for SqlHelper {
    type Hint = String;
}

impl Highlighter for SqlHelper {}

impl Helper for SqlHelper {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completes_names_keywords_and_dot_commands() {
        let h = SqlHelper::new(["gap_trend".to_string(), "gaps".into(), "group_a".into()]);
        assert_eq!(
            h.candidates("SELECT * FROM gap_t", 19),
            (14, vec!["gap_trend".to_string()])
        );
        assert_eq!(
            h.candidates("select gr", 9),
            (7, vec!["group by".to_string(), "group_a".into()])
        );
        assert_eq!(h.candidates("SEL", 3), (0, vec!["SELECT".to_string()]));
        assert_eq!(h.candidates(".sch", 4), (0, vec![".schema".to_string()]));
        assert_eq!(h.candidates("SELECT .sch", 11).1, Vec::<String>::new());
        assert_eq!(h.candidates("SELECT ", 7).1, Vec::<String>::new());
    }
}
