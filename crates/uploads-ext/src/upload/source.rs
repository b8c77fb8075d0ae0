//! The one content source of an upload: yields the body of part `i`, whatever the content is.

use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::digest::Md5;
use crate::error::{Error, ErrorKind, Result};
use crate::part::PartBody;

use super::input::{SourceSpec, UploadInput};
use super::journal::FileIdentity;

/// A reader handed to [`Client::upload_reader`](crate::Client::upload_reader).
pub(crate) type BoxReader = Box<dyn AsyncRead + Send + Unpin>;

/// Produces the body of each part, in ascending index order.
pub(crate) enum PartSource {
    /// A byte range of the file is streamed from disk per attempt.
    File {
        path: PathBuf,
        identity: FileIdentity,
    },
    /// Zero-copy slices.
    Bytes(Bytes),
    /// Each part is read into memory once (a reader cannot be re-read) and hashed as it goes.
    Reader(BoxReader, Md5),
}

impl PartSource {
    pub(crate) fn new(input: &UploadInput, reader: Option<BoxReader>) -> Result<PartSource> {
        Ok(match &input.source {
            SourceSpec::File { path, identity } => PartSource::File {
                path: path.clone(),
                identity: *identity,
            },
            SourceSpec::Bytes(bytes) => PartSource::Bytes(bytes.clone()),
            SourceSpec::Reader => PartSource::Reader(
                reader.ok_or_else(|| Error::invalid_input("the reader was already consumed"))?,
                Md5::new(),
            ),
        })
    }

    /// The body of part `index`; must be called in ascending order.
    pub(crate) async fn part(&mut self, input: &UploadInput, index: usize) -> Result<PartBody> {
        let range = input.range(index);
        let body = match self {
            PartSource::File { path, .. } => PartBody::file_range(path.as_path(), range),
            PartSource::Bytes(bytes) => {
                PartBody::bytes(bytes.slice(range.start as usize..range.end as usize))
            }
            PartSource::Reader(reader, md5) => {
                let len = (range.end - range.start) as usize;
                let mut buf = BytesMut::zeroed(len);
                reader
                    .read_exact(&mut buf)
                    .await
                    .map_err(|e| Error::io("the reader ended before its declared length", e))?;
                md5.update(&buf);
                PartBody::bytes(buf.freeze())
            }
        };
        Ok(body
            .file_name(input.filename.clone())
            .content_type(input.mime_type.clone()))
    }

    /// What tells whether a file source changed since validation.
    pub(crate) fn watch(&self) -> ChangeWatch {
        match self {
            PartSource::File { path, identity } => ChangeWatch(Some((path.clone(), *identity))),
            _ => ChangeWatch(None),
        }
    }

    /// The md5 a reader source computed while its parts were read.
    pub(crate) fn reader_digest(self) -> Option<Vec<u8>> {
        match self {
            PartSource::Reader(_, md5) => Some(md5.finalize().to_vec()),
            _ => None,
        }
    }
}

/// Detects a file source that changed (size or modification time) since validation.
pub(crate) struct ChangeWatch(Option<(PathBuf, FileIdentity)>);

impl ChangeWatch {
    pub(crate) fn check(&self) -> Result<()> {
        if let Some((path, identity)) = &self.0 {
            if FileIdentity::of(path)? != *identity {
                return Err(file_changed(path));
            }
        }
        Ok(())
    }
}

pub(crate) fn file_changed(path: &Path) -> Error {
    Error::new(
        ErrorKind::FileChanged,
        format!(
            "{} changed (size or modification time) during the upload",
            path.display()
        ),
    )
}
