//! The `evalctl` binary: parse arguments, run the library, print errors, map them to exit codes.

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use evalctl::cli::Cli;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // clap exits 2 on bad arguments, which `plan --detailed-exitcode` uses for "changes".
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 1 } else { 0 });
        }
    };
    if std::env::var_os("RUST_LOG").is_some() {
        // Logs go to stderr, so stdout stays data (a JSON plan stays parseable).
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    // Unlocked handles: worker threads log to stderr while a command runs, so holding the
    // lock for the whole command would deadlock with `RUST_LOG` set.
    match evalctl::run(cli, &mut std::io::stdout(), &mut std::io::stderr()) {
        Ok(code) => ExitCode::from(code),
        // The reader went away (`evalctl runs | head -1`): what it wanted was written.
        Err(error) if error.is_broken_pipe() => ExitCode::SUCCESS,
        Err(error) => {
            let mut err = std::io::stderr().lock();
            let line = |text: String| evalctl::error_line(&text);
            let _ = writeln!(err, "error: {}", line(error.to_string()));
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                let _ = writeln!(err, "  caused by: {}", line(cause.to_string()));
                source = cause.source();
            }
            for detail in error.details() {
                let _ = writeln!(err, "  {}", line(detail));
            }
            if let Some(hint) = error.hint() {
                let _ = writeln!(err, "hint: {}", line(hint));
            }
            ExitCode::from(error.exit_code())
        }
    }
}
