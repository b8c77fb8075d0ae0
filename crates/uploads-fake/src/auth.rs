//! Bearer auth, with the API's messages (the key is never echoed in full).

use hyper::header::AUTHORIZATION;
use hyper::HeaderMap;

use crate::api_error::ApiError;

const NO_KEY: &str = "You didn't provide an API key. You need to provide your API key in an \
                      Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).";

/// Accepts `Authorization: Bearer <api_key>`; anything else is a 401.
pub(crate) fn check(api_key: &str, headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized(NO_KEY))?
        .to_str()
        .unwrap_or("");
    let token = value
        .split_once(' ')
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim());
    match token {
        Some(t) if t == api_key => Ok(()),
        Some(t) => {
            let shown = if t.len() > 8 && t.is_char_boundary(3) && t.is_char_boundary(t.len() - 4) {
                format!("{}****{}", &t[..3], &t[t.len() - 4..])
            } else {
                "****".to_string()
            };
            Err(ApiError::unauthorized(format!(
                "Incorrect API key provided: {shown}."
            )))
        }
        None => Err(ApiError::unauthorized(NO_KEY)),
    }
}
