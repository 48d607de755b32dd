//! The manifest loader: an example project (the Azure OpenAI one or the Foundry one) with one
//! file mutated (a manifest, `evalctl.yaml` or a data file; lines deleted, repeated, swapped;
//! characters inserted, from YAML punctuation to control characters and non-ASCII; the text
//! cut short) never makes the loader panic, and every error it reports is located: a file of
//! the project with a line and column within it, or a field path.

use std::path::Path;

use evalctl::manifest::{self, Severity};
use proptest::prelude::*;

/// The example projects under `examples/`, and the files of each that a mutation may hit.
const PROJECTS: [(&str, &[&str]); 2] = [
    (
        "",
        &[
            "evalctl.yaml",
            "evals/capitals.yaml",
            "evals/mmlu.yaml",
            "evals/summaries.yaml",
            "evals/ticket-labels.yaml",
            "data/mmlu.jsonl",
            "data/summaries.jsonl",
            "data/tickets.jsonl",
        ],
    ),
    (
        "foundry",
        &[
            "evalctl.yaml",
            "evals/support-answers.yaml",
            "data/support.jsonl",
        ],
    ),
];

#[derive(Debug, Clone)]
enum Mutation {
    DeleteLine(usize),
    RepeatLine(usize),
    SwapLines(usize, usize),
    Insert(usize, char),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let chars = prop_oneof![
        prop::sample::select(vec![
            ':', '-', '{', '}', '[', ']', '&', '*', '!', '|', '>', '#', '"', '\'', '\t', '\n', ' ',
            '%', '@', '`', '?', ',',
        ]),
        any::<char>(),
    ];
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::RepeatLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), chars).prop_map(|(at, c)| Mutation::Insert(at, c)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for mutation in mutations {
        let n = lines.len().max(1);
        match *mutation {
            Mutation::DeleteLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::RepeatLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::Insert(at, c) if !lines.is_empty() => {
                let line = &mut lines[at % n];
                let chars: Vec<char> = line.chars().collect();
                let cut = at % (chars.len() + 1);
                *line = chars[..cut]
                    .iter()
                    .chain(std::iter::once(&c))
                    .chain(&chars[cut..])
                    .collect();
            }
            Mutation::Truncate(at) => {
                let joined = lines.join("\n");
                let chars: Vec<char> = joined.chars().collect();
                let cut = at % (chars.len() + 1);
                lines = chars[..cut]
                    .iter()
                    .collect::<String>()
                    .lines()
                    .map(String::from)
                    .collect();
            }
            _ => {}
        }
    }
    lines.join("\n") + "\n"
}

/// An example project, copied: its settings and data files, and its manifests.
fn example_project(project: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let examples = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples")
        .join(project);
    for sub in ["", "evals", "data"] {
        let from = examples.join(sub);
        let to = dir.path().join(sub);
        std::fs::create_dir_all(&to).unwrap_or_else(|e| panic!("{e}"));
        for entry in std::fs::read_dir(&from).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_file() {
                let name = path.file_name().unwrap_or_default();
                std::fs::copy(&path, to.join(name)).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
    dir
}

proptest! {
    #![proptest_config(super::config())]

    #[test]
    fn a_mutated_manifest_never_panics_the_loader_and_every_error_is_located(
        project in any::<prop::sample::Index>(),
        file in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let (project, files) = PROJECTS[project.index(PROJECTS.len())];
        let dir = example_project(project);
        let file = dir.path().join(files[file.index(files.len())]);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&file, mutate(&text, &mutations)).unwrap_or_else(|e| panic!("{e}"));
        let loaded = manifest::load(dir.path());
        for diagnostic in loaded.diagnostics.iter().filter(|d| d.severity == Severity::Error) {
            let located = diagnostic
                .location
                .as_ref()
                .is_some_and(|l| within(dir.path(), l));
            prop_assert!(
                located || diagnostic.path.is_some(),
                "an error with no place: {diagnostic:?}"
            );
        }
    }
}

/// Whether `location` names a file of the project at `root` and a place within its text: a
/// line it has and a column within that line (or just past its end).
fn within(root: &Path, location: &manifest::diagnostic::Location) -> bool {
    let path = root.join(&location.file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return false;
    };
    // YAML ends a line at a lone `\r` too; a JSONL data file is read by `\n`.
    let lines: Vec<&str> = if location.file.ends_with(".jsonl") {
        text.split('\n').collect()
    } else {
        text.split("\r\n")
            .flat_map(|l| l.split(['\r', '\n']))
            .collect()
    };
    location.line >= 1
        && location.column >= 1
        && lines
            .get(location.line - 1)
            .is_some_and(|line| location.column <= line.chars().count() + 1)
}
