//! Plan speed against the emulator with `--latency-ms 50` holding 1,000 managed evals with 5
//! runs each: plan wall time and HTTP requests, against the round-trip lower bound
//! ceil(1000/100) sequential list pages + 1,000 run listings over 8 connections (target:
//! within 1.2x). What a user waits for is round trips; the CPU share of a plan is a few
//! milliseconds and is not tuned further. Run with `cargo bench --bench plan`.

mod support;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use evalctl::api::{fetch, Client, Fetch, Runs};
use evalctl::plan::{self, Desired, PlanOptions};
use serde_json::json;

const EVALS: usize = 1_000;
const RUNS: usize = 5;
const LATENCY_MS: u64 = 50;
const PARALLELISM: usize = 8;

/// Creates what an earlier apply of `desired` would have left: every eval and 5 runs each.
async fn populate(client: &Client, desired: &Desired) {
    let plan = plan::plan(desired, &plan::Remote::default(), PlanOptions::default());
    let mut tasks = tokio::task::JoinSet::new();
    for action in plan.actions {
        if let plan::Action::CreateEval(new) = action {
            let client = client.clone();
            tasks.spawn(async move {
                let body = json!({"name": new.name, "metadata": new.metadata, "data_source_config": new.data_source_config, "testing_criteria": new.testing_criteria});
                let eval = client.create_eval(&body).await.expect("create eval");
                for r in 0..RUNS {
                    let run = json!({"name": format!("run {r}"), "metadata": {"evalctl_key": format!("old-{r}")},
                        "data_source": {"type": "jsonl", "source": {"type": "file_content", "content": [{"item": {"question": "q", "answer": "A", "completion": "A"}}]}}});
                    client.create_run(&eval.id, &run).await.expect("create run");
                }
            });
        }
    }
    while let Some(joined) = tasks.join_next().await {
        joined.expect("task");
    }
}

#[tokio::main]
async fn main() {
    let dir = support::project(EVALS, support::Runs::Inline);
    let project = evalctl::manifest::load(dir.path())
        .project
        .expect("valid project");
    let desired = Desired::from_project(&project);
    let data = tempfile::tempdir().expect("temp dir");
    let (server, setup) = support::serve(Some(data.path()), 0, 32).await;
    populate(&setup, &desired).await;
    server.shutdown().await;

    let (server, client) = support::serve(Some(data.path()), LATENCY_MS, PARALLELISM).await;
    let start = Instant::now();
    let what = Fetch {
        project: &desired.project,
        runs: Runs::OfLive,
        planning: Some(&desired),
    };
    let remote = fetch(&client, &what).await.expect("fetch");
    let plan = plan::plan(&desired, &remote, PlanOptions::default());
    let wall = start.elapsed();
    let pages = EVALS.div_ceil(100);
    let bound =
        Duration::from_millis(LATENCY_MS * (pages as u64 + EVALS.div_ceil(PARALLELISM) as u64));
    println!(
        "plan against --latency-ms {LATENCY_MS} ({EVALS} evals x {RUNS} runs): {:.2} s wall, {} requests ({} expected), bound {:.2} s: {:.2}x the bound (target <= 1.2x); {} actions",
        wall.as_secs_f64(),
        client.requests(),
        pages + EVALS,
        bound.as_secs_f64(),
        wall.as_secs_f64() / bound.as_secs_f64(),
        plan.actions.len()
    );
    server.shutdown().await;
}
