//! A path as a JSON string when it is UTF-8, else (Unix) its raw bytes in hex: journals name
//! any file losslessly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Repr {
    Text(String),
    Raw { unix_bytes_hex: String },
}

pub(crate) fn serialize<S: Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    if let Some(text) = path.to_str() {
        return Repr::Text(text.to_owned()).serialize(s);
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Repr::Raw {
            unix_bytes_hex: hex::encode(path.as_os_str().as_bytes()),
        }
        .serialize(s)
    }
    #[cfg(not(unix))]
    Err(serde::ser::Error::custom(
        "the path is not valid Unicode and cannot be stored",
    ))
}

pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    match Repr::deserialize(d)? {
        Repr::Text(text) => Ok(PathBuf::from(text)),
        Repr::Raw { unix_bytes_hex } => {
            let bytes = hex::decode(unix_bytes_hex).map_err(serde::de::Error::custom)?;
            #[cfg(unix)]
            {
                use std::os::unix::ffi::OsStringExt;
                Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
            }
            #[cfg(not(unix))]
            {
                let _ = bytes;
                Err(serde::de::Error::custom(
                    "the journal names a Unix path that is not valid Unicode",
                ))
            }
        }
    }
}
