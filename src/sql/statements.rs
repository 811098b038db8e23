//! SQL text cut into statements at the `;` that end them: a `;` inside a string, a
//! quoted name or a comment does not end one. Used by `query` (several statements per
//! call) and `shell` (a statement is complete at its `;`).

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};

use crate::error::{Error, Result};

fn tokens(sql: &str) -> std::result::Result<Vec<Token>, String> {
    Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| e.to_string())
}

fn is_blank(t: &Token) -> bool {
    matches!(t, Token::Whitespace(_))
}

/// The statements of `sql`, each without its `;`; statements holding nothing but
/// whitespace and comments are left out. An unclosed string or quoted name is an error.
pub fn split(sql: &str) -> Result<Vec<String>> {
    let tokens = tokens(sql).map_err(|e| Error::Query(format!("SQL error: {e}")))?;
    let mut out = Vec::new();
    let mut current: Vec<&Token> = Vec::new();
    for t in tokens.iter().chain(std::iter::once(&Token::SemiColon)) {
        if *t != Token::SemiColon {
            current.push(t);
            continue;
        }
        if current.iter().any(|t| !is_blank(t)) {
            let text: String = current.iter().map(|t| t.to_string()).collect();
            out.push(text.trim().to_string());
        }
        current.clear();
    }
    Ok(out)
}

/// Whether `sql` ends a statement: its last token other than whitespace or a comment
/// is `;`, or it is a dot command of the shell (`.tables`). Text with an unclosed
/// string, quoted name or comment is not complete.
pub fn is_complete(sql: &str) -> bool {
    let trimmed = sql.trim_start();
    if trimmed.starts_with('.') {
        return true;
    }
    match tokens(sql) {
        Ok(tokens) => {
            let last = tokens.iter().rev().find(|t| !is_blank(t));
            matches!(last, Some(Token::SemiColon))
        }
        Err(_) => false,
    }
}

/// Whether `sql` holds nothing but whitespace and comments.
pub fn is_blank_text(sql: &str) -> bool {
    match tokens(sql) {
        Ok(tokens) => tokens.iter().all(|t| {
            matches!(
                t,
                Token::Whitespace(
                    Whitespace::Space
                        | Whitespace::Newline
                        | Whitespace::Tab
                        | Whitespace::SingleLineComment { .. }
                        | Whitespace::MultiLineComment(_)
                )
            )
        }),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_at_the_semicolons_that_end_statements() {
        let sql = "SELECT ';' AS a; -- x; y\nSELECT \"b;c\" FROM t /* ; */;\n\n;  ";
        assert_eq!(
            split(sql).unwrap(),
            vec![
                "SELECT ';' AS a".to_string(),
                "-- x; y\nSELECT \"b;c\" FROM t /* ; */".to_string()
            ]
        );
        assert_eq!(split("SELECT 1").unwrap(), vec!["SELECT 1".to_string()]);
        assert_eq!(
            split("  -- only a comment\n").unwrap(),
            Vec::<String>::new()
        );
        assert!(split("SELECT 'open").is_err());
    }

    #[test]
    fn a_statement_is_complete_at_its_semicolon() {
        assert!(is_complete("SELECT 1;"));
        assert!(is_complete("SELECT 1; -- done\n"));
        assert!(!is_complete("SELECT 1"));
        assert!(!is_complete("SELECT ';"));
        assert!(!is_complete("SELECT 1 /* ; */"));
        assert!(is_complete(".tables"));
        assert!(is_blank_text(" -- c\n /* d */ "));
        assert!(!is_blank_text("SELECT 1"));
    }
}
