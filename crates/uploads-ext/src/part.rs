//! The body of one part: bytes in memory, a byte range of a file, or a replayable stream.
//!
//! Every source can be sent again from the start, because a retried part must re-send exactly the
//! same bytes: bytes are cheap to clone, a file range is re-read from disk, and a stream is made
//! anew by its factory.

use std::fmt;
use std::io::SeekFrom;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt, TryStreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

use crate::error::local::{LengthMismatch, SourceFailure};
use crate::error::{Error, Result};

/// Size of the reads that stream a file range: the memory one in-flight part holds.
pub const FILE_READ_CHUNK: usize = 512 * 1024;
/// The largest piece of a part body handed to the connection at once: the granularity at which
/// sent bytes (progress, and the stall watch) are counted.
pub const PROGRESS_PIECE: usize = 64 * 1024;
/// The largest part the API accepts (64 MiB).
pub const MAX_PART_BYTES: u64 = 64 * 1024 * 1024;
/// Content type of a part unless set.
pub const DEFAULT_PART_CONTENT_TYPE: &str = "application/octet-stream";

/// A boxed stream of part bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Callback told how many bytes of a part have just been handed to the connection.
pub(crate) type SentCallback = Arc<dyn Fn(u64) + Send + Sync>;

#[derive(Clone)]
enum Source {
    Bytes(Bytes),
    FileRange {
        path: Arc<PathBuf>,
        range: Range<u64>,
    },
    Stream {
        len: u64,
        make: Arc<dyn Fn() -> ByteStream + Send + Sync>,
    },
}

/// The bytes of one part, with the file name and content type sent in the multipart `data` field.
#[derive(Clone)]
pub struct PartBody {
    source: Source,
    file_name: String,
    content_type: String,
}

impl fmt::Debug for PartBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let source = match &self.source {
            Source::Bytes(b) => format!("bytes({})", b.len()),
            Source::FileRange { path, range } => {
                format!("file({}, {}..{})", path.display(), range.start, range.end)
            }
            Source::Stream { len, .. } => format!("stream({len})"),
        };
        f.debug_struct("PartBody")
            .field("source", &source)
            .field("file_name", &self.file_name)
            .field("content_type", &self.content_type)
            .finish()
    }
}

impl PartBody {
    fn with_source(source: Source) -> PartBody {
        PartBody {
            source,
            file_name: "part".to_owned(),
            content_type: DEFAULT_PART_CONTENT_TYPE.to_owned(),
        }
    }

    /// A part from bytes in memory.
    pub fn bytes(bytes: impl Into<Bytes>) -> PartBody {
        PartBody::with_source(Source::Bytes(bytes.into()))
    }

    /// A part read from `range` of the file at `path`, streamed in 512 KiB reads
    /// (re-read from disk if the part is retried). Fails at send time if the file is shorter.
    pub fn file_range(path: impl AsRef<Path>, range: Range<u64>) -> PartBody {
        PartBody::with_source(Source::FileRange {
            path: Arc::new(path.as_ref().to_owned()),
            range,
        })
    }

    /// A part from a stream of known length. `make` is called once per attempt and must yield
    /// the same `len` bytes every time (retries re-send them).
    pub fn stream<F>(len: u64, make: F) -> PartBody
    where
        F: Fn() -> ByteStream + Send + Sync + 'static,
    {
        PartBody::with_source(Source::Stream {
            len,
            make: Arc::new(make),
        })
    }

    /// The file name sent with the part (default `part`).
    pub fn file_name(mut self, name: impl Into<String>) -> PartBody {
        self.file_name = name.into();
        self
    }

    /// The content type sent with the part (default [`DEFAULT_PART_CONTENT_TYPE`]).
    pub fn content_type(mut self, content_type: impl Into<String>) -> PartBody {
        self.content_type = content_type.into();
        self
    }

    /// The number of bytes in this part.
    pub fn len(&self) -> u64 {
        match &self.source {
            Source::Bytes(b) => b.len() as u64,
            Source::FileRange { range, .. } => range.end.saturating_sub(range.start),
            Source::Stream { len, .. } => *len,
        }
    }

    /// Whether the part has no bytes (the API rejects empty parts).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Checks what can be checked before sending.
    pub(crate) fn validate(&self) -> Result<()> {
        if self.is_empty() {
            return Err(Error::invalid_input("a part must not be empty"));
        }
        if self.len() > MAX_PART_BYTES {
            return Err(Error::invalid_input(format!(
                "a part may hold at most {MAX_PART_BYTES} bytes (64 MiB), this one has {}",
                self.len()
            )));
        }
        if self.content_type.parse::<mime_guess::mime::Mime>().is_err() {
            return Err(Error::invalid_input(format!(
                "invalid part content type {:?}",
                self.content_type
            )));
        }
        Ok(())
    }

    /// Builds the multipart part for one attempt.
    pub(crate) async fn to_multipart(
        &self,
        on_sent: Option<SentCallback>,
    ) -> Result<reqwest::multipart::Part> {
        let len = self.len();
        let stream: ByteStream = match &self.source {
            Source::Bytes(b) if on_sent.is_none() => {
                return self.finish(reqwest::multipart::Part::stream_with_length(b.clone(), len));
            }
            // Chunked like a file range, so that progress (and the idle timeout) sees each chunk.
            Source::Bytes(b) => {
                let chunks: Vec<std::io::Result<Bytes>> = (0..b.len())
                    .step_by(FILE_READ_CHUNK)
                    .map(|at| Ok(b.slice(at..(at + FILE_READ_CHUNK).min(b.len()))))
                    .collect();
                Box::pin(futures_util::stream::iter(chunks))
            }
            Source::FileRange { path, range } => {
                mark_source_errors(open_range(path, range.clone()).await?)
            }
            Source::Stream { make, .. } => mark_source_errors(make()),
        };
        let stream = exact_length(stream, len);
        let stream: ByteStream = match on_sent {
            Some(cb) => Box::pin(in_pieces(stream).inspect_ok(move |chunk| cb(chunk.len() as u64))),
            None => Box::pin(stream),
        };
        self.finish(reqwest::multipart::Part::stream_with_length(
            reqwest::Body::wrap_stream(stream),
            len,
        ))
    }

    fn finish(&self, part: reqwest::multipart::Part) -> Result<reqwest::multipart::Part> {
        part.file_name(self.file_name.clone())
            .mime_str(&self.content_type)
            .map_err(|e| Error::invalid_input(format!("invalid part content type: {e}")))
    }
}

async fn open_range(path: &Path, range: Range<u64>) -> Result<ByteStream> {
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::io(format!("cannot open {}", path.display()), e))?;
    file.seek(SeekFrom::Start(range.start))
        .await
        .map_err(|e| Error::io(format!("cannot seek in {}", path.display()), e))?;
    let limited = file.take(range.end - range.start);
    Ok(Box::pin(ReaderStream::with_capacity(
        limited,
        FILE_READ_CHUNK,
    )))
}

/// Tags every error the part's own source yields (a failed file read, a failing user stream), so
/// that the request's error is reported as [`crate::ErrorKind::Io`] and not retried, rather than
/// being mistaken for a network failure.
fn mark_source_errors(stream: ByteStream) -> ByteStream {
    Box::pin(stream.map_err(|e| std::io::Error::new(e.kind(), SourceFailure(e))))
}

/// Fails the stream if it yields more or fewer than `len` bytes, so a file that shrank or grew
/// mid-part never sends a short or long part silently.
fn exact_length(stream: ByteStream, len: u64) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    let mut seen = 0u64;
    let mut done = false;
    stream
        .map(Some)
        .chain(futures_util::stream::once(std::future::ready(None)))
        .filter_map(move |item| {
            let out = match item {
                _ if done => None,
                Some(Ok(chunk)) => {
                    seen += chunk.len() as u64;
                    if seen > len {
                        done = true;
                        Some(Err(length_error(seen, len)))
                    } else {
                        Some(Ok(chunk))
                    }
                }
                Some(Err(e)) => {
                    done = true;
                    Some(Err(e))
                }
                None if seen != len => Some(Err(length_error(seen, len))),
                None => None,
            };
            std::future::ready(out)
        })
}

/// Splits chunks into pieces of at most [`PROGRESS_PIECE`] bytes (without copying): the
/// connection asks for the next piece only once it took the previous one, so progress is seen
/// in steps this small.
fn in_pieces(
    stream: impl Stream<Item = std::io::Result<Bytes>> + Send,
) -> impl Stream<Item = std::io::Result<Bytes>> + Send {
    stream.flat_map(|item| {
        let pieces: Vec<std::io::Result<Bytes>> = match item {
            Ok(chunk) => (0..chunk.len())
                .step_by(PROGRESS_PIECE)
                .map(|at| Ok(chunk.slice(at..(at + PROGRESS_PIECE).min(chunk.len()))))
                .collect(),
            Err(e) => vec![Err(e)],
        };
        futures_util::stream::iter(pieces)
    })
}

fn length_error(seen: u64, len: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        LengthMismatch {
            seen,
            expected: len,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_are_handed_over_in_pieces_of_at_most_64_kib() {
        let chunks = vec![
            Ok(Bytes::from(vec![1u8; 200 * 1024])),
            Ok(Bytes::from(vec![2u8; 10])),
        ];
        let pieces: Vec<usize> = in_pieces(futures_util::stream::iter(chunks))
            .map(|p| p.unwrap().len())
            .collect()
            .await;
        assert_eq!(pieces, [65_536, 65_536, 65_536, 8 * 1024, 10]);
    }
}
