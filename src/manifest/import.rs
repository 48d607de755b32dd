//! Manifests written from evals on the service (`evalctl import`), in the request form a
//! person would write: `item_schema` unwrapped from the stored `schema`, grader ids, nulls
//! and documented defaults dropped, messages with plain-text content, keys derived from
//! names. Each eval carries `adopt: <id>`, so the plan tags it in place. The form comes from
//! the same canonical form the spec hash is taken over, so an imported eval plans as
//! unchanged.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::is_valid_key;
use crate::plan::{canonical, tags, RemoteEval};

/// One eval as imported: the key it got, and its manifest entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    pub key: String,
    pub id: String,
    pub name: String,
    pub spec: Value,
}

/// The evals with keys derived from their names, unique among themselves and `taken`.
pub fn import(evals: &[&RemoteEval], taken: &BTreeSet<String>) -> Vec<Imported> {
    let mut used = taken.clone();
    evals
        .iter()
        .map(|eval| {
            let key = unique_key(&eval.name, &eval.id, &used);
            used.insert(key.clone());
            Imported {
                spec: request_form(eval),
                key,
                id: eval.id.clone(),
                name: eval.name.clone(),
            }
        })
        .collect()
}

/// The YAML text of a manifest file holding `imported`.
pub fn manifest_text(imported: &[Imported], header: &str) -> String {
    let mut text = String::new();
    let header = crate::shown::json_escaped(header);
    for line in header.lines() {
        text.push_str(&format!("# {line}\n").replace("# \n", "#\n"));
    }
    text.push_str("evals:\n");
    for eval in imported {
        text.push_str(&format!("  {}:\n", eval.key));
        // Every string that could hold a control character is JSON-quoted: escape the C1
        // range there too, so neither the terminal nor the file gets them raw.
        for line in crate::render::manifest_lines(&eval.spec, 4) {
            text.push_str(&crate::shown::json_escaped(&line));
            text.push('\n');
        }
    }
    text
}

fn request_form(eval: &RemoteEval) -> Value {
    let mut spec = Map::new();
    if !eval.name.is_empty() {
        spec.insert("name".into(), Value::from(eval.name.clone()));
    }
    spec.insert("adopt".into(), Value::from(eval.id.clone()));
    let user = tags::user_part(&eval.metadata);
    if !user.is_empty() {
        spec.insert(
            "metadata".into(),
            serde_json::to_value(user).unwrap_or_default(),
        );
    }
    let mut config = canonical::config_canonical(&eval.data_source_config).to_value();
    if let Some(map) = config.as_object_mut() {
        if map.get("include_sample_schema") == Some(&Value::Bool(false)) {
            map.remove("include_sample_schema");
        }
    }
    spec.insert("data_source_config".into(), config);
    let graders: Vec<Value> = eval
        .testing_criteria
        .iter()
        .map(|grader| {
            let grader = plain_messages(canonical::grader_canonical(grader).to_value());
            leading(grader, &["type", "name"])
        })
        .collect();
    spec.insert("testing_criteria".into(), Value::Array(graders));
    Value::Object(spec)
}

/// Messages as a person writes them: `{role, content: "text"}` where the service stored
/// `{type: message, role, content: {type: input_text, text}}`.
fn plain_messages(mut grader: Value) -> Value {
    let Some(messages) = grader.get_mut("input").and_then(Value::as_array_mut) else {
        return grader;
    };
    for message in messages.iter_mut().filter_map(Value::as_object_mut) {
        let text = match message.get("content") {
            Some(Value::Object(content))
                if content.len() == 2
                    && content.get("type") == Some(&Value::from("input_text")) =>
            {
                content.get("text").cloned()
            }
            _ => None,
        };
        if let Some(text) = text {
            message.insert("content".into(), text);
        }
        if message.get("type") == Some(&Value::from("message")) {
            message.remove("type");
        }
        let taken = std::mem::take(message);
        if let Value::Object(ordered) = leading(Value::Object(taken), &["role", "content"]) {
            *message = ordered;
        }
    }
    grader
}

/// The object with `first` fields leading, as a person lists them (`type` and `name` of a
/// grader, `role` of a message); the others keep their order.
fn leading(value: Value, first: &[&str]) -> Value {
    let Value::Object(mut map) = value else {
        return value;
    };
    let mut ordered = Map::new();
    for key in first {
        if let Some(field) = map.shift_remove(*key) {
            ordered.insert((*key).to_string(), field);
        }
    }
    ordered.extend(map);
    Value::Object(ordered)
}

/// A key from a name: lower case, runs of other characters as one `-`, at most 63
/// characters; the id's when the name gives nothing; `-2`, `-3`... when taken.
fn unique_key(name: &str, id: &str, taken: &BTreeSet<String>) -> String {
    let base = match slug(name) {
        slug if slug.is_empty() => slug_or(id, "eval"),
        slug => slug,
    };
    if !taken.contains(&base) {
        return base;
    }
    (2..)
        .map(|n| {
            let suffix = format!("-{n}");
            let room = 63 - suffix.len();
            format!("{}{suffix}", base.chars().take(room).collect::<String>())
        })
        .find(|key| !taken.contains(key))
        .unwrap_or(base)
}

fn slug_or(text: &str, fallback: &str) -> String {
    match slug(text) {
        slug if slug.is_empty() => fallback.to_string(),
        slug => slug,
    }
}

fn slug(text: &str) -> String {
    let mut slug = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' {
            slug.push(c);
        } else if !slug.ends_with('-') {
            slug.push('-');
        }
    }
    let slug = slug.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    let slug: String = slug.chars().take(63).collect();
    let slug = slug.trim_end_matches(['-', '.', '_']).to_string();
    debug_assert!(slug.is_empty() || is_valid_key(&slug));
    slug
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn keys_come_from_names_and_are_made_unique() {
        let taken = BTreeSet::from(["qa".to_string()]);
        assert_eq!(unique_key("QA", "eval_1", &taken), "qa-2");
        assert_eq!(
            unique_key("Support: tone & facts!", "eval_1", &taken),
            "support-tone-facts"
        );
        assert_eq!(unique_key("¿¿??", "eval_abc", &taken), "eval_abc");
        assert_eq!(unique_key("", "", &taken), "eval");
        let long = "x".repeat(100);
        assert_eq!(unique_key(&long, "e", &taken).len(), 63);
        let taken = BTreeSet::from(["x".repeat(63)]);
        let second = unique_key(&long, "e", &taken);
        assert_eq!((second.len(), second.ends_with("-2")), (63, true));
        assert!(is_valid_key(&second));
    }

    #[test]
    fn the_stored_form_is_written_as_a_person_writes_it() {
        let eval = RemoteEval {
            id: "eval_1".into(),
            name: "QA".into(),
            metadata: [("team".to_string(), "x".to_string())].into(),
            data_source_config: json!({"type": "custom", "schema": {"type": "object",
                "properties": {"item": {"type": "object", "properties": {"q": {"type": "string"}}}},
                "required": ["item"]}}),
            testing_criteria: vec![
                json!({"id": "judge-1", "type": "label_model", "name": "judge",
                "model": "m", "labels": ["a"], "passing_labels": ["a"], "sampling_params": null,
                "input": [{"type": "message", "role": "user",
                           "content": {"type": "input_text", "text": "{{item.q}}"}}]}),
            ],
            created_at: 0,
            runs: Vec::new(),
            runs_listed: true,
        };
        let imported = import(&[&eval], &BTreeSet::new());
        assert_eq!(
            imported[0].spec,
            json!({"name": "QA", "adopt": "eval_1", "metadata": {"team": "x"},
                   "data_source_config": {"type": "custom", "item_schema": {"type": "object", "properties": {"q": {"type": "string"}}}},
                   "testing_criteria": [{"type": "label_model", "name": "judge", "model": "m", "labels": ["a"],
                       "passing_labels": ["a"], "input": [{"role": "user", "content": "{{item.q}}"}]}]})
        );
        // The written form hashes as the stored one: the plan sees no difference.
        assert_eq!(
            canonical::eval_spec(
                &imported[0].spec["data_source_config"],
                imported[0].spec["testing_criteria"]
                    .as_array()
                    .map_or(&[][..], Vec::as_slice)
            )
            .hash(),
            canonical::eval_spec(&eval.data_source_config, &eval.testing_criteria).hash()
        );
    }
}
