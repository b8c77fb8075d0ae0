//! Upload state kept by the server, and the public snapshots and statistics
//! derived from it.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::faults::Fault;
use crate::router::Operation;

/// Status of an upload, as reported by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UploadStatus {
    /// Accepting parts.
    Pending,
    /// Completed; a file object exists.
    Completed,
    /// Cancelled by the client.
    Cancelled,
    /// Not completed within its lifetime.
    Expired,
}

impl UploadStatus {
    /// The status as the API spells it (`"pending"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Pending => "pending",
            UploadStatus::Completed => "completed",
            UploadStatus::Cancelled => "cancelled",
            UploadStatus::Expired => "expired",
        }
    }
}

impl fmt::Display for UploadStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A part the server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartSnapshot {
    /// The part id (`part_…`).
    pub id: String,
    /// Size of the part's data in bytes.
    pub size: u64,
    /// Lowercase hex sha256 of the part's data (`None` in `Discard` mode).
    pub sha256: Option<String>,
    /// When the part was received (fake clock, Unix seconds).
    pub created_at: u64,
}

/// A point-in-time copy of one upload's server-side state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSnapshot {
    /// The upload id (`upload_…`).
    pub id: String,
    /// Current status (expiry is evaluated when the snapshot is taken).
    pub status: UploadStatus,
    /// The `bytes` given at create.
    pub bytes: u64,
    /// The `filename` given at create.
    pub filename: String,
    /// The `purpose` given at create.
    pub purpose: String,
    /// The `mime_type` given at create.
    pub mime_type: String,
    /// Creation time (fake clock, Unix seconds).
    pub created_at: u64,
    /// When the upload expires (`created_at` + TTL).
    pub expires_at: u64,
    /// `expires_after.seconds` given at create, if any.
    pub file_expires_after: Option<u64>,
    /// Every part accepted, in arrival order.
    pub parts: Vec<PartSnapshot>,
    /// The `part_ids` of the successful complete call, in the given order.
    pub completed_part_ids: Option<Vec<String>>,
    /// The id of the file created at completion (`file-…`).
    pub file_id: Option<String>,
    /// Lowercase hex sha256 of the assembled content (disk storage only).
    pub content_sha256: Option<String>,
    /// Lowercase hex md5 of the assembled content (disk storage only).
    pub content_md5: Option<String>,
}

impl UploadSnapshot {
    /// Looks up a received part by id.
    pub fn part(&self, id: &str) -> Option<&PartSnapshot> {
        self.parts.iter().find(|p| p.id == id)
    }

    /// Sum of the sizes of every received part.
    pub fn received_bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }
}

/// Number of requests seen per operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// `POST /v1/uploads`
    pub create: u64,
    /// `/v1/uploads/{id}/parts`
    pub add_part: u64,
    /// `/v1/uploads/{id}/complete`
    pub complete: u64,
    /// `/v1/uploads/{id}/cancel`
    pub cancel: u64,
    /// Requests to unknown routes.
    pub other: u64,
    /// Requests (to any route) rejected with 401.
    pub unauthorized: u64,
}

impl RequestCounts {
    /// The count for one operation.
    pub fn get(&self, op: Operation) -> u64 {
        match op {
            Operation::Create => self.create,
            Operation::AddPart => self.add_part,
            Operation::Complete => self.complete,
            Operation::Cancel => self.cancel,
        }
    }

    /// Every request seen (including unknown routes).
    pub fn total(&self) -> u64 {
        self.create + self.add_part + self.complete + self.cancel + self.other
    }

    pub(crate) fn bump(&mut self, op: Option<Operation>) {
        match op {
            Some(Operation::Create) => self.create += 1,
            Some(Operation::AddPart) => self.add_part += 1,
            Some(Operation::Complete) => self.complete += 1,
            Some(Operation::Cancel) => self.cancel += 1,
            None => self.other += 1,
        }
    }
}

/// Number of injected faults per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    /// Requests answered with an injected 5xx status.
    pub server_error: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests answered with another injected status.
    pub other_status: u64,
    /// Connections dropped (before, during or after the request).
    pub dropped: u64,
    /// Requests stalled or delayed.
    pub stalled: u64,
    /// Requests answered 200 with an undecodable body.
    pub undecodable: u64,
    /// Requests slowed down in proportion to the upload's size.
    pub slow: u64,
}

impl FaultCounts {
    /// Total injected faults.
    pub fn total(&self) -> u64 {
        self.server_error
            + self.rate_limited
            + self.other_status
            + self.dropped
            + self.stalled
            + self.undecodable
            + self.slow
    }

    pub(crate) fn record(&mut self, fault: &Fault) {
        let slot = match fault {
            Fault::Status(s) if s.status == 429 => &mut self.rate_limited,
            Fault::Status(s) if s.status >= 500 => &mut self.server_error,
            Fault::Status(_) => &mut self.other_status,
            Fault::DropBeforeBody | Fault::DropMidBody | Fault::DropAfterCommit => {
                &mut self.dropped
            }
            Fault::Stall(_) | Fault::StallMidBody { .. } | Fault::Delay(_) => &mut self.stalled,
            Fault::UndecodableOk => &mut self.undecodable,
            Fault::Slow { .. } => &mut self.slow,
        };
        *slot += 1;
    }
}

/// Server statistics, see [`FakeServer::stats`](crate::FakeServer::stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests per operation.
    pub requests: RequestCounts,
    /// Injected faults per kind.
    pub faults: FaultCounts,
    /// Part requests being handled right now.
    pub parts_in_flight: usize,
    /// Highest value `parts_in_flight` has reached (since start or the last
    /// [`FakeServer::reset_stats`](crate::FakeServer::reset_stats)).
    pub max_parts_in_flight: usize,
    /// Bytes of the `data` field read by the part handler, whether or not
    /// the part was then accepted (bodies of requests failed by fault
    /// injection are not parsed and not counted).
    pub part_bytes_received: u64,
    /// Bytes of part data in accepted parts.
    pub part_bytes_stored: u64,
    /// Number of accepted parts.
    pub parts_stored: u64,
}

/// Counters kept under a mutex (the in-flight gauge lives elsewhere).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub requests: RequestCounts,
    pub faults: FaultCounts,
    pub part_bytes_received: u64,
    pub part_bytes_stored: u64,
    pub parts_stored: u64,
}

/// A stored part.
#[derive(Debug)]
pub(crate) struct Part {
    pub id: String,
    pub size: u64,
    pub sha256: Option<String>,
    pub created_at: u64,
    /// The part file, in disk modes, until it is deleted.
    pub path: Option<PathBuf>,
}

/// The file object created at completion.
#[derive(Debug)]
pub(crate) struct FileObject {
    pub id: String,
    pub bytes: u64,
    pub created_at: u64,
    pub expires_at: Option<u64>,
}

/// One upload's full state.
#[derive(Debug)]
pub(crate) struct Upload {
    pub seq: u64,
    pub id: String,
    pub status: UploadStatus,
    pub bytes: u64,
    pub filename: String,
    pub purpose: String,
    pub mime_type: String,
    pub created_at: u64,
    pub expires_at: u64,
    pub file_expires_after: Option<u64>,
    pub parts: Vec<Part>,
    pub part_index: HashMap<String, usize>,
    /// A complete call is hashing the parts right now.
    pub completing: bool,
    pub completed_part_ids: Option<Vec<String>>,
    pub file: Option<FileObject>,
    pub content_sha256: Option<String>,
    pub content_md5: Option<String>,
}

impl Upload {
    /// Marks a pending upload past its expiry as expired. Returns the part
    /// files to delete when it did.
    pub fn refresh_expiry(&mut self, now: u64) -> Option<Vec<PathBuf>> {
        if self.status == UploadStatus::Pending && !self.completing && now >= self.expires_at {
            self.status = UploadStatus::Expired;
            Some(self.take_part_paths())
        } else {
            None
        }
    }

    /// Forgets (and returns) every part file path.
    pub fn take_part_paths(&mut self) -> Vec<PathBuf> {
        self.parts
            .iter_mut()
            .filter_map(|p| p.path.take())
            .collect()
    }

    pub fn part(&self, id: &str) -> Option<&Part> {
        self.part_index.get(id).map(|&i| &self.parts[i])
    }

    pub fn snapshot(&self) -> UploadSnapshot {
        UploadSnapshot {
            id: self.id.clone(),
            status: self.status,
            bytes: self.bytes,
            filename: self.filename.clone(),
            purpose: self.purpose.clone(),
            mime_type: self.mime_type.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
            file_expires_after: self.file_expires_after,
            parts: self
                .parts
                .iter()
                .map(|p| PartSnapshot {
                    id: p.id.clone(),
                    size: p.size,
                    sha256: p.sha256.clone(),
                    created_at: p.created_at,
                })
                .collect(),
            completed_part_ids: self.completed_part_ids.clone(),
            file_id: self.file.as_ref().map(|f| f.id.clone()),
            content_sha256: self.content_sha256.clone(),
            content_md5: self.content_md5.clone(),
        }
    }

    /// The API's Upload object.
    pub fn to_json(&self) -> Value {
        let file = match &self.file {
            None => Value::Null,
            Some(f) => {
                let mut v = json!({
                    "id": f.id,
                    "object": "file",
                    "bytes": f.bytes,
                    "created_at": f.created_at,
                    "filename": self.filename,
                    "purpose": self.purpose,
                    "status": "processed",
                });
                if let Some(exp) = f.expires_at {
                    v["expires_at"] = json!(exp);
                }
                v
            }
        };
        json!({
            "id": self.id,
            "object": "upload",
            "bytes": self.bytes,
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": self.status.as_str(),
            "expires_at": self.expires_at,
            "file": file,
        })
    }
}
