//! The API's objects, as decoded from its responses.
//!
//! These are the generated crate's models, re-exported: 64-bit sizes, and open enums whose
//! `Unrecognized(String)` variant keeps any value a newer API sends.

pub use openai_uploads_generated::models::create_upload_request::Purpose;
pub use openai_uploads_generated::models::open_ai_file::{
    Purpose as FilePurpose, Status as FileStatus,
};
pub use openai_uploads_generated::models::upload::Status as UploadStatus;
pub use openai_uploads_generated::models::{OpenAiFile, Upload, UploadPart};
