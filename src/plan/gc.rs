//! Which superseded evals `evalctl gc` deletes: this project's, superseded for longer than
//! the age given, not protected. An eval was superseded when the next eval of its key was
//! created (the service records no time for the tag), or, with no newer one, when it was
//! itself created.

use super::tags;
use super::RemoteEval;

/// A superseded eval old enough to go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collectable {
    pub key: String,
    pub id: String,
    pub name: String,
    /// Unix seconds.
    pub superseded_at: i64,
    pub runs: usize,
}

/// What gc deletes, oldest first, and the protected ones it leaves (with `--allow-replace`
/// naming their key, they go too).
pub fn collectable(
    remote: &[RemoteEval],
    project: &str,
    now: i64,
    older_than_seconds: i64,
    allow: &[String],
) -> (Vec<Collectable>, Vec<Collectable>) {
    let managed: Vec<&RemoteEval> = remote.iter().filter(|e| e.managed_by(project)).collect();
    let superseded_at = |eval: &RemoteEval| {
        managed
            .iter()
            .filter(|other| other.key() == eval.key() && other.id != eval.id)
            .map(|other| other.created_at)
            .filter(|created| *created > eval.created_at)
            .min()
            .unwrap_or(eval.created_at)
    };
    let (mut gone, mut protected) = (Vec::new(), Vec::new());
    for eval in managed.iter().filter(|e| e.is_superseded()) {
        let at = superseded_at(eval);
        if now.saturating_sub(at) < older_than_seconds {
            continue;
        }
        let key = eval.key().unwrap_or_default().to_string();
        let collectable = Collectable {
            id: eval.id.clone(),
            name: eval.name.clone(),
            superseded_at: at,
            runs: eval.runs.len(),
            key,
        };
        let is_protected = eval.tag(tags::PROTECT) == Some("true");
        if is_protected && !allow.contains(&collectable.key) {
            protected.push(collectable);
        } else {
            gone.push(collectable);
        }
    }
    gone.sort_by_key(|c| (c.superseded_at, c.id.clone()));
    protected.sort_by_key(|c| (c.superseded_at, c.id.clone()));
    (gone, protected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn eval(id: &str, key: &str, created_at: i64, superseded: bool) -> RemoteEval {
        let mut metadata = BTreeMap::from([
            (tags::PROJECT.to_string(), "p".to_string()),
            (tags::KEY.to_string(), key.to_string()),
        ]);
        if superseded {
            metadata.insert(tags::STATE.into(), tags::SUPERSEDED.into());
        }
        RemoteEval {
            id: id.into(),
            name: id.into(),
            metadata,
            data_source_config: serde_json::Value::Null,
            testing_criteria: Vec::new(),
            created_at,
            runs: Vec::new(),
            runs_listed: true,
        }
    }

    #[test]
    fn an_eval_is_superseded_when_the_next_of_its_key_was_made() {
        let day = 86_400;
        let remote = [
            eval("v1", "k", 0, true),
            eval("v2", "k", 50 * day, true),
            eval("v3", "k", 100 * day, false),
            eval("other", "j", 0, true),
        ];
        // At day 150, with 90 days: v1 (superseded day 50) and `other` (no newer: day 0) go;
        // v2 was superseded on day 100.
        let (gone, protected) = collectable(&remote, "p", 150 * day, 90 * day, &[]);
        let ids: Vec<&str> = gone.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["other", "v1"]);
        assert!(protected.is_empty());
        assert_eq!(gone[1].superseded_at, 50 * day);
    }

    #[test]
    fn live_foreign_and_protected_evals_stay() {
        let mut guarded = eval("g", "k", 0, true);
        guarded.metadata.insert(tags::PROTECT.into(), "true".into());
        let mut foreign = eval("f", "k", 0, true);
        foreign.metadata.insert(tags::PROJECT.into(), "q".into());
        let remote = [guarded, foreign, eval("live", "j", 0, false)];
        let (gone, protected) = collectable(&remote, "p", 1_000, 10, &[]);
        assert!(gone.is_empty());
        assert_eq!(protected.len(), 1);
        let (gone, _) = collectable(&remote, "p", 1_000, 10, &["k".to_string()]);
        assert_eq!(gone.len(), 1);
    }
}
