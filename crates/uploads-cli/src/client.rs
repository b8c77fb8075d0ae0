//! The SDK client of `upload`, `resume` and `cancel`: configured from the environment and the
//! `--base-url`, `--org`, `--project`, `--timeout` and `--max-retries` flags (a flag wins over
//! its `OPENAI_*` variable).

use uploads_ext::{Client, ClientBuilder};

use crate::args::ClientArgs;
use crate::failure::Failure;
use crate::outcome::{self, Context};

/// A client from `OPENAI_*` and the flags. A missing key is invalid input, explained in terms of
/// this command rather than of the SDK.
pub fn client(args: &ClientArgs) -> Result<Client, Failure> {
    client_with(args, |builder| builder)
}

/// [`client`], with more settings from `more` (e.g. a batch's budget).
pub fn client_with(
    args: &ClientArgs,
    more: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Result<Client, Failure> {
    let has_key = std::env::var_os("OPENAI_API_KEY")
        .is_some_and(|key| !key.to_string_lossy().trim().is_empty());
    if !has_key {
        return Err(Failure::invalid_input("no API key: OPENAI_API_KEY is not set")
            .with_hint("set it with: export OPENAI_API_KEY=sk-... (PowerShell: $env:OPENAI_API_KEY=\"sk-...\")")
            .with_hint("`openai-uploads demo` runs against an embedded fake server without a key"));
    }
    let mut builder = Client::builder();
    if let Some(timeout) = args.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(retries) = args.max_retries {
        builder = builder.max_retries(retries);
    }
    if let Some(url) = &args.base_url {
        builder = builder.base_url(url.clone());
    }
    if let Some(org) = &args.org {
        builder = builder.organization(org.clone());
    }
    if let Some(project) = &args.project {
        builder = builder.project(project.clone());
    }
    more(builder)
        .build()
        .map_err(|e| outcome::from_error(&e, &Context::default()))
}

/// The client of one upload or resume: its budget of parts in flight is at least the
/// `--concurrency` asked for, so that the client's default budget does not quietly lower it.
pub fn client_for_one(args: &ClientArgs, concurrency: Option<usize>) -> Result<Client, Failure> {
    client_with(args, |builder| match concurrency {
        Some(c) => builder.max_parts_in_flight(c.clamp(
            uploads_ext::limits::DEFAULT_MAX_PARTS_IN_FLIGHT,
            uploads_ext::limits::MAX_PARTS_IN_FLIGHT,
        )),
        None => builder,
    })
}
