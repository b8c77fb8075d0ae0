//! Where part bytes go: the storage modes, one sink per mode behind the [`PartSink`]
//! trait (disk, hash only, discard), and reading stored content back.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use md5::Digest as _;
use sha2::Sha256;
use tokio::io::AsyncWriteExt;

/// Where (and whether) part bytes are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Storage {
    /// Parts are streamed to files in a temporary directory owned by the
    /// server and removed when the server is dropped. Full verification:
    /// per-part sha256, md5 check at complete, content hashes and
    /// [`FakeServer::read_content`](crate::FakeServer::read_content).
    #[default]
    Disk,
    /// Like [`Storage::Disk`] but in the given directory (created if missing,
    /// never removed by the server). Part files are named `<part_id>.part`.
    DiskAt(PathBuf),
    /// Throughput mode: part bytes are hashed (sha256 per part) and dropped.
    /// The `md5` given at complete is NOT verified (it cannot be: the bytes
    /// are gone), content hashes are `None`, `read_content` fails.
    HashOnly,
    /// Raw ingest mode: part bytes are only counted. No per-part sha256, no
    /// md5 check, no content hashes, `read_content` fails.
    Discard,
}

impl Storage {
    /// Whether this mode keeps the part bytes on disk.
    pub fn keeps_bytes(&self) -> bool {
        matches!(self, Storage::Disk | Storage::DiskAt(_))
    }

    /// Whether this mode computes a sha256 for every part.
    pub fn hashes_parts(&self) -> bool {
        !matches!(self, Storage::Discard)
    }
}

/// A boxed future of a sink operation.
pub(crate) type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;

/// What a sink kept of a part.
#[derive(Debug, Default)]
pub(crate) struct StoredPart {
    /// Lowercase hex sha256 (`None` when the mode does not hash).
    pub sha256: Option<String>,
    /// The part file (disk modes). Removed on drop unless taken.
    pub file: PartFile,
}

/// Receives the bytes of one part.
pub(crate) trait PartSink: Send {
    /// Takes the next chunk.
    fn write<'a>(&'a mut self, data: &'a [u8]) -> SinkFuture<'a, ()>;
    /// Flushes and reports what was kept.
    fn finish(self: Box<Self>) -> SinkFuture<'static, StoredPart>;
}

/// The configured storage mode and its directory.
pub(crate) struct PartStorage {
    pub mode: Storage,
    pub dir: Option<PathBuf>,
    _temp_dir: Option<tempfile::TempDir>,
}

impl PartStorage {
    pub fn new(mode: Storage) -> io::Result<Self> {
        let (dir, temp) = match &mode {
            Storage::Disk => {
                let dir = tempfile::Builder::new().prefix("uploads-fake-").tempdir()?;
                (Some(dir.path().to_path_buf()), Some(dir))
            }
            Storage::DiskAt(path) => {
                std::fs::create_dir_all(path)?;
                (Some(path.clone()), None)
            }
            Storage::HashOnly | Storage::Discard => (None, None),
        };
        Ok(Self {
            mode,
            dir,
            _temp_dir: temp,
        })
    }

    /// A sink for a new part.
    pub async fn open(&self, part_id: &str) -> io::Result<Box<dyn PartSink>> {
        Ok(match (&self.mode, &self.dir) {
            (Storage::Disk | Storage::DiskAt(_), Some(dir)) => {
                Box::new(DiskSink::create(dir, part_id).await?)
            }
            (Storage::Discard, _) => Box::new(DiscardSink),
            _ => Box::new(HashSink(Sha256::new())),
        })
    }

    /// The concatenated files (disk modes only).
    pub fn read_all(&self, paths: &[PathBuf]) -> io::Result<Vec<u8>> {
        if !self.mode.keeps_bytes() {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "content is only kept with Storage::Disk / Storage::DiskAt",
            ));
        }
        let mut out = Vec::new();
        for p in paths {
            out.extend(std::fs::read(p)?);
        }
        Ok(out)
    }
}

/// Only hashes.
struct HashSink(Sha256);

impl PartSink for HashSink {
    fn write<'a>(&'a mut self, data: &'a [u8]) -> SinkFuture<'a, ()> {
        self.0.update(data);
        Box::pin(std::future::ready(Ok(())))
    }

    fn finish(self: Box<Self>) -> SinkFuture<'static, StoredPart> {
        let sha256 = Some(hex::encode(self.0.finalize()));
        Box::pin(std::future::ready(Ok(StoredPart {
            sha256,
            file: PartFile::default(),
        })))
    }
}

/// Only counts (the caller does).
struct DiscardSink;

impl PartSink for DiscardSink {
    fn write<'a>(&'a mut self, _data: &'a [u8]) -> SinkFuture<'a, ()> {
        Box::pin(std::future::ready(Ok(())))
    }

    fn finish(self: Box<Self>) -> SinkFuture<'static, StoredPart> {
        Box::pin(std::future::ready(Ok(StoredPart::default())))
    }
}

/// Hashes and streams to `<dir>/<part_id>.part`.
struct DiskSink {
    out: tokio::io::BufWriter<tokio::fs::File>,
    file: PartFile,
    sha: Sha256,
}

impl DiskSink {
    async fn create(dir: &Path, part_id: &str) -> io::Result<Self> {
        let path = dir.join(format!("{part_id}.part"));
        let f = tokio::fs::File::create(&path).await?;
        Ok(Self {
            out: tokio::io::BufWriter::with_capacity(1 << 20, f),
            file: PartFile(Some(path)),
            sha: Sha256::new(),
        })
    }
}

impl PartSink for DiskSink {
    fn write<'a>(&'a mut self, data: &'a [u8]) -> SinkFuture<'a, ()> {
        self.sha.update(data);
        Box::pin(self.out.write_all(data))
    }

    fn finish(mut self: Box<Self>) -> SinkFuture<'static, StoredPart> {
        Box::pin(async move {
            self.out.flush().await?;
            let this = *self;
            Ok(StoredPart {
                sha256: Some(hex::encode(this.sha.finalize())),
                file: this.file,
            })
        })
    }
}

/// A part file that is removed when dropped, unless [`PartFile::keep`] took it.
#[derive(Debug, Default)]
pub(crate) struct PartFile(Option<PathBuf>);

impl PartFile {
    /// The path, if any, now owned by the caller (no longer removed on drop).
    pub fn keep(&mut self) -> Option<PathBuf> {
        self.0.take()
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Removes files, ignoring errors (they may already be gone).
pub(crate) fn remove_files(paths: impl IntoIterator<Item = PathBuf>) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// Streams the files in order and returns (sha256, md5) in lowercase hex.
pub(crate) fn hash_files(paths: &[PathBuf]) -> io::Result<(String, String)> {
    use std::io::Read;
    let mut sha = Sha256::new();
    let mut md5 = md5::Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    for p in paths {
        let mut f = std::fs::File::open(p)?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            sha.update(&buf[..n]);
            md5.update(&buf[..n]);
        }
    }
    Ok((hex::encode(sha.finalize()), hex::encode(md5.finalize())))
}
