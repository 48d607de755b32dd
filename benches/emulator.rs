//! Benchmark of the emulator's list pages under load: 10,000 evals and a run of 100,000
//! output items are loaded over HTTP, then pages of 100 evals and of 100 output items are
//! fetched from positions spread over the whole list. Prints p50/p99 latency as a client on
//! loopback sees it, and the process's peak resident memory (client and server together).
//!
//! `cargo bench --bench emulator` (EVALS, ITEMS and SAMPLES override the sizes).

use std::time::{Duration, Instant};

use evalctl::emulator::{self, Config};
use serde_json::{json, Value};

fn size(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(bench())
}

async fn bench() -> Result<(), Box<dyn std::error::Error>> {
    let (evals, items, samples) = (
        size("EVALS", 10_000),
        size("ITEMS", 100_000),
        size("SAMPLES", 2_000),
    );
    let server = emulator::start(Config::in_memory()).await?;
    let base = format!("{}/v1", server.base_url());
    let http = reqwest::Client::new();

    let started = Instant::now();
    let eval_ids = load_evals(&http, &base, evals).await?;
    println!("loaded {evals} evals in {:.1?}", started.elapsed());
    let started = Instant::now();
    let (run_path, item_ids) = load_items(&http, &base, &eval_ids[0], items).await?;
    println!("loaded {items} output items in {:.1?}", started.elapsed());

    let eval_pages = measure(&http, samples, |i| {
        let after = &eval_ids[(i * 7919) % (eval_ids.len() - 100)];
        format!("{base}/evals?limit=100&after={after}")
    })
    .await?;
    report("100-eval list page", &eval_pages);
    let item_pages = measure(&http, samples, |i| {
        let after = &item_ids[(i * 7919) % (item_ids.len() - 100)];
        format!("{base}{run_path}/output_items?limit=100&after={after}")
    })
    .await?;
    report("100-item output page", &item_pages);
    println!("peak RSS: {} MB", peak_rss_kb() / 1024);
    server.shutdown().await;
    Ok(())
}

async fn load_evals(
    http: &reqwest::Client,
    base: &str,
    n: usize,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({
            "name": format!("eval {i}"),
            "metadata": {"evalctl_project": "bench", "evalctl_key": format!("e{i}")},
            "data_source_config": {"type": "custom", "item_schema": {"type": "object",
                "properties": {"q": {"type": "string"}, "a": {"type": "string"}}, "required": ["q", "a"]}},
            "testing_criteria": [{"type": "string_check", "name": "exact",
                "input": "{{item.q}}", "reference": "{{item.a}}", "operation": "eq"}]
        });
        let eval: Value = http
            .post(format!("{base}/evals"))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        ids.push(eval["id"].as_str().unwrap_or_default().to_string());
    }
    Ok(ids)
}

async fn load_items(
    http: &reqwest::Client,
    base: &str,
    eval_id: &str,
    n: usize,
) -> Result<(String, Vec<String>), Box<dyn std::error::Error>> {
    let jsonl: String = (0..n)
        .map(|i| {
            format!(
                "{{\"item\": {{\"q\": \"question {i}\", \"a\": \"question {}\"}}}}\n",
                i - i % 3
            )
        })
        .collect();
    let form = reqwest::multipart::Form::new()
        .text("purpose", "evals")
        .part(
            "file",
            reqwest::multipart::Part::bytes(jsonl.into_bytes()).file_name("rows.jsonl"),
        );
    let file: Value = http
        .post(format!("{base}/files"))
        .multipart(form)
        .send()
        .await?
        .json()
        .await?;
    let body =
        json!({"data_source": {"type": "jsonl", "source": {"type": "file_id", "id": file["id"]}}});
    let run: Value = http
        .post(format!("{base}/evals/{eval_id}/runs"))
        .json(&body)
        .send()
        .await?
        .json()
        .await?;
    let run_path = format!(
        "/evals/{eval_id}/runs/{}",
        run["id"].as_str().unwrap_or_default()
    );
    loop {
        let run: Value = http
            .get(format!("{base}{run_path}"))
            .send()
            .await?
            .json()
            .await?;
        if run["status"] != "queued" && run["status"] != "in_progress" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut ids = Vec::with_capacity(n);
    let mut after = String::new();
    loop {
        let page: Value = http
            .get(format!("{base}{run_path}/output_items?limit=100{after}"))
            .send()
            .await?
            .json()
            .await?;
        let data = page["data"].as_array().cloned().unwrap_or_default();
        ids.extend(
            data.iter()
                .filter_map(|i| i["id"].as_str().map(str::to_string)),
        );
        if page["has_more"] != json!(true) {
            break;
        }
        after = format!("&after={}", page["last_id"].as_str().unwrap_or_default());
    }
    Ok((run_path, ids))
}

async fn measure(
    http: &reqwest::Client,
    samples: usize,
    url: impl Fn(usize) -> String,
) -> Result<Vec<Duration>, Box<dyn std::error::Error>> {
    let mut times = Vec::with_capacity(samples);
    for i in 0..samples + 50 {
        let started = Instant::now();
        let response = http.get(url(i)).send().await?;
        let body = response.bytes().await?;
        let elapsed = started.elapsed();
        if body.is_empty() {
            return Err("empty page".into());
        }
        // The first requests warm the connection and caches.
        if i >= 50 {
            times.push(elapsed);
        }
    }
    times.sort();
    Ok(times)
}

fn report(name: &str, sorted: &[Duration]) {
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)];
    println!(
        "{name}: p50 {:.3} ms, p99 {:.3} ms ({} samples)",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        sorted.len()
    );
}

/// `VmHWM` from /proc (Linux); 0 elsewhere.
fn peak_rss_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
