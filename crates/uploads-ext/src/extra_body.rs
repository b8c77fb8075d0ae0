//! The JSON body escape hatch behind [`RequestOptions::extra_body`](crate::RequestOptions::extra_body)
//! and [`extra_body_for`](crate::RequestOptions::extra_body_for): fields merged into the JSON body
//! of `create` and `complete`, for every such request or for one operation.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The operations whose body is JSON: the ones `extra_body_for` may name.
pub(crate) const JSON_BODY_OPERATIONS: [&str; 2] = ["create_upload", "complete_upload"];

/// Body fields to merge: for every JSON body, and per operation (applied after, so they win).
#[derive(Clone, Default)]
pub(crate) struct ExtraBody {
    all: Map<String, Value>,
    by_operation: BTreeMap<&'static str, Map<String, Value>>,
}

impl ExtraBody {
    /// Adds `body`'s keys for every JSON body (`None`) or for one operation; the error says why
    /// `body` cannot be (never showing it).
    pub(crate) fn add(
        &mut self,
        operation: Option<&str>,
        body: Value,
    ) -> std::result::Result<(), String> {
        let Value::Object(fields) = body else {
            return Err(format!(
                "extra_body must be a JSON object, not {}",
                kind(&body)
            ));
        };
        match operation {
            None => self.all.extend(fields),
            Some(name) => {
                let Some(op) = JSON_BODY_OPERATIONS.iter().find(|op| **op == name) else {
                    return Err(format!(
                        "extra_body_for: {name:?} has no JSON body (one of {})",
                        JSON_BODY_OPERATIONS.join(", ")
                    ));
                };
                self.by_operation.entry(op).or_default().extend(fields);
            }
        }
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.all.is_empty() && self.by_operation.is_empty()
    }

    /// Whether fields are set for every JSON body (what a request without one refuses).
    pub(crate) fn has_fields_for_all(&self) -> bool {
        !self.all.is_empty()
    }

    /// `self`'s keys over `base`'s, per scope.
    pub(crate) fn merged_over(&self, base: &ExtraBody) -> ExtraBody {
        let mut merged = base.clone();
        merged.all.extend(self.all.clone());
        for (op, fields) in &self.by_operation {
            merged
                .by_operation
                .entry(op)
                .or_default()
                .extend(fields.clone());
        }
        merged
    }

    /// The fields for `operation`: the common ones, then its own.
    fn for_operation(&self, operation: &str) -> Map<String, Value> {
        let mut fields = self.all.clone();
        if let Some(own) = self.by_operation.get(operation) {
            fields.extend(own.clone());
        }
        fields
    }

    /// The keys, per scope, for `Debug` (never the values: they may be secret).
    pub(crate) fn keys(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut keys = BTreeMap::new();
        if !self.all.is_empty() {
            keys.insert("*", self.all.keys().map(String::as_str).collect());
        }
        for (op, fields) in &self.by_operation {
            keys.insert(*op, fields.keys().map(String::as_str).collect());
        }
        keys
    }

    /// `request` (the body of `operation`) with the fields merged in, through its JSON form: a
    /// key naming a known field replaces it, any other lands in the model's flattened `extra`
    /// map. The error names the keys, never their values.
    pub(crate) fn apply<T: Serialize + DeserializeOwned>(
        &self,
        operation: &str,
        request: T,
    ) -> Result<T> {
        let extra = self.for_operation(operation);
        if extra.is_empty() {
            return Ok(request);
        }
        let fail = || {
            let keys: Vec<&str> = extra.keys().map(String::as_str).collect();
            Error::invalid_input(format!(
                "extra_body does not fit the request body: a key naming one of its fields has a \
                 value of another type (keys given: {})",
                keys.join(", ")
            ))
        };
        let Ok(Value::Object(mut body)) = serde_json::to_value(&request) else {
            return Err(fail());
        };
        body.extend(extra.clone());
        serde_json::from_value(Value::Object(body)).map_err(|_| fail())
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use openai_uploads_generated::models::CompleteUploadRequest;
    use serde_json::json;

    use super::*;

    fn with(all: Value, complete: Value) -> ExtraBody {
        let mut extra = ExtraBody::default();
        extra.add(None, all).unwrap();
        extra.add(Some("complete_upload"), complete).unwrap();
        extra
    }

    #[test]
    fn known_keys_replace_fields_and_others_are_added_per_operation() {
        let extra = with(json!({"md5": "a", "x": 1}), json!({"md5": "b"}));
        let request = CompleteUploadRequest::new(vec!["part_1".to_owned()]);
        let merged = extra.apply("complete_upload", request.clone()).unwrap();
        assert_eq!(
            merged.md5.as_deref(),
            Some("b"),
            "the operation's own keys win"
        );
        assert_eq!(merged.extra["x"], 1);
        let other = extra.apply("create_upload", request).unwrap();
        assert_eq!(other.md5.as_deref(), Some("a"));
    }

    #[test]
    fn later_scopes_merge_over_earlier_ones() {
        let base = with(json!({"a": 1, "b": 1}), json!({"c": 1}));
        let top = with(json!({"b": 2}), json!({"c": 2}));
        let merged = top.merged_over(&base);
        assert_eq!(merged.for_operation("complete_upload")["a"], 1);
        assert_eq!(merged.for_operation("complete_upload")["b"], 2);
        assert_eq!(merged.for_operation("complete_upload")["c"], 2);
        assert!(!merged.for_operation("create_upload").contains_key("c"));
    }

    #[test]
    fn a_non_object_or_an_operation_without_a_json_body_is_refused() {
        let mut extra = ExtraBody::default();
        assert!(extra.add(None, json!(3)).unwrap_err().contains("a number"));
        let err = extra.add(Some("cancel_upload"), json!({})).unwrap_err();
        assert!(err.contains("cancel_upload"), "{err}");
        assert!(extra.is_empty());
    }
}
