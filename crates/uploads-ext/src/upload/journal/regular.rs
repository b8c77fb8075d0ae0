//! Journals and manifests are regular files: a device would be read forever (`/dev/zero`), a
//! FIFO would block, and a directory is not a file. Checked before any request.

use std::path::Path;

use crate::error::{Error, Result};

/// Fails with [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) when `path` exists
/// and is not a regular file (after following symbolic links); `what` names its role.
pub(crate) fn check_regular_or_absent(path: &Path, what: &str) -> Result<()> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // Unreadable metadata: opening it will say why, with the same path.
        Err(_) => return Ok(()),
    };
    if meta.is_file() {
        return Ok(());
    }
    let kind = if meta.is_dir() {
        "a directory"
    } else {
        kind_of_special(&meta)
    };
    Err(Error::invalid_input(format!(
        "the {what} {} is {kind}, not a regular file: give the path of a regular file \
         (it is created if missing)",
        path.display()
    )))
}

#[cfg(unix)]
fn kind_of_special(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn kind_of_special(_meta: &std::fs::Metadata) -> &'static str {
    "a special file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_and_missing_pass_directories_and_devices_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("j.json");
        check_regular_or_absent(&file, "journal").unwrap();
        std::fs::write(&file, b"{}").unwrap();
        check_regular_or_absent(&file, "journal").unwrap();
        let err = check_regular_or_absent(dir.path(), "manifest").unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("is a directory"), "{err}");
        #[cfg(unix)]
        {
            let err = check_regular_or_absent(Path::new("/dev/null"), "journal").unwrap_err();
            assert!(err.to_string().contains("/dev/null is a device"), "{err}");
        }
    }
}
