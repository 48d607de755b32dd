//! Errors of calls to the service. They name the method, the path, the status and the
//! service's own message; they never contain credentials (those travel in headers, which
//! no error includes).

use std::fmt;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Boxed: errors travel in every `Result` of the client.
    #[error("{0}")]
    Status(Box<StatusError>),
    #[error("{method} {path}: {message}")]
    Transport {
        method: String,
        path: String,
        message: String,
        /// The connection was never made, so the service saw nothing.
        not_sent: bool,
    },
    #[error("{method} {path}: unexpected response: {message}")]
    Decode {
        method: String,
        path: String,
        message: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Setup(String),
    /// No Entra ID credential gave a token (each one tried is listed by `NoToken::tried`).
    #[error(transparent)]
    NoToken(super::entra::NoToken),
    /// A write this client was told not to send any more: the project's lease lapsed.
    #[error("{method} {path}: not sent: the lease on the project lapsed (this apply could not renew it in time, or it was removed); run `evalctl plan` to see what is left")]
    LeaseLapsed { method: String, path: String },
    /// An id from the service that is not shaped like one: it is never put in a request.
    #[error("the service gave {kind} id {}, which is not an id (ids are letters, digits, `_` and `-`): evalctl does not send it in a request", crate::shown::quoted(id))]
    BadId {
        kind: super::path::IdKind,
        id: String,
    },
}

/// The service answered with an error status.
#[derive(Debug, Clone)]
pub struct StatusError {
    pub method: String,
    pub path: String,
    pub status: u16,
    pub reason: String,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<String>,
}

impl fmt::Display for StatusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {} {}: {}",
            self.method, self.path, self.status, self.reason, self.message
        )?;
        if let Some(param) = &self.param {
            write!(f, " (param: {param})")?;
        }
        Ok(())
    }
}

impl ApiError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Status(error) => Some(error.status),
            _ => None,
        }
    }

    /// Whether the service may have carried the request out although it failed (a lost
    /// response, a timeout, a server error): a create must then be looked up, not repeated.
    pub fn maybe_committed(&self) -> bool {
        match self {
            ApiError::Status(error) => error.status >= 500 || error.status == 408,
            ApiError::Transport { not_sent, .. } => !not_sent,
            ApiError::Decode { .. } => true,
            ApiError::Setup(_)
            | ApiError::BadId { .. }
            | ApiError::NoToken(_)
            | ApiError::LeaseLapsed { .. } => false,
        }
    }

    /// The service's error code, e.g. `insufficient_quota`.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Status(error) => error.code.as_deref(),
            _ => None,
        }
    }
}
