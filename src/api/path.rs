//! Request paths below the API's base URL. An id from the service goes into a path only
//! after it is checked against the ids services give (letters, digits, `_` and `-`), and is
//! then sent as one path segment: an id such as `../../files/x?` must neither reach another
//! endpoint with the credentials nor be sent at all.

use std::fmt;

use super::ApiError;

/// The longest id accepted; the service's are under 50 characters.
const MAX_ID: usize = 256;

/// What kind of object an id names, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Eval,
    Run,
    File,
}

impl fmt::Display for IdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IdKind::Eval => "eval",
            IdKind::Run => "run",
            IdKind::File => "file",
        })
    }
}

/// Whether `id` has the shape of a service id.
pub fn is_service_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `id` if it has the shape of a service id, else the error that refuses it.
pub fn checked(kind: IdKind, id: &str) -> Result<&str, ApiError> {
    if is_service_id(id) {
        Ok(id)
    } else {
        Err(ApiError::BadId {
            kind,
            id: id.to_string(),
        })
    }
}

/// A path of fixed words and checked ids, e.g. `evals/{eval}/runs`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiPath {
    segments: Vec<String>,
}

impl ApiPath {
    pub(crate) fn new(word: &'static str) -> ApiPath {
        ApiPath {
            segments: vec![word.to_string()],
        }
    }

    pub(crate) fn word(mut self, word: &'static str) -> ApiPath {
        self.segments.push(word.to_string());
        self
    }

    fn id(mut self, kind: IdKind, id: &str) -> Result<ApiPath, ApiError> {
        self.segments.push(checked(kind, id)?.to_string());
        Ok(self)
    }

    pub(crate) fn eval(self, id: &str) -> Result<ApiPath, ApiError> {
        self.id(IdKind::Eval, id)
    }

    pub(crate) fn run(self, id: &str) -> Result<ApiPath, ApiError> {
        self.id(IdKind::Run, id)
    }

    pub(crate) fn file(self, id: &str) -> Result<ApiPath, ApiError> {
        self.id(IdKind::File, id)
    }

    pub(crate) fn segments(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().map(String::as_str)
    }
}

impl fmt::Display for ApiPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for segment in &self.segments {
            write!(f, "/{segment}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_pass_and_anything_else_is_refused() {
        for id in [
            "eval_67abd54d9b0081909a86353f6fb9317a",
            "evalrun_67e44c73eb6481909f79a457749222c7",
            "file-J7MoX9ToHXp2TutMEeYnwj",
        ] {
            assert!(is_service_id(id), "{id}");
        }
        for id in [
            "",
            "../../../v1/files/x?",
            "a/b",
            "a b",
            "é",
            "a%2F",
            &"x".repeat(257),
        ] {
            assert!(!is_service_id(id), "{id}");
        }
        let refused = ApiPath::new("evals").eval("../x").map(|p| p.to_string());
        assert!(matches!(
            refused,
            Err(ApiError::BadId {
                kind: IdKind::Eval,
                ..
            })
        ));
    }
}
