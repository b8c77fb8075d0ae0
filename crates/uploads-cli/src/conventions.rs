//! What users expect of a well-kept command: `-q`/`-v`, `NO_COLOR`, shell completions and a man
//! page generated from the command-line definition. `NO_COLOR` turns off colour in the logs
//! here; the progress bars' library (console) honours it on its own.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::CommandFactory;
use tracing_subscriber::EnvFilter;

use crate::args::{Cli, CompletionsArgs, GlobalArgs};
use crate::failure::Failure;
use crate::output::print_stdout;

static QUIET: AtomicBool = AtomicBool::new(false);

/// Whether `-q` was given (progress bars and per-file lines stay silent).
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether stderr may be coloured: a terminal, and `NO_COLOR` unset or empty (no-color.org).
pub fn color() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Logs to stderr: `RUST_LOG` if set, else the level `-q`/`-v` choose (default `warn`).
pub fn init_logging(global: &GlobalArgs) {
    QUIET.store(global.quiet, Ordering::Relaxed);
    let level = match (global.quiet, global.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    // The progress tracker prints the "too slow" news itself (with what to do about it).
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new(format!(
            "{level},{}=error",
            uploads_ext::upload::TOO_SLOW_TARGET
        ))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(color())
        .with_target(false)
        .try_init();
}

/// `openai-uploads completions SHELL`: the completion script on stdout.
pub fn completions(args: &CompletionsArgs) -> Result<(), Failure> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut command, "openai-uploads", &mut out);
    print_stdout(&String::from_utf8_lossy(&out))
}

/// `openai-uploads man`: the man page (roff) on stdout.
pub fn man() -> Result<(), Failure> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Failure::other(format!("cannot render the man page: {e}")))?;
    print_stdout(&String::from_utf8_lossy(&out))
}
