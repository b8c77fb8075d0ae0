//! `POST /v1/uploads/{id}/complete`: checks the part list (ownership,
//! duplicates, total size), hashes the content and the optional md5, then
//! commits the file object.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::api_error::{invalid_type, invalid_value, missing, ApiError};
use crate::body::ReqBody;
use crate::ops::slow_delay;
use crate::service::Service;
use crate::state::{FileObject, UploadStatus};
use crate::storage::{hash_files, remove_files};
use crate::store::new_id;
use crate::validate::{check_keys, require_object};

/// The validated request.
struct Request {
    part_ids: Vec<String>,
    md5: Option<String>,
}

fn parse(value: &Value) -> Result<Request, ApiError> {
    let obj = require_object(value)?;
    check_keys(obj, &["part_ids", "md5"], "")?;
    let part_ids = match obj.get("part_ids") {
        None | Some(Value::Null) => return Err(missing("part_ids")),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                other => Err(invalid_type(&format!("part_ids[{i}]"), "a string", other)),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(invalid_type("part_ids", "an array", other)),
    };
    let md5 = match obj.get("md5") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return Err(invalid_type("md5", "a string", other)),
    };
    Ok(Request { part_ids, md5 })
}

/// Completes an upload. `slow`: time per GiB spent "completing" before the
/// commit. Hashing and the commit run in their own task, so a client that
/// hangs up meanwhile does not stop the upload from completing (as with the
/// real service).
pub(crate) async fn complete(
    service: &Arc<Service>,
    id: &str,
    mut body: ReqBody,
    slow: Option<Duration>,
) -> Result<Value, ApiError> {
    let request = parse(&body.json().await?)?;
    let (paths, bytes) = begin(service, id, &request.part_ids)?;
    let guard = CompletingGuard {
        service: service.clone(),
        id: id.to_string(),
        armed: true,
    };
    let task = tokio::spawn(finish(
        guard,
        request,
        paths,
        slow.map(|s| slow_delay(s, bytes)),
    ));
    task.await
        .map_err(|e| ApiError::server_error(format!("Completing failed: {e}")))?
}

/// Phase 1: validates the part list and marks the upload as being completed.
/// Returns the part files in order and the upload's size.
fn begin(
    service: &Service,
    id: &str,
    part_ids: &[String],
) -> Result<(Vec<PathBuf>, u64), ApiError> {
    let store = &service.store;
    let mut map = store.lock();
    let mut expired = None;
    if let Err(e) = store.check_pending(&mut map, id, "complete", &mut expired) {
        drop(map);
        if let Some(paths) = expired {
            store.after_expiry(paths);
        }
        return Err(e);
    }
    let u = map.get_mut(id).expect("checked above");
    if part_ids.is_empty() {
        return Err(invalid_value(
            "part_ids",
            "must contain at least one part id.",
        ));
    }
    let mut seen = HashSet::new();
    let mut total: u64 = 0;
    let mut paths = Vec::with_capacity(part_ids.len());
    for pid in part_ids {
        let Some(part) = u.part(pid) else {
            return Err(
                ApiError::invalid(format!("Part '{pid}' does not belong to upload {id}."))
                    .with_param("part_ids"),
            );
        };
        if !seen.insert(pid.as_str()) {
            return Err(ApiError::invalid(format!(
                "Part '{pid}' is listed more than once in part_ids."
            ))
            .with_param("part_ids"));
        }
        total += part.size;
        paths.extend(part.path.clone());
    }
    if total != u.bytes {
        return Err(ApiError::invalid(format!(
            "The listed parts contain {total} bytes, but the upload was created with \
             bytes={}. The total size of the parts must equal the bytes specified at creation.",
            u.bytes
        ))
        .with_param("part_ids"));
    }
    u.completing = true;
    Ok((paths, u.bytes))
}

/// Phases 2 and 3: hashes the content (disk modes), waits `delay`, commits.
async fn finish(
    mut guard: CompletingGuard,
    request: Request,
    paths: Vec<PathBuf>,
    delay: Option<Duration>,
) -> Result<Value, ApiError> {
    let service = guard.service.clone();
    let id = guard.id.clone();
    let hashes = if service.storage.mode.keeps_bytes() {
        let h = tokio::task::spawn_blocking(move || hash_files(&paths))
            .await
            .map_err(|e| ApiError::server_error(format!("Hashing failed: {e}")))?
            .map_err(|e| ApiError::server_error(format!("Could not read parts: {e}")))?;
        if let Some(given) = &request.md5 {
            if !given.eq_ignore_ascii_case(&h.1) {
                return Err(ApiError::invalid(format!(
                    "The md5 checksum provided ({given}) does not match the md5 of the \
                     uploaded parts ({}).",
                    h.1
                ))
                .with_param("md5"));
            }
        }
        Some(h)
    } else {
        None
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }

    let (json, unused) = {
        let mut map = service.store.lock();
        let u = map.get_mut(&id).ok_or_else(|| ApiError::no_upload(&id))?;
        guard.armed = false;
        u.completing = false;
        let now = service.store.clock.now_unix();
        u.status = UploadStatus::Completed;
        u.file = Some(FileObject {
            seq: service.store.next_seq(),
            id: new_id("file-"),
            bytes: u.bytes,
            created_at: now,
            expires_at: u.file_expires_after.map(|s| now + s),
        });
        if let Some((sha, md5)) = hashes {
            u.content_sha256 = Some(sha);
            u.content_md5 = Some(md5);
        }
        let used: HashSet<&str> = request.part_ids.iter().map(String::as_str).collect();
        let unused: Vec<PathBuf> = u
            .parts
            .iter_mut()
            .filter(|p| !used.contains(p.id.as_str()))
            .filter_map(|p| p.path.take())
            .collect();
        u.completed_part_ids = Some(request.part_ids);
        (u.to_json(), unused)
    };
    remove_files(unused);
    service.store.persist();
    Ok(json)
}

/// Clears the `completing` flag unless disarmed (the commit did not happen).
struct CompletingGuard {
    service: Arc<Service>,
    id: String,
    armed: bool,
}

impl Drop for CompletingGuard {
    fn drop(&mut self) {
        if self.armed {
            if let Some(u) = self.service.store.lock().get_mut(&self.id) {
                u.completing = false;
            }
        }
    }
}
