//! `openai-uploads status UPLOAD_ID FILE --purpose P`: settles an upload whose outcome is
//! unknown (see [`uploads_ext::Client::settle_upload`]) and prints what became of it.

use serde_json::json;
use uploads_ext::{SettleRequest, Settlement};

use crate::args::StatusArgs;
use crate::client::client;
use crate::failure::{Failure, EXIT_FAILURE, EXIT_OUTCOME_UNKNOWN};
use crate::outcome::{self, CommandKind, Context};
use crate::output::{print_stdout, to_json};

/// Exit 0 when the upload completed (its File printed), 1 when it was cancelled, expired or its
/// `complete` refused, 3 when the outcome is still unknown.
pub async fn status(args: StatusArgs) -> Result<(), Failure> {
    crate::purpose::check(&args.purpose, args.allow_unknown_purpose)?;
    let id = args.upload_id.trim();
    if id.is_empty() || id.contains(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace())
    {
        return Err(Failure::invalid_input(format!(
            "{id:?} is not an upload id (it looks like upload_abc123)"
        )));
    }
    let meta = std::fs::metadata(&args.file)
        .map_err(|e| Failure::invalid_input(format!("cannot read {}: {e}", args.file.display())))?;
    let filename = match &args.filename {
        Some(name) => name.clone(),
        None => args
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| Failure::invalid_input("FILE has no file name: give --filename"))?,
    };
    let client = client(&args.client)?;
    let request = SettleRequest::new(id, filename, meta.len(), args.purpose.as_str(), args.since);
    // As for cancel: one request of its own, nothing to clean up.
    let context = Context {
        command: CommandKind::Cancel,
        ..Context::default()
    };
    let settlement = client
        .settle_upload(request)
        .await
        .map_err(|e| outcome::from_error(&e, &context))?;
    let (code, kind, message) = match &settlement {
        Settlement::Completed(done) => {
            let file = done.file();
            let text = format!(
                "upload id: {id}\nstatus:    completed\nfile id:   {}\nfilename:  {}\nbytes:     {}\n",
                file.id, file.filename, file.bytes
            );
            let value = json!({"upload_id": id, "settlement": "completed", "file": file});
            return print_stdout(&if args.json { to_json(&value)? } else { text });
        }
        Settlement::Cancelled => (
            EXIT_FAILURE,
            "cancelled",
            format!("upload {id} was cancelled: no File was made; upload the file again"),
        ),
        Settlement::Expired => (
            EXIT_FAILURE,
            "expired",
            format!(
                "upload {id} expired before it completed: no File was made; upload the file again"
            ),
        ),
        Settlement::Refused { reason } => (
            EXIT_FAILURE,
            "refused",
            format!("upload {id} is still pending; complete was refused: {reason}"),
        ),
        Settlement::Unknown { reason } => (
            EXIT_OUTCOME_UNKNOWN,
            "completion_unknown",
            format!("the outcome of upload {id} is still unknown: {reason}; run this again later"),
        ),
        _ => (
            EXIT_OUTCOME_UNKNOWN,
            "completion_unknown",
            format!("upload {id}: an outcome this version does not know"),
        ),
    };
    if args.json {
        let value = json!({"upload_id": id, "settlement": settlement.as_str(), "message": message});
        print_stdout(&to_json(&value)?)?;
    }
    let mut failure = Failure::new(code, kind, message).already_reported_if(args.json);
    failure.upload_id = Some(id.to_owned());
    Err(failure)
}
