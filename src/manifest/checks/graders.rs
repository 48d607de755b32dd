//! Checks of `testing_criteria`: unknown types (warned), names (unique, so gates and results
//! can refer to them), label sets, score ranges, and the templates each grader renders.

use std::collections::BTreeMap;

use super::templates::{self, Namespaces};
use super::{EvalChecker, Grader, KnownGrader};
use crate::manifest::model::open::KnownTypes;
use crate::manifest::node::{FieldPath, NodeValue};

impl EvalChecker<'_> {
    pub(super) fn check_graders(&mut self, ns: &Namespaces<'_>) {
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let eval = self.eval;
        let criteria = self.base.key("testing_criteria");
        if eval.grader_count() == 0 && self.find(&criteria).is_some() {
            self.error(
                &criteria,
                "an eval needs at least one grader in `testing_criteria`",
            );
        }
        for (i, grader) in eval.graders().enumerate() {
            let path = criteria.index(i);
            self.grader_templates(&path, ns);
            let Some(grader) = grader else { continue };
            if let Some(name) = grader.name() {
                if let Some(first) = names.insert(name, i) {
                    self.error(&path.key("name"), format!("grader name `{name}` is used twice"))
                        .notes
                        .push(format!("first used by testing_criteria[{first}]; gates and results refer to graders by name"));
                }
            }
            match grader {
                Grader::Unrecognized(other) => self.unknown_type(&path, other),
                Grader::Known(known) => self.check_known_grader(known, &path),
            }
        }
    }

    /// Checks the templates of a grader of a known type from the YAML tree, so they are
    /// checked even when another field of the grader is wrong.
    fn grader_templates(&mut self, path: &FieldPath, ns: &Namespaces<'_>) {
        let Some(node) = self.find(path) else {
            return;
        };
        let known = node
            .get("type")
            .and_then(|t| t.as_str())
            .is_some_and(|t| KnownGrader::NAMES.contains(&t));
        if !known {
            return;
        }
        // A Foundry evaluator's inputs are templates like any grader's.
        if let Some(mapping) = node.get("data_mapping") {
            let names: Vec<String> = mapping
                .entries()
                .iter()
                .map(|e| e.key.to_string())
                .collect();
            for name in names {
                let field_path = path.key("data_mapping").key(&name);
                if let Some(text) = self.find(&field_path).and_then(|n| n.as_str()) {
                    self.template(text, &field_path, ns);
                }
            }
        }
        for field in ["input", "reference"] {
            let field_path = path.key(field);
            match node.get(field).map(|n| &n.value) {
                Some(NodeValue::Str { text, .. }) => self.template(&text.clone(), &field_path, ns),
                Some(NodeValue::Seq(messages)) => {
                    for j in 0..messages.len() {
                        self.message_templates(&field_path.index(j).key("content"), ns);
                    }
                }
                _ => {}
            }
        }
    }

    /// The texts of one message's content: a string, a part with `text`, or a list of parts.
    pub(super) fn message_templates(&mut self, content: &FieldPath, ns: &Namespaces<'_>) {
        let texts: Vec<(FieldPath, &str)> = match self.find(content).map(|n| &n.value) {
            Some(NodeValue::Str { text, .. }) => vec![(content.clone(), text.as_str())],
            Some(NodeValue::Map(_)) => self
                .find(&content.key("text"))
                .and_then(|t| t.as_str())
                .map(|t| (content.key("text"), t))
                .into_iter()
                .collect(),
            Some(NodeValue::Seq(parts)) => (0..parts.len())
                .filter_map(|k| {
                    let text_path = content.index(k).key("text");
                    self.find(&text_path)
                        .and_then(|t| t.as_str())
                        .map(|t| (text_path, t))
                })
                .collect(),
            _ => Vec::new(),
        };
        for (path, text) in texts {
            self.template(text, &path, ns);
        }
    }

    fn check_known_grader(&mut self, grader: &KnownGrader, path: &FieldPath) {
        match grader {
            KnownGrader::LabelModel(g) => {
                if g.labels.is_empty() {
                    self.error(&path.key("labels"), "`labels` needs at least one label");
                }
                for (k, label) in g.passing_labels.iter().enumerate() {
                    if !g.labels.contains(label) {
                        self.error(
                            &path.key("passing_labels").index(k),
                            format!("passing label `{label}` is not one of `labels`"),
                        );
                    }
                }
            }
            KnownGrader::ScoreModel(g) => {
                let [min, max] = g.range.unwrap_or([0.0, 1.0]);
                if min >= max {
                    self.error(
                        &path.key("range"),
                        format!("`range` must be [min, max] with min < max, found [{min}, {max}]"),
                    );
                } else if let Some(t) = g.pass_threshold.filter(|t| *t < min || *t > max) {
                    self.error(
                        &path.key("pass_threshold"),
                        format!("`pass_threshold` {t} is outside the score range [{min}, {max}]"),
                    );
                }
            }
            KnownGrader::AzureAiEvaluator(g) => {
                self.project_only(path, "azure_ai_evaluator");
                if g.evaluator_name.trim().is_empty() {
                    self.error(
                        &path.key("evaluator_name"),
                        "`evaluator_name` is empty: name a built-in (`builtin.f1_score`) or a catalog evaluator",
                    );
                }
            }
            KnownGrader::StringCheck(_)
            | KnownGrader::TextSimilarity(_)
            | KnownGrader::Python(_) => {}
        }
    }

    pub(super) fn messages(&mut self, count: usize, path: &FieldPath, ns: &Namespaces<'_>) {
        for j in 0..count {
            self.message_templates(&path.index(j).key("content"), ns);
        }
    }

    pub(super) fn template(&mut self, text: &str, path: &FieldPath, ns: &Namespaces<'_>) {
        if let Some(node) = self.find(path) {
            templates::check(text, node, path, ns, self.source, &mut self.findings);
        }
    }
}
