//! One plan holding every kind of action, shared by the tests of all three formats: a create
//! with its run, an update of name and metadata with a tag repair, a replace forced by a long
//! prompt changed in one line, an enum and an added grader, a delete, and a kept eval.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::Header;
use crate::manifest::model::{Gate, GraderGate};
use crate::plan::tags::{self, Metadata};
use crate::plan::{
    canonical, Action, Change, DataChange, DataFileRef, DataVersion, DeleteEval, KeptEval, NewEval,
    Plan, Reason, ReplaceEval, RunChange, StartRun, UpdateEval,
};

pub(crate) const PROJECT: &str = "research";

pub(crate) fn header() -> Header {
    Header {
        target: crate::manifest::model::Target::Azure,
        endpoint: "https://contoso.openai.azure.com/openai/v1".into(),
        credential: Some(crate::api::Credential::Key("AZURE_OPENAI_API_KEY")),
    }
}

/// 40 numbered lines; `edited` changes line 20 only.
pub(crate) fn long_prompt(edited: bool) -> String {
    (1..=40)
        .map(|i| match (i, edited) {
            (20, true) => "Line 20: Quote the source for every claim you keep.\n".to_string(),
            _ => format!("Line {i:02}: Summarize the article faithfully, rule {i}.\n"),
        })
        .collect()
}

pub(crate) fn plan() -> Plan {
    Plan {
        project: PROJECT.into(),
        actions: vec![
            Action::CreateEval(new_eval("factuality", "Factuality | *judge* <v1>")),
            Action::StartRun(baseline_run("factuality")),
            Action::UpdateEval(update()),
            Action::StartRun(nightly_run()),
            Action::ReplaceEval(replace()),
            Action::StartRun(run("summarize", "baseline", None, Reason::EvalReplaced)),
            Action::DeleteEval(DeleteEval {
                key: "legacy-qa".into(),
                id: "eval_0d9e5eed".into(),
                name: "Legacy QA".into(),
                runs: 3,
                reasons: vec![Reason::Pruned],
            }),
        ],
        kept: vec![KeptEval {
            key: "old-experiment".into(),
            id: "eval_77aa0bad".into(),
            name: "Old experiment".into(),
        }],
        duplicate_runs: Vec::new(),
        aim: Default::default(),
        refusals: Vec::new(),
        records: Vec::new(),
        listed_runs_of: Vec::new(),
        fingerprint: hash("remote state"),
    }
}

pub(crate) fn hash(seed: &str) -> String {
    canonical::hash(&json!(seed))
}

fn user_metadata(pairs: &[(&str, &str)]) -> Metadata {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(crate) fn new_eval(key: &str, name: &str) -> NewEval {
    let spec_hash = hash(key);
    NewEval {
        key: key.into(),
        name: name.into(),
        metadata: tags::tagged(
            &user_metadata(&[("team", "research")]),
            PROJECT,
            key,
            &spec_hash,
        ),
        data_source_config: json!({
            "type": "custom",
            "item_schema": {"type": "object", "properties": {"claim": {"type": "string"}}},
            "include_sample_schema": true
        })
        .into(),
        testing_criteria: vec![judge(&long_prompt(false))].into(),
        spec_hash,
    }
}

fn judge(prompt: &str) -> Value {
    json!({
        "type": "label_model", "name": "judge", "model": "gpt-4.1",
        "input": [{"role": "system", "content": prompt}, {"role": "user", "content": "{{item.claim}}"}],
        "labels": ["faithful", "unfaithful"], "passing_labels": ["faithful"]
    })
}

pub(crate) fn run(eval: &str, key: &str, eval_id: Option<&str>, reason: Reason) -> StartRun {
    let spec_hash = hash(&format!("{eval}/{key}"));
    StartRun {
        eval_key: eval.into(),
        run_key: key.into(),
        eval_id: eval_id.map(String::from),
        name: format!("{key} run"),
        metadata: tags::tagged(&Metadata::new(), PROJECT, key, &spec_hash),
        data_source: json!({"type": "jsonl", "source": {"type": "file_id", "id": "file-abc123"}})
            .into(),
        data_file: None,
        spec_hash,
        gate: None,
        pair_by: None,
        reason,
    }
}

fn baseline_run(eval: &str) -> StartRun {
    let mut run = run(eval, "baseline", None, Reason::NewEval);
    run.data_source =
        json!({"type": "jsonl", "source": {"type": "file", "path": "../data/factuality.jsonl"}})
            .into();
    run.data_file = Some(DataFileRef {
        path: PathBuf::from("/work/project/data/factuality.jsonl"),
        display: "data/factuality.jsonl".into(),
        sha256: hash("rows"),
        bytes: 20_480,
        rows: 120,
        uploaded: None,
    });
    run.metadata.insert("file_format".into(), "jsonl".into());
    run.gate = Some(Gate {
        min_pass_rate: Some(0.8),
        regression: None,
        graders: BTreeMap::from([(
            "judge".to_string(),
            GraderGate {
                min_pass_rate: Some(0.9),
                regression: None,
            },
        )]),
    });
    run
}

fn nightly_run() -> StartRun {
    let changed = RunChange {
        data: Some(DataChange {
            file: "data/mmlu.jsonl".into(),
            before: DataVersion {
                sha256: Some(hash("old rows")[..24].to_string()),
                rows: Some(120),
            },
            after: DataVersion {
                sha256: Some(hash("new rows")),
                rows: Some(125),
            },
        }),
        fields: Vec::new(),
    };
    let mut run = run(
        "mmlu-string-check",
        "nightly",
        Some("eval_67a1c0ffee"),
        Reason::RunChanged(changed),
    );
    run.name = "Nightly".into();
    run
}

fn update() -> UpdateEval {
    let key = "mmlu-string-check";
    let spec = hash(key);
    let change = |path: &str, old: Option<&str>, new: Option<&str>| Change {
        path: path.into(),
        old: old.map(|v| json!(v)),
        new: new.map(|v| json!(v)),
    };
    UpdateEval {
        key: key.into(),
        id: "eval_67a1c0ffee".into(),
        name: "MMLU string check (v2)".into(),
        metadata: tags::tagged(&user_metadata(&[("team", "evals")]), PROJECT, key, &spec),
        changes: vec![
            change(
                "name",
                Some("MMLU string check"),
                Some("MMLU string check (v2)"),
            ),
            change("metadata.evalctl_spec", None, Some(&spec)),
            change("metadata.team", Some("research"), Some("evals")),
        ],
        reasons: vec![
            Reason::NameChanged,
            Reason::TagsChangedOutside,
            Reason::MetadataChanged,
        ],
    }
}

fn replace() -> ReplaceEval {
    let mut new = new_eval("summarize", "Summaries");
    new.testing_criteria = vec![judge(&long_prompt(true))].into();
    new.metadata.insert("owner".into(), "bo".into());
    let old_spec = hash("summarize, before");
    let mut superseded = tags::tagged(
        &user_metadata(&[("owner", "ana"), ("team", "research")]),
        PROJECT,
        "summarize",
        &old_spec,
    );
    superseded.insert(tags::STATE.into(), tags::SUPERSEDED.into());
    let path = "testing_criteria[0].input[0].content.text";
    ReplaceEval {
        key: "summarize".into(),
        old_id: "eval_5b2cdecade".into(),
        old_name: "Summaries".into(),
        superseded_metadata: superseded,
        new,
        forced_by: vec![
            Change {
                path: path.into(),
                old: Some(json!(long_prompt(false))),
                new: Some(json!(long_prompt(true))),
            },
            Change {
                path: "testing_criteria[1].operation".into(),
                old: Some(json!("eq")),
                new: Some(json!("ne")),
            },
            Change {
                path: "testing_criteria[2]".into(),
                old: None,
                new: Some(
                    json!({"type": "string_check", "name": "has citation", "input": "{{sample.output_text}}", "reference": "[1]", "operation": "like"}),
                ),
            },
        ],
        changes: vec![Change {
            path: "metadata.owner".into(),
            old: Some(json!("ana")),
            new: Some(json!("bo")),
        }],
        reasons: vec![
            Reason::FieldChanged("testing_criteria".into()),
            Reason::MetadataChanged,
        ],
    }
}
