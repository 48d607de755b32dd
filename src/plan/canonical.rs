//! The canonical form of an eval's immutable spec (data source config + graders), computed
//! alike from what the manifest asks for (request form) and what the service stores
//! (response form), so that equal specs hash equal whatever the key order, the YAML
//! formatting or the service's normalisation: the stored `schema` wrapping `item`, grader
//! `id`s, messages expanded to `{type: message, content: {type: input_text, ...}}`, nulls
//! for absent optional fields and documented defaults.

use std::borrow::Cow;
use std::io::Write as _;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// A canonical value that borrows whatever canonicalisation leaves as it is: every plan
/// canonicalises every eval and run, and copying their schemas and prompts only to hash them
/// was most of that work.
#[derive(Debug, Clone, PartialEq)]
pub enum Canon<'a> {
    /// A value kept as it is.
    Same(&'a Value),
    Str(Cow<'a, str>),
    /// A whole number too large for a 32-bit float to hold, in a field the service keeps as
    /// one: written as the 32-bit float it becomes.
    Float32(f64),
    Bool(bool),
    Null,
    Array(Vec<Canon<'a>>),
    /// Keys are unique; their order is the one `to_value` gives, not the hashed one.
    Object(Vec<(&'a str, Canon<'a>)>),
}

impl Canon<'_> {
    /// Hex SHA-256 of the canonical JSON.
    pub fn hash(&self) -> String {
        let mut text = Vec::with_capacity(1024);
        self.write(&mut text, &mut Vec::new());
        format!("{:x}", Sha256::digest(&text))
    }

    /// The canonical JSON text.
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        self.write(&mut out, &mut Vec::new());
        // Only JSON text and UTF-8 strings were written.
        String::from_utf8(out).unwrap_or_default()
    }

    /// As a JSON value, for showing which fields differ.
    pub fn to_value(&self) -> Value {
        match self {
            Canon::Same(value) => (*value).clone(),
            Canon::Str(text) => Value::String(text.to_string()),
            // As the service keeps it, so a diff against its echo shows no change.
            Canon::Float32(x) => serde_json::json!(as_f32(*x)),
            Canon::Bool(b) => Value::Bool(*b),
            Canon::Null => Value::Null,
            Canon::Array(items) => Value::Array(items.iter().map(Canon::to_value).collect()),
            Canon::Object(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_value()))
                    .collect(),
            ),
        }
    }

    fn write<'v>(&'v self, out: &mut Vec<u8>, scratch: &mut Vec<(&'v str, &'v Value)>) {
        match self {
            Canon::Same(value) => write_sorted(value, out, scratch),
            Canon::Str(text) => write_str(text, out),
            Canon::Float32(x) => write_float(*x, out),
            Canon::Bool(true) => out.extend_from_slice(b"true"),
            Canon::Bool(false) => out.extend_from_slice(b"false"),
            Canon::Null => out.extend_from_slice(b"null"),
            Canon::Array(items) => {
                write_list(b"[]", items, out, |item, out| item.write(out, scratch));
            }
            Canon::Object(entries) => {
                let mut sorted: Vec<&(&str, Canon)> = entries.iter().collect();
                sorted.sort_unstable_by_key(|(key, _)| *key);
                debug_assert!(sorted.windows(2).all(|pair| pair[0].0 != pair[1].0));
                write_list(b"{}", sorted, out, |(key, value), out| {
                    write_key(key, out);
                    value.write(out, scratch);
                });
            }
        }
    }
}

/// JSON with object keys sorted at every level: the text that hashes are taken over.
pub fn canonical_json(value: &Value) -> String {
    Canon::Same(value).text()
}

/// Writes without building intermediate strings: plans hash every eval and run, so this is
/// on the path of every `plan`. Each object's entries are sorted in `scratch`, a stack shared
/// by the whole walk, rather than in a vector of their own.
fn write_sorted<'v>(value: &'v Value, out: &mut Vec<u8>, scratch: &mut Vec<(&'v str, &'v Value)>) {
    match value {
        Value::Object(map) => {
            let start = scratch.len();
            scratch.extend(map.iter().map(|(key, value)| (key.as_str(), value)));
            scratch[start..].sort_unstable_by_key(|(key, _)| *key);
            let end = scratch.len();
            write_list(b"{}", start..end, out, |i, out| {
                let (key, value) = scratch[i];
                write_key(key, out);
                write_sorted(value, out, scratch);
            });
            scratch.truncate(start);
        }
        Value::Array(items) => {
            write_list(b"[]", items, out, |item, out| {
                write_sorted(item, out, scratch)
            });
        }
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_str(text, out),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Null => out.extend_from_slice(b"null"),
    }
}

/// `items` between `brackets`, separated by commas, each written by `write`.
fn write_list<T>(
    brackets: &[u8; 2],
    items: impl IntoIterator<Item = T>,
    out: &mut Vec<u8>,
    mut write: impl FnMut(T, &mut Vec<u8>),
) {
    out.push(brackets[0]);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write(item, out);
    }
    out.push(brackets[1]);
}

/// An object's key and the colon after it.
fn write_key(key: &str, out: &mut Vec<u8>) {
    write_str(key, out);
    out.push(b':');
}

/// A JSON string literal, escaped exactly as serde_json writes it.
fn write_str(text: &str, out: &mut Vec<u8>) {
    // Most strings need no escape, and then serde_json writes them between quotes as they
    // are; checking for that first is several times faster than its escaper.
    if !needs_escape(text.as_bytes()) {
        out.reserve(text.len() + 2);
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
        return;
    }
    // Writing a `&str` into a `Vec` cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

/// Whether serde_json escapes anything in `bytes`.
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// A number by its value, not its spelling: `1`, `1.0` and `1e0` are one number, and a float
/// is taken as the 32-bit float nearest to it, at 7 significant digits, because the Azure
/// spec stores `pass_threshold` and `range` as 32-bit floats (0.8 comes back as
/// 0.800000011920929). Rounding the value itself to 7 digits was not enough: 0.000987 and its
/// 32-bit echo round apart (9.870000e-4, 9.869999e-4).
fn write_number(number: &serde_json::Number, out: &mut Vec<u8>) {
    // Writing into a `Vec` cannot fail.
    let _ = match (number.as_i64(), number.as_u64(), number.as_f64()) {
        (Some(i), _, _) => write!(out, "{i}"),
        (None, Some(u), _) => write!(out, "{u}"),
        (None, None, Some(x)) => {
            write_float(x, out);
            Ok(())
        }
        (None, None, None) => write!(out, "{number}"),
    };
}

/// A float as the 32-bit float nearest to it, whole or at 7 significant digits.
fn write_float(x: f64, out: &mut Vec<u8>) {
    let x = as_f32(x);
    // Writing into a `Vec` cannot fail.
    let _ = if x.fract() == 0.0 && x.abs() < 1e15 {
        write!(out, "{}", x as i64)
    } else {
        write!(out, "{x:.6e}")
    };
}

/// The value of a field the Azure OpenAPI keeps as a 32-bit float (`format: float`): a
/// whole number beyond 2^24 comes back as the nearest 32-bit float (16777217 as 16777216),
/// so it is taken as that. The manifest's typed graders send these fields as floats, which
/// were narrowed already; only a grader type evalctl passes through as written, with such a
/// number, hashes otherwise than before (its runs start once more after upgrading).
fn float_field(value: &Value) -> Canon<'_> {
    const EXACT: f64 = (1u64 << 24) as f64;
    match value.as_f64() {
        Some(x) if !value.is_f64() && x.abs() > EXACT => Canon::Float32(x),
        _ => Canon::Same(value),
    }
}

/// `x` as the service would store it in 32 bits, read back: a value and its echo are then
/// one number. Beyond the 32-bit range, `x` itself.
fn as_f32(x: f64) -> f64 {
    let narrowed = x as f32;
    if narrowed.is_finite() {
        f64::from(narrowed)
    } else {
        x
    }
}

/// Hex SHA-256 of the canonical JSON of `value`.
pub fn hash(value: &Value) -> String {
    Canon::Same(value).hash()
}

/// The canonical spec of an eval: `{data_source_config, testing_criteria}`.
pub fn eval_spec<'a>(config: &'a Value, graders: &'a [Value]) -> Canon<'a> {
    Canon::Object(vec![
        ("data_source_config", config_canonical(config)),
        (
            "testing_criteria",
            Canon::Array(graders.iter().map(grader_canonical).collect()),
        ),
    ])
}

/// A data source config in request form, from either form.
pub fn config_canonical(config: &Value) -> Canon<'_> {
    let Some(map) = config.as_object() else {
        return Canon::Same(config);
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "custom" => {
            let (item_schema, sample) = match map.get("schema") {
                // The stored form: {type: object, properties: {item: S, sample?: ...}} on a
                // resource, {item: S, sample?: ...} on a Foundry project (beside an empty
                // `item_schema`).
                Some(schema) => (
                    schema
                        .pointer("/properties/item")
                        .or_else(|| schema.get("item")),
                    schema.pointer("/properties/sample").is_some()
                        || schema.get("sample").is_some(),
                ),
                None => (
                    map.get("item_schema"),
                    map.get("include_sample_schema")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                ),
            };
            Canon::Object(vec![
                ("type", Canon::Str("custom".into())),
                ("item_schema", item_schema.map_or(Canon::Null, Canon::Same)),
                ("include_sample_schema", Canon::Bool(sample)),
            ])
        }
        "logs" | "stored_completions" => {
            // The service returns the filters as strings, whatever was sent.
            let metadata: Vec<(&str, Canon)> = map
                .get("metadata")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .map(|(k, v)| {
                    let text = v.as_str().map_or_else(|| v.to_string().into(), Cow::from);
                    (k.as_str(), Canon::Str(text))
                })
                .collect();
            let mut entries = vec![("type", Canon::Str(kind.into()))];
            if !metadata.is_empty() {
                entries.push(("metadata", Canon::Object(metadata)));
            }
            Canon::Object(entries)
        }
        // Unknown types: what the user wrote, less what the service adds.
        _ => Canon::Object(
            map.iter()
                .filter(|(k, _)| k.as_str() != "schema")
                .map(|(k, v)| (k.as_str(), Canon::Same(v)))
                .collect(),
        ),
    }
}

/// A grader in request form, from either form.
pub fn grader_canonical(grader: &Value) -> Canon<'_> {
    let Some(map) = grader.as_object() else {
        return Canon::Same(grader);
    };
    let kind = map.get("type").and_then(Value::as_str).unwrap_or("");
    let model_grader = matches!(kind, "label_model" | "score_model");
    let score_model = kind == "score_model";
    let foundry_evaluator = kind == "azure_ai_evaluator";
    let mut out = Vec::with_capacity(map.len());
    for (key, value) in map {
        let key = key.as_str();
        if key == "id" || value.is_null() {
            continue;
        }
        // A Foundry project echoes an omitted version as "" and omitted maps as {}.
        if foundry_evaluator && is_empty_echo(value) {
            continue;
        }
        let value = match value {
            Value::Array(messages) if model_grader && key == "input" => {
                Canon::Array(messages.iter().map(message_canonical).collect())
            }
            _ if key == "pass_threshold" => float_field(value),
            _ if score_model => match score_model_value(key, value) {
                Some(value) => value,
                None => continue,
            },
            _ => Canon::Same(value),
        };
        out.push((key, value));
    }
    Canon::Object(out)
}

/// `""` or `{}`: what a Foundry project echoes for an optional field that was not given.
fn is_empty_echo(value: &Value) -> bool {
    match value {
        Value::String(text) => text.is_empty(),
        Value::Object(map) => map.is_empty(),
        _ => false,
    }
}

/// A field of a `score_model` grader, or `None` when it is what the service fills in when
/// it is not given.
fn score_model_value<'a>(key: &str, value: &'a Value) -> Option<Canon<'a>> {
    match (key, value) {
        // The service's default, however its numbers are spelled (`[0, 1.0]` too).
        ("range", Value::Array(range)) if is_default_range(range) => None,
        ("range", Value::Array(range)) => {
            Some(Canon::Array(range.iter().map(float_field).collect()))
        }
        ("sampling_params", Value::Object(params)) => {
            let set: Vec<(&str, Canon)> = params
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "temperature" | "top_p" => float_field(v),
                        _ => Canon::Same(v),
                    };
                    (k.as_str(), v)
                })
                .collect();
            (!set.is_empty()).then_some(Canon::Object(set))
        }
        _ => Some(Canon::Same(value)),
    }
}

/// `[0, 1]` by value.
fn is_default_range(range: &[Value]) -> bool {
    let bounds: Vec<Option<f64>> = range.iter().map(Value::as_f64).collect();
    bounds == [Some(0.0), Some(1.0)]
}

/// A message in the stored EvalItem form: `type: message`, content parts typed.
pub fn message_canonical(message: &Value) -> Canon<'_> {
    let Some(map) = message.as_object() else {
        return Canon::Same(message);
    };
    let mut out: Vec<(&str, Canon)> = map
        .iter()
        .map(|(key, value)| {
            let value = match (key.as_str(), value) {
                ("content", Value::String(text)) => Canon::Object(vec![
                    ("type", Canon::Str("input_text".into())),
                    ("text", Canon::Str(text.as_str().into())),
                ]),
                _ => Canon::Same(value),
            };
            (key.as_str(), value)
        })
        .collect();
    if !map.contains_key("type") {
        out.push(("type", Canon::Str("message".into())));
    }
    Canon::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const GOLDEN_TEXT: &str = r#"{"a\"b":"line\nbreak é \u0001 / \\","big":18446744073709551615,"m":{"x":[],"y":{}},"neg":-9223372036854775808,"z":[1,-2,3.500000e0,8.000000e-1,1.000000e20,1,null,true,false]}"#;
    const GOLDEN_HASH: &str = "b9a1b09d3931dfea258b1b275ad80293bf7dacece3e130a75d5d39c12956a0dd";

    #[test]
    fn the_canonical_text_is_stable_across_versions() {
        // Spec hashes are stored in tags on the service: any change to this text would make
        // every existing eval look changed. Pinned here so a faster writer cannot drift.
        let value: Value = serde_json::from_str(
            r#"{"z": [1, -2, 3.5, 0.8, 1e20, 1.0, null, true, false], "a\"b": "line\nbreak \u00e9 \u0001 / \\",
                "m": {"y": {}, "x": []}, "big": 18446744073709551615, "neg": -9223372036854775808}"#,
        )
        .unwrap_or_default();
        let text = canonical_json(&value);
        assert_eq!(text, GOLDEN_TEXT);
        assert_eq!(hash(&value), GOLDEN_HASH);
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        // The writer skips serde_json's escaper for strings that need none, found in blocks
        // of 16 bytes: every special character, at every place in and around a block.
        let specials = [
            '"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é', '\u{2028}', ' ', '/',
        ];
        for special in specials {
            for at in 0..40 {
                let text: String = (0..40)
                    .map(|i| if i == at { special } else { 'a' })
                    .collect();
                let mut ours = Vec::new();
                write_str(&text, &mut ours);
                let theirs = serde_json::to_string(&text).unwrap_or_default();
                assert_eq!(
                    String::from_utf8_lossy(&ours),
                    theirs,
                    "{special:?} at {at}"
                );
            }
        }
    }

    #[test]
    fn key_order_does_not_change_the_hash() {
        let a: Value =
            serde_json::from_str(r#"{"b": 1, "a": {"y": [1, 2], "x": null}}"#).unwrap_or_default();
        let b: Value =
            serde_json::from_str(r#"{"a": {"x": null, "y": [1, 2]}, "b": 1}"#).unwrap_or_default();
        assert_eq!(canonical_json(&a), r#"{"a":{"x":null,"y":[1,2]},"b":1}"#);
        assert_eq!(hash(&a), hash(&b));
    }

    #[test]
    fn the_stored_form_equals_the_request_form() {
        let item =
            json!({"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]});
        let request_config = json!({"type": "custom", "item_schema": item});
        let stored_config = json!({"type": "custom", "schema": {"type": "object", "properties": {"item": item}, "required": ["item"]}});
        let request_graders = vec![
            json!({"type": "label_model", "name": "judge", "model": "m", "labels": ["a"], "passing_labels": ["a"],
                   "input": [{"role": "user", "content": "{{item.q}}"}]}),
            json!({"type": "score_model", "name": "score", "model": "m", "input": []}),
        ];
        let stored_graders = vec![
            json!({"id": "judge-1234", "type": "label_model", "name": "judge", "model": "m", "labels": ["a"], "passing_labels": ["a"],
                   "input": [{"type": "message", "role": "user", "content": {"type": "input_text", "text": "{{item.q}}"}}]}),
            json!({"id": "score-5678", "type": "score_model", "name": "score", "model": "m", "input": [], "range": [0.0, 1.0],
                   "sampling_params": null, "pass_threshold": null}),
        ];
        assert_eq!(
            eval_spec(&request_config, &request_graders).hash(),
            eval_spec(&stored_config, &stored_graders).hash()
        );
    }

    #[test]
    fn a_foundry_projects_echo_equals_the_request_form() {
        let item = json!({"type": "object", "properties": {"q": {"type": "string"}}});
        let request_config = json!({"type": "custom", "item_schema": item});
        let echoed_config = json!({"type": "custom", "item_schema": {}, "schema": {"item": item}});
        let request = vec![json!({"type": "azure_ai_evaluator", "name": "f1",
            "evaluator_name": "builtin.f1_score"})];
        let echoed = vec![
            json!({"type": "azure_ai_evaluator", "name": "f1", "id": "f1_0b1c",
            "evaluator_name": "builtin.f1_score", "evaluator_version": "", "data_mapping": {}}),
        ];
        assert_eq!(
            eval_spec(&request_config, &request).hash(),
            eval_spec(&echoed_config, &echoed).hash()
        );
        let pinned = vec![json!({"type": "azure_ai_evaluator", "name": "f1",
            "evaluator_name": "builtin.f1_score", "evaluator_version": "3"})];
        assert_ne!(
            eval_spec(&request_config, &request).hash(),
            eval_spec(&request_config, &pinned).hash()
        );
        let with_samples = json!({"type": "custom", "item_schema": {},
            "schema": {"item": item, "sample": {"type": "object"}}});
        let asked = json!({"type": "custom", "item_schema": item, "include_sample_schema": true});
        assert_eq!(
            config_canonical(&with_samples).hash(),
            config_canonical(&asked).hash()
        );
    }

    #[test]
    fn numbers_hash_by_value_at_float_precision() {
        let spelled: Value = serde_json::from_str(
            r#"{"pass_threshold": 1, "range": [1, 5], "t": 0.800000011920929}"#,
        )
        .unwrap_or_default();
        let typed = json!({"pass_threshold": 1.0_f64, "range": [1.0_f64, 5.0_f64], "t": 0.8_f64});
        assert_eq!(hash(&spelled), hash(&typed));
        assert_ne!(hash(&json!({"t": 0.8})), hash(&json!({"t": 0.81})));
        // Found by the spec-hash property: rounded to 7 digits, these two differed.
        let stored = f64::from(0.000987_f32);
        // Found by review: a default range spelled with mixed numbers was kept on one side.
        let mixed = json!({"type": "score_model", "range": [0, 1.0]});
        let echoed = json!({"type": "score_model", "range": [0.0, 1.0]});
        assert_eq!(grader_canonical(&mixed), grader_canonical(&echoed));
        assert_eq!(hash(&json!({"t": 0.000987})), hash(&json!({"t": stored})));
    }

    #[test]
    fn whole_numbers_beyond_32_bits_are_narrowed_in_float_fields_only() {
        // Azure keeps these fields as 32-bit floats: 16777217 comes back as 16777216.
        let sent = json!({"type": "score_model", "pass_threshold": 16_777_217, "range": [0, 16_777_219],
                          "sampling_params": {"temperature": 33_554_433, "seed": 16_777_217}});
        let echoed = json!({"type": "score_model", "pass_threshold": 16_777_216.0, "range": [0.0, 16_777_220.0],
                            "sampling_params": {"temperature": 33_554_432.0, "seed": 16_777_217}});
        assert_eq!(
            grader_canonical(&sent).hash(),
            grader_canonical(&echoed).hash()
        );
        // A seed is an integer on the service: it stays exact.
        let mut other_seed = sent.clone();
        other_seed["sampling_params"]["seed"] = json!(16_777_216);
        assert_ne!(
            grader_canonical(&sent).hash(),
            grader_canonical(&other_seed).hash()
        );
        let python = json!({"type": "python", "pass_threshold": 16_777_217});
        let echoed = json!({"type": "python", "pass_threshold": 16_777_216.0});
        assert_eq!(
            grader_canonical(&python).hash(),
            grader_canonical(&echoed).hash()
        );
        // Below 2^24 nothing changes: stored hashes stay as they were.
        let small = json!({"type": "python", "pass_threshold": 16_777_216});
        assert_eq!(grader_canonical(&small).text(), canonical_json(&small));
    }

    #[test]
    fn logs_filters_compare_as_the_strings_the_service_returns() {
        let sent = json!({"type": "logs", "metadata": {"version": 2, "app": "x"}});
        let stored =
            json!({"type": "logs", "metadata": {"version": "2", "app": "x"}, "schema": {}});
        assert_eq!(config_canonical(&sent), config_canonical(&stored));
    }

    #[test]
    fn samples_in_the_schema_mean_include_sample_schema() {
        let stored =
            json!({"type": "custom", "schema": {"properties": {"item": {}, "sample": {}}}});
        assert_eq!(
            config_canonical(&stored).to_value()["include_sample_schema"],
            json!(true)
        );
        let changed = json!({"type": "custom", "item_schema": {}, "include_sample_schema": false});
        assert_ne!(config_canonical(&stored), config_canonical(&changed));
    }
}
