//! Field-level differences between two JSON values, as paths a reviewer can read
//! (`testing_criteria[0].operation`). Used to say which fields force a replacement.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One changed field: its path and its old and new values (absent when added or removed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

/// Every difference between `old` and `new` below `path`, in a stable order. Objects are
/// compared key by key (sorted), arrays item by item; anything else is a change as a whole.
pub fn changes(path: &str, old: &Value, new: &Value, out: &mut Vec<Change>) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let child = join(path, key);
                match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => changes(&child, x, y, out),
                    (x, y) => out.push(Change {
                        path: child,
                        old: x.cloned(),
                        new: y.cloned(),
                    }),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let child = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => changes(&child, x, y, out),
                    (x, y) => out.push(Change {
                        path: child,
                        old: x.cloned(),
                        new: y.cloned(),
                    }),
                }
            }
        }
        // A number by its value as the spec hash takes it: 0.8 and its 32-bit echo
        // 0.800000011920929, or 0 and 0.0, are no change to show.
        (Value::Number(_), Value::Number(_))
            if super::canonical::canonical_json(old) == super::canonical::canonical_json(new) => {}
        (a, b) if a != b => out.push(Change {
            path: path.to_string(),
            old: Some(a.clone()),
            new: Some(b.clone()),
        }),
        _ => {}
    }
}

fn join(path: &str, key: &str) -> String {
    let plain = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if plain {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if path.is_empty() {
        key
    } else {
        format!("{path}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_each_changed_leaf() {
        let mut out = Vec::new();
        let old = json!({"testing_criteria": [{"operation": "eq", "name": "x"}], "keep": 1});
        let new = json!({"testing_criteria": [{"operation": "ne", "name": "x"}, {"name": "y"}], "keep": 1});
        changes("", &old, &new, &mut out);
        let paths: Vec<&str> = out.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            ["testing_criteria[0].operation", "testing_criteria[1]"]
        );
        assert_eq!(out[1].old, None);
    }
}
