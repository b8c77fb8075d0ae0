//! `POST /v1/uploads`.

use std::collections::HashMap;

use serde_json::Value;

use crate::api_error::{invalid_type, invalid_value, missing, ApiError};
use crate::body::ReqBody;
use crate::service::Service;
use crate::state::{Upload, UploadStatus};
use crate::store::new_id;
use crate::validate::{check_keys, require_object, required_integer, required_string};

/// Purposes accepted at create.
const PURPOSES: &[&str] = &[
    "assistants",
    "batch",
    "fine-tune",
    "vision",
    "user_data",
    "evals",
];

/// Validates the request like the API does and creates a pending upload.
pub(crate) async fn create(service: &Service, mut body: ReqBody) -> Result<Value, ApiError> {
    let value = body.json().await?;
    let obj = require_object(&value)?;
    check_keys(
        obj,
        &["filename", "purpose", "bytes", "mime_type", "expires_after"],
        "",
    )?;
    let filename = required_string(obj, "filename")?;
    if filename.is_empty() {
        return Err(invalid_value("filename", "must be a non-empty string."));
    }
    let purpose = required_string(obj, "purpose")?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(invalid_value(
            "purpose",
            format!(
                "'{purpose}'. Supported values are: 'assistants', 'batch', 'fine-tune', \
                 'vision', 'user_data', and 'evals'."
            ),
        ));
    }
    let bytes = required_integer(obj, "bytes")?;
    let max = service.max_upload_bytes;
    if bytes < 1 || bytes > i128::from(max) {
        return Err(invalid_value(
            "bytes",
            format!("{bytes}. Must be between 1 and {max}."),
        ));
    }
    let bytes = bytes as u64;
    let mime_type = required_string(obj, "mime_type")?;
    if mime_type.is_empty() {
        return Err(invalid_value("mime_type", "must be a non-empty string."));
    }
    let file_expires_after = match obj.get("expires_after") {
        None | Some(Value::Null) => None,
        Some(Value::Object(ea)) => {
            check_keys(ea, &["anchor", "seconds"], "expires_after.")?;
            let anchor = match ea.get("anchor") {
                None | Some(Value::Null) => return Err(missing("expires_after.anchor")),
                Some(Value::String(s)) => s.clone(),
                Some(other) => return Err(invalid_type("expires_after.anchor", "a string", other)),
            };
            if anchor != "created_at" {
                return Err(invalid_value(
                    "expires_after.anchor",
                    format!("'{anchor}'. Supported values are: 'created_at'."),
                ));
            }
            let seconds = match ea.get("seconds") {
                None | Some(Value::Null) => return Err(missing("expires_after.seconds")),
                Some(Value::Number(n)) if n.is_u64() || n.is_i64() => {
                    n.as_i64().map(i128::from).unwrap_or(i128::MAX)
                }
                Some(other) => {
                    return Err(invalid_type("expires_after.seconds", "an integer", other))
                }
            };
            if !(3600..=2_592_000).contains(&seconds) {
                return Err(invalid_value(
                    "expires_after.seconds",
                    format!("{seconds}. Must be between 3600 and 2592000."),
                ));
            }
            Some(seconds as u64)
        }
        Some(other) => return Err(invalid_type("expires_after", "an object", other)),
    };

    let store = &service.store;
    let now = store.clock.now_unix();
    Ok(store.insert(Upload {
        seq: store.next_seq(),
        id: new_id("upload_"),
        status: UploadStatus::Pending,
        bytes,
        filename,
        purpose,
        mime_type,
        created_at: now,
        expires_at: now + service.upload_ttl.as_secs(),
        file_expires_after,
        parts: Vec::new(),
        part_index: HashMap::new(),
        completing: false,
        completed_part_ids: None,
        file: None,
        content_sha256: None,
        content_md5: None,
    }))
}
