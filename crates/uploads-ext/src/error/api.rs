//! [`ApiError`]: the API's error envelope, decoded once from an error response's body.

use openai_uploads_generated::models::upload::Status as UploadStatus;
use serde::Deserialize;

/// The API's error envelope: `{"error": {"message", "type", "param", "code"}}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ApiError {
    /// Human-readable message from the API.
    #[serde(default)]
    pub message: String,
    /// Error type, e.g. `invalid_request_error`.
    #[serde(rename = "type", default)]
    pub error_type: Option<String>,
    /// The request parameter at fault, when the API names one.
    #[serde(default)]
    pub param: Option<String>,
    /// Machine-readable code, e.g. `invalid_api_key` (may be a string or number upstream).
    #[serde(default, deserialize_with = "string_or_number")]
    pub code: Option<String>,
}

impl ApiError {
    /// The status of the Upload that an error names, as the API words it when an operation no
    /// longer applies: "Cannot cancel upload upload_abc because its status is 'cancelled'.",
    /// "... because it has expired (status 'expired')", or in words ("has already been
    /// cancelled"). `None` when the message names none, and for an upload "being completed"
    /// (still pending).
    ///
    /// The API has no way to read an Upload, so this is how a retried `cancel` or `complete`
    /// learns what an earlier attempt whose answer was lost did.
    pub fn upload_status(&self) -> Option<UploadStatus> {
        let quoted = self
            .message
            .split_once("status is '")
            .or_else(|| self.message.split_once("status '"))
            .and_then(|(_, after)| after.split_once('\''));
        if let Some((status, _)) = quoted {
            let status: UploadStatus = status.parse().unwrap_or_else(|never| match never {});
            return status.is_known().then_some(status);
        }
        let message = self.message.to_ascii_lowercase();
        if message.contains("being completed") {
            None
        } else if message.contains("cancelled") || message.contains("canceled") {
            Some(UploadStatus::Cancelled)
        } else if message.contains("expired") {
            Some(UploadStatus::Expired)
        } else if message.contains("completed") {
            Some(UploadStatus::Completed)
        } else {
            None
        }
    }
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

#[derive(Deserialize)]
pub(super) struct Envelope {
    pub(super) error: ApiError,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(message: &str) -> ApiError {
        ApiError {
            message: message.to_owned(),
            error_type: Some("invalid_request_error".into()),
            param: None,
            code: None,
        }
    }

    #[test]
    fn the_status_an_error_names_is_read_from_its_message() {
        let cancelled = api("Cannot cancel upload upload_1 because its status is 'cancelled'.");
        assert_eq!(cancelled.upload_status(), Some(UploadStatus::Cancelled));
        let expired =
            api("Cannot complete upload upload_1 because it has expired (status 'expired').");
        assert_eq!(expired.upload_status(), Some(UploadStatus::Expired));
        let completed =
            api("Cannot add parts to upload upload_1 because its status is 'completed'.");
        assert_eq!(completed.upload_status(), Some(UploadStatus::Completed));
        assert_eq!(api("No such upload: upload_1").upload_status(), None);
        let words = api("Upload upload_1 has already been canceled.");
        assert_eq!(words.upload_status(), Some(UploadStatus::Cancelled));
        assert_eq!(
            api("Upload upload_1 is being completed.").upload_status(),
            None
        );
        assert_eq!(api("its status is 'weird'.").upload_status(), None);
    }
}
