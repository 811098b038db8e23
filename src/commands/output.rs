//! What commands print: the lines of a wave's outcome (`ingest`, `run`), the rows of
//! `history`, and rows of a query or of `waves` written to stdout or to a file, as they
//! come. Errors are printed by the command line ([`crate::cli::report_error`]).

use std::io::Write;
use std::path::PathBuf;

use arrow::datatypes::SchemaRef;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::ingest::{Outcome, Status};
use crate::sql::output::RowWriter;
use crate::sql::query::{self, OutputFormat};
use crate::store::Store;

/// The lines of a command's waves (each wave's warnings are logged on stderr).
pub fn describe_outcomes(outcomes: &[Outcome]) -> String {
    let mut text = String::new();
    for o in outcomes {
        warn_outcome(o);
        text.push_str(&describe_outcome(o));
    }
    text
}

/// Logs a wave's warnings (stderr: `WARN WAVE: ...` lines, or JSON with `--log-format json`).
pub fn warn_outcome(o: &Outcome) {
    for w in &o.warnings {
        tracing::warn!(event = "ingest_warning", wave = %o.wave, "{}: {w}", o.wave);
    }
}

/// The lines `ingest` and `run` print for a wave.
pub fn describe_outcome(o: &Outcome) -> String {
    let mut s = match o.status {
        Status::Unchanged => format!(
            "{}: unchanged (spec and source are identical to the loaded wave; nothing written)\n",
            o.wave
        ),
        Status::Valid | Status::Loaded | Status::Replaced => {
            let what = match o.status {
                Status::Valid => "valid (dry run; nothing written)",
                Status::Loaded => "loaded",
                _ => "replaced",
            };
            match o.respondents {
                Some(r) => format!(
                    "{}: {what}: {r} respondents, {} rows ({:.2}s)\n",
                    o.wave, o.rows, o.seconds
                ),
                None => format!(
                    "{}: {what}: {} published cells ({:.2}s)\n",
                    o.wave, o.rows, o.seconds
                ),
            }
        }
    };
    for n in &o.notes {
        s.push_str(&format!("  {n}\n"));
    }
    if let Some(w) = &o.weighting {
        s.push_str(&format!(
            "  weighting: n_eff {:.1} of {} respondents (efficiency {:.1} %), weight / mean {:.3} to {:.3}, {} iterations, max residual {:.1e}\n",
            w.n_eff,
            w.respondents,
            100.0 * w.efficiency,
            w.min_ratio,
            w.max_ratio,
            w.iterations,
            w.max_residual
        ));
    }
    if o.status == Status::Valid {
        if !o.per_group.is_empty() {
            let groups: Vec<String> = o
                .per_group
                .iter()
                .map(|(g, n)| format!("{g} {n}"))
                .collect();
            s.push_str(&format!("  respondents by group: {}\n", groups.join(", ")));
        }
        if !o.missing.is_empty() {
            let m: Vec<String> = o
                .missing
                .iter()
                .map(|(st, n)| format!("{st} {n}"))
                .collect();
            s.push_str(&format!(
                "  missing answers by statement: {}\n",
                m.join(", ")
            ));
        }
    }
    s
}

/// The rows `history` prints: one per commit of the store.
pub fn history_batch(h: &[crate::catalog::HistoryEntry]) -> Result<arrow::array::RecordBatch> {
    use arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use std::sync::Arc;
    let schema = Arc::new(Schema::new(vec![
        Field::new("version", DataType::Int64, false),
        Field::new(
            "time",
            DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            false,
        ),
        Field::new("operation", DataType::Utf8, false),
        Field::new("wave", DataType::Utf8, false),
        Field::new("source_sha256", DataType::Utf8, true),
    ]));
    Ok(arrow::array::RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int64Array::from_iter_values(h.iter().map(|e| e.version))),
            Arc::new(
                TimestampMillisecondArray::from_iter_values(h.iter().map(|e| e.timestamp_ms))
                    .with_timezone("UTC"),
            ),
            Arc::new(StringArray::from_iter_values(
                h.iter().map(|e| e.operation.as_str()),
            )),
            Arc::new(StringArray::from_iter_values(
                h.iter().map(|e| e.wave.as_str()),
            )),
            Arc::new(StringArray::from_iter(
                h.iter().map(|e| e.source_sha256.as_deref()),
            )),
        ],
    )?)
}

/// Writes a command's output to stdout; a closed pipe (`| head`) is not an error.
pub fn stdout_write(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`| head`) is not an error of ours.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("writing to stdout", e)),
    }
}

/// Standard output that treats a closed pipe (`| head`) as the end of the output, not
/// as an error of ours.
struct Stdout {
    out: std::io::BufWriter<std::io::Stdout>,
    closed: bool,
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.out.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            r => r,
        }
    }
    fn flush(&mut self) -> std::io::Result<()> {
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r if self.closed => r.or(Ok(())),
            r => r,
        }
    }
}

/// Writes the results of a query's statements in turn: one statement's rows to
/// [`write_rows`]; several to stdout, a blank line between two results (JSON: each
/// statement's array on its own line).
pub async fn write_results(
    target: Option<&str>,
    format: OutputFormat,
    results: Vec<super::Rows>,
) -> Result<()> {
    if results.len() == 1 || target.is_some() {
        for (schema, rows) in results {
            write_rows(target, format, schema, rows).await?;
        }
        return Ok(());
    }
    let mut out = Stdout {
        out: std::io::BufWriter::new(std::io::stdout()),
        closed: false,
    };
    // Each result ends with a newline; JSON arrays follow on the next line.
    let separator: &[u8] = if format == OutputFormat::Json {
        b""
    } else {
        b"\n"
    };
    for (i, (schema, rows)) in results.into_iter().enumerate() {
        if i > 0 {
            out.write_all(separator)
                .map_err(|e| Error::io("writing to stdout", e))?;
        }
        write_stream(format, schema, rows, &mut out).await?;
    }
    out.flush().map_err(|e| Error::io("writing to stdout", e))
}

/// Writes a query's rows as they come: to stdout, or to a local path or store URL. A
/// file appears only complete: rows go to a temporary file first, which is then renamed
/// (a local path) or uploaded (a store URL).
pub async fn write_rows(
    target: Option<&str>,
    format: OutputFormat,
    schema: SchemaRef,
    rows: SendableRecordBatchStream,
) -> Result<()> {
    let Some(target) = target else {
        let out = Stdout {
            out: std::io::BufWriter::new(std::io::stdout()),
            closed: false,
        };
        return write_stream(format, schema, rows, out).await;
    };
    let remote = target.contains("://") && !target.starts_with("file://");
    let (dir, name) = if remote {
        let (dir, name) = target
            .rsplit_once('/')
            .filter(|(_, n)| !n.is_empty())
            .ok_or_else(|| Error::Usage(format!("--output {target:?} does not name a file")))?;
        (std::env::temp_dir(), Some((dir, name)))
    } else {
        let path = PathBuf::from(target.strip_prefix("file://").unwrap_or(target));
        let parent = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&parent)
            .map_err(|e| Error::io(format!("creating {}", parent.display()), e))?;
        (parent, None)
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gaptrack-output-");
    // The file is renamed into place: it gets the mode any new file gets (0666 less the
    // umask), not a temporary file's 0600.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let tmp = builder
        .tempfile_in(&dir)
        .map_err(|e| Error::io(format!("creating a file in {}", dir.display()), e))?;
    let file = tmp
        .reopen()
        .map_err(|e| Error::io(format!("writing {}", tmp.path().display()), e))?;
    write_stream(format, schema, rows, std::io::BufWriter::new(file)).await?;
    match name {
        Some((dir, name)) => Store::open(dir)?.put_file(name, tmp.path()).await,
        None => {
            let path = PathBuf::from(target.strip_prefix("file://").unwrap_or(target));
            tmp.persist(&path)
                .map(|_| ())
                .map_err(|e| Error::io(format!("writing {}", path.display()), e.error))
        }
    }
}

/// Writes a query's rows, as they come, in `format` to `out`.
pub async fn write_stream<W: Write + Send>(
    format: OutputFormat,
    schema: SchemaRef,
    mut rows: SendableRecordBatchStream,
    out: W,
) -> Result<()> {
    let mut w = RowWriter::new(format, schema, out)?;
    while let Some(batch) = rows.next().await {
        w.write(&batch.map_err(query::execution_error)?)?;
    }
    w.finish()?;
    Ok(())
}
