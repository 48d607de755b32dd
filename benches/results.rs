//! Reading results at scale against the emulator with `--latency-ms 50`: a run of 20,000
//! graded rows read whole, page after page (as `results --all` and `compare` read them).
//! Pages follow each other (each names the next), so the floor is ceil(20,000/100) round
//! trips (target: within 1.2x). Run with `cargo bench --bench results`.

mod support;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::{Duration, Instant};

use serde_json::{json, Value};

const ROWS: usize = 20_000;
const LATENCY_MS: u64 = 50;

#[tokio::main]
async fn main() {
    let data = tempfile::tempdir().expect("temp dir");
    let (server, setup) = support::serve(Some(data.path()), 0, 8).await;
    let eval = setup
        .create_eval(&json!({
            "name": "results bench",
            "data_source_config": {"type": "custom", "item_schema": {"type": "object",
                "properties": {"q": {"type": "string"}, "a": {"type": "string"}}}},
            "testing_criteria": [{"type": "string_check", "name": "same", "input": "{{item.q}}",
                "reference": "{{item.a}}", "operation": "eq"}],
        }))
        .await
        .expect("eval");
    let rows: Vec<Value> = (0..ROWS)
        .map(|i| json!({"item": {"q": format!("question {i}"), "a": if i % 3 == 0 { "x".to_string() } else { format!("question {i}") }}}))
        .collect();
    let run = setup
        .create_run(
            &eval.id,
            &json!({"name": "big", "data_source": {"type": "jsonl",
                "source": {"type": "file_content", "content": rows}}}),
        )
        .await
        .expect("run");
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let now = setup.get_run(&eval.id, &run.id).await.expect("run");
        if now.status.is_finished() {
            break;
        }
        assert!(Instant::now() < deadline, "the run did not finish");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    server.shutdown().await;

    let (server, client) = support::serve(Some(data.path()), LATENCY_MS, 8).await;
    let start = Instant::now();
    let items = client
        .all_output_items(&eval.id, &run.id)
        .await
        .expect("items");
    let wall = start.elapsed();
    let pages = ROWS.div_ceil(100) as u64;
    let floor = Duration::from_millis(LATENCY_MS * pages);
    println!(
        "every output item of a run of {ROWS} rows against --latency-ms {LATENCY_MS}: {} items in {:.2} s wall, {} requests ({pages} pages), floor {:.2} s: {:.2}x (target <= 1.2x)",
        items.len(),
        wall.as_secs_f64(),
        client.requests(),
        floor.as_secs_f64(),
        wall.as_secs_f64() / floor.as_secs_f64()
    );
    server.shutdown().await;
}
