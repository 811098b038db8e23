//! The integration tests, in one binary (each module was a test binary of its own; one
//! link of a datafusion-sized binary instead of nine). Shared helpers are in `support`.
//! The SQL views are tested apart, by the sqllogictest runner `tests/sqllogic.rs`.
//!
//! | module | what it checks |
//! |---|---|
//! | `bad_input` | every kind of invalid input: exit 3, a message naming file, line, column and value, the store untouched |
//! | `browser` | the published page rendered by headless Chromium: offline, printed to PDF on A4 and Letter (read back with pypdf), on a 390-px phone |
//! | `cluster` | `gaptrack cluster` and `--cluster`: a scheduler and executors on loopback, the store on disk and on S3 (moto); answers equal the local session's, an executor killed mid-query |
//! | `cli` | the `gaptrack` binary end to end: exit codes, replace, unchanged, remove, formats, reports, docs examples |
//! | `exports` | real Qualtrics exports (current, legacy, choice text), any code range, `[rows]` rules, `[groups]` and changed-wording warnings and `--strict`, raked waves' problems in one pass |
//! | `formats` | the same wave in every source format loads to the same rows |
//! | `fuzz_regressions` | inputs the fuzzers found, replayed |
//! | `interop` | the tables read by Python deltalake and Polars |
//! | `publish` | the published files read back by their readers (`trend.xlsx` with openpyxl, `datapackage.json` with frictionless); the chart pictures; the publisher's words |
//! | `serve` | `gaptrack serve` with real clients: ADBC Flight SQL, psycopg, psql |
//! | `shell` | `gaptrack shell`: a script on standard input, and a person at a tmux terminal (editing, completion, history) |
//! | `spss` | real SPSS files (missing values, weights, labels, ZSAV) against pyreadstat references |
//! | `stats_reference` | the formulas against statsmodels, scipy and R references |
//! | `store` | store conformance on local disk, memory, S3 (moto) and Azure (Azurite); concurrency, kill -9, faults, credentials, vacuum, `--as-of` |
//! | `weighting` | rim weighting against R's `survey::rake` |

mod support;

mod bad_input;
mod browser;
mod cli;
mod cluster;
mod exports;
mod formats;
mod fuzz_regressions;
mod interop;
mod publish;
mod serve;
mod shell;
mod spss;
mod stats_reference;
mod store;
mod weighting;
