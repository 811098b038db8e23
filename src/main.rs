//! The `gaptrack` binary: parses the arguments, runs the command ([`cli::dispatch`]) and
//! maps its error to the exit code: 0 ok, 1 other, 2 usage, 3 invalid input (nothing
//! written), 4 conflict.

use std::process::ExitCode;

use clap::Parser;
use gaptrack::cli::{self, Cli};
use gaptrack::Error;

/// Stack of the thread that parses and plans statements: planning a statement at
/// `query::MAX_DEPTH` touches about 30 MiB of it.
const MAIN_STACK: usize = 128 << 20;
/// Stack of the runtime's threads, which run the plans.
const WORKER_STACK: usize = 16 << 20;
/// Threads for blocking work (each reserves its stack's address space: under
/// `ulimit -v`, hundreds of them would not fit).
const BLOCKING_THREADS: usize = 16;

/// mimalloc, with the options of [`gaptrack::alloc::configure`] (set as a command starts).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // No other thread runs yet.
    gaptrack::alloc::configure(cli.command.loads_waves());
    if cli.command.loads_waves() {
        cli::return_freed_memory();
    }
    cli::init_logging(cli.log_format, cli.verbose);
    // Planning and running a deeply nested statement recurses deeply: the command runs on
    // a thread with a large stack, as do the runtime's workers (address space only: the
    // pages a thread never touches are never used). Statements nested deeper than
    // `query::MAX_DEPTH` are refused before planning.
    cli::quiet_panics();
    let format = cli.log_format;
    let worker = std::thread::Builder::new()
        .name("gaptrack".into())
        .stack_size(MAIN_STACK)
        .spawn(move || run(cli));
    match worker.map(|h| h.join()) {
        Ok(Ok(code)) => code,
        Ok(Err(payload)) => {
            let what = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("a panic");
            let e = Error::Other(format!("internal error: {what}"));
            cli::report_error(&e, format);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::from(1)
        }
    }
}

/// Runs the command on a runtime; an error is printed and becomes the exit code.
fn run(cli: Cli) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK)
        .max_blocking_threads(BLOCKING_THREADS)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let format = cli.log_format;
    match rt.block_on(cli::dispatch(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            cli::report_error(&e, format);
            ExitCode::from(e.exit_code())
        }
    }
}
