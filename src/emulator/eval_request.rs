//! The bodies of create-eval and update-eval: which fields each accepts (update takes only
//! `name` and `metadata`) and the eval they produce.

use serde_json::Value;

use super::criteria;
use super::data_source_config;
use super::errors::ApiError;
use super::flavor::Flavor;
use super::objects::{Eval, Metadata, ProjectFields};
use super::validate::{self, Fields};

/// A validated create-eval body, before it gets an id.
pub(crate) struct NewEval {
    pub(crate) name: String,
    pub(crate) data_source_config: Value,
    pub(crate) testing_criteria: Vec<Value>,
    pub(crate) metadata: Metadata,
    /// A project's immutable `properties`, as requested.
    pub(crate) properties: Metadata,
}

/// Who a project names as an eval's creator (a display name; there is no user here).
const CREATED_BY: &str = "Emulator User";

impl NewEval {
    pub(crate) fn parse(body: &Value, flavor: Flavor) -> Result<Self, ApiError> {
        let fields = Fields::of(body, "")?;
        // Azure's generated spec lists a required `statusCode: 201` in the body (a TypeSpec
        // artifact no client sends); it is accepted and ignored, never required.
        let allowed: &[&str] = match flavor {
            Flavor::OpenAi => &["name", "metadata", "data_source_config", "testing_criteria"],
            Flavor::Azure => &[
                "name",
                "metadata",
                "data_source_config",
                "testing_criteria",
                "statusCode",
            ],
            Flavor::Foundry => &[
                "name",
                "metadata",
                "properties",
                "data_source_config",
                "testing_criteria",
                "statusCode",
            ],
        };
        fields.only(allowed)?;
        let name = fields.opt_str("name")?.unwrap_or_default().to_string();
        let metadata = validate::metadata(fields.map.get("metadata"), "metadata")?;
        let properties = validate::metadata(fields.map.get("properties"), "properties")?;
        let data_source_config =
            data_source_config::normalize(fields.req("data_source_config")?, flavor)?;
        let testing_criteria =
            criteria::normalize_all(fields.req_array("testing_criteria")?, flavor)?;
        Ok(NewEval {
            name,
            data_source_config,
            testing_criteria,
            metadata,
            properties,
        })
    }

    /// The eval as stored; in a project it gets the project's fields, and the service marks
    /// it as its own (`properties.evals_run_type`, observed).
    pub(crate) fn into_eval(self, id: String, created_at: i64, in_project: bool) -> Eval {
        let project = in_project.then(|| {
            let mut properties = self.properties;
            properties.insert("evals_run_type".into(), "azure_ai".into());
            ProjectFields {
                modified_at: created_at,
                created_by: Some(CREATED_BY.into()),
                properties,
            }
        });
        Eval {
            object: "eval".into(),
            id,
            name: self.name,
            data_source_config: self.data_source_config,
            testing_criteria: self.testing_criteria,
            created_at,
            metadata: self.metadata,
            project,
        }
    }
}

/// A validated update-eval body: the fields to change.
#[derive(Debug, Default)]
pub(crate) struct EvalUpdate {
    pub(crate) name: Option<String>,
    pub(crate) metadata: Option<Metadata>,
    /// A project's properties: new keys may be added, none changed.
    pub(crate) properties: Option<Metadata>,
}

impl EvalUpdate {
    pub(crate) fn parse(body: &Value, flavor: Flavor) -> Result<Self, ApiError> {
        let fields = Fields::of(body, "")?;
        match flavor {
            Flavor::Foundry => fields.only(&["name", "metadata", "properties"])?,
            Flavor::OpenAi | Flavor::Azure => fields.only(&["name", "metadata"])?,
        }
        let map = |key: &str| match fields.map.get(key) {
            None => Ok(None),
            present => validate::metadata(present, key).map(Some),
        };
        Ok(EvalUpdate {
            name: fields.opt_str("name")?.map(str::to_string),
            metadata: map("metadata")?,
            properties: map("properties")?,
        })
    }

    /// Applies the update at time `now`.
    pub(crate) fn apply(self, eval: &mut Eval, now: i64) -> Result<(), ApiError> {
        if let Some(project) = &mut eval.project {
            for (key, value) in self.properties.unwrap_or_default() {
                match project.properties.get(&key) {
                    Some(old) if *old != value => {
                        return Err(ApiError::invalid_value(
                            &format!("properties.{key}"),
                            format!("Invalid 'properties.{key}': properties are immutable once set ('{old}')."),
                        ))
                    }
                    _ => project.properties.insert(key, value),
                };
            }
            project.modified_at = now;
        }
        if let Some(name) = self.name {
            eval.name = name;
        }
        if let Some(metadata) = self.metadata {
            eval.metadata = metadata;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn update_takes_only_name_and_metadata() {
        let error = EvalUpdate::parse(&json!({"testing_criteria": []}), Flavor::Azure).unwrap_err();
        assert_eq!(error.param.as_deref(), Some("testing_criteria"));
        assert!(EvalUpdate::parse(&json!({"name": "n", "metadata": null}), Flavor::Azure).is_ok());
    }

    #[test]
    fn azure_accepts_the_spurious_status_code() {
        let body = json!({"statusCode": 201, "data_source_config": {"type": "logs"},
                          "testing_criteria": []});
        assert!(NewEval::parse(&body, Flavor::Azure).is_ok());
        let error = NewEval::parse(&body, Flavor::OpenAi).err().map(|e| e.param);
        assert_eq!(error, Some(Some("statusCode".into())));
    }
}
