//! Many files in one call: a list of files or a directory, uploaded through one client.
//!
//! [`Client::upload_files`] and [`Client::upload_dir`] return a [`BatchBuilder`] whose settings
//! (purpose, part size, concurrency per file, failure policy, ...) apply to every file.
//! [`BatchBuilder::start`] returns a [`BatchHandle`]: aggregate [`BatchProgress`], each
//! file's [`FileOutcome`] as it finishes, [`abort`](BatchHandle::abort), and a
//! [`BatchSummary`] from [`join`](BatchHandle::join).
//!
//! - Every file is its own upload, with its own retries and failure policy: one file's failure
//!   never cancels another.
//! - Parts of all files share the client's budget ([`ClientBuilder::max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight)): at most
//!   [`max_parts_in_flight`](crate::ClientBuilder::max_parts_in_flight) at once, taken in
//!   turns, and one 429 pauses them all. At most
//!   [`files_in_flight`](BatchBuilder::files_in_flight) files are started at once.
//! - Directory walks are recursive and sorted. An include or exclude pattern without `/`
//!   matches a file's name at any depth (`*.jsonl`); one with `/` matches the path relative to
//!   the directory (`train/**/*.jsonl`). Symbolic links are not followed unless
//!   [`follow_links`](BatchBuilder::follow_links) says so; those left out are listed
//!   ([`BatchHandle::skipped_links`]). A batch with no file fails to start unless
//!   [`allow_empty`](BatchBuilder::allow_empty).
//! - A [`manifest`](BatchBuilder::manifest) makes the batch restartable and exactly-once: a
//!   rerun skips files already uploaded and resumes those that were in flight, one run owns the
//!   manifest at a time, and a crash at any moment never uploads a recorded file again.
//!
//! # Layout
//! `builder -> input (validated in start) -> run -> {walk, manifest, progress, summary, handle}`:
//! [`BatchBuilder`] only collects settings; [`BatchBuilder::start`] checks them into a
//! `BatchInput` (purpose present, failure policy decided), lists the files (`walk`) and hands
//! both to `run`, which starts each file's upload from the input (never from the builder).
//!
//! ```no_run
//! # async fn run() -> uploads_ext::Result<()> {
//! use uploads_ext::{Client, Purpose};
//!
//! let client = Client::builder().max_parts_in_flight(32).build()?;
//! let summary = client
//!     .upload_dir("knowledge-base")
//!     .include("*.pdf")
//!     .exclude("drafts/**")
//!     .purpose(Purpose::Assistants)
//!     .on_progress(|p| eprintln!("{}/{} files, {}/{} bytes",
//!         p.files_finished(), p.files_total, p.bytes_completed, p.bytes_total))
//!     .send()
//!     .await?;
//! for failed in summary.failed() {
//!     eprintln!("{}: {}", failed.path.display(), failed.error().unwrap());
//! }
//! # Ok(()) }
//! ```

mod builder;
mod handle;
mod input;
pub mod manifest;
mod progress;
mod run;
mod summary;
mod walk;

use std::path::{Path, PathBuf};

use crate::client::Client;

pub use builder::BatchBuilder;
pub use handle::BatchHandle;
pub use progress::BatchProgress;
pub use summary::{BatchSummary, FileOutcome, FileResult};

use walk::FileSet;

/// Default [`BatchBuilder::files_in_flight`].
pub const DEFAULT_FILES_IN_FLIGHT: usize = 32;

impl Client {
    /// Uploads these files, each as its own upload, sharing the client's budget. A path that
    /// cannot be read fails as that file's result; the others go on. See [`crate::batch`].
    pub fn upload_files<I, P>(&self, paths: I) -> BatchBuilder
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let paths = paths.into_iter().map(|p| p.as_ref().to_owned()).collect();
        BatchBuilder::new(self.clone(), FileSet::List(paths))
    }

    /// Uploads every regular file under `dir` (recursively; narrow it with
    /// [`include`](BatchBuilder::include) and [`exclude`](BatchBuilder::exclude)). See
    /// [`crate::batch`].
    pub fn upload_dir(&self, dir: impl AsRef<Path>) -> BatchBuilder {
        BatchBuilder::new(
            self.clone(),
            FileSet::Dir {
                root: dir.as_ref().to_owned(),
                include: Vec::new(),
                exclude: Vec::new(),
                follow_links: false,
            },
        )
    }
}

/// The directory holding the per-file journals of a manifest.
pub(crate) fn journal_dir(manifest: &Path) -> PathBuf {
    let mut name = manifest.as_os_str().to_owned();
    name.push(".d");
    PathBuf::from(name)
}
