//! The ownership tags evalctl writes into the metadata of the evals and runs it manages
//! (design §3). evalctl keeps no state file: these tags are how it finds its objects again.

use std::collections::BTreeMap;

pub const PROJECT: &str = "evalctl_project";
pub const KEY: &str = "evalctl_key";
pub const SPEC: &str = "evalctl_spec";
pub const STATE: &str = "evalctl_state";
pub const SUPERSEDED: &str = "superseded";
/// `true` on an eval with `protect: true`: prune and replace leave it alone.
pub const PROTECT: &str = "evalctl_protect";
/// On a live eval: the digest of the runs (key and spec) evalctl has seen started on it,
/// written after they started. A plan whose manifests want exactly those runs need not list
/// them (`DesiredEval::runs_digest`); a superseded eval drops it.
pub const RUNS: &str = "evalctl_runs";

/// Metadata as the service holds it.
pub type Metadata = BTreeMap<String, String>;

/// `metadata` with its `evalctl_runs` tag set to `digest`, or without one.
pub fn with_runs_digest(metadata: &Metadata, digest: Option<&str>) -> Metadata {
    let mut metadata = metadata.clone();
    match digest {
        Some(digest) => metadata.insert(RUNS.into(), digest.into()),
        None => metadata.remove(RUNS),
    };
    metadata
}

/// The metadata without evalctl's tags: what the user owns.
pub fn user_part(metadata: &Metadata) -> Metadata {
    metadata
        .iter()
        .filter(|(k, _)| !k.starts_with("evalctl_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The tags of a live eval, with `evalctl_protect` when it is protected.
pub fn tagged_eval(
    user: &Metadata,
    project: &str,
    key: &str,
    spec: &str,
    protect: bool,
) -> Metadata {
    let mut metadata = tagged(user, project, key, spec);
    if protect {
        metadata.insert(PROTECT.into(), "true".into());
    }
    metadata
}

/// User metadata plus the tags of a live object.
pub fn tagged(user: &Metadata, project: &str, key: &str, spec: &str) -> Metadata {
    let mut metadata = user.clone();
    metadata.insert(PROJECT.into(), project.into());
    metadata.insert(KEY.into(), key.into());
    metadata.insert(SPEC.into(), spec.into());
    metadata
}
