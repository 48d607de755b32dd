//! Checks of `runs`: keys, metadata, gates naming real graders, sources allowed for the data
//! source type, input templates, and the rows (files and inline) against `item_schema`.

use super::data::{self, describe, DataCache};
use super::partial::PartialRun;
use super::templates::{Namespaces, SampleAccess};
use super::{
    did_you_mean, one_of, EvalChecker, Finding, KnownRunDataSource, RunDataSource, RunSource,
    RUN_RESERVED_PAIRS,
};
use crate::manifest::model::InputMessages;
use crate::manifest::node::FieldPath;

impl EvalChecker<'_> {
    pub(super) fn check_run(
        &mut self,
        key: &str,
        run: &PartialRun<'_>,
        ns: &Namespaces<'_>,
        validator: Option<&jsonschema::Validator>,
        cache: &DataCache,
    ) {
        let path = self.base.key("runs").key(key);
        self.check_key(key, &path, "run");
        self.check_metadata(run.metadata(), &path.key("metadata"), RUN_RESERVED_PAIRS);
        self.check_gate(run, &path);
        let ds_path = path.key("data_source");
        match run.data_source() {
            None => {}
            Some(RunDataSource::Unrecognized(other)) => self.unknown_type(&ds_path, other),
            Some(RunDataSource::Known(known)) => {
                if known.is_project_only() {
                    self.project_only(&ds_path, known.kind());
                }
                self.check_source(key, known, &ds_path, validator, cache);
                self.check_input_messages(known, &ds_path, ns);
                self.check_response_mapping(known, &ds_path, ns);
            }
        }
    }

    fn check_gate(&mut self, run: &PartialRun<'_>, path: &FieldPath) {
        let Some(gate) = run.gate() else { return };
        let eval = self.eval;
        let names = &eval.grader_names;
        for name in gate.graders.keys() {
            if names.contains(&name.as_str()) {
                continue;
            }
            let gate_path = path.key("gate").key("graders").key(name);
            let span = self.key_span_of(&gate_path);
            let finding = Finding::error(
                span,
                &gate_path,
                format!("gate names grader `{name}`, which is not in `testing_criteria`"),
            );
            self.findings
                .push(match did_you_mean(name, names.iter().copied()) {
                    Some(close) => finding.note(format!("help: did you mean `{close}`?")),
                    None => finding.note(format!("graders are {}", one_of(names.iter().copied()))),
                });
        }
    }

    fn check_source(
        &mut self,
        run_key: &str,
        ds: &KnownRunDataSource,
        ds_path: &FieldPath,
        validator: Option<&jsonschema::Validator>,
        cache: &DataCache,
    ) {
        let Some(source) = ds.source() else { return };
        let path = &match ds {
            KnownRunDataSource::AzureAiResponses(_) => {
                ds_path.key("item_generation_params").key("source")
            }
            _ => ds_path.key("source"),
        };
        let rows: &[&str] = &["file", "file_content", "file_id"];
        let allowed: &[&str] = match ds {
            KnownRunDataSource::Completions(_) => {
                &["file", "file_content", "file_id", "stored_completions"]
            }
            KnownRunDataSource::Responses(_) => &["file", "file_content", "file_id", "responses"],
            _ => rows,
        };
        if !allowed.contains(&source.kind()) {
            self.error(
                &path.key("type"),
                format!(
                    "a `{}` run cannot read from a `{}` source",
                    ds.kind(),
                    source.kind()
                ),
            )
            .notes
            .push(format!(
                "expected one of {}",
                one_of(allowed.iter().copied())
            ));
            return;
        }
        match source {
            RunSource::File { path: written } => {
                self.check_file(run_key, written, &path.key("path"), validator, cache)
            }
            RunSource::FileContent { content } => {
                if content.is_empty() {
                    self.error(&path.key("content"), "`content` has no rows");
                }
                let Some(validator) = validator else { return };
                for (i, row) in content.iter().enumerate() {
                    let item = serde_json::Value::Object(row.item.clone());
                    let errors: Vec<String> =
                        validator.iter_errors(&item).map(|e| describe(&e)).collect();
                    if let Some((first, rest)) = errors.split_first() {
                        let row_path = path.key("content").index(i).key("item");
                        self.error(
                            &row_path,
                            format!("row does not match `item_schema`: {first}"),
                        )
                        .notes
                        .extend(rest.iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }

    fn check_file(
        &mut self,
        run_key: &str,
        written: &str,
        path: &FieldPath,
        validator: Option<&jsonschema::Validator>,
        cache: &DataCache,
    ) {
        let manifest_dir = self
            .source
            .path
            .parent()
            .and_then(|dir| {
                std::fs::canonicalize(if dir.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    dir
                })
                .ok()
            })
            .unwrap_or_else(|| self.root.to_path_buf());
        match data::resolve(&manifest_dir, written, self.root, self.root_display) {
            Err(message) => {
                self.error(path, message);
            }
            Ok((canonical, display)) => {
                if let Some(rows) = cache.rows(&canonical, &display, &mut self.data) {
                    if let Some(validator) = validator {
                        data::check_rows(&rows, validator, &mut self.data);
                    }
                }
                self.run_files
                    .insert((self.key.to_string(), run_key.to_string()), canonical);
            }
        }
    }

    fn check_input_messages(
        &mut self,
        ds: &KnownRunDataSource,
        path: &FieldPath,
        ns: &Namespaces<'_>,
    ) {
        let input_messages = match ds {
            KnownRunDataSource::Completions(sampling) | KnownRunDataSource::Responses(sampling) => {
                &sampling.input_messages
            }
            KnownRunDataSource::AzureAiTargetCompletions(target) => &target.input_messages,
            _ => return,
        };
        let input_ns = Namespaces {
            item_schema: ns.item_schema,
            sample: SampleAccess::NotYet,
        };
        match input_messages {
            Some(InputMessages::Template { template }) => self.messages(
                template.len(),
                &path.key("input_messages").key("template"),
                &input_ns,
            ),
            Some(InputMessages::ItemReference { item_reference }) => {
                let reference = format!("{{{{{item_reference}}}}}");
                self.template_text(
                    &reference,
                    &path.key("input_messages").key("item_reference"),
                    &input_ns,
                );
            }
            None => {}
        }
    }

    /// The templates that name the stored response of each row (`response_id:
    /// "{{item.resp_id}}"`): rendered before any sample exists.
    fn check_response_mapping(
        &mut self,
        ds: &KnownRunDataSource,
        path: &FieldPath,
        ns: &Namespaces<'_>,
    ) {
        let KnownRunDataSource::AzureAiResponses(responses) = ds else {
            return;
        };
        let input_ns = Namespaces {
            item_schema: ns.item_schema,
            sample: SampleAccess::NotYet,
        };
        let mapping = path.key("item_generation_params").key("data_mapping");
        for (name, template) in &responses.item_generation_params.data_mapping {
            self.template(template, &mapping.key(name), &input_ns);
        }
    }

    /// Checks a template built from a field that is not itself a template string.
    fn template_text(&mut self, text: &str, path: &FieldPath, ns: &Namespaces<'_>) {
        if let Some(node) = self.find(path) {
            if !text.trim_start_matches("{{").starts_with("item.") {
                self.error(
                    path,
                    "`item_reference` must name a field of the row, like `item.input_trajectory`",
                );
                return;
            }
            super::templates::check(text, node, path, ns, self.source, &mut self.findings);
        }
    }
}
