//! The statements PostgreSQL clients send besides queries (`SET`, `SHOW`, `BEGIN`, …),
//! the splitting of a simple-protocol message into statements, and the rewriting of
//! PostgreSQL spellings in catalog queries (`pg_catalog.f(…)`, `OPERATOR(pg_catalog.~)`,
//! `::pg_catalog.oid`, `'pg_class'::regclass`, `'{a,b}'::text[]`, `(row).field`,
//! `current_catalog`, catalog names without `pg_catalog.`) into ones DataFusion plans.

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
    "characteristics as transaction",
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

/// The settings `SHOW` answers, for `pg_settings`.
pub fn shown_settings() -> &'static [(&'static str, &'static str)] {
    SHOWN
}

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
        // information_schema._pg_expandarray(k) → _pg_expandarray(k)
        (r"(?i)\binformation_schema\._pg_expandarray\s*\(", "_pg_expandarray("),
        // (_pg_expandarray(k)).n, (result.keys).x → get_field(…, 'n')
        (r"(?i)\((_pg_expandarray\([^()]*\))\)\.([a-z_][a-z0-9_]*)", "get_field($1, '$2')"),
        (r"(?i)\(([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\)\.([a-z_][a-z0-9_]*)", "get_field($1, '$2')"),
        // information_schema views with PostgreSQL's columns
        (
            r#"(?i)"?\binformation_schema"?\."?(columns|table_constraints|key_column_usage)\b"?"#,
            "pg_catalog.information_schema_$1",
        ),
        // OPERATOR(pg_catalog.~) → ~
        (r"(?i)OPERATOR\s*\(\s*pg_catalog\.([^)\s]+)\s*\)", "$1"),
        (r"(?i)\s+COLLATE\s+pg_catalog\.(default|\x22C\x22)", ""),
        // 'pg_catalog.array_in'::regproc → 'array_in' (pg_type.typinput is the name)
        (r"(?i)'(?:pg_catalog\.)?([a-z_][a-z0-9_]*)'::(?:pg_catalog\.)?regproc\b", "'$1'"),
        // '16385'::pg_catalog.oid → 16385
        (r"(?i)'(\d+)'::(pg_catalog\.)?(oid|regclass)\b", "$1"),
        // 'pg_class'::regclass → the relation's oid
        (r"(?i)('[^']*')::(?:pg_catalog\.)?regclass\b", "regclass_oid($1)"),
        (r"(?i)::(pg_catalog\.)?(regtype|regclass|regnamespace|regproc|oid)::(pg_catalog\.)?text\b", "::text"),
        (r"(?i)::(pg_catalog\.)?(oid|regclass|regtype|regnamespace|regproc)\b", "::bigint"),
        (r"(?i)::(pg_catalog\.)?(text|name|char)\b", "::text"),
        (r"(?i)::(pg_catalog\.)?int([248])\b", "::int$2"),
        // CAST(x AS oid) → CAST(x AS bigint)
        (r"(?i)\bAS\s+(?:pg_catalog\.)?(?:oid|regtype|regnamespace|regproc)\s*\)", "AS BIGINT)"),
        (r"(?i)\bAS\s+(?:pg_catalog\.)?name\s*\)", "AS TEXT)"),
        // pg_catalog.f( → f(
        (r"(?i)\bpg_catalog\.([a-z_][a-z0-9_]*)\s*\(", "$1("),
        // FROM pg_type → FROM pg_catalog.pg_type: the search path reads pg_catalog first.
        (r#"(?i)\b(from|join)(\s+)("?pg_[a-z0-9_]+"?)(\s|,|\)|$)"#, "$1${2}pg_catalog.$3$4"),
    ]
    .into_iter()
    .map(|(p, r)| (Regex::new(p).expect("static regex"), r))
    .collect()
});

/// `'{a,b,"c"}'::text[]` → `make_array('a', 'b', 'c')`.
fn array_literals(sql: &str) -> String {
    static LITERAL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)'\{([^']*)\}'::(?:pg_catalog\.)?(?:text|varchar|name)\[\]")
            .expect("static regex")
    });
    LITERAL
        .replace_all(sql, |c: &regex::Captures| {
            let items: Vec<String> = c[1]
                .split(',')
                .filter(|i| !i.is_empty())
                .map(|i| crate::sql::quote_lit(i.trim().trim_matches('"')))
                .collect();
            format!("make_array({})", items.join(", "))
        })
        .into_owned()
}

/// `n.oid, n.*` → `n.*`: the wildcard holds `oid` already, and DataFusion refuses
/// a column named twice.
fn duplicate_oids(sql: &str) -> String {
    static OID_THEN_ALL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)\b([a-z_][a-z0-9_]*)\.oid\s*,\s*([a-z_][a-z0-9_]*)\.\*")
            .expect("static regex")
    });
    OID_THEN_ALL
        .replace_all(sql, |c: &regex::Captures| {
            if c[1].eq_ignore_ascii_case(&c[2]) {
                format!("{}.*", &c[2])
            } else {
                c[0].to_string()
            }
        })
        .into_owned()
}

/// `current_catalog`, `session_user`, … written without parentheses → function calls.
fn bare_functions(sql: &str) -> String {
    static BARE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"(?i)(^|[^a-z0-9_."'])(current_catalog|current_schema|current_user|current_role|session_user)\b(\s*\()?"#,
        )
        .expect("static regex")
    });
    BARE.replace_all(sql, |c: &regex::Captures| {
        if c.get(3).is_some() {
            c[0].to_string()
        } else {
            // Quoted: the parser reads these keywords as no-argument calls only bare.
            format!("{}\"{}\"()", &c[1], c[2].to_ascii_lowercase())
        }
    })
    .into_owned()
}

/// `CAST(x AS regclass)` → `regclass_oid(x)`.
fn regclass_casts(sql: &str) -> String {
    static CAST: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)\bCAST\s*\(").expect("static regex"));
    static TO_REGCLASS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)^(.*)\s+AS\s+(?:pg_catalog\.)?regclass\s*$").expect("static regex")
    });
    let mut out = sql.to_string();
    let mut from = 0;
    while let Some((start, end)) = CAST.find_at(&out, from).map(|m| (m.start(), m.end())) {
        let open = end - 1;
        let Some(close) = matching_paren(&out, open) else {
            break;
        };
        let inner = out[open + 1..close].to_string();
        match TO_REGCLASS.captures(&inner) {
            Some(c) => {
                let call = format!("regclass_oid({})", &c[1]);
                out.replace_range(start..=close, &call);
                from = start + "regclass_oid(".len();
            }
            None => from = open + 1,
        }
    }
    out
}

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

/// Whether a subquery after `before` is a table (`FROM (SELECT …)`, `JOIN (SELECT …)`)
/// or an `IN (SELECT …)` list rather than a scalar.
fn derived_or_list(before: &str) -> bool {
    let word: String = before
        .trim_end()
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect::<String>()
        .to_ascii_lowercase();
    ["morf", "nioj", "ni"].contains(&word.as_str())
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
        if prefix.starts_with('(') && derived_or_list(&out[..start]) {
            from = open + 1;
            continue;
        }
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
    if !catalog_query(sql) {
        return sql.to_string();
    }
    let mut s = empty_subqueries(sql);
    s = array_literals(&s);
    for (re, to) in REWRITES.iter() {
        s = re.replace_all(&s, *to).into_owned();
    }
    s = regclass_casts(&s);
    s = duplicate_oids(&s);
    bare_functions(&s)
}

/// Whether `sql` reads PostgreSQL's catalogs or session functions (other statements are
/// left as written).
fn catalog_query(sql: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    [
        "pg_",
        "current_catalog",
        "current_schema",
        "current_user",
        "current_role",
        "session_user",
    ]
    .iter()
    .any(|w| lower.contains(w))
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
    fn bi_client_spellings_are_rewritten() {
        assert_eq!(
            rewrite("SELECT nspname FROM pg_type t JOIN \"pg_namespace\" AS n ON true"),
            "SELECT nspname FROM pg_catalog.pg_type t JOIN pg_catalog.\"pg_namespace\" AS n ON true"
        );
        // A derived table and an IN list over an empty catalog stay subqueries.
        let derived = "SELECT * FROM (SELECT a.attname FROM pg_catalog.pg_attrdef a) c WHERE x IN (SELECT enumtypid FROM pg_catalog.pg_enum)";
        assert_eq!(rewrite(derived), derived);
        assert_eq!(
            rewrite("SELECT n.oid,n.* FROM pg_catalog.pg_namespace n WHERE d.classoid='pg_class'::regclass"),
            "SELECT n.* FROM pg_catalog.pg_namespace n WHERE d.classoid=regclass_oid('pg_class')"
        );
        assert_eq!(
            rewrite("SELECT CAST(CAST(FORMAT('%I.%I', s, t) AS REGCLASS) AS OID) FROM pg_catalog.pg_class"),
            "SELECT CAST(regclass_oid(FORMAT('%I.%I', s, t)) AS BIGINT) FROM pg_catalog.pg_class"
        );
        assert_eq!(
            rewrite("SELECT word FROM pg_catalog.pg_get_keywords() WHERE word <> ALL ('{a,\"null\"}'::text[])"),
            "SELECT word FROM pg_get_keywords() WHERE word <> ALL (make_array('a', 'null'))"
        );
        assert_eq!(
            rewrite("select current_catalog, session_user, current_schema(), 'current_user'"),
            "select \"current_catalog\"(), \"session_user\"(), current_schema(), 'current_user'"
        );
        assert_eq!(
            rewrite("SELECT (information_schema._pg_expandarray(i.indkey)).n, (r.keys).x FROM pg_catalog.pg_index i"),
            "SELECT get_field(_pg_expandarray(i.indkey), 'n'), get_field(r.keys, 'x') FROM pg_catalog.pg_index i"
        );
        assert_eq!(
            rewrite("SELECT 1 FROM \"information_schema\".\"columns\" AS c, pg_catalog.pg_class"),
            "SELECT 1 FROM pg_catalog.information_schema_columns AS c, pg_catalog.pg_class"
        );
        // Other statements are left as written.
        let plain = "SELECT column_name FROM information_schema.columns";
        assert_eq!(rewrite(plain), plain);
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
        assert!(matches!(
            session_statement(
                "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ UNCOMMITTED"
            )
            .unwrap(),
            Some(Response::Execution(_))
        ));
        assert!(session_statement("SET datafusion.execution.batch_size = 1").is_err());
        assert!(session_statement("SELECT 1").unwrap().is_none());
    }
}
