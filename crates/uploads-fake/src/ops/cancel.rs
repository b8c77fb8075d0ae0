//! `POST /v1/uploads/{id}/cancel`.

use serde_json::Value;

use crate::api_error::ApiError;
use crate::body::ReqBody;
use crate::ops::DRAIN_EXTRA;
use crate::service::Service;
use crate::state::UploadStatus;
use crate::storage::remove_files;

/// Cancels a pending upload (idempotent on a cancelled one) and deletes its parts.
pub(crate) async fn cancel(
    service: &Service,
    id: &str,
    mut body: ReqBody,
) -> Result<Value, ApiError> {
    body.drain(DRAIN_EXTRA).await;
    let store = &service.store;
    let now = store.clock.now_unix();
    let (result, doomed) = {
        let mut map = store.lock();
        let Some(u) = map.get_mut(id) else {
            return Err(ApiError::no_upload(id));
        };
        if let Some(paths) = u.refresh_expiry(now) {
            (
                Err(ApiError::invalid(format!(
                    "Cannot cancel upload {id} because it has expired (status 'expired')."
                ))),
                Some(paths),
            )
        } else {
            match u.status {
                UploadStatus::Cancelled => (Ok(u.to_json()), None),
                UploadStatus::Pending if u.completing => (
                    Err(ApiError::invalid(format!(
                        "Cannot cancel upload {id} because it is being completed."
                    ))),
                    None,
                ),
                UploadStatus::Pending => {
                    u.status = UploadStatus::Cancelled;
                    let paths = u.take_part_paths();
                    (Ok(u.to_json()), Some(paths))
                }
                status => (
                    Err(ApiError::invalid(format!(
                        "Cannot cancel upload {id} because its status is '{status}'."
                    ))),
                    None,
                ),
            }
        }
    };
    if let Some(paths) = doomed {
        remove_files(paths);
        store.persist();
    }
    result
}
