//! The one error type of gaptrack. Every error carries the context a person needs to act
//! on it (file, line, column, value, wave); the CLI maps its kind to an exit code.

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One problem found in a user's input: a spec, a data file, a config, a store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file (or URL) the problem is in, as the user named it.
    pub file: String,
    /// 1-based line as an editor counts it, where there is one.
    pub line: Option<u64>,
    /// 1-based row of a source without lines (Parquet, SPSS), where there is one: shown
    /// as "row N" so no one looks for a line.
    pub row: Option<u64>,
    /// Column name (data files) or key (specs), where there is one.
    pub column: Option<String>,
    /// What is wrong and what would be valid; quotes the offending value.
    pub message: String,
}

impl InputError {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            file: file.into(),
            line: None,
            row: None,
            column: None,
            message: message.into(),
        }
    }
    pub fn line(mut self, line: u64) -> Self {
        self.line = Some(line);
        self
    }
    pub fn row(mut self, row: u64) -> Self {
        self.row = Some(row);
        self
    }
    pub fn column(mut self, column: impl Into<String>) -> Self {
        self.column = Some(column.into());
        self
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        } else if let Some(row) = self.row {
            write!(f, " row {row}")?;
        }
        if let Some(col) = &self.column {
            if self.line.is_some() || self.row.is_some() {
                write!(f, ",")?;
            }
            write!(f, " column {col}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// How many problems of one input are kept by [`Invalid::push`] (the first is the
/// headline; all are counted).
pub const MAX_ERRORS: usize = 21;

/// Invalid input: one or more problems, the first one is the headline. Also the collector
/// of an input's problems while it is read: [`Invalid::push`] keeps the first
/// [`MAX_ERRORS`] and counts them all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Invalid {
    /// The problems found (at most a bounded number are kept).
    pub errors: Vec<InputError>,
    /// How many problems were found in all (may exceed `errors.len()`).
    pub total: usize,
}

impl Invalid {
    pub fn one(e: InputError) -> Self {
        Invalid {
            errors: vec![e],
            total: 1,
        }
    }

    /// Records one problem: kept while fewer than [`MAX_ERRORS`] are, counted always.
    pub fn push(&mut self, e: InputError) {
        self.total += 1;
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(e);
        }
    }

    /// `true` once a problem was recorded.
    pub fn failed(&self) -> bool {
        self.total > 0
    }

    /// `Err` with the problems recorded, if any.
    pub fn check(self) -> Result<()> {
        if self.failed() {
            Err(Error::Invalid(self))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.errors.first() {
            Some(e) => write!(f, "{e}"),
            None => write!(f, "invalid input"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line itself is wrong (exit 2).
    #[error("{0}")]
    Usage(String),

    /// A spec, data file, config or URL is invalid; nothing was written (exit 3).
    #[error("{0}")]
    Invalid(Invalid),

    /// Another writer committed first and the operation could not be merged; nothing was
    /// written (exit 4).
    #[error("conflict: {0}; nothing was written, it is safe to retry")]
    Conflict(String),

    /// A command that changes several waves stopped part-way, after committing some of
    /// them: `message` says what happened to each wave; `code` is the cause's exit code.
    #[error("{message}")]
    Partial { message: String, code: u8 },

    /// A SQL statement the query command refuses or cannot plan.
    #[error("{0}")]
    Query(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("store {context}: {source}")]
    Delta {
        context: String,
        #[source]
        source: Box<deltalake::DeltaTableError>,
    },

    #[error("{context}: {source}")]
    ObjectStore {
        context: String,
        #[source]
        source: Box<object_store::Error>,
    },

    #[error("{0}")]
    DataFusion(#[from] Box<datafusion::error::DataFusionError>),

    #[error("{0}")]
    Arrow(#[from] arrow::error::ArrowError),

    /// A staging thread of ingest stopped because another one failed first (internal: the
    /// first error is the one reported).
    #[error("a responses writer stopped")]
    WriterStopped,

    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn input(e: InputError) -> Self {
        Error::Invalid(Invalid::one(e))
    }

    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    pub fn delta(context: impl Into<String>, source: deltalake::DeltaTableError) -> Self {
        let context = context.into();
        if is_conflict(&source) {
            return Error::Conflict(format!("{context}: another writer committed first"));
        }
        // deltalake words every storage error "Failed to read delta log object" and a
        // failed Parquet write "Failed to parse parquet": say what the storage said.
        let source = match source {
            deltalake::DeltaTableError::ObjectStore { source } => {
                return Error::object_store(format!("store {context}"), source)
            }
            deltalake::DeltaTableError::Parquet { .. } => match storage_cause(&source) {
                Some(cause) => return Error::Other(format!("store {context}: {cause}")),
                None => source,
            },
            other => other,
        };
        Error::Delta {
            context,
            source: Box::new(source),
        }
    }

    pub fn object_store(context: impl Into<String>, source: object_store::Error) -> Self {
        Error::ObjectStore {
            context: context.into(),
            source: Box::new(source),
        }
    }

    /// The process exit code of the contract (§4).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Invalid(_) | Error::Query(_) => 3,
            Error::Conflict(_) => 4,
            Error::Partial { code, .. } => *code,
            _ => 1,
        }
    }
}

impl From<datafusion::error::DataFusionError> for Error {
    fn from(e: datafusion::error::DataFusionError) -> Self {
        Error::DataFusion(Box::new(e))
    }
}

/// The storage's own words in an error chain: the first object-store or I/O error in it.
fn storage_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur = Some(e);
    while let Some(x) = cur {
        if let Some(os) = x.downcast_ref::<object_store::Error>() {
            return Some(os.to_string());
        }
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            return Some(io.to_string());
        }
        cur = x.source();
    }
    None
}

fn is_conflict(e: &deltalake::DeltaTableError) -> bool {
    use deltalake::DeltaTableError as D;
    matches!(e, D::VersionAlreadyExists(_))
        || matches!(e, D::Transaction { source } if matches!(source,
            deltalake::kernel::transaction::TransactionError::VersionAlreadyExists(_)
            | deltalake::kernel::transaction::TransactionError::CommitConflict(_)
            | deltalake::kernel::transaction::TransactionError::MaxCommitAttempts(_)))
}
