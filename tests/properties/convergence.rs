//! Plan and apply converge: over a generated remote state (an earlier apply of other
//! manifests, then edits by hand or by other jobs: evals deleted, renamed, retagged or
//! duplicated as a second CI job leaves them, runs deleted, stale tags, evals no project
//! manages and evals another project manages) and generated manifests (evals added, changed
//! in place or in spec, left out, adopting evals), applying the plan leaves nothing to do: the
//! next plan, with and without `--refresh`, has no action and no runs tag to write; each key's
//! live eval has the drafted name, metadata and spec, and its newest runs the drafted
//! variants. And no eval is lost: every eval there before is there after, unless the plan
//! deleted it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use evalctl::api::wire::Eval;
use evalctl::api::{fetch, Client, Connection, Fetch, ForPlan, Runs};
use evalctl::emulator::{self, Config};
use evalctl::manifest::{self, Severity};
use evalctl::plan::{self, tags, Action, Desired, Plan, PlanOptions, Refusal, Remote};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestRunner;
use serde_json::{json, Value};

const PROJECT: &str = "props";

/// An eval of a generated manifest.
#[derive(Debug, Clone)]
struct Draft {
    name: u8,
    team: Option<u8>,
    spec: u8,
    protect: bool,
    /// Run key and variant (its metadata and rows).
    runs: BTreeMap<u8, u8>,
    /// An unmanaged eval to adopt (`false`) or any eval on the service (`true`).
    adopt: Option<(bool, Index)>,
}

/// What happens on the service between the first apply and the second.
#[derive(Debug, Clone)]
enum Edit {
    DeleteEval(Index),
    Rename(Index),
    UserTag(Index),
    /// A second job's eval of the same key and tags, with copies of the runs; of another spec
    /// when a newer revision of the manifests replaced it (or a replace crashed half-way).
    Duplicate(Index, Option<u8>),
    /// Marked superseded with no live eval after it, as a replace that crashed may leave it.
    Supersede(Index),
    /// evalctl's tags removed by hand: an eval no project manages.
    Untag(Index),
    DeleteRun(Index, Index),
    StaleRunsTag(Index),
    Unmanaged(u8),
    OtherProject(u8),
}

#[derive(Debug, Clone)]
struct Case {
    before: BTreeMap<u8, Draft>,
    edits: Vec<Edit>,
    after: BTreeMap<u8, Draft>,
    refresh: bool,
    prune: bool,
}

fn draft() -> impl Strategy<Value = Draft> {
    (
        0u8..2,
        prop::option::of(0u8..2),
        0u8..4,
        prop::bool::weighted(0.05),
        prop::collection::btree_map(0u8..3, 0u8..2, 0..3),
        prop::option::weighted(0.2, (any::<bool>(), any::<Index>())),
    )
        .prop_map(|(name, team, spec, protect, runs, adopt)| Draft {
            name,
            team,
            spec,
            protect,
            runs,
            adopt,
        })
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        any::<Index>().prop_map(Edit::DeleteEval),
        any::<Index>().prop_map(Edit::Rename),
        any::<Index>().prop_map(Edit::UserTag),
        (any::<Index>(), prop::option::of(0u8..4)).prop_map(|(i, s)| Edit::Duplicate(i, s)),
        any::<Index>().prop_map(Edit::Supersede),
        any::<Index>().prop_map(Edit::Untag),
        (any::<Index>(), any::<Index>()).prop_map(|(e, r)| Edit::DeleteRun(e, r)),
        any::<Index>().prop_map(Edit::StaleRunsTag),
        (0u8..4).prop_map(Edit::Unmanaged),
        (0u8..4).prop_map(Edit::OtherProject),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::btree_map(0u8..5, draft(), 0..5),
        prop::collection::vec(edit(), 0..6),
        prop::collection::btree_map(0u8..5, draft(), 0..5),
        any::<bool>(),
        prop::bool::weighted(0.3),
    )
        .prop_map(|(before, edits, after, refresh, prune)| Case {
            before,
            edits,
            after,
            refresh,
            prune,
        })
}

/// The data source config of spec `spec` (two of the four ask for the sample schema).
fn data_source_config(spec: u8) -> Value {
    json!({
        "type": "custom",
        "item_schema": {"type": "object", "properties": {"q": {"type": "string"},
                        "a": {"type": "string"}}, "required": ["q", "a"]},
        "include_sample_schema": spec >= 2,
    })
}

fn graders(spec: u8) -> Value {
    let exact = json!({"type": "string_check", "name": "exact", "input": "{{item.a}}",
                       "reference": "{{item.q}}", "operation": "eq"});
    let fuzzy = json!({"type": "text_similarity", "name": "fuzzy", "input": "{{item.a}}",
                       "reference": "{{item.q}}", "evaluation_metric": "fuzzy_match",
                       "pass_threshold": 0.8});
    match spec {
        0 => json!([exact]),
        1 => json!([fuzzy]),
        2 => json!([exact, fuzzy]),
        _ => json!([fuzzy, {"type": "string_check", "name": "like", "input": "{{item.a}}",
                            "reference": "x", "operation": "ilike"}]),
    }
}

fn rows(variant: u8) -> Value {
    json!([{"item": {"q": "q", "a": format!("a{variant}")}}])
}

/// The manifest of `drafts`, as JSON (which YAML reads), `adopt:` resolved to eval ids.
fn manifest(drafts: &BTreeMap<u8, Draft>, unmanaged: &[String], all: &[String]) -> Value {
    let evals: serde_json::Map<String, Value> = drafts
        .iter()
        .map(|(key, draft)| {
            let mut eval = json!({
                "name": format!("Eval {key} v{}", draft.name),
                "data_source_config": data_source_config(draft.spec),
                "testing_criteria": graders(draft.spec),
                "runs": draft.runs.iter().map(|(run, variant)| (format!("r{run}"), json!({
                    "metadata": {"variant": variant.to_string()},
                    "data_source": {"type": "jsonl",
                                    "source": {"type": "file_content", "content": rows(*variant)}},
                }))).collect::<serde_json::Map<String, Value>>(),
            });
            if let Some(team) = draft.team {
                eval["metadata"] = json!({"team": format!("t{team}")});
            }
            if draft.protect {
                eval["protect"] = json!(true);
            }
            let pool = match draft.adopt {
                Some((false, index)) => Some((unmanaged, index)),
                Some((true, index)) => Some((all, index)),
                None => None,
            };
            if let Some((pool, index)) = pool.filter(|(pool, _)| !pool.is_empty()) {
                eval["adopt"] = json!(pool[index.index(pool.len())]);
            }
            (format!("k{key}"), eval)
        })
        .collect();
    json!({ "evals": evals })
}

/// The desired state of a project whose one manifest is `manifest`.
fn desired(root: &Path, manifest: &Value) -> Result<Desired, String> {
    let write =
        |name: &str, text: String| std::fs::write(root.join(name), text).map_err(|e| e.to_string());
    std::fs::create_dir_all(root.join("evals")).map_err(|e| e.to_string())?;
    write("evalctl.yaml", format!("project: {PROJECT}\n"))?;
    write("evals/all.yaml", manifest.to_string())?;
    let loaded = manifest::load(root);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .map(|d| format!("{d:?}"))
        .collect();
    match loaded.project {
        Some(project) if errors.is_empty() => Ok(Desired::from_project(&project)),
        _ => Err(format!(
            "the generated manifest did not load: {errors:?}\n{manifest}"
        )),
    }
}

async fn plan(
    client: &Client,
    desired: &Desired,
    refresh: bool,
    options: PlanOptions,
) -> (Plan, Remote) {
    let what = Fetch {
        project: &desired.project,
        runs: Runs::ForPlan(ForPlan {
            desired,
            refresh,
            prune: options.prune,
        }),
    };
    let remote = fetch(client, &what)
        .await
        .unwrap_or_else(|e| panic!("fetch: {e}"));
    (plan::plan(desired, &remote, options), remote)
}

fn options(prune: bool) -> PlanOptions {
    PlanOptions {
        prune,
        max_delete: Some(100),
        allow_replace: Vec::new(),
    }
}

/// Plans and applies, allowing what a protected eval refuses as `--allow-replace` would; the
/// plan, or `None` when it was refused for another reason the generator may cause (an id
/// adopted twice or managed elsewhere).
async fn apply(
    client: &Client,
    desired: &Desired,
    refresh: bool,
    prune: bool,
) -> Result<Option<Plan>, String> {
    let (mut plan, mut remote) = plan(client, desired, refresh, options(prune)).await;
    let protected: Vec<String> = plan
        .refusals
        .iter()
        .filter_map(|r| match r {
            Refusal::Protected { key, .. } => Some(key.clone()),
            _ => None,
        })
        .collect();
    if !protected.is_empty() {
        let allowed = PlanOptions {
            allow_replace: protected,
            ..options(prune)
        };
        (plan, remote) = self::plan(client, desired, refresh, allowed).await;
    }
    if !plan.refusals.is_empty() {
        return if plan
            .refusals
            .iter()
            .all(|r| matches!(r, Refusal::CannotAdopt { .. }))
        {
            Ok(None)
        } else {
            Err(format!("refused: {:?}", plan.refusals))
        };
    }
    let report = evalctl::apply::apply(client, &plan, Some(&remote.uploads), &mut |_, _| {}).await;
    if report.failed() > 0 || report.skipped() > 0 {
        return Err(format!("apply failed: {:?}", report.outcomes));
    }
    Ok(Some(plan))
}

/// Evals on the service, oldest first.
async fn evals(client: &Client) -> Vec<Eval> {
    let mut evals = client
        .list_evals()
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    evals.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    evals
}

fn pick<'a>(evals: &'a [Eval], index: &Index) -> Option<&'a Eval> {
    (!evals.is_empty()).then(|| &evals[index.index(evals.len())])
}

/// An eval body of spec `spec`, named and tagged with `metadata`.
fn eval_body(spec: u8, name: &str, metadata: &BTreeMap<String, String>) -> Value {
    json!({"name": name, "metadata": metadata, "data_source_config": data_source_config(spec),
           "testing_criteria": graders(spec)})
}

/// Carries out `edit`; true when it deleted a run (a plan without `--refresh` may not see it).
async fn carry_out(client: &Client, http: &reqwest::Client, base: &str, edit: &Edit) -> bool {
    let evals = evals(client).await;
    match edit {
        Edit::DeleteEval(i) => {
            if let Some(eval) = pick(&evals, i) {
                done(client.delete_eval(&eval.id).await, edit);
            }
        }
        Edit::Rename(i)
        | Edit::UserTag(i)
        | Edit::StaleRunsTag(i)
        | Edit::Supersede(i)
        | Edit::Untag(i) => {
            let Some(eval) = pick(&evals, i) else {
                return false;
            };
            let (mut name, mut metadata) = (eval.name.clone(), eval.metadata.clone());
            match edit {
                Edit::Rename(_) => name = format!("{name} (renamed by hand)"),
                Edit::UserTag(_) => {
                    metadata.insert("owner".into(), "someone".into());
                }
                Edit::Supersede(_) => {
                    metadata.insert(tags::STATE.into(), tags::SUPERSEDED.into());
                }
                Edit::Untag(_) => metadata = tags::user_part(&metadata),
                _ => {
                    metadata.insert(tags::RUNS.into(), "stale".into());
                }
            }
            done(
                client
                    .update_eval(&eval.id, &json!({"name": name, "metadata": metadata}))
                    .await,
                edit,
            );
        }
        Edit::Duplicate(i, spec) => {
            let Some(eval) = pick(&evals, i) else {
                return false;
            };
            let spec = spec.unwrap_or_else(|| spec_of(eval));
            let copy = done(
                client
                    .create_eval(&eval_body(spec, &eval.name, &eval.metadata))
                    .await,
                edit,
            );
            for run in done(client.list_runs(&eval.id).await, edit) {
                let body = json!({"name": run.name, "metadata": run.metadata,
                                  "data_source": run.data_source});
                done(client.create_run(&copy.id, &body).await, edit);
            }
        }
        Edit::DeleteRun(e, r) => {
            let Some(eval) = pick(&evals, e) else {
                return false;
            };
            let runs = done(client.list_runs(&eval.id).await, edit);
            let Some(run) = (!runs.is_empty()).then(|| &runs[r.index(runs.len())]) else {
                return false;
            };
            let url = format!(
                "{base}/openai/v1/evals/{}/runs/{}?api-version=preview",
                eval.id, run.id
            );
            let answer = http.delete(url).send().await;
            assert!(
                answer.as_ref().is_ok_and(|a| a.status().is_success()),
                "{edit:?}: {answer:?}"
            );
            return true;
        }
        Edit::Unmanaged(spec) => {
            let body = eval_body(*spec, "made by hand", &BTreeMap::new());
            done(client.create_eval(&body).await, edit);
        }
        Edit::OtherProject(spec) => {
            let metadata = tags::tagged(&BTreeMap::new(), "elsewhere", "k0", "spec");
            let body = eval_body(*spec, "another project's", &metadata);
            done(client.create_eval(&body).await, edit);
        }
    }
    false
}

/// What a request of `edit` gave; it fails the case when the service refused it.
fn done<T>(result: Result<T, evalctl::api::ApiError>, edit: &Edit) -> T {
    result.unwrap_or_else(|e| panic!("{edit:?}: {e}"))
}

/// Which generated spec a stored eval has, by its graders and config.
fn spec_of(eval: &Eval) -> u8 {
    (0..4)
        .find(|spec| {
            let config = data_source_config(*spec);
            let graders = graders(*spec);
            let graders = graders.as_array().map_or(&[][..], Vec::as_slice);
            plan::canonical::eval_spec(&config, graders).hash()
                == plan::canonical::eval_spec(&eval.data_source_config, &eval.testing_criteria)
                    .hash()
        })
        .unwrap_or(0)
}

fn tag<'e>(eval: &'e Eval, name: &str) -> Option<&'e str> {
    eval.metadata.get(name).map(String::as_str)
}

/// The live eval of `key` is what `draft` asks for: its name, its user metadata, its spec,
/// and, when `runs` is set, the newest run of each run key is of the drafted variant. An
/// empty next plan alone would not show a planner that ignored a field, both times.
async fn as_drafted(
    client: &Client,
    key: &str,
    draft: &Draft,
    eval: &Eval,
    runs: bool,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(&eval.name, &format!("Eval {} v{}", &key[1..], draft.name));
    let team: BTreeMap<String, String> = draft
        .team
        .map(|team| ("team".to_string(), format!("t{team}")))
        .into_iter()
        .collect();
    prop_assert_eq!(tags::user_part(&eval.metadata), team, "metadata of {}", key);
    let spec =
        |config: &Value, graders: &[Value]| plan::canonical::eval_spec(config, graders).hash();
    let graders = graders(draft.spec);
    // By the fields themselves too, not only by the hash under test elsewhere.
    let names_and_types = |graders: &[Value]| -> Vec<(Value, Value)> {
        graders
            .iter()
            .map(|g| (g["name"].clone(), g["type"].clone()))
            .collect()
    };
    prop_assert_eq!(
        names_and_types(&eval.testing_criteria),
        names_and_types(graders.as_array().map_or(&[][..], Vec::as_slice)),
        "graders of {}",
        key
    );
    prop_assert_eq!(
        spec(&eval.data_source_config, &eval.testing_criteria),
        spec(
            &data_source_config(draft.spec),
            graders.as_array().map_or(&[][..], Vec::as_slice)
        ),
        "spec of {}",
        key
    );
    if !runs {
        return Ok(());
    }
    let mut listed = client
        .list_runs(&eval.id)
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    listed.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
    for (run, variant) in &draft.runs {
        let run_key = format!("r{run}");
        let newest = listed
            .iter()
            .find(|r| r.metadata.get(tags::KEY) == Some(&run_key));
        prop_assert_eq!(
            newest.and_then(|r| r.metadata.get("variant")),
            Some(&variant.to_string()),
            "run {}/{} on {}",
            key,
            run_key,
            eval.id
        );
    }
    Ok(())
}

/// The ids of the evals a plan deletes.
fn deleted(plan: &Plan) -> BTreeSet<String> {
    plan.actions
        .iter()
        .filter_map(|action| match action {
            Action::DeleteEval(delete) => Some(delete.id.clone()),
            _ => None,
        })
        .collect()
}

async fn check(case: Case) -> Result<(), TestCaseError> {
    let server = emulator::start(Config::in_memory())
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let base = server.base_url();
    let connection = Connection::local(&base).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let client = Client::new(&connection, 4).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let http = reqwest::Client::new();
    let root = tempfile::tempdir().map_err(|e| TestCaseError::fail(e.to_string()))?;

    let before =
        desired(root.path(), &manifest(&case.before, &[], &[])).map_err(TestCaseError::fail)?;
    apply(&client, &before, false, false)
        .await
        .map_err(TestCaseError::fail)?;
    let mut runs_deleted = false;
    for edit in &case.edits {
        runs_deleted |= carry_out(&client, &http, &base, edit).await;
    }

    let present = evals(&client).await;
    let unmanaged: Vec<String> = present
        .iter()
        .filter(|e| !e.metadata.contains_key(tags::PROJECT))
        .map(|e| e.id.clone())
        .collect();
    let all: Vec<String> = present.iter().map(|e| e.id.clone()).collect();
    let after = desired(root.path(), &manifest(&case.after, &unmanaged, &all))
        .map_err(TestCaseError::fail)?;
    let Some(applied) = apply(&client, &after, case.refresh, case.prune)
        .await
        .map_err(TestCaseError::fail)?
    else {
        return Ok(());
    };

    // A run deleted by hand is found by `--refresh` only: unless the apply refreshed, a plan
    // with `--refresh` starts it again, and it is not there to check.
    let runs_kept = !runs_deleted || case.refresh;
    for refresh in [false, true] {
        if refresh && !runs_kept {
            continue;
        }
        let (again, _) = plan(&client, &after, refresh, options(case.prune)).await;
        prop_assert!(
            again.actions.is_empty() && again.records.is_empty() && again.refusals.is_empty(),
            "the plan after apply (refresh: {refresh}) is not empty:\nactions {:#?}\nrecords {:#?}\nrefusals {:?}\napplied {:#?}",
            again.actions,
            again.records,
            again.refusals,
            applied.actions
        );
    }

    let now = evals(&client).await;
    for (key, draft) in &case.after {
        let key = format!("k{key}");
        let live: Vec<&Eval> = now
            .iter()
            .filter(|e| tag(e, tags::PROJECT) == Some(PROJECT) && tag(e, tags::STATE).is_none())
            .filter(|e| tag(e, tags::KEY) == Some(key.as_str()))
            .collect();
        prop_assert_eq!(live.len(), 1, "eval {} has {} live evals", key, live.len());
        as_drafted(&client, &key, draft, live[0], runs_kept).await?;
    }
    let gone = deleted(&applied);
    let now: BTreeSet<String> = now.into_iter().map(|e| e.id).collect();
    for eval in &present {
        prop_assert!(
            now.contains(&eval.id) || gone.contains(&eval.id),
            "eval {} ({}) was lost",
            eval.id,
            eval.name
        );
    }
    server.shutdown().await;
    Ok(())
}

#[test]
fn applying_a_plan_over_any_remote_state_leaves_an_empty_plan() {
    let runtime = super::runtime();
    let mut runner = TestRunner::new(super::config());
    let result = runner.run(&case(), |case| runtime.block_on(check(case)));
    if let Err(error) = result {
        panic!("{error}");
    }
}
