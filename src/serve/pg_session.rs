//! The statements PostgreSQL clients send besides queries (`SET`, `SHOW`, `BEGIN`, …),
//! the splitting of a simple-protocol message into statements, and the rewriting of
//! PostgreSQL spellings in catalog queries (`pg_catalog.f(…)`, `OPERATOR(pg_catalog.~)`,
//! `::pg_catalog.oid`) into ones DataFusion plans.

use std::sync::{Arc, LazyLock};

use pgwire::api::results::{DataRowEncoder, FieldFormat, FieldInfo, QueryResponse, Response, Tag};
use pgwire::api::Type;
use pgwire::error::PgWireResult;
use regex::Regex;

use crate::error::Error;

/// Settings a client may set without effect on gaptrack's answers.
const HARMLESS_SETTINGS: &[&str] = &[
    "application_name",
    "extra_float_digits",
    "client_encoding",
    "datestyle",
    "intervalstyle",
    "timezone",
    "time zone",
    "search_path",
    "statement_timeout",
    "lock_timeout",
    "idle_in_transaction_session_timeout",
    "client_min_messages",
    "standard_conforming_strings",
    "bytea_output",
    "default_transaction_read_only",
    "default_transaction_isolation",
    "transaction",
    "session characteristics",
    "jit",
    "names",
];

/// What `SHOW` answers for PostgreSQL's settings.
const SHOWN: &[(&str, &str)] = &[
    ("server_version", "16.6"),
    ("server_version_num", "160006"),
    ("server_encoding", "UTF8"),
    ("client_encoding", "UTF8"),
    ("search_path", "public"),
    ("transaction isolation level", "read committed"),
    ("transaction_isolation", "read committed"),
    ("transaction_read_only", "on"),
    ("default_transaction_read_only", "on"),
    ("standard_conforming_strings", "on"),
    ("datestyle", "ISO, MDY"),
    ("intervalstyle", "postgres"),
    ("timezone", "UTC"),
    ("time zone", "UTC"),
    ("max_identifier_length", "63"),
    ("integer_datetimes", "on"),
    ("is_superuser", "off"),
    ("lc_collate", "C"),
    ("lc_ctype", "C"),
    ("application_name", ""),
    ("extra_float_digits", "1"),
];

fn normalized(sql: &str) -> String {
    sql.trim()
        .trim_end_matches(';')
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase()
}

fn shown(sql: &str) -> Option<(&'static str, &'static str)> {
    let n = normalized(sql);
    let name = n.strip_prefix("show ")?.trim_matches('"');
    SHOWN.iter().find(|(k, _)| *k == name).copied()
}

/// The setting a connection picks the store's version with: `SET gaptrack.as_of = 7`
/// (or a timestamp), or `options=-c gaptrack.as_of=7` when it connects.
pub const AS_OF: &str = "gaptrack.as_of";

/// A statement on the connection's version.
#[derive(Debug, PartialEq)]
pub enum AsOfStatement {
    /// `SET gaptrack.as_of = VALUE` (the value unquoted).
    Set(String),
    /// `RESET gaptrack.as_of`, `SET gaptrack.as_of TO DEFAULT`: the server's version.
    Reset,
    /// `SHOW gaptrack.as_of`.
    Show,
}

static SET_AS_OF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?is)^\s*set\s+(?:session\s+)?"?gaptrack\.as_of"?\s*(?:=|\s+to\s+)\s*(.*?)\s*;?\s*$"#,
    )
    .expect("valid regex")
});

/// `sql` as a statement on the connection's version, if it is one.
pub fn as_of_statement(sql: &str) -> Option<AsOfStatement> {
    let n = normalized(sql);
    match n.as_str() {
        "reset gaptrack.as_of" | "reset \"gaptrack.as_of\"" => return Some(AsOfStatement::Reset),
        "show gaptrack.as_of" | "show \"gaptrack.as_of\"" => return Some(AsOfStatement::Show),
        _ => {}
    }
    let value = SET_AS_OF.captures(sql)?.get(1)?.as_str();
    let value = value.trim_matches(|c| c == '\'' || c == '"').trim();
    if value.eq_ignore_ascii_case("default") {
        Some(AsOfStatement::Reset)
    } else {
        Some(AsOfStatement::Set(value.to_string()))
    }
}

/// The version a connection reads: its `gaptrack.as_of` (set by `SET`), else the one in
/// its startup `options` (`-c gaptrack.as_of=7`), else none (the server's).
pub fn connection_as_of(
    metadata: &std::collections::HashMap<String, String>,
) -> Result<Option<crate::sql::AsOf>, String> {
    let from_options = || {
        let options = metadata.get("options")?;
        let words: Vec<&str> = options.split_whitespace().collect();
        words.iter().enumerate().find_map(|(i, w)| {
            let setting = match *w {
                "-c" | "--c" => words.get(i + 1).copied()?,
                w => w.strip_prefix("-c").or_else(|| w.strip_prefix("--"))?,
            };
            setting
                .strip_prefix(AS_OF)?
                .strip_prefix('=')
                .map(str::to_string)
        })
    };
    // Set to empty by RESET: the server's version.
    match metadata.get(AS_OF).cloned().or_else(from_options) {
        Some(v) if !v.is_empty() => crate::sql::AsOf::parse(&v).map(Some),
        _ => Ok(None),
    }
}

/// The answer to a session statement, `None` for anything else. A `SET` of a setting
/// that would change answers is refused like any write.
pub fn session_statement(sql: &str) -> PgWireResult<Option<Response>> {
    let n = normalized(sql);
    let first = n.split(' ').next().unwrap_or("");
    let tag = |t: &str| Ok(Some(Response::Execution(Tag::new(t))));
    match first {
        "begin" | "start" => return Ok(Some(Response::TransactionStart(Tag::new("BEGIN")))),
        "commit" | "end" => return Ok(Some(Response::TransactionEnd(Tag::new("COMMIT")))),
        "rollback" | "abort" => return Ok(Some(Response::TransactionEnd(Tag::new("ROLLBACK")))),
        "discard" => return tag("DISCARD ALL"),
        "deallocate" => return tag("DEALLOCATE"),
        "set" | "reset" => {
            let rest = n[first.len()..]
                .trim()
                .trim_start_matches("session ")
                .trim_start_matches("local ");
            if rest == "all"
                || HARMLESS_SETTINGS.iter().any(|s| {
                    rest.strip_prefix(s)
                        .is_some_and(|r| r.is_empty() || r.starts_with([' ', '=']))
                        || rest.trim_start_matches('"').starts_with(&format!("{s}\""))
                })
            {
                return tag(if first == "set" { "SET" } else { "RESET" });
            }
            return Err(super::pg::pg_error(Error::Query(
                "gaptrack query is read-only: SET is refused (DDL, DML, SET, COPY and external tables are; use --output to write results)".into(),
            )));
        }
        _ => {}
    }
    if let Some((name, value)) = shown(sql) {
        let fields = Arc::new(vec![FieldInfo::new(
            name.to_string(),
            None,
            None,
            Type::TEXT,
            FieldFormat::Text,
        )]);
        let mut enc = DataRowEncoder::new(fields.clone());
        enc.encode_field(&value)?;
        let row = enc.take_row();
        return Ok(Some(Response::Query(QueryResponse::new(
            fields,
            futures::stream::iter(vec![Ok(row)]),
        ))));
    }
    Ok(None)
}

/// The result columns of a session statement (`Some(vec![])`: none), for Describe.
pub fn session_statement_fields(sql: &str) -> Option<Vec<FieldInfo>> {
    if let Some((name, _)) = shown(sql) {
        return Some(vec![FieldInfo::new(
            name.to_string(),
            None,
            None,
            Type::TEXT,
            FieldFormat::Text,
        )]);
    }
    let n = normalized(sql);
    let first = n.split(' ').next().unwrap_or("");
    matches!(
        first,
        "begin"
            | "start"
            | "commit"
            | "end"
            | "rollback"
            | "abort"
            | "discard"
            | "deallocate"
            | "set"
            | "reset"
    )
    .then(Vec::new)
}

/// The statements of a simple-protocol message (split at `;` outside quotes and comments).
pub fn split(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' | '"' => {
                cur.push(c);
                for d in chars.by_ref() {
                    cur.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        cur.push('\n');
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                cur.push(' ');
            }
            ';' => {
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Catalogs that are always empty in gaptrack (see `pg_catalog`).
const EMPTY_CATALOGS: &[&str] = &[
    "pg_attrdef",
    "pg_collation",
    "pg_description",
    "pg_index",
    "pg_inherits",
    "pg_constraint",
    "pg_trigger",
    "pg_policy",
    "pg_rewrite",
    "pg_statistic_ext",
    "pg_publication",
];

static REWRITES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // OPERATOR(pg_catalog.~) → ~
        (r"(?i)OPERATOR\s*\(\s*pg_catalog\.([^)\s]+)\s*\)", "$1"),
        (r"(?i)\s+COLLATE\s+pg_catalog\.(default|\x22C\x22)", ""),
        // '16385'::pg_catalog.oid → 16385
        (r"(?i)'(\d+)'::(pg_catalog\.)?(oid|regclass)\b", "$1"),
        (r"(?i)::(pg_catalog\.)?(regtype|regclass|regnamespace|regproc|oid)::(pg_catalog\.)?text\b", "::text"),
        (r"(?i)::(pg_catalog\.)?(oid|regclass|regtype|regnamespace|regproc)\b", "::bigint"),
        (r"(?i)::(pg_catalog\.)?(text|name|char)\b", "::text"),
        (r"(?i)::(pg_catalog\.)?int([248])\b", "::int$2"),
        // pg_catalog.f( → f(
        (r"(?i)\bpg_catalog\.([a-z_][a-z0-9_]*)\s*\(", "$1("),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("static regex"), r))
    .collect()
});

/// The end of the parenthesized group that opens at byte `open` (`(`), outside quotes.
fn matching_paren(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for (i, c) in s[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Whether `sql` (lower case) reads `pg_catalog.NAME` (and not a longer name).
fn names(sql: &str, name: &str) -> bool {
    let needle = format!("pg_catalog.{name}");
    sql.match_indices(&needle).any(|(i, _)| {
        !sql[i + needle.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Replaces each subquery over an always-empty catalog (and `ARRAY(SELECT …)`) by its
/// value over no rows: NULL, or FALSE under `EXISTS`.
fn empty_subqueries(sql: &str) -> String {
    static OPEN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(\bEXISTS\s*|\bARRAY\s*)?\(\s*SELECT\b").expect("static regex")
    });
    let mut out = sql.to_string();
    let mut from = 0;
    while let Some(m) = OPEN.find_at(&out, from) {
        let (start, prefix) = (m.start(), m.as_str().to_ascii_lowercase());
        let open = start + out[start..].find('(').unwrap_or(0);
        let Some(close) = matching_paren(&out, open) else {
            break;
        };
        let inner = out[open..=close].to_ascii_lowercase();
        let over_empty = EMPTY_CATALOGS.iter().any(|c| names(&inner, c));
        if over_empty || prefix.starts_with("array") {
            let value = if prefix.starts_with("exists") {
                "FALSE"
            } else {
                "NULL"
            };
            out.replace_range(start..=close, value);
            from = start + value.len();
        } else {
            from = open + 1;
        }
    }
    out
}

/// A statement with PostgreSQL's catalog spellings in forms DataFusion plans.
pub fn rewrite(sql: &str) -> String {
    if !sql.to_ascii_lowercase().contains("pg_catalog") {
        return sql.to_string();
    }
    let mut s = empty_subqueries(sql);
    for (re, to) in REWRITES.iter() {
        s = re.replace_all(&s, *to).into_owned();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_picks_its_version_by_set_or_startup_options() {
        use crate::sql::AsOf;
        assert_eq!(
            as_of_statement("SET gaptrack.as_of = 7;"),
            Some(AsOfStatement::Set("7".into()))
        );
        assert_eq!(
            as_of_statement("set session \"gaptrack.as_of\" to '2026-03-01'"),
            Some(AsOfStatement::Set("2026-03-01".into()))
        );
        assert_eq!(
            as_of_statement("SET gaptrack.as_of TO DEFAULT"),
            Some(AsOfStatement::Reset)
        );
        assert_eq!(
            as_of_statement("RESET gaptrack.as_of"),
            Some(AsOfStatement::Reset)
        );
        assert_eq!(
            as_of_statement("SHOW gaptrack.as_of"),
            Some(AsOfStatement::Show)
        );
        assert_eq!(as_of_statement("SET application_name = 'x'"), None);
        let meta = |pairs: &[(&str, &str)]| -> std::collections::HashMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(connection_as_of(&meta(&[])), Ok(None));
        assert_eq!(
            connection_as_of(&meta(&[("options", "-c gaptrack.as_of=3")])),
            Ok(Some(AsOf::Version(3)))
        );
        assert_eq!(
            connection_as_of(&meta(&[("options", "--search_path=x -cgaptrack.as_of=4")])),
            Ok(Some(AsOf::Version(4)))
        );
        // SET wins over the startup options.
        assert_eq!(
            connection_as_of(&meta(&[("options", "-c gaptrack.as_of=3"), (AS_OF, "5")])),
            Ok(Some(AsOf::Version(5)))
        );
        assert!(connection_as_of(&meta(&[(AS_OF, "yesterday")])).is_err());
        // RESET leaves it empty: the server's version, past the startup options.
        assert_eq!(
            connection_as_of(&meta(&[("options", "-c gaptrack.as_of=3"), (AS_OF, "")])),
            Ok(None)
        );
    }

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        assert_eq!(
            split("SELECT 'a;b'; -- c;d\nSELECT \"x;\" ;; /* ; */ SELECT 3"),
            vec!["SELECT 'a;b'", "SELECT \"x;\"", "SELECT 3"]
        );
    }

    #[test]
    fn psql_spellings_are_rewritten() {
        let q = "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) '^(gaps)$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid)";
        assert_eq!(
            rewrite(q),
            "SELECT c.oid FROM pg_catalog.pg_class c WHERE c.relname ~ '^(gaps)$' AND pg_table_is_visible(c.oid)"
        );
        assert_eq!(
            rewrite("SELECT 1 FROM pg_catalog.pg_class WHERE oid = '16385'::pg_catalog.oid"),
            "SELECT 1 FROM pg_catalog.pg_class WHERE oid = 16385"
        );
        let sub = "SELECT a.attname, (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid), EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = a.attrelid) FROM pg_catalog.pg_attribute a";
        assert_eq!(
            rewrite(sub),
            "SELECT a.attname, NULL, FALSE FROM pg_catalog.pg_attribute a"
        );
        // Queries that do not name pg_catalog are left alone.
        assert_eq!(rewrite("SELECT '1'::oid"), "SELECT '1'::oid");
    }

    #[test]
    fn session_statements() {
        assert!(matches!(
            session_statement("SET extra_float_digits = 3").unwrap(),
            Some(Response::Execution(_))
        ));
        assert!(matches!(
            session_statement("set application_name to 'psql'").unwrap(),
            Some(Response::Execution(_))
        ));
        assert!(matches!(
            session_statement("BEGIN").unwrap(),
            Some(Response::TransactionStart(_))
        ));
        assert!(matches!(
            session_statement("SHOW TRANSACTION ISOLATION LEVEL").unwrap(),
            Some(Response::Query(_))
        ));
        assert!(session_statement("SET datafusion.execution.batch_size = 1").is_err());
        assert!(session_statement("SELECT 1").unwrap().is_none());
    }
}
