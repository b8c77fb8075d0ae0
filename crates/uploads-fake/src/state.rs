//! Upload state kept by the server and the public snapshots of it. A leaf:
//! imports nothing of the crate.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Status of an upload, as reported by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
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
#[non_exhaustive]
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
#[non_exhaustive]
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
    /// Creation order among all objects (breaks ties of `created_at`).
    pub seq: u64,
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

    /// The API's File object of a completed upload (`OpenAIFile`).
    pub fn file_json(&self) -> Option<Value> {
        let f = self.file.as_ref()?;
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
        Some(v)
    }

    /// The API's Upload object.
    pub fn to_json(&self) -> Value {
        let file = self.file_json().unwrap_or(Value::Null);
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
