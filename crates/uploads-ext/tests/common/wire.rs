//! The mockito helpers of the wire tests: a client without retries, canned answers and the
//! headers every request must carry.

use mockito::{Matcher, Mock, ServerGuard};
use serde_json::json;
use uploads_ext::Client;

/// The API key every wire test sends.
pub const KEY: &str = "sk-test-wire";

/// A client of `server` with [`KEY`] and no retries.
pub fn client(server: &ServerGuard) -> Client {
    Client::builder()
        .ignore_env()
        .api_key(KEY)
        .base_url(format!("{}/v1", server.url()))
        .max_retries(0)
        .build()
        .expect("client builds")
}

/// An Upload object in `status`.
pub fn upload_json(id: &str, status: &str) -> String {
    json!({
        "id": id,
        "object": "upload",
        "bytes": 2147483648u64,
        "created_at": 1719184911,
        "filename": "train.jsonl",
        "purpose": "fine-tune",
        "status": status,
        "expires_at": 1719188511
    })
    .to_string()
}

/// An upload part object.
pub fn part_json(id: &str, upload_id: &str) -> String {
    json!({"id": id, "object": "upload.part", "created_at": 1719185911, "upload_id": upload_id})
        .to_string()
}

/// The headers every request must carry, with organization and project absent.
pub fn common_headers(mock: Mock) -> Mock {
    mock.match_header("authorization", format!("Bearer {KEY}").as_str())
        .match_header(
            "user-agent",
            Matcher::Regex(r"^uploads-ext/\d+\.\d+\.\d+ \(openai-uploads; rust\)$".into()),
        )
        .match_header("openai-organization", Matcher::Missing)
        .match_header("openai-project", Matcher::Missing)
}
