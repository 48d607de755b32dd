//! API errors as the service returns them: a status and an envelope whose shape depends on the
//! flavor. Handlers return [`ApiError`] without knowing the flavor; the flavor layer renders it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::flavor::Flavor;

/// One error answer. `param` names the offending field with the service's path syntax
/// (`testing_criteria[0].operation`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
    pub(crate) param: Option<String>,
    pub(crate) code: Option<&'static str>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
            param: None,
            code: Some(code),
        }
    }

    pub(crate) fn bad_request(
        code: &'static str,
        param: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            param: Some(param.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, code, message)
        }
    }

    pub(crate) fn invalid_value(param: &str, message: impl Into<String>) -> Self {
        ApiError::bad_request("invalid_value", param, message)
    }

    pub(crate) fn missing(param: &str) -> Self {
        ApiError::bad_request(
            "missing_required_parameter",
            param,
            format!("Missing required parameter: '{param}'."),
        )
    }

    pub(crate) fn unknown(param: &str) -> Self {
        ApiError::bad_request(
            "unknown_parameter",
            param,
            format!("Unknown parameter: '{param}'."),
        )
    }

    pub(crate) fn invalid_type(param: &str, expected: &str, found: &Value) -> Self {
        ApiError::bad_request(
            "invalid_type",
            param,
            format!(
                "Invalid type for '{param}': expected {expected}, but got {} instead.",
                type_name(found)
            ),
        )
    }

    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("No {what} found with id '{id}'."),
        )
    }

    /// The `type` of the OpenAI envelope, from the status as the service assigns it.
    fn openai_type(&self) -> &'static str {
        match self.status.as_u16() {
            429 => "requests",
            400..=499 => "invalid_request_error",
            _ => "server_error",
        }
    }

    /// The body in the flavor's envelope; every key of the envelope is always present.
    pub(crate) fn body(&self, flavor: Flavor) -> Value {
        match flavor {
            Flavor::OpenAi => json!({"error": {
                "message": self.message,
                "type": self.openai_type(),
                "param": self.param,
                "code": self.code,
            }}),
            Flavor::Azure | Flavor::Foundry => json!({"error": {
                "code": self.code.unwrap_or("error"),
                "message": self.message,
                "param": self.param,
                "type": "error",
                "inner_error": null,
            }}),
        }
    }
}

/// The JSON type name the service uses in type errors.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a decimal",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

impl IntoResponse for ApiError {
    /// Renders in the OpenAI shape and keeps the error in the extensions, so the flavor layer
    /// can render it again for Azure.
    fn into_response(self) -> Response {
        let mut response = (self.status, axum::Json(self.body(Flavor::OpenAi))).into_response();
        response.extensions_mut().insert(self);
        response
    }
}
