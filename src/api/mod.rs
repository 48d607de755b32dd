//! The Evals API client: wire types, target and credential resolution, retries, and the
//! HTTP client. The only code in evalctl that speaks HTTP to the service.

mod client;
pub mod entra;
mod error;
pub mod path;
pub mod retry;
mod state;
pub mod target;
mod throttle;
pub mod wire;

pub(crate) use client::next_cursor;
pub use client::{Client, Notices, Options, WriteGate, MAX_PAGES};
pub use error::ApiError;
pub use state::{fetch, list_live_runs, list_runs, Fetch, ForPlan, Runs};
pub use target::{Auth, AuthKind, Connection, Credential, Flavor, Secret, TargetError};
