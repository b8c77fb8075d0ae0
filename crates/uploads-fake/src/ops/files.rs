//! `GET /v1/files` and `GET /v1/files/{file_id}`: the Files that completed
//! uploads produced, listed as the API lists them (newest first by default,
//! pages of `limit` after an `after` cursor).

use serde_json::{json, Value};

use crate::api_error::{invalid_value, ApiError};
use crate::body::ReqBody;
use crate::ops::DRAIN_EXTRA;
use crate::service::Service;

/// Largest (and default) `limit`, as in the API.
const MAX_LIMIT: usize = 10_000;

/// The query of a list request.
struct ListQuery {
    purpose: Option<String>,
    limit: usize,
    descending: bool,
    after: Option<String>,
}

impl ListQuery {
    /// Parses `purpose`, `limit`, `order` and `after`; other keys are ignored.
    fn parse(query: &str) -> Result<ListQuery, ApiError> {
        let mut q = ListQuery {
            purpose: None,
            limit: MAX_LIMIT,
            descending: true,
            after: None,
        };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "purpose" => q.purpose = Some(value.into_owned()),
                "after" => q.after = Some(value.into_owned()),
                "limit" => {
                    q.limit = value
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_LIMIT).contains(n))
                        .ok_or_else(|| {
                            invalid_value(
                                "limit",
                                format!("'{value}'. Must be an integer between 1 and {MAX_LIMIT}."),
                            )
                        })?;
                }
                "order" => {
                    q.descending = match value.as_ref() {
                        "desc" => true,
                        "asc" => false,
                        other => {
                            return Err(invalid_value(
                                "order",
                                format!("'{other}'. Supported values are: 'asc' and 'desc'."),
                            ))
                        }
                    }
                }
                _ => {}
            }
        }
        Ok(q)
    }
}

fn id_of(file: &Value) -> &str {
    file["id"].as_str().unwrap_or_default()
}

fn no_file(id: &str, param: &str) -> ApiError {
    ApiError::not_found(format!("No such File object: {id}")).with_param(param)
}

/// Lists the Files: `{"object":"list","data","first_id","last_id","has_more"}`
/// (`first_id`/`last_id` are null for an empty page).
pub(crate) async fn list_files(
    service: &Service,
    query: Option<&str>,
    mut body: ReqBody,
) -> Result<Value, ApiError> {
    body.drain(DRAIN_EXTRA).await;
    let q = ListQuery::parse(query.unwrap_or_default())?;
    let mut files = service.store.files();
    if q.descending {
        files.reverse();
    }
    let start = match &q.after {
        None => 0,
        Some(after) => {
            files
                .iter()
                .position(|f| id_of(f) == after)
                .ok_or_else(|| no_file(after, "after"))?
                + 1
        }
    };
    let mut matching = files.into_iter().skip(start).filter(|f| {
        q.purpose
            .as_deref()
            .is_none_or(|p| f["purpose"].as_str() == Some(p))
    });
    let data: Vec<Value> = matching.by_ref().take(q.limit).collect();
    let has_more = matching.next().is_some();
    Ok(json!({
        "object": "list",
        "first_id": data.first().map(id_of),
        "last_id": data.last().map(id_of),
        "has_more": has_more,
        "data": data,
    }))
}

/// One File, or 404 with the API's message.
pub(crate) async fn retrieve_file(
    service: &Service,
    id: &str,
    mut body: ReqBody,
) -> Result<Value, ApiError> {
    body.drain(DRAIN_EXTRA).await;
    service
        .store
        .files()
        .into_iter()
        .find(|f| id_of(f) == id)
        .ok_or_else(|| no_file(id, "id"))
}
