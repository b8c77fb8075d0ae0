//! The content of an upload, whatever it is (a file, bytes, a reader): the one place that tells
//! the kinds apart. Everything above asks a [`Source`] or a [`PartSource`] instead of matching.

use std::ops::Range;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::digest::Md5;
use crate::error::{Error, ErrorKind, Result};
use crate::part::PartBody;

use super::journal::FileIdentity;

/// A reader handed to [`Client::upload_reader`](crate::Client::upload_reader).
pub(crate) type BoxReader = Box<dyn AsyncRead + Send + Unpin>;

/// What the caller asked to upload, not yet checked.
pub(crate) enum SourceRequest {
    File(PathBuf),
    Bytes(Bytes),
    Reader(BoxReader, u64),
}

/// A checked source: the shared description, the reader it consumes (if any), and the file
/// name it suggests.
pub(crate) struct CheckedSource {
    pub source: Source,
    pub reader: Option<BoxReader>,
    pub default_name: Option<String>,
}

impl SourceRequest {
    /// For the builder's `Debug`.
    pub(crate) fn describe(&self) -> String {
        match self {
            SourceRequest::File(p) => format!("file {}", p.display()),
            SourceRequest::Bytes(b) => format!("{} bytes", b.len()),
            SourceRequest::Reader(_, len) => format!("reader of {len} bytes"),
        }
    }

    /// Checks the content before any request: a file must be readable (opened once now).
    pub(crate) fn check(self) -> Result<CheckedSource> {
        Ok(match self {
            SourceRequest::File(path) => {
                let identity = FileIdentity::of(&path)?;
                std::fs::File::open(&path)
                    .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
                let default_name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                let path = std::path::absolute(&path).unwrap_or(path);
                CheckedSource {
                    source: Source::File { path, identity },
                    reader: None,
                    default_name,
                }
            }
            SourceRequest::Bytes(bytes) => CheckedSource {
                source: Source::Bytes(bytes),
                reader: None,
                default_name: None,
            },
            SourceRequest::Reader(reader, len) => CheckedSource {
                source: Source::Reader { len },
                reader: Some(reader),
                default_name: None,
            },
        })
    }
}

/// Where the content comes from, once checked (shared and immutable).
pub(crate) enum Source {
    File {
        path: PathBuf,
        identity: FileIdentity,
    },
    Bytes(Bytes),
    /// The reader itself travels beside the input (it is consumed, the input is shared).
    Reader {
        len: u64,
    },
}

/// How the md5 sent with `complete` is computed beside the parts.
pub(crate) enum Md5Pass<'a> {
    /// The parts hash themselves as they are read (a reader is read once).
    ByParts,
    /// In memory, on a blocking thread.
    Memory(&'a Bytes),
    /// A sequential read of the file, which the part senders are paced to.
    File { path: &'a Path, size: u64 },
}

impl Source {
    /// The file a journal describes, as it is now.
    pub(crate) fn journaled(path: &Path) -> Result<Source> {
        Ok(Source::File {
            path: path.to_owned(),
            identity: FileIdentity::of(path)?,
        })
    }

    /// The content's size in bytes, as it was checked.
    pub(crate) fn len(&self) -> u64 {
        match self {
            Source::File { identity, .. } => identity.size,
            Source::Bytes(bytes) => bytes.len() as u64,
            Source::Reader { len } => *len,
        }
    }

    /// Largest automatic part size: reader parts are buffered in memory.
    pub(crate) fn auto_part_cap(&self) -> Option<u64> {
        match self {
            Source::Reader { .. } => Some(super::READER_AUTO_PART_BYTES),
            _ => None,
        }
    }

    /// The file and its identity, for a file source (the only kind a journal can describe).
    pub(crate) fn file(&self) -> Option<(&Path, FileIdentity)> {
        match self {
            Source::File { path, identity } => Some((path, *identity)),
            _ => None,
        }
    }

    pub(crate) fn md5_pass(&self) -> Md5Pass<'_> {
        match self {
            Source::File { path, identity } => Md5Pass::File {
                path,
                size: identity.size,
            },
            Source::Bytes(bytes) => Md5Pass::Memory(bytes),
            Source::Reader { .. } => Md5Pass::ByParts,
        }
    }
}

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
    pub(crate) fn new(source: &Source, reader: Option<BoxReader>) -> Result<PartSource> {
        Ok(match source {
            Source::File { path, identity } => PartSource::File {
                path: path.clone(),
                identity: *identity,
            },
            Source::Bytes(bytes) => PartSource::Bytes(bytes.clone()),
            Source::Reader { .. } => PartSource::Reader(
                reader.ok_or_else(|| Error::invalid_input("the reader was already consumed"))?,
                Md5::new(),
            ),
        })
    }

    /// The body of the part holding `range`; must be called in ascending order.
    pub(crate) async fn part(&mut self, range: Range<u64>) -> Result<PartBody> {
        Ok(match self {
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
        })
    }

    /// Whether a part can be produced a second time (readers: no).
    pub(crate) fn rereadable(&self) -> bool {
        !matches!(self, PartSource::Reader(..))
    }

    /// What tells whether a file source changed since validation.
    pub(crate) fn watch(&self) -> ChangeWatch {
        match self {
            PartSource::File { path, identity } => ChangeWatch(Some((path.clone(), *identity))),
            _ => ChangeWatch(None),
        }
    }

    /// The md5 a reader source computed while its parts were read.
    pub(crate) fn reader_digest(self) -> Option<[u8; 16]> {
        match self {
            PartSource::Reader(_, md5) => Some(md5.finalize()),
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
