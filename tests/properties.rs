//! Property tests (issue 17, item 3), on generated and mutated inputs shrunk to a minimal
//! failing case: the manifest loader never panics and locates every error (`loader`); a spec
//! and the service's echo of it hash equal (`spec_hash`); applying a plan over generated
//! remote states converges, the next plan empty (`convergence`). A few hundred cases each by
//! default; `EVALCTL_FUZZ_CASES=20000 cargo test --test properties` for a long run.

#[path = "properties/convergence.rs"]
mod convergence;
#[path = "properties/generate.rs"]
mod generate;
#[path = "properties/loader.rs"]
mod loader;
#[path = "properties/spec_hash.rs"]
mod spec_hash;

use proptest::test_runner::{Config, FileFailurePersistence};

/// The cases each property runs: `EVALCTL_FUZZ_CASES`, or 300.
fn cases() -> u32 {
    std::env::var("EVALCTL_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

/// Failures are printed shrunk, not kept in files: CI runs a fresh clone each time.
fn config() -> Config {
    Config {
        cases: cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..Config::default()
    }
}

/// A runtime for the properties that talk to an emulator over HTTP.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}
