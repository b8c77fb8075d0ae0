//! The API's objects, as decoded from its responses, and every type their fields use.
//!
//! These are the generated crate's models, re-exported so no user needs to depend on
//! `openai-uploads-generated` directly. They are built to survive additive spec changes:
//! - structs are `#[non_exhaustive]`: a field added upstream is not a breaking change (read fields
//!   freely; to build one, e.g. in a test, start from `Default` and set fields);
//! - enums are `#[non_exhaustive]` and open: a value this version does not know decodes as
//!   `Unrecognized(String)` and re-encodes unchanged; every enum converts from `&str`/`String`;
//! - sizes are `u64`, timestamps `i64` Unix seconds.

pub use openai_uploads_generated::models::open_ai_file::{
    Object as FileObject, Purpose as FilePurpose, Status as FileStatus,
};
pub use openai_uploads_generated::models::upload::{
    Object as UploadObject, Status as UploadStatus,
};
pub use openai_uploads_generated::models::upload_part::Object as UploadPartObject;
/// One page of `GET /files` ([`Client::list_files`](crate::Client::list_files)): `data` (newest
/// first unless asked otherwise), `has_more`, and `first_id`/`last_id` (absent on an empty page).
pub use openai_uploads_generated::models::ListFilesResponse as FileList;
/// What an uploaded file is for: sent when creating an upload and echoed in [`Upload::purpose`].
///
/// Converts from `&str`, so `.purpose("fine-tune")` works; a string this version does not list
/// becomes `Purpose::Unrecognized` and is sent as is.
pub use openai_uploads_generated::models::UploadPurpose as Purpose;
pub use openai_uploads_generated::models::{OpenAiFile, Upload, UploadPart};
