//! Field-by-field checking of request bodies, with the service's error for each way a field
//! can be wrong (unknown, missing, wrong type, bad enum value), each naming the field by its
//! full path. The request modules describe their shapes with these checks.

use serde_json::{Map, Value};

use super::errors::ApiError;
use super::objects::Metadata;
use super::pagination::quoted_list;

/// The fields of one JSON object in a request, at `path` (empty for the body itself).
pub(crate) struct Fields<'a> {
    pub(crate) map: &'a Map<String, Value>,
    pub(crate) path: String,
}

impl<'a> Fields<'a> {
    /// The object at `path`, or a type error naming it.
    pub(crate) fn of(value: &'a Value, path: &str) -> Result<Self, ApiError> {
        match value {
            Value::Object(map) => Ok(Fields {
                map,
                path: path.to_string(),
            }),
            other => Err(ApiError::invalid_type(
                if path.is_empty() { "body" } else { path },
                "an object",
                other,
            )),
        }
    }

    /// The path of one of this object's fields.
    pub(crate) fn param(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// Rejects every field not in `allowed`, the first one (in key order) named.
    pub(crate) fn only(&self, allowed: &[&str]) -> Result<(), ApiError> {
        let mut unknown: Vec<&String> = self
            .map
            .keys()
            .filter(|k| !allowed.contains(&k.as_str()))
            .collect();
        unknown.sort();
        match unknown.first() {
            Some(key) => Err(ApiError::unknown(&self.param(key))),
            None => Ok(()),
        }
    }

    /// Refuses an explicit `null` where the spec's field is not nullable (elsewhere `null` is
    /// taken as absent, as the service does for its many nullable fields).
    pub(crate) fn not_null(&self, key: &str, expected: &str) -> Result<(), ApiError> {
        match self.map.get(key) {
            Some(Value::Null) => Err(ApiError::invalid_type(
                &self.param(key),
                expected,
                &Value::Null,
            )),
            _ => Ok(()),
        }
    }

    /// A field that is present and not `null`.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    pub(crate) fn req(&self, key: &str) -> Result<&'a Value, ApiError> {
        self.get(key)
            .ok_or_else(|| ApiError::missing(&self.param(key)))
    }

    pub(crate) fn opt_str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(ApiError::invalid_type(&self.param(key), "a string", other)),
        }
    }

    pub(crate) fn req_str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.opt_str(key)?
            .ok_or_else(|| ApiError::missing(&self.param(key)))
    }

    pub(crate) fn req_enum(&self, key: &str, allowed: &[&str]) -> Result<&'a str, ApiError> {
        let value = self.req_str(key)?;
        check_enum(&self.param(key), value, allowed)?;
        Ok(value)
    }

    pub(crate) fn opt_number(&self, key: &str) -> Result<Option<f64>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(ApiError::invalid_type(&self.param(key), "a number", other)),
        }
    }

    pub(crate) fn opt_bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(ApiError::invalid_type(&self.param(key), "a boolean", other)),
        }
    }

    pub(crate) fn opt_array(&self, key: &str) -> Result<Option<&'a Vec<Value>>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(other) => Err(ApiError::invalid_type(&self.param(key), "an array", other)),
        }
    }

    pub(crate) fn req_array(&self, key: &str) -> Result<&'a Vec<Value>, ApiError> {
        self.opt_array(key)?
            .ok_or_else(|| ApiError::missing(&self.param(key)))
    }

    pub(crate) fn opt_object(&self, key: &str) -> Result<Option<Fields<'a>>, ApiError> {
        self.get(key)
            .map(|value| Fields::of(value, &self.param(key)))
            .transpose()
    }

    pub(crate) fn req_object(&self, key: &str) -> Result<Fields<'a>, ApiError> {
        Fields::of(self.req(key)?, &self.param(key))
    }

    /// An array of strings.
    pub(crate) fn req_strings(&self, key: &str) -> Result<Vec<&'a str>, ApiError> {
        let items = self.req_array(key)?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                item.as_str().ok_or_else(|| {
                    ApiError::invalid_type(&format!("{}[{i}]", self.param(key)), "a string", item)
                })
            })
            .collect()
    }
}

/// Checks a value against an enum, with the service's "Supported values are" message.
pub(crate) fn check_enum(param: &str, value: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ApiError::invalid_value(
        param,
        format!(
            "Invalid value: '{value}'. Supported values are: {}.",
            quoted_list(allowed)
        ),
    ))
}

/// Metadata as the service limits it: at most 16 string pairs, keys up to 64 characters,
/// values up to 512; `null` or absent is empty.
pub(crate) fn metadata(value: Option<&Value>, param: &str) -> Result<Metadata, ApiError> {
    let map = match value {
        None | Some(Value::Null) => return Ok(Metadata::new()),
        Some(Value::Object(map)) => map,
        Some(other) => return Err(ApiError::invalid_type(param, "an object", other)),
    };
    if map.len() > 16 {
        return Err(ApiError::bad_request(
            "object_above_max_properties",
            param,
            format!("Invalid '{param}': too many properties. Expected an object with at most 16 properties, but got an object with {} properties instead.", map.len()),
        ));
    }
    map.iter()
        .map(|(key, value)| metadata_pair(param, key, value))
        .collect()
}

fn metadata_pair(param: &str, key: &str, value: &Value) -> Result<(String, String), ApiError> {
    let key_param = format!("{param}.{key}");
    if key.chars().count() > 64 {
        return Err(ApiError::bad_request(
            "string_above_max_length",
            param,
            format!("Invalid '{param}': metadata keys can be at most 64 characters long, but '{key}' has {}.", key.chars().count()),
        ));
    }
    let Value::String(text) = value else {
        return Err(ApiError::invalid_type(&key_param, "a string", value));
    };
    if text.chars().count() > 512 {
        return Err(ApiError::bad_request(
            "string_above_max_length",
            key_param.as_str(),
            format!("Invalid '{key_param}': string too long. Expected a string with maximum length 512, but got a string with length {} instead.", text.chars().count()),
        ));
    }
    Ok((key.to_string(), text.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_limits_are_the_services() {
        let ok: Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert_eq!(
            metadata(Some(&Value::Object(ok)), "metadata").map(|m| m.len()),
            Ok(16)
        );
        let too_many: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        let error = metadata(Some(&Value::Object(too_many)), "metadata").unwrap_err();
        assert_eq!(error.param.as_deref(), Some("metadata"));
        let long_value = json!({"k": "x".repeat(513)});
        assert!(metadata(Some(&long_value), "metadata").is_err());
        let long_key = json!({"k".repeat(65): "v"});
        assert!(metadata(Some(&long_key), "metadata").is_err());
        assert_eq!(
            metadata(Some(&Value::Null), "metadata"),
            Ok(Metadata::new())
        );
    }

    #[test]
    fn unknown_fields_are_named_by_path() {
        let body = json!({"name": "x", "bogus": 1});
        let fields = Fields::of(&body["name"], "").err();
        assert!(fields.is_some());
        let fields = Fields::of(&body, "data").unwrap_or_else(|e| panic!("{e:?}"));
        let error = fields.only(&["name"]).unwrap_err();
        assert_eq!(error.param.as_deref(), Some("data.bogus"));
    }
}
