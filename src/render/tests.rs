//! Snapshots of one fixture plan in all three formats, plus the properties a snapshot cannot
//! pin on its own: the long-prompt diff, Markdown truncation, color, and the plan file's
//! round trip and version check.

use super::fixture::{self, header, plan};
use super::*;
use crate::plan::{Action, KeptEval, Plan, UpdateEval};

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("renderers write UTF-8")
}

fn human_text(plan: &Plan, color: bool) -> String {
    render(|out| human(plan, &header(), color, out))
}

fn json_text(plan: &Plan) -> String {
    render(|out| json(plan, &header(), out))
}

fn markdown_text(plan: &Plan) -> String {
    render(|out| markdown(plan, &header(), out))
}

#[test]
fn human_snapshot() {
    insta::assert_snapshot!("human", human_text(&plan(), false));
}

#[test]
fn json_snapshot() {
    insta::assert_snapshot!("json", json_text(&plan()));
}

#[test]
fn markdown_snapshot() {
    insta::assert_snapshot!("markdown", markdown_text(&plan()));
}

#[test]
fn what_destroys_history_is_shown_open_in_markdown_and_the_rest_folds() {
    let text = markdown_text(&plan());
    let opened: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("<details"))
        .map(|l| {
            if l.starts_with("<details open>") {
                "open"
            } else {
                "folded"
            }
        })
        .collect();
    // create, run, update, run, replace, run, delete.
    assert_eq!(
        opened,
        ["folded", "folded", "folded", "folded", "open", "folded", "open"]
    );
}

#[test]
fn the_first_human_line_names_target_and_endpoint() {
    let text = human_text(&plan(), false);
    let first = text.lines().next().unwrap_or_default();
    assert_eq!(
        first,
        "Plan for project `research` on target azure (https://contoso.openai.azure.com/openai/v1) with the API key in AZURE_OPENAI_API_KEY"
    );
}

#[test]
fn a_long_prompt_changed_in_one_line_shows_that_line_not_the_whole_text() {
    let mut plan = plan();
    plan.actions.retain(|a| matches!(a, Action::ReplaceEval(_)));
    for text in [human_text(&plan, false), markdown_text(&plan)] {
        assert!(text.contains("-Line 20: Summarize the article faithfully, rule 20."));
        assert!(text.contains("+Line 20: Quote the source for every claim you keep."));
        assert!(text.contains("Line 17:"), "context before the change");
        assert!(text.contains("Line 23:"), "context after the change");
        for far in ["Line 01:", "Line 10:", "Line 16:", "Line 24:", "Line 40:"] {
            assert!(!text.contains(far), "{far} is far from the change");
        }
    }
}

#[test]
fn an_empty_plan_says_no_changes_and_still_lists_kept_evals() {
    let mut plan = plan();
    plan.actions.clear();
    let text = human_text(&plan, false);
    assert_eq!(
        text,
        "Plan for project `research` on target azure (https://contoso.openai.azure.com/openai/v1) with the API key in AZURE_OPENAI_API_KEY\n\
         \n\
         Kept (not in the manifests; `--prune` deletes them):\n      \
         `old-experiment` (eval_77aa0bad) \"Old experiment\"\n\
         \n\
         No changes.\n"
    );
    assert!(markdown_text(&plan).ends_with("**No changes.**\n"));
}

fn huge_plan(actions: usize) -> Plan {
    let mut plan = plan();
    plan.actions = (0..actions)
        .map(|i| {
            Action::UpdateEval(UpdateEval {
                key: format!("eval-{i:04}"),
                id: format!("eval_{i:08x}"),
                name: format!("Eval {i} (v2)"),
                metadata: Default::default(),
                changes: vec![crate::plan::Change {
                    path: "name".into(),
                    old: Some(serde_json::json!(format!("Eval {i}"))),
                    new: Some(serde_json::json!(format!("Eval {i} (v2)"))),
                }],
                reasons: vec![crate::plan::Reason::NameChanged],
            })
        })
        .collect();
    plan
}

#[test]
fn markdown_is_cut_at_an_action_boundary_under_the_limit() {
    let text = markdown_text(&huge_plan(2_000));
    assert!(text.len() < 65_000, "{} bytes", text.len());
    assert_eq!(
        text.matches("<details>").count(),
        text.matches("</details>").count()
    );
    let shown = text.matches("<details>").count();
    assert!(shown > 100, "only {shown} actions shown");
    let note = format!(
        "> **Truncated:** {} of 2000 actions and the list of 1 kept evals left out to keep this \
         comment under 65000 characters. The full plan is in the JSON output \
         (`evalctl plan --output json`).\n",
        2_000 - shown
    );
    assert!(text.ends_with(&note), "{}", &text[text.len() - 400..]);
    assert!(text.contains("| `~` update in place | 2000 |"));
}

#[test]
fn markdown_that_fits_is_not_cut() {
    let text = markdown_text(&huge_plan(10));
    assert!(!text.contains("Truncated"));
    assert!(text.contains("old-experiment"));
}

#[test]
fn escape_codes_only_with_color() {
    let colored = human_text(&plan(), true);
    assert!(colored.contains("\x1b[32m  +\x1b[0m"), "{colored}");
    assert!(colored.contains("\x1b[31m-Line 20:"));
    let plain = human_text(&plan(), false);
    assert!(!plain.contains('\x1b'));
    assert_eq!(plain, strip_ansi(&colored));
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('\x1b') {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('m')
            .map_or(rest.len(), |m| start + m + 1);
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[test]
fn names_cannot_inject_escape_codes_or_markup() {
    let mut plan = plan();
    plan.kept.push(KeptEval {
        key: "evil\x1b[2J".into(),
        id: "eval_<b>".into(),
        name: "`</details>` **x**".into(),
    });
    let text = human_text(&plan, false);
    assert!(!text.contains('\x1b'));
    assert!(text.contains(r#""evil\u001b[2J" (eval_<b>) "`</details>` **x**""#));
    let md = markdown_text(&plan);
    assert!(md.contains(r#"- `evil\u{1b}[2J` (`eval_<b>`) ``"`</details>` **x**"``"#));
}

#[test]
fn the_plan_file_round_trips_exactly() {
    let text = json_text(&plan());
    let (read_header, read_plan) = read_plan_file(&text).expect("the JSON output is a plan file");
    // What authenticated the plan is said, not saved: apply uses its own credentials.
    let header = Header {
        credential: None,
        ..header()
    };
    assert_eq!(read_header, header);
    assert_eq!(read_plan, plan());
    assert_eq!(json_text(&read_plan), text);
}

#[test]
fn the_json_keys_come_in_the_documented_order() {
    let value: serde_json::Value = serde_json::from_str(&json_text(&plan())).unwrap_or_default();
    let keys: Vec<&str> = value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let expected = [
        "format_version",
        "target",
        "endpoint",
        "project",
        "fingerprint",
        "summary",
        "actions",
        "kept",
        "duplicate_runs",
    ];
    assert_eq!(keys, expected);
}

#[test]
fn another_format_version_is_refused_with_a_clear_message() {
    let text = json_text(&plan()).replacen("\"format_version\": 1", "\"format_version\": 2", 1);
    let err = read_plan_file(&text).expect_err("version 2 is unknown");
    assert!(matches!(err, PlanFileError::UnsupportedVersion { .. }));
    assert_eq!(
        err.to_string(),
        "the plan file has format_version 2, but this evalctl reads only format_version 1: \
         plan again with this evalctl (`evalctl plan --out FILE`)"
    );
}

#[test]
fn files_that_are_not_plans_are_refused() {
    let not_json = read_plan_file("plan: yes");
    assert!(matches!(not_json, Err(PlanFileError::NotJson(_))));
    let no_version = read_plan_file("{\"actions\": []}");
    assert!(matches!(no_version, Err(PlanFileError::NoFormatVersion)));
    let broken = read_plan_file("{\"format_version\": 1, \"target\": 3}");
    assert!(matches!(broken, Err(PlanFileError::Invalid(_))));
}

#[test]
fn an_edited_summary_is_refused() {
    let text = json_text(&plan()).replacen("\"create\": 1", "\"create\": 0", 1);
    let edited = read_plan_file(&text);
    assert!(matches!(edited, Err(PlanFileError::SummaryMismatch)));
}

#[test]
fn the_fixture_holds_every_kind_of_action() {
    let s = plan().summary();
    assert_eq!(
        (s.create, s.update, s.replace, s.delete, s.runs),
        (1, 1, 1, 1, 3)
    );
    assert_eq!(fixture::PROJECT, plan().project);
}

#[test]
fn an_action_larger_than_the_limit_is_left_out_whole() {
    let mut plan = huge_plan(1);
    let huge: String = (0..10_000).map(|i| format!("line {i}\n")).collect();
    if let Action::UpdateEval(update) = &mut plan.actions[0] {
        update.changes[0].new = Some(serde_json::json!(huge));
    }
    plan.kept.clear();
    let text = markdown_text(&plan);
    assert!(text.len() < 65_000);
    assert!(!text.contains("<details>"));
    assert!(text.contains("**Truncated:** 1 of 1 actions left out"));
}
