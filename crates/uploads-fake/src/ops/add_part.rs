//! `POST /v1/uploads/{id}/parts`: a `multipart/form-data` body with one
//! `data` field, streamed into the storage sink and size-limited as it comes.

use std::sync::Arc;

use hyper::header::CONTENT_TYPE;
use hyper::HeaderMap;
use serde_json::{json, Value};

use crate::api_error::{invalid_value, missing, unknown_argument, ApiError};
use crate::body::ReqBody;
use crate::ops::DRAIN_EXTRA;
use crate::service::Service;
use crate::state::Part;
use crate::storage::StoredPart;
use crate::store::new_id;

fn store_failed(e: std::io::Error) -> ApiError {
    ApiError::server_error(format!("Failed to store part: {e}"))
}

/// Receives one part and adds it to a pending upload.
pub(crate) async fn add_part(
    service: &Arc<Service>,
    id: &str,
    headers: &HeaderMap,
    mut body: ReqBody,
) -> Result<Value, ApiError> {
    let drain_limit = service.max_part_bytes.saturating_add(DRAIN_EXTRA);
    if let Err(e) = service.store.ensure_pending(id, "add a part to") {
        body.drain(drain_limit).await;
        return Err(e);
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        body.drain(drain_limit).await;
        return Err(ApiError::invalid(format!(
            "Invalid Content-Type header ({content_type:?}): expected multipart/form-data \
             with a boundary."
        )));
    };

    let part_id = new_id("part_");
    let (size, mut stored) = receive(service, &part_id, body, boundary).await?;

    // Commit, re-checking the upload (it may have been cancelled meanwhile).
    let store = &service.store;
    let now = store.clock.now_unix();
    let mut expired = None;
    let result = {
        let mut map = store.lock();
        store
            .check_pending(&mut map, id, "add a part to", &mut expired)
            .map(|()| {
                let u = map.get_mut(id).expect("checked above");
                u.part_index.insert(part_id.clone(), u.parts.len());
                u.parts.push(Part {
                    id: part_id.clone(),
                    size,
                    sha256: stored.sha256.take(),
                    created_at: now,
                    path: stored.file.keep(),
                });
            })
    };
    if let Some(paths) = expired {
        store.after_expiry(paths);
    }
    result?;
    {
        let mut c = service.counters();
        c.parts_stored += 1;
        c.part_bytes_stored += size;
    }
    store.persist();
    Ok(json!({
        "id": part_id,
        "object": "upload.part",
        "created_at": now,
        "upload_id": id,
    }))
}

/// Streams the `data` field into a sink; returns its size and what was kept.
async fn receive(
    service: &Service,
    part_id: &str,
    body: ReqBody,
    boundary: String,
) -> Result<(u64, StoredPart), ApiError> {
    let mut sink = service.storage.open(part_id).await.map_err(store_failed)?;
    let mut multipart = multer::Multipart::new(body.into_stream(), boundary);
    let bad_multipart = |e: multer::Error| {
        ApiError::invalid(format!("Could not parse multipart form: {e}")).with_param("data")
    };
    let max = service.max_part_bytes;
    let mut found = false;
    let mut size: u64 = 0;
    while let Some(mut field) = multipart.next_field().await.map_err(bad_multipart)? {
        let name = field.name().unwrap_or("").to_string();
        if name != "data" {
            return Err(unknown_argument(&name));
        }
        if found {
            return Err(
                ApiError::invalid("Expected exactly one 'data' field, got several.")
                    .with_param("data"),
            );
        }
        found = true;
        while let Some(chunk) = field.chunk().await.map_err(bad_multipart)? {
            let len = chunk.len() as u64;
            service.counters().part_bytes_received += len;
            if size + len > max {
                return Err(ApiError::invalid(format!(
                    "Part is too large: the maximum part size is {max} bytes."
                ))
                .with_param("data"));
            }
            size += len;
            sink.write(&chunk).await.map_err(store_failed)?;
        }
    }
    if !found {
        return Err(missing("data"));
    }
    if size == 0 {
        return Err(invalid_value("data", "the part is empty.").with_code("empty_file"));
    }
    let stored = sink.finish().await.map_err(store_failed)?;
    Ok((size, stored))
}
