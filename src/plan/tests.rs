//! Planner tests with plain values: every action and every reason, ownership rules, and the
//! "no changes after apply" property against the service's stored form.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::api::wire::RunStatus;

const PROJECT: &str = "research";

/// The planner over `remote` and the uploads its runs used (as `stored` names them).
fn plan(desired: &Desired, remote: &[RemoteEval], options: PlanOptions) -> Plan {
    let uploads = remote
        .iter()
        .flat_map(|e| &e.runs)
        .filter_map(|r| r.data_source["source"]["id"].as_str())
        .map(|id| FileObject {
            id: id.to_string(),
            filename: format!("data.evalctl-{}.jsonl", id.trim_start_matches("file-")),
            bytes: 10,
            purpose: "evals".into(),
            status: "processed".into(),
            created_at: 0,
        })
        .collect();
    let remote = Remote {
        evals: remote.to_vec(),
        uploads,
    };
    super::plan(desired, &remote, options)
}

fn words(reasons: &[Reason]) -> String {
    let words: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    words.join("; ")
}

fn config() -> Value {
    json!({"type": "custom", "item_schema": {"type": "object", "properties": {"answer": {"type": "string"}, "completion": {"type": "string"}}}})
}

fn grader(operation: &str) -> Value {
    json!({"type": "string_check", "name": "exact", "input": "{{item.completion}}", "reference": "{{item.answer}}", "operation": operation})
}

fn run(key: &str, sha: &str, eval_hash: &str) -> DesiredRun {
    let data_source = json!({"type": "jsonl", "source": {"type": "file", "path": "data.jsonl"}});
    DesiredRun {
        key: key.into(),
        name: key.into(),
        metadata: Metadata::new(),
        spec_hash: canonical::hash(
            &json!({"data_source": {"type": "jsonl", "source": {"type": "file", "sha256": sha}}, "eval_spec": eval_hash}),
        ),
        data_source: data_source.into(),
        data_file: Some(DataFileRef {
            path: "/project/data.jsonl".into(),
            display: "data.jsonl".into(),
            sha256: sha.repeat(32),
            bytes: 10,
            rows: 5,
            uploaded: None,
        }),
        gate: None,
    }
}

fn eval(key: &str, operation: &str, runs: &[(&str, &str)]) -> DesiredEval {
    let spec_hash = canonical::eval_spec(&config(), &[grader(operation)]).hash();
    DesiredEval {
        key: key.into(),
        name: format!("{key} eval"),
        metadata: BTreeMap::from([("team".to_string(), "research".to_string())]),
        data_source_config: config().into(),
        testing_criteria: vec![grader(operation)].into(),
        runs: runs
            .iter()
            .map(|(k, sha)| (k.to_string(), run(k, sha, &spec_hash)))
            .collect(),
        spec_hash,
        protect: false,
        adopt: None,
        pair_by: None,
        narrowed: false,
    }
}

fn desired(evals: Vec<DesiredEval>) -> Desired {
    Desired {
        project: PROJECT.into(),
        evals: evals.into_iter().map(|e| (e.key.clone(), e)).collect(),
        outside: Default::default(),
        aim: Default::default(),
    }
}

/// The eval as the service stores it after `apply` created it from `eval`.
fn stored(eval: &DesiredEval, id: &str, created_at: i64) -> RemoteEval {
    let item = eval.data_source_config["item_schema"].clone();
    let mut criteria = eval.testing_criteria.to_vec();
    for grader in &mut criteria {
        grader["id"] = json!(format!("{}-9f8e", grader["name"].as_str().unwrap_or("")));
    }
    let runs = eval
        .runs
        .values()
        .map(|r| EvalRun {
            id: format!("evalrun_{id}_{}", r.key),
            name: r.name.clone(),
            metadata: tags::tagged(&r.metadata, PROJECT, &r.key, &r.spec_hash),
            status: RunStatus::Completed,
            created_at,
            data_source: json!({"type": "jsonl", "source": {"type": "file_id", "id": uploaded_as(r)}}),
            result_counts: Some(crate::api::wire::ResultCounts {
                total: 5,
                passed: 5,
                ..Default::default()
            }),
            ..EvalRun::default()
        })
        .collect();
    RemoteEval {
        id: id.into(),
        name: eval.name.clone(),
        metadata: tags::tagged(&eval.metadata, PROJECT, &eval.key, &eval.spec_hash),
        data_source_config: json!({"type": "custom", "schema": {"type": "object", "properties": {"item": item}, "required": ["item"]}}),
        testing_criteria: criteria,
        created_at,
        runs,
        runs_listed: true,
    }
}

/// The id of the upload a run's data file was sent as: named after its content.
fn uploaded_as(run: &DesiredRun) -> String {
    let sha = run.data_file.as_ref().map_or("", |f| &f.sha256[..24]);
    format!("file-{sha}")
}

/// One line per action, for snapshots.
fn outline(plan: &Plan) -> String {
    let mut lines: Vec<String> = plan
        .actions
        .iter()
        .map(|action| match action {
            Action::CreateEval(e) => format!("+ create {}", e.key),
            Action::AdoptEval(a) => format!("<= adopt {} ({})", a.key, a.id),
            Action::UpdateEval(u) => {
                let paths: Vec<&str> = u.changes.iter().map(|c| c.path.as_str()).collect();
                format!(
                    "~ update {} ({}) [{}] because {}",
                    u.key,
                    u.id,
                    paths.join(", "),
                    words(&u.reasons)
                )
            }
            Action::ReplaceEval(r) => {
                let paths = |changes: &[Change]| {
                    let paths: Vec<&str> = changes.iter().map(|c| c.path.as_str()).collect();
                    paths.join(", ")
                };
                format!(
                    "-/+ replace {} ({}) forced by [{}], also [{}] because {}",
                    r.key,
                    r.old_id,
                    paths(&r.forced_by),
                    paths(&r.changes),
                    words(&r.reasons)
                )
            }
            Action::DeleteEval(d) => {
                format!(
                    "- delete {} ({}) because {}",
                    d.key,
                    d.id,
                    words(&d.reasons)
                )
            }
            Action::StartRun(r) => {
                format!(
                    "> run {}/{} on {} ({})",
                    r.eval_key,
                    r.run_key,
                    r.eval_id.as_deref().unwrap_or("<new eval>"),
                    r.reason
                )
            }
        })
        .collect();
    lines.extend(plan.kept.iter().map(|k| {
        format!(
            "  kept {} ({}): not in the manifests, no --prune",
            k.key, k.id
        )
    }));
    if lines.is_empty() {
        lines.push("No changes.".into());
    }
    lines.join("\n")
}

fn plan_of(desired: &Desired, remote: &[RemoteEval]) -> String {
    outline(&plan(desired, remote, PlanOptions::default()))
}

#[test]
fn an_empty_service_gets_creates_and_runs() {
    let d = desired(vec![
        eval("mmlu", "eq", &[("baseline", "aa")]),
        eval("qa", "ne", &[]),
    ]);
    insta::assert_snapshot!(plan_of(&d, &[]), @r"
    + create mmlu
    > run mmlu/baseline on <new eval> (new eval)
    + create qa
    ");
}

#[test]
fn after_apply_the_next_plan_has_no_changes() {
    let e = eval("mmlu", "eq", &[("baseline", "aa")]);
    let remote = vec![stored(&e, "eval_1", 100)];
    assert_eq!(plan_of(&desired(vec![e]), &remote), "No changes.");
}

#[test]
fn drift_of_name_and_metadata_is_updated_in_place() {
    let e = eval("mmlu", "eq", &[]);
    let mut remote = stored(&e, "eval_1", 100);
    remote.name = "renamed in the portal".into();
    remote.metadata.insert("team".into(), "other".into());
    remote.metadata.insert("added".into(), "by hand".into());
    insta::assert_snapshot!(plan_of(&desired(vec![e]), &[remote]), @"~ update mmlu (eval_1) [name, metadata.added, metadata.team] because name changed; metadata changed");
}

#[test]
fn tampered_reserved_keys_are_repaired() {
    let e = eval("mmlu", "eq", &[]);
    let mut remote = stored(&e, "eval_1", 100);
    remote.metadata.insert(tags::SPEC.into(), "0000".into());
    insta::assert_snapshot!(plan_of(&desired(vec![e]), &[remote]), @"~ update mmlu (eval_1) [metadata.evalctl_spec] because evalctl's tags were changed outside evalctl");
}

#[test]
fn a_data_file_the_service_holds_already_is_said_to_be_uploaded() {
    let e = eval("mmlu", "eq", &[("baseline", "aa")]);
    let file = e.runs["baseline"].data_file.clone();
    let Some(file) = file else {
        panic!("the run has a data file")
    };
    let upload = |status: &str| FileObject {
        id: "file-ready".into(),
        filename: file.upload_name(),
        bytes: file.bytes,
        purpose: "evals".into(),
        status: status.into(),
        created_at: 0,
    };
    for (status, uploaded) in [("processed", Some("file-ready")), ("error", None)] {
        let remote = Remote {
            evals: Vec::new(),
            uploads: vec![upload(status)],
        };
        let plan = super::plan(&desired(vec![e.clone()]), &remote, PlanOptions::default());
        let Some(Action::StartRun(run)) = plan.actions.get(1) else {
            panic!("{}", outline(&plan));
        };
        let found = run.data_file.as_ref().and_then(|f| f.uploaded.as_deref());
        assert_eq!(found, uploaded, "{status}");
    }
}

#[test]
fn an_added_schema_property_is_named_property_by_property() {
    let e = eval("mmlu", "eq", &[]);
    let remote = vec![stored(&e, "eval_1", 100)];
    let mut wider = e.clone();
    let mut config = config();
    config["item_schema"]["properties"]["city"] = json!({"type": "string"});
    config["item_schema"]["required"] = json!(["city"]);
    wider.spec_hash = canonical::eval_spec(&config, &wider.testing_criteria).hash();
    wider.data_source_config = config.into();
    let plan = plan(&desired(vec![wider]), &remote, PlanOptions::default());
    let Some(Action::ReplaceEval(replace)) = plan.actions.first() else {
        panic!("{}", outline(&plan));
    };
    let changes: Vec<String> = replace
        .forced_by
        .iter()
        .map(|c| format!("{} {:?} -> {:?}", c.path, c.old, c.new))
        .collect();
    insta::assert_snapshot!(changes.join("\n"), @r#"
    data_source_config.item_schema.properties.city None -> Some(Object {"type": String("string")})
    data_source_config.item_schema.required None -> Some(Array [String("city")])
    "#);
}

#[test]
fn a_grader_change_replaces_the_eval_and_runs_on_the_new_one() {
    let old = eval("mmlu", "eq", &[("baseline", "aa")]);
    let remote = vec![stored(&old, "eval_1", 100)];
    let mut new = eval("mmlu", "ilike", &[("baseline", "aa")]);
    // A user metadata change rides along; the new eval's tags differ by nature and are not
    // listed.
    new.metadata.insert("owner".into(), "bo".into());
    let plan = plan(&desired(vec![new]), &remote, PlanOptions::default());
    insta::assert_snapshot!(outline(&plan), @r"
    -/+ replace mmlu (eval_1) forced by [testing_criteria[0].operation], also [metadata.owner] because testing_criteria changed; metadata changed
    > run mmlu/baseline on <new eval> (eval replaced)
    ");
    let Action::ReplaceEval(replace) = &plan.actions[0] else {
        panic!("not a replace")
    };
    assert_eq!(
        replace
            .superseded_metadata
            .get(tags::STATE)
            .map(String::as_str),
        Some("superseded")
    );
    assert_eq!(replace.forced_by[0].old, Some(json!("eq")));
}

#[test]
fn changed_data_starts_one_new_run_and_nothing_else() {
    let e = eval("mmlu", "eq", &[("baseline", "aa"), ("other", "bb")]);
    let remote = vec![stored(&e, "eval_1", 100)];
    let changed = eval("mmlu", "eq", &[("baseline", "cc"), ("other", "bb")]);
    insta::assert_snapshot!(plan_of(&desired(vec![changed]), &remote), @"> run mmlu/baseline on eval_1 (data file `data.jsonl` changed: 5 rows, sha256 aaaaaaaaaaaa -> 5 rows, sha256 cccccccccccc)");
}

#[test]
fn a_changed_data_source_field_is_named() {
    let e = eval("mmlu", "eq", &[("baseline", "aa")]);
    let mut remote = vec![stored(&e, "eval_1", 100)];
    let mut changed = e.clone();
    if let Some(run) = changed.runs.get_mut("baseline") {
        run.data_source = json!({"type": "jsonl", "source": {"type": "file", "path": "data.jsonl"}, "item_reference": "item.x"}).into();
        run.spec_hash = "another".into();
    }
    // A field the service does not echo is not known to differ.
    insta::assert_snapshot!(plan_of(&desired(vec![changed.clone()]), &remote), @"> run mmlu/baseline on eval_1 (no run of this key has the current run spec)");
    remote[0].runs[0].data_source["item_reference"] = json!("item.old");
    insta::assert_snapshot!(plan_of(&desired(vec![changed]), &remote), @"> run mmlu/baseline on eval_1 (data source changed: `item_reference`)");
}

#[test]
fn a_new_run_key_starts_a_run_on_the_live_eval() {
    let e = eval("mmlu", "eq", &[]);
    let remote = vec![stored(&e, "eval_1", 100)];
    let more = eval("mmlu", "eq", &[("nightly", "aa")]);
    insta::assert_snapshot!(plan_of(&desired(vec![more]), &remote), @"> run mmlu/nightly on eval_1 (new run)");
}

#[test]
fn a_removed_key_is_kept_without_prune_and_deleted_with_it() {
    let gone = eval("old", "eq", &[]);
    let remote = vec![stored(&gone, "eval_9", 100)];
    let d = desired(vec![]);
    insta::assert_snapshot!(plan_of(&d, &remote), @"  kept old (eval_9): not in the manifests, no --prune");
    let pruned = plan(
        &d,
        &remote,
        PlanOptions {
            prune: true,
            ..PlanOptions::default()
        },
    );
    insta::assert_snapshot!(outline(&pruned), @"- delete old (eval_9) because not in the manifests, and --prune was given");
}

#[test]
fn superseded_foreign_and_untagged_evals_are_left_alone() {
    let e = eval("mmlu", "eq", &[]);
    let mut superseded = stored(&eval("mmlu", "ne", &[]), "eval_0", 50);
    superseded
        .metadata
        .insert(tags::STATE.into(), tags::SUPERSEDED.into());
    let mut foreign = stored(&eval("theirs", "eq", &[]), "eval_7", 60);
    foreign
        .metadata
        .insert(tags::PROJECT.into(), "another-team".into());
    let mut untagged = stored(&eval("mmlu", "ne", &[]), "eval_8", 70);
    untagged.metadata.clear();
    let remote = vec![superseded, foreign, untagged, stored(&e, "eval_1", 100)];
    let plan = plan(
        &desired(vec![e]),
        &remote,
        PlanOptions {
            prune: true,
            ..PlanOptions::default()
        },
    );
    assert_eq!(outline(&plan), "No changes.");
}

#[test]
fn an_older_live_duplicate_is_superseded_and_the_newest_kept() {
    let e = eval("mmlu", "eq", &[]);
    let remote = vec![stored(&e, "eval_old", 100), stored(&e, "eval_new", 200)];
    insta::assert_snapshot!(plan_of(&desired(vec![e]), &remote), @"~ update mmlu (eval_old) [metadata.evalctl_state] because an older live eval with key `mmlu`: marked superseded, history kept");
}

#[test]
fn plans_are_deterministic_whatever_the_remote_order() {
    let a = eval("a", "eq", &[("r1", "x"), ("r2", "y")]);
    let b = eval("b", "eq", &[]);
    let remote = vec![
        stored(&eval("b", "ne", &[]), "eval_b", 1),
        stored(&eval("z", "eq", &[]), "eval_z", 2),
    ];
    let mut reversed = remote.clone();
    reversed.reverse();
    let d = desired(vec![b, a]);
    assert_eq!(
        plan(&d, &remote, PlanOptions::default()),
        plan(&d, &reversed, PlanOptions::default())
    );
}

#[test]
fn the_fingerprint_changes_with_the_remote_state_only() {
    let e = eval("mmlu", "eq", &[("baseline", "aa")]);
    let remote = vec![stored(&e, "eval_1", 100)];
    let before = fingerprint(&remote, PROJECT, &[]);
    let mut finished = remote.clone();
    finished[0].runs[0].status = RunStatus::Failed;
    assert_eq!(
        fingerprint(&finished, PROJECT, &[]),
        before,
        "a run finishing does not make a plan stale"
    );
    let mut renamed = remote;
    renamed[0].name = "other".into();
    assert_ne!(fingerprint(&renamed, PROJECT, &[]), before);
}

#[test]
fn runs_that_need_a_model_can_be_left_out() {
    let mut judged = eval("judged", "eq", &[("r", "aa")]);
    let mut criteria = judged.testing_criteria.to_vec();
    criteria.push(json!({"type": "label_model", "name": "judge"}));
    judged.testing_criteria = criteria.into();
    let mut sampled = eval("sampled", "eq", &[("s", "bb"), ("t", "cc")]);
    if let Some(run) = sampled.runs.get_mut("s") {
        run.data_source =
            json!({"type": "completions", "source": {"type": "file_content", "content": []}})
                .into();
    }
    let mut d = desired(vec![judged, sampled]);
    let skipped: Vec<String> = d
        .without_model_runs()
        .into_iter()
        .map(|s| format!("{}/{}: {}", s.eval_key, s.run_key, s.reason))
        .collect();
    assert_eq!(
        skipped,
        [
            "judged/r: its eval has a `label_model` grader",
            "sampled/s: it samples a model (`completions` data source)"
        ]
    );
    assert_eq!(d.evals["sampled"].runs.keys().collect::<Vec<_>>(), ["t"]);
    assert!(
        d.evals.contains_key("judged"),
        "the eval itself is still managed"
    );
}

#[test]
fn the_spec_hashes_of_the_examples_are_stable() {
    // These hashes are stored in tags on the service; a change to canonicalisation that moved
    // any of them would replace every eval a user has. Pinned over real manifests (every
    // grader kind, messages, sampling runs, a file source) so a faster hasher cannot drift.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let loaded = crate::manifest::load_with_env(&root, &|_| None);
    let Some(project) = loaded.project else {
        panic!("the examples load: {:?}", loaded.diagnostics);
    };
    let desired = Desired::from_project(&project);
    let mut hashes = String::new();
    for (key, eval) in &desired.evals {
        hashes.push_str(&format!("{key} {}\n", eval.spec_hash));
        for (run_key, run) in &eval.runs {
            hashes.push_str(&format!("{key}/{run_key} {}\n", run.spec_hash));
        }
    }
    insta::assert_snapshot!(hashes, @r"
    capitals 3fa16cda81dad80218951f32dd5148a56d9e911ba6c2f1fabab3172462783135
    capitals/inline 71e649ddb6cda3ecfc861ad81ba2c01fb874f1e02d839d896348c37479b32bef
    mmlu 76b8612ef877c2a5b7cc1ba0512ba2cf21f02e17eaaf224078066c5ee5eaf52f
    mmlu/baseline 5bfe51ba1fc7302f4930d6541b324ead4e1dccedc9b93fa37f6398a761f77c2c
    news-summaries efa86cfe1ea253bfcf2a8be8648ce4430ee15edf7b780404b3ee179b10f24bec
    news-summaries/summaries-v1 c80c6d21fc805c756c266b41f96dbe9d3903f0e8b7c3e452d45cf4cebbbce48b
    ticket-labels ad35deb02a417ce271c42fcd78ae210df16612127c832c98f76695bd7cadea2d
    ticket-labels/gpt-4o-mini 3d08941489a30a2b7f84874125d42f72da45b4fe7e4f6f0ed24a31bb15534577
    ");
}

#[test]
fn the_canonical_specs_of_every_normalised_form_are_stable() {
    // The forms the examples do not have: score_model defaults, logs filters, unknown types,
    // content parts and stored messages. Each spec is pinned by its canonical text and hash.
    let score = json!({"type": "score_model", "name": "s", "model": "m", "range": [0, 1],
        "sampling_params": {"seed": null, "temperature": 0.2}, "pass_threshold": 0.5,
        "input": [{"role": "system", "content": [{"type": "input_text", "text": "t"}]},
                  {"type": "message", "role": "user", "content": {"type": "input_text", "text": "u"}}]});
    let unknown = json!({"type": "azure_ai_evaluator", "id": "x-1", "name": "u", "params": {"b": null, "a": 1.0}});
    let python = json!({"type": "python", "name": "p", "source": "def grade(s, i): return 1", "image_tag": null});
    let specs = [
        (
            json!({"type": "logs", "metadata": {"version": 2, "app": "x"}}),
            vec![score.clone()],
        ),
        (
            json!({"type": "stored_completions"}),
            vec![unknown.clone(), python],
        ),
        (
            json!({"type": "azure_ai_source", "scenario": "s", "schema": {"a": 1}}),
            vec![],
        ),
        (
            json!({"type": "custom", "schema": {"type": "object", "properties": {"item": {"type": "object"}, "sample": {}}}}),
            vec![score],
        ),
        // A grader type evalctl passes through as written: a whole number beyond 2^24 in
        // `pass_threshold` is taken as the 32-bit float Azure keeps.
        (
            json!({"type": "stored_completions"}),
            vec![json!({"type": "future_grader", "name": "f", "pass_threshold": 16_777_217})],
        ),
    ];
    let mut pinned = String::new();
    for (config, graders) in &specs {
        let spec = canonical::eval_spec(config, graders);
        pinned.push_str(&format!("{}\n{}\n", spec.text(), spec.hash()));
    }
    insta::assert_snapshot!(pinned, @r#"
    {"data_source_config":{"metadata":{"app":"x","version":"2"},"type":"logs"},"testing_criteria":[{"input":[{"content":[{"text":"t","type":"input_text"}],"role":"system","type":"message"},{"content":{"text":"u","type":"input_text"},"role":"user","type":"message"}],"model":"m","name":"s","pass_threshold":5.000000e-1,"sampling_params":{"temperature":2.000000e-1},"type":"score_model"}]}
    98e1b5e8b04a262d6152703514aa52c2a3c7892b7a591420a3a5602ce6a29923
    {"data_source_config":{"type":"stored_completions"},"testing_criteria":[{"name":"u","params":{"a":1,"b":null},"type":"azure_ai_evaluator"},{"name":"p","source":"def grade(s, i): return 1","type":"python"}]}
    4a1a31b63c0a4f4e890174bd7cd6c27a0e6db1a1c085fecdbdbeeb4147fcc064
    {"data_source_config":{"scenario":"s","type":"azure_ai_source"},"testing_criteria":[]}
    1c705dbdda1a1795af3249f4972024de5fd151a5b5b9c34d4479913d8a9591c9
    {"data_source_config":{"include_sample_schema":true,"item_schema":{"type":"object"},"type":"custom"},"testing_criteria":[{"input":[{"content":[{"text":"t","type":"input_text"}],"role":"system","type":"message"},{"content":{"text":"u","type":"input_text"},"role":"user","type":"message"}],"model":"m","name":"s","pass_threshold":5.000000e-1,"sampling_params":{"temperature":2.000000e-1},"type":"score_model"}]}
    3de34fd5961f07317ab542e8f32ca28342f3359349c3aaaeddba3b9f34bf3e5e
    {"data_source_config":{"type":"stored_completions"},"testing_criteria":[{"name":"f","pass_threshold":16777216,"type":"future_grader"}]}
    4bad84c1a940076f9f9daff6434603373caf07f75562f9189cce805461919308
    "#);
}

/// `stored`, as a plan fetch leaves it once the eval's tag vouches for its runs.
fn vouched(eval: &DesiredEval, id: &str) -> RemoteEval {
    let mut remote = stored(eval, id, 100);
    remote
        .metadata
        .insert(tags::RUNS.into(), eval.runs_digest());
    remote.runs = Vec::new();
    remote.runs_listed = false;
    remote
}

#[test]
fn runs_a_tag_vouches_for_are_neither_started_nor_recorded() {
    let e = eval("mmlu", "eq", &[("baseline", "a"), ("nightly", "b")]);
    let plan = plan(
        &desired(vec![e.clone()]),
        &[vouched(&e, "eval_1")],
        PlanOptions::default(),
    );
    assert_eq!((plan.actions.len(), plan.records.len()), (0, 0), "{plan:?}");
    assert!(plan.listed_runs_of.is_empty());
}

#[test]
fn listed_runs_all_there_are_recorded_without_an_action() {
    let e = eval("mmlu", "eq", &[("baseline", "a")]);
    let plan = plan(
        &desired(vec![e.clone()]),
        &[stored(&e, "eval_1", 100)],
        PlanOptions::default(),
    );
    assert!(plan.actions.is_empty(), "{plan:?}");
    assert_eq!(plan.listed_runs_of, ["eval_1"]);
    let [record] = &plan.records[..] else {
        panic!("one record: {plan:?}")
    };
    assert_eq!(record.eval_id.as_deref(), Some("eval_1"));
    assert_eq!(record.metadata.get(tags::RUNS), Some(&e.runs_digest()));
    assert_eq!(tags::user_part(&record.metadata)["team"], "research");
}

#[test]
fn a_run_to_start_is_recorded_after_it_and_an_eval_without_runs_is_tagged_at_once() {
    let with_runs = eval("mmlu", "eq", &[("baseline", "a")]);
    let without = eval("empty", "eq", &[]);
    let plan = plan(
        &desired(vec![with_runs.clone(), without.clone()]),
        &[],
        PlanOptions::default(),
    );
    let creates: BTreeMap<&str, &NewEval> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::CreateEval(new) => Some((new.key.as_str(), new)),
            _ => None,
        })
        .collect();
    // A tag written with the eval would vouch for a run a crash kept from starting.
    assert_eq!(creates["mmlu"].metadata.get(tags::RUNS), None);
    assert_eq!(
        creates["empty"].metadata.get(tags::RUNS),
        Some(&without.runs_digest())
    );
    let [record] = &plan.records[..] else {
        panic!("one record: {plan:?}")
    };
    assert_eq!(
        (record.eval_key.as_str(), record.eval_id.as_deref()),
        ("mmlu", None)
    );
    assert_eq!(
        record.metadata,
        tags::with_runs_digest(&creates["mmlu"].metadata, Some(&with_runs.runs_digest()))
    );
}

#[test]
fn the_tag_is_kept_by_an_update_never_shown_and_dropped_when_superseded() {
    let e = eval("mmlu", "eq", &[("baseline", "a")]);
    let mut changed = e.clone();
    changed.metadata.insert("team".into(), "other".into());
    let plan_of_update = plan(
        &desired(vec![changed]),
        &[vouched(&e, "eval_1")],
        PlanOptions::default(),
    );
    let [Action::UpdateEval(update)] = &plan_of_update.actions[..] else {
        panic!("one update: {plan_of_update:?}")
    };
    assert_eq!(update.metadata.get(tags::RUNS), Some(&e.runs_digest()));
    assert!(
        update.changes.iter().all(|c| c.path == "metadata.team"),
        "{update:?}"
    );

    let replaced = eval("mmlu", "ne", &[("baseline", "a")]);
    let mut old = stored(&e, "eval_1", 100);
    old.metadata.insert(tags::RUNS.into(), e.runs_digest());
    let plan = plan(&desired(vec![replaced]), &[old], PlanOptions::default());
    let Some(Action::ReplaceEval(replace)) = plan.actions.first() else {
        panic!("a replacement: {plan:?}")
    };
    assert_eq!(replace.superseded_metadata.get(tags::RUNS), None);
    assert_eq!(replace.superseded_metadata.len(), 5, "{replace:?}");
}

/// `eval` with a second grader whose `pass_threshold` and `range` Azure keeps as 32-bit floats.
fn with_scored(mut eval: DesiredEval, pass_threshold: Value, range: Value) -> DesiredEval {
    let mut graders = eval.testing_criteria.to_vec();
    graders.push(
        json!({"type": "score_model", "name": "scored", "model": "gpt-4o-mini",
                        "input": [{"role": "user", "content": "{{item.answer}}"}],
                        "range": range, "pass_threshold": pass_threshold}),
    );
    eval.spec_hash = canonical::eval_spec(&eval.data_source_config, &graders).hash();
    eval.testing_criteria = graders.into();
    eval
}

#[test]
fn a_replace_names_only_what_changed_not_a_number_as_the_service_echoes_it() {
    let old = with_scored(eval("mmlu", "eq", &[]), json!(0.8), json!([0, 16_777_217]));
    let mut remote = stored(&old, "eval_1", 100);
    // As Azure keeps them: 32-bit floats.
    remote.testing_criteria[1]["pass_threshold"] = json!(f64::from(0.8_f32));
    remote.testing_criteria[1]["range"] = json!([0.0, 16_777_216.0]);
    let new = with_scored(
        eval("mmlu", "ilike", &[]),
        json!(0.8),
        json!([0, 16_777_217]),
    );
    let plan = plan(&desired(vec![new]), &[remote], PlanOptions::default());
    let Some(Action::ReplaceEval(replace)) = plan.actions.first() else {
        panic!("not a replace: {:?}", plan.actions)
    };
    let paths: Vec<&str> = replace.forced_by.iter().map(|c| c.path.as_str()).collect();
    assert_eq!(paths, ["testing_criteria[0].operation"]);
}
