//! The rows a run grades: from inline `file_content` or an uploaded JSONL file (`file_id`),
//! each `{"item": {...}, "sample"?: {...}}`, or an uploaded CSV file whose header names the
//! item's fields; checked against the eval's `item_schema` before the run is accepted, as the
//! service does.

use serde_json::Value;

use axum::body::Bytes;

use super::errors::ApiError;
use super::store::Store;

/// One data-source row.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) item: Value,
    /// A sample carried by the row itself (jsonl rows may bring one instead of sampling).
    pub(crate) sample: Option<Value>,
}

/// Rows from `file_content`'s `content` array; `param` names the array.
pub(crate) fn from_content(content: &[Value], param: &str) -> Result<Vec<Row>, ApiError> {
    content
        .iter()
        .enumerate()
        .map(|(i, row)| row_of(row, &format!("{param}[{i}]")))
        .collect()
}

/// Rows from a JSONL file; blank lines are skipped.
pub(crate) fn from_jsonl(bytes: &[u8], param: &str) -> Result<Vec<Row>, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::invalid_value(param, "The file is not UTF-8 text."))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let value: Value = serde_json::from_str(line).map_err(|e| {
                ApiError::invalid_value(
                    param,
                    format!("Line {} of the file is not JSON: {e}.", n + 1),
                )
            })?;
            row_of(&value, &format!("{param} (line {})", n + 1))
        })
        .collect()
}

/// Rows from a CSV file: the header row names the fields, every value is a string.
pub(crate) fn from_csv(bytes: &[u8], param: &str) -> Result<Vec<Row>, ApiError> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let unreadable = |error: csv::Error| {
        let line = error.position().map_or(1, csv::Position::line);
        ApiError::invalid_value(
            param,
            format!("Line {line} of the CSV file cannot be read: {error}."),
        )
    };
    let headers = reader.headers().map_err(unreadable)?.clone();
    reader
        .records()
        .map(|record| {
            let record = record.map_err(unreadable)?;
            let item = headers
                .iter()
                .zip(record.iter())
                .map(|(key, value)| (key.to_string(), Value::from(value)))
                .collect();
            Ok(Row {
                item: Value::Object(item),
                sample: None,
            })
        })
        .collect()
}

fn row_of(row: &Value, path: &str) -> Result<Row, ApiError> {
    let Value::Object(map) = row else {
        return Err(ApiError::invalid_type(path, "an object", row));
    };
    let item = match map.get("item") {
        Some(item @ Value::Object(_)) => item.clone(),
        Some(other) => {
            return Err(ApiError::invalid_type(
                &format!("{path}.item"),
                "an object",
                other,
            ))
        }
        None => return Err(ApiError::missing(&format!("{path}.item"))),
    };
    // `sample` is an object when present; the spec does not make it nullable.
    let sample = match map.get("sample") {
        None => None,
        Some(sample @ Value::Object(_)) => Some(sample.clone()),
        Some(other) => {
            return Err(ApiError::invalid_type(
                &format!("{path}.sample"),
                "an object",
                other,
            ))
        }
    };
    Ok(Row { item, sample })
}

/// The uploaded file a `file_id` source names (`None` for inline rows), looked up under the
/// store's lock; the rows themselves are parsed by [`of_data_source`] after it is released.
pub(crate) fn file_of(data_source: &Value, store: &Store) -> Result<Option<Bytes>, ApiError> {
    let source = source_of(data_source);
    match source["type"].as_str() {
        Some("file_content") => Ok(None),
        Some("file_id") => {
            let id = source["id"].as_str().unwrap_or_default();
            let file = store.file(id).map_err(|_| {
                ApiError::invalid_value(
                    "data_source.source.id",
                    format!("No file found with id '{id}'."),
                )
            })?;
            if file.is_pending() {
                return Err(ApiError::invalid_value(
                    "data_source.source.id",
                    format!("File '{id}' is still being processed (status 'pending'); wait until it is 'processed'."),
                ));
            }
            Ok(Some(file.content.clone()))
        }
        other => Err(ApiError::invalid_value(
            "data_source.source.type",
            format!(
                "The emulator has no stored logs to draw '{}' rows from; use 'file_content' or 'file_id'.",
                other.unwrap_or_default()
            ),
        )),
    }
}

/// The rows of a run's `data_source`, given the file [`file_of`] found.
pub(crate) fn of_data_source(
    data_source: &Value,
    file: Option<&Bytes>,
) -> Result<Vec<Row>, ApiError> {
    match file {
        Some(bytes) if data_source["type"] == "csv" => from_csv(bytes, "data_source.source.id"),
        Some(bytes) => from_jsonl(bytes, "data_source.source.id"),
        None => from_content(
            source_of(data_source)["content"]
                .as_array()
                .map_or(&[], Vec::as_slice),
            "data_source.source.content",
        ),
    }
}

/// Where a data source's rows come from: its `source`, or for stored responses the
/// `source` of its `item_generation_params`.
fn source_of(data_source: &Value) -> &Value {
    match data_source["type"].as_str() {
        Some("azure_ai_responses") => &data_source["item_generation_params"]["source"],
        _ => &data_source["source"],
    }
}

/// Checks every row's `item` against the eval's item schema; the first mismatch is the error.
pub(crate) fn check_schema(rows: &[Row], item_schema: &Value, param: &str) -> Result<(), ApiError> {
    if !item_schema.is_object() {
        return Ok(());
    }
    let validator = jsonschema::validator_for(item_schema).map_err(|e| {
        ApiError::invalid_value(
            param,
            format!("The eval's item_schema cannot be used: {e}."),
        )
    })?;
    for (i, row) in rows.iter().enumerate() {
        if let Some(error) = validator.iter_errors(&row.item).next() {
            let at = error.instance_path().to_string();
            return Err(ApiError::invalid_value(
                param,
                format!("Row {i} does not match the eval's item_schema: {error} (at 'item{at}')."),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonl_rows_need_an_item_object() {
        let rows = from_jsonl(
            b"{\"item\": {\"a\": 1}}\n\n{\"item\": {\"a\": 2}, \"sample\": {}}\n",
            "f",
        );
        assert_eq!(rows.map(|r| r.len()), Ok(2));
        let error = from_jsonl(b"{\"a\": 1}\n", "f").unwrap_err();
        assert_eq!(error.param.as_deref(), Some("f (line 1).item"));
        assert!(from_jsonl(b"not json\n", "f").is_err());
    }

    #[test]
    fn csv_rows_are_named_by_the_header() {
        let rows = from_csv(b"\xef\xbb\xbfq,a\n\"1, 2\",x\ny,\"multi\nline\"\n", "f");
        let items: Vec<Value> = rows
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.item)
            .collect();
        assert_eq!(
            items,
            vec![
                json!({"q": "1, 2", "a": "x"}),
                json!({"q": "y", "a": "multi\nline"})
            ]
        );
        let error = from_csv(b"q,a\n1\n", "f").unwrap_err();
        assert!(
            error.message.starts_with("Line 2 of the CSV file"),
            "{}",
            error.message
        );
    }

    #[test]
    fn rows_are_checked_against_the_item_schema() {
        let schema =
            json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]});
        let good = from_content(&[json!({"item": {"a": "x"}})], "c").unwrap_or_default();
        assert_eq!(check_schema(&good, &schema, "c"), Ok(()));
        let bad = from_content(&[json!({"item": {"a": 1}})], "c").unwrap_or_default();
        assert!(check_schema(&bad, &schema, "c").is_err());
    }
}
