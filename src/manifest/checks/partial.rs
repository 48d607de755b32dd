//! An eval read part by part: each part (metadata, data source config, each grader, each
//! run's data source and gate) is deserialized on its own, so a structural error in one part
//! does not hide the semantic problems of the others.

use std::collections::BTreeMap;
use std::ops::Deref;

use serde::de::DeserializeOwned;

use crate::manifest::model::{DataSourceConfig, EvalSpec, Gate, Grader, Metadata, RunDataSource};
use crate::manifest::node::{Node, NodeValue};
use crate::manifest::typed::from_node;

/// Parts borrow from the deserialized eval when there is one, and are owned otherwise.
pub(crate) struct PartialEval<'a> {
    metadata: Option<Part<'a, Metadata>>,
    config: Option<Part<'a, DataSourceConfig>>,
    /// One entry per grader in the manifest; `None` where it has structural errors.
    graders: Vec<Option<Part<'a, Grader>>>,
    /// Grader names as written, also of graders that did not deserialize.
    pub grader_names: Vec<&'a str>,
    pub runs: BTreeMap<&'a str, PartialRun<'a>>,
    /// `protect: true`: one more tag on the service.
    pub protect: bool,
    pub pair_by: Option<&'a str>,
}

pub(crate) struct PartialRun<'a> {
    metadata: Option<Part<'a, Metadata>>,
    data_source: Option<Part<'a, RunDataSource>>,
    gate: Option<Part<'a, Gate>>,
}

/// A part borrowed from the eval, or read on its own and boxed: either way a pointer, where a
/// `Cow` would be as large as the part (a grader is 184 bytes, a run's data source 104), and
/// every eval checked would allocate room for them.
enum Part<'a, T> {
    Borrowed(&'a T),
    Owned(Box<T>),
}

impl<T> Deref for Part<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match self {
            Part::Borrowed(part) => part,
            Part::Owned(part) => part,
        }
    }
}

impl<T> Part<'_, T> {
    fn owned(part: T) -> Self {
        Part::Owned(Box::new(part))
    }
}

impl PartialRun<'_> {
    pub(crate) fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_deref()
    }

    pub(crate) fn data_source(&self) -> Option<&RunDataSource> {
        self.data_source.as_deref()
    }

    pub(crate) fn gate(&self) -> Option<&Gate> {
        self.gate.as_deref()
    }
}

fn typed<T: DeserializeOwned>(node: Option<&Node>) -> Option<T> {
    from_node(node?).ok()
}

// An object of a known `type` that does not deserialize is broken, not unknown: the model's
// readers of `type`d objects never pass it through (`model::open::deserialize_tagged`).
fn grader(node: &Node) -> Option<Grader> {
    typed(Some(node))
}

fn config(node: Option<&Node>) -> Option<DataSourceConfig> {
    typed(node)
}

fn data_source(node: Option<&Node>) -> Option<RunDataSource> {
    typed(node)
}

impl<'a> PartialEval<'a> {
    pub(crate) fn metadata(&self) -> Option<&Metadata> {
        self.metadata.as_deref()
    }

    pub(crate) fn config(&self) -> Option<&DataSourceConfig> {
        self.config.as_deref()
    }

    /// One entry per grader in the manifest; `None` where it has structural errors.
    pub(crate) fn graders(&self) -> impl Iterator<Item = Option<&Grader>> {
        self.graders.iter().map(|g| g.as_deref())
    }

    pub(crate) fn grader_count(&self) -> usize {
        self.graders.len()
    }

    /// From an eval that deserialized whole (the common case: nothing is copied).
    pub(crate) fn from_spec(spec: &'a EvalSpec) -> PartialEval<'a> {
        let runs = spec.runs.iter().map(|(key, run)| {
            let partial = PartialRun {
                metadata: run.metadata.as_ref().map(Part::Borrowed),
                data_source: Some(Part::Borrowed(&run.data_source)),
                gate: run.gate.as_ref().map(Part::Borrowed),
            };
            (key.as_str(), partial)
        });
        PartialEval {
            metadata: spec.metadata.as_ref().map(Part::Borrowed),
            config: Some(Part::Borrowed(&spec.data_source_config)),
            graders: spec
                .testing_criteria
                .iter()
                .map(|g| Some(Part::Borrowed(g)))
                .collect(),
            grader_names: spec
                .testing_criteria
                .iter()
                .filter_map(Grader::name)
                .collect(),
            runs: runs.collect(),
            protect: spec.protect,
            pair_by: spec.pair_by.as_deref(),
        }
    }

    /// From the YAML tree of an eval with structural errors, part by part.
    pub(crate) fn read(eval: &'a Node) -> PartialEval<'a> {
        let items: &[Node] = match eval.get("testing_criteria").map(|c| &c.value) {
            Some(NodeValue::Seq(items)) => items,
            _ => &[],
        };
        let runs = eval
            .get("runs")
            .map_or(&[][..], Node::entries)
            .iter()
            .map(|entry| {
                let run = &entry.value;
                let partial = PartialRun {
                    metadata: typed(run.get("metadata")).map(Part::owned),
                    data_source: data_source(run.get("data_source")).map(Part::owned),
                    gate: typed(run.get("gate")).map(Part::owned),
                };
                (entry.key.as_str(), partial)
            });
        PartialEval {
            metadata: typed(eval.get("metadata")).map(Part::owned),
            config: config(eval.get("data_source_config")).map(Part::owned),
            graders: items.iter().map(|g| grader(g).map(Part::owned)).collect(),
            grader_names: items
                .iter()
                .filter_map(|g| g.get("name")?.as_str())
                .collect(),
            runs: runs.collect(),
            protect: typed::<bool>(eval.get("protect")).unwrap_or(false),
            pair_by: eval.get("pair_by").and_then(Node::as_str),
        }
    }
}
