//! What a batch reports per file and as a whole.

use std::path::PathBuf;

use crate::error::Error;
use crate::upload::CompletedUpload;

/// How one file of a batch ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum FileResult {
    /// Uploaded now.
    Completed(Box<CompletedUpload>),
    /// Uploaded by an earlier run of the same batch (see
    /// [`BatchBuilder::manifest`](super::BatchBuilder::manifest)): not sent again.
    AlreadyUploaded {
        /// The Upload's id.
        upload_id: String,
        /// The File's id.
        file_id: String,
    },
    /// Failed; [`Error::cleanup`] says what happened to its Upload.
    Failed(Error),
}

/// One file of a batch and how it ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct FileOutcome {
    /// Position of the file in the batch (the order given, or the sorted walk).
    pub index: usize,
    /// The file's path (for a directory: the root joined with the file's relative path).
    pub path: PathBuf,
    /// The file's size when listed (0 if it could not be read).
    pub bytes: u64,
    /// How it ended.
    pub result: FileResult,
}

impl FileOutcome {
    /// Whether the file is on the server as a File (now or from an earlier run).
    pub fn is_completed(&self) -> bool {
        !matches!(self.result, FileResult::Failed(_))
    }

    /// The File's id, for a completed file.
    pub fn file_id(&self) -> Option<&str> {
        match &self.result {
            FileResult::Completed(done) => Some(done.file_id()),
            FileResult::AlreadyUploaded { file_id, .. } => Some(file_id),
            FileResult::Failed(_) => None,
        }
    }

    /// The Upload's id, if one was created.
    pub fn upload_id(&self) -> Option<&str> {
        match &self.result {
            FileResult::Completed(done) => Some(done.upload_id()),
            FileResult::AlreadyUploaded { upload_id, .. } => Some(upload_id),
            FileResult::Failed(err) => err.upload_id(),
        }
    }

    /// The error of a failed file.
    pub fn error(&self) -> Option<&Error> {
        match &self.result {
            FileResult::Failed(err) => Some(err),
            _ => None,
        }
    }
}

/// Every file of a finished batch, in the order they finished.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct BatchSummary {
    /// One entry per file of the batch.
    pub files: Vec<FileOutcome>,
    /// Symbolic links the directory walk left out (not followed), in walk order.
    pub skipped_links: Vec<PathBuf>,
}

impl BatchSummary {
    /// Files that are on the server (uploaded now or by an earlier run).
    pub fn completed(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().filter(|f| f.is_completed())
    }

    /// Files that failed, each with its error.
    pub fn failed(&self) -> impl Iterator<Item = &FileOutcome> {
        self.files.iter().filter(|f| !f.is_completed())
    }

    /// True when every file completed.
    pub fn all_completed(&self) -> bool {
        self.files.iter().all(FileOutcome::is_completed)
    }
}
