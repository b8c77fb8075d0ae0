//! Reading fields out of a JSON request body, with the API's error messages.

use serde_json::{Map, Value};

use crate::api_error::{invalid_type, missing, type_name, unknown_argument, ApiError};

/// Rejects keys outside `allowed` (`prefix` names the enclosing object in messages).
pub(crate) fn check_keys(
    obj: &Map<String, Value>,
    allowed: &[&str],
    prefix: &str,
) -> Result<(), ApiError> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(key) => Err(unknown_argument(&format!("{prefix}{key}"))),
        None => Ok(()),
    }
}

pub(crate) fn require_object(v: &Value) -> Result<&Map<String, Value>, ApiError> {
    v.as_object().ok_or_else(|| {
        ApiError::invalid(format!(
            "Invalid request body: expected a JSON object, but got {} instead.",
            type_name(v)
        ))
    })
}

pub(crate) fn required_string(obj: &Map<String, Value>, name: &str) -> Result<String, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(invalid_type(name, "a string", other)),
    }
}

pub(crate) fn required_integer(obj: &Map<String, Value>, name: &str) -> Result<i128, ApiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::Number(n)) if n.is_u64() => Ok(i128::from(n.as_u64().unwrap_or(0))),
        Some(Value::Number(n)) if n.is_i64() => Ok(i128::from(n.as_i64().unwrap_or(0))),
        Some(other) => Err(invalid_type(name, "an integer", other)),
    }
}
