//! Compiled `item_schema`s, shared by the threads that check evals in parallel: the evals of
//! a project often share a schema (one dataset, many graders or prompts), and compiling a
//! schema costs more than all the other checks of an eval together. A schema is compiled
//! once per distinct text; the first thread to ask compiles it, the others wait for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde_json::{Map, Value};

/// An eval's `item_schema` and its validator, or why it is not a valid JSON Schema.
pub(crate) struct ItemSchema {
    pub schema: Value,
    pub validator: Result<jsonschema::Validator, String>,
}

#[derive(Default)]
pub(crate) struct SchemaCache {
    compiled: Mutex<HashMap<String, Slot>>,
}

type Slot = Arc<OnceLock<Arc<ItemSchema>>>;

impl SchemaCache {
    /// The compiled form of `schema`, compiling it the first time its text is seen.
    pub(crate) fn get(&self, schema: &Map<String, Value>) -> Arc<ItemSchema> {
        // Serialising a map of JSON values does not fail; if it did, the schema would be
        // compiled on its own rather than share a slot keyed by nothing.
        let Ok(text) = serde_json::to_string(schema) else {
            return Arc::new(compile(schema));
        };
        let cell = Arc::clone(
            self.compiled
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(text)
                .or_default(),
        );
        Arc::clone(cell.get_or_init(|| Arc::new(compile(schema))))
    }
}

fn compile(schema: &Map<String, Value>) -> ItemSchema {
    let schema = Value::Object(schema.clone());
    let validator = jsonschema::validator_for(&schema).map_err(|e| e.to_string());
    ItemSchema { schema, validator }
}
