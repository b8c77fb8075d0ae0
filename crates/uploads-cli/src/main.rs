//! `openai-uploads`: upload large files to OpenAI from the command line.
//!
//! A thin command-line front end to the [`uploads_ext`] SDK:
//!
//! - `openai-uploads upload FILE --purpose P` uploads a file of up to 8 GiB in parallel parts, with
//!   a progress bar, md5 verification and optional resume journal (`upload - --size N` reads
//!   stdin);
//! - `openai-uploads resume JOURNAL` finishes an upload kept with `--keep-on-failure`;
//! - `openai-uploads cancel UPLOAD_ID` cancels a pending upload;
//! - `openai-uploads status UPLOAD_ID FILE --purpose P` settles an upload whose outcome is
//!   unknown: completes it if still pending, or finds its File, or says it was cancelled/expired;
//! - `openai-uploads demo` uploads a generated file to an embedded fake of the API and checks that
//!   the server assembled identical bytes (no API key, no network; cargo feature `demo`, on by
//!   default).
//! - `openai-uploads completions SHELL` / `openai-uploads man` print shell completions and the man
//!   page, generated from this command-line definition.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error or invalid input, 3 outcome unknown, 129/130/143
//! stopped by SIGHUP/SIGINT/SIGTERM. Logs go to stderr, filtered by `RUST_LOG` (default `warn`).
//!
//! ## Layout
//! Read from the bottom up; a module imports only modules listed below it.
//! - `main`: parses the command line and dispatches to a command.
//! - `commands` (upload, resume, cancel), `status` (settle an upload), `batch` (many files),
//!   `demo` (the embedded fake): the commands.
//! - `client`: the SDK client from the environment and the flags.
//! - `interrupt`: the signal listener of a running upload.
//! - `outcome`: what a failed command means to the user (exit code, cleanup, hints).
//! - `progress`: the progress bar and the "upload started" line.
//! - `conventions`: `-q`/`-v`, logging, completions, the man page.
//! - `args`: every subcommand and flag (clap), nothing that runs.
//! - leaves: `failure` (the failure report and exit codes), `output` (stdout), `describe` (error
//!   text), `signal` (the signals and their grace), `stdin` (`upload -`), `purpose`, `size`,
//!   `duration`.

mod args;
mod batch;
mod client;
mod commands;
mod conventions;
#[cfg(feature = "demo")]
mod demo;
mod describe;
mod duration;
mod failure;
mod interrupt;
mod outcome;
mod output;
mod progress;
mod purpose;
mod signal;
mod size;
mod status;
mod stdin;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::failure::Failure;
use crate::output::print_stdout;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return command_line_error(e),
    };
    let json = cli.command.json();
    conventions::init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let failure = Failure::other(format!("cannot start the async runtime: {e}"));
            failure.emit(json);
            return failure.process_exit_code();
        }
    };
    let outcome = runtime.block_on(run(cli));
    // Do not wait long for stray tasks (a best-effort cancel, the signal listener).
    runtime.shutdown_timeout(Duration::from_secs(2));
    match outcome {
        Ok(()) => ExitCode::from(failure::EXIT_OK),
        Err(failure) => {
            failure.emit(json);
            failure.process_exit_code()
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Upload(args) => commands::upload(*args).await,
        Command::Resume(args) => commands::resume(args).await,
        Command::Cancel(args) => commands::cancel(args).await,
        Command::Status(args) => status::status(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Completions(args) => conventions::completions(&args),
        Command::Man => conventions::man(),
    }
}

#[cfg(feature = "demo")]
async fn demo(args: args::DemoArgs) -> Result<(), Failure> {
    demo::demo(args).await
}

/// Built without the `demo` feature: the subcommand exists, and says so.
#[cfg(not(feature = "demo"))]
async fn demo(_args: args::DemoArgs) -> Result<(), Failure> {
    Err(Failure::invalid_input(
        "this openai-uploads was built without the `demo` feature (the embedded fake server)",
    )
    .with_hint(
        "install it with the feature (on by default): cargo install --path crates/uploads-cli",
    ))
}

/// Reports a malformed command line as clap does (exit code 2), and with `--json` also as the
/// error object on stdout. Help and version requests print and exit 0.
fn command_line_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as Kind;
    if matches!(e.kind(), Kind::DisplayHelp | Kind::DisplayVersion)
        || !std::env::args_os().any(|a| a == "--json")
    {
        e.exit();
    }
    let text = e.render().to_string();
    let message = text
        .lines()
        .next()
        .unwrap_or_default()
        .trim_start_matches("error: ")
        .to_owned();
    let _ = print_stdout(&Failure::invalid_input(message).render_json());
    let _ = e.print();
    ExitCode::from(failure::EXIT_INVALID_INPUT)
}
