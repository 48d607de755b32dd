//! Plan speed. (1) Against the emulator with `--latency-ms 50` holding 1,000 managed evals
//! with 5 runs each: plan wall time and HTTP requests, against the round-trip lower bound
//! ceil(1000/100) sequential list pages + 1,000 run listings over 8 connections (target:
//! within 1.2x). (2) CPU only: load + validate + plan + render of 1,000 evals (target: under
//! 50 ms). Run with `cargo bench --bench plan`.

mod support;

// The binary's allocator, so the figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use evalctl::api::{fetch_remote, Client};
use evalctl::plan::{self, Desired, PlanOptions};
use evalctl::render::{self, Header};
use serde_json::json;

const EVALS: usize = 1_000;
const RUNS: usize = 5;
const LATENCY_MS: u64 = 50;
const PARALLELISM: usize = 8;

/// Creates what an earlier apply of `desired` would have left: every eval and 5 runs each.
async fn populate(client: &Client, desired: &Desired) {
    let plan = plan::plan(desired, &[], PlanOptions::default());
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

/// Total time, and the time of each phase: load + validate, desired state, plan, render.
fn cpu_only(root: &std::path::Path) -> (Duration, [Duration; 4]) {
    let start = Instant::now();
    let project = evalctl::manifest::load(root)
        .project
        .expect("valid project");
    let loaded = start.elapsed();
    let desired = Desired::from_project(&project);
    let hashed = start.elapsed();
    let plan = plan::plan(&desired, &[], PlanOptions::default());
    let planned = start.elapsed();
    let mut out = Vec::new();
    render::human(
        &plan,
        &Header {
            target: "local".into(),
            endpoint: "bench".into(),
        },
        false,
        &mut out,
    )
    .expect("render");
    let total = start.elapsed();
    (
        total,
        [loaded, hashed - loaded, planned - hashed, total - planned],
    )
}

#[tokio::main]
async fn main() {
    let dir = support::project(EVALS, support::Runs::Inline);
    let rounds = std::env::var("BENCH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21usize)
        .max(1);
    let mut cpu: Vec<(Duration, [Duration; 4])> =
        (0..rounds).map(|_| cpu_only(dir.path())).collect();
    cpu.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (median, phases) = cpu[rounds / 2];
    println!(
        "CPU only: load + validate + plan + render of {EVALS} evals: median {:.1} ms, min {:.1} ms (target < 50 ms); median phases: load+validate {:.1}, desired {:.1}, plan {:.1}, render {:.1} ms",
        ms(median), ms(cpu[0].0), ms(phases[0]), ms(phases[1]), ms(phases[2]), ms(phases[3])
    );

    if std::env::var_os("BENCH_CPU_ONLY").is_some() {
        return;
    }
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
    let remote = fetch_remote(&client, &desired.project)
        .await
        .expect("fetch");
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
