//! Load + validate speed: generates a project of 1,000 evals (5 graders and one run over a
//! JSONL file each), as 1,000 manifest files and as one, and times `manifest::load` over it.
//! Target: under 150 ms on a 2-core machine. Run with `cargo bench --bench load`.

mod support;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

const EVALS: usize = 1_000;
const ROUNDS: usize = 15;

fn main() {
    let layouts = [
        (
            format!("{EVALS} files"),
            support::project(EVALS, support::Runs::JsonlFile),
        ),
        (
            "one file".to_string(),
            support::project_in_one_file(EVALS, support::Runs::JsonlFile),
        ),
    ];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    for (layout, dir) in layouts {
        let times = rounds(dir.path());
        println!(
            "load + validate of {EVALS} evals (5 graders, 1 run each) in {layout}: min {:.1} ms, median {:.1} ms, max {:.1} ms over {ROUNDS} rounds (target < 150 ms)",
            ms(times[0]),
            ms(times[ROUNDS / 2]),
            ms(times[ROUNDS - 1])
        );
    }
}

/// The sorted times of loading the project at `root`.
fn rounds(root: &std::path::Path) -> Vec<Duration> {
    let env = |_: &str| None;
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let loaded = evalctl::manifest::load_with_env(root, &env);
        times.push(start.elapsed());
        let project = loaded.project.expect("the generated project is valid");
        assert_eq!(project.evals.len(), EVALS);
    }
    times.sort();
    times
}
