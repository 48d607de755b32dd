//! The project lease (design §3): apply writes only while it holds a lease on the service,
//! so two applies of one project never both write, with no local state. A lease is a small
//! eval tagged `evalctl_lock: <project>` (never `evalctl_project`, so plans, `runs` and
//! imports pass it by). Taking one is: create a lease, list the leases, and let one total
//! order decide: the service's `created_at` of each lease. A lease holds when every other
//! live lease of the project was created in a later second. Two leases created in the same
//! second cannot know whether the other saw them, so both step back and try again; a lease
//! created after another one's listing has a `created_at` no earlier than that listing, so
//! the first lease never loses a lock it saw as held. Times are the service's clock only
//! (a lease's `created_at` plus the seconds its holder measured since), so clock skew
//! between machines cannot expire a live lease. This module is the pure part; `take` talks
//! to the service.

mod take;

use std::collections::BTreeMap;

use serde_json::{json, Value};

pub use take::{force_unlock, take, Held, LockError, LockOptions};

use crate::api::wire::Eval;

/// The tag naming the project a lease is for.
pub const LOCK: &str = "evalctl_lock";
/// A random token per attempt: finds the attempt's own lease after a lost response.
const TOKEN: &str = "evalctl_lock_token";
const HOLDER: &str = "evalctl_lock_holder";
const RUN: &str = "evalctl_lock_run";
const TTL: &str = "evalctl_lock_ttl";
/// Service time (Unix seconds) until which the lease holds; renewals move it.
const UNTIL: &str = "evalctl_lock_until";

/// A lease as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub id: String,
    pub created_at: i64,
    /// Service time (Unix seconds) after which the lease is void.
    pub until: i64,
    pub holder: String,
    /// The CI run that holds it, when known.
    pub run: Option<String>,
    token: String,
}

impl Lease {
    /// The lease an eval is, when it is one for `project`.
    pub fn of(eval: &Eval, project: &str) -> Option<Lease> {
        let tag = |key: &str| eval.metadata.get(key).map(String::as_str);
        if tag(LOCK) != Some(project) {
            return None;
        }
        let ttl = tag(TTL)
            .and_then(|t| t.parse::<i64>().ok())
            .filter(|t| *t > 0)
            .unwrap_or(DEFAULT_TTL_SECONDS);
        let until = tag(UNTIL)
            .and_then(|u| u.parse::<i64>().ok())
            .unwrap_or(eval.created_at.saturating_add(ttl));
        Some(Lease {
            id: eval.id.clone(),
            created_at: eval.created_at,
            until,
            holder: tag(HOLDER).unwrap_or("an unnamed holder").to_string(),
            run: tag(RUN).map(String::from),
            token: tag(TOKEN).unwrap_or_default().to_string(),
        })
    }

    pub fn is_live(&self, now: i64) -> bool {
        now <= self.until
    }
}

/// The leases of `project` among the listed evals.
pub fn leases(evals: &[Eval], project: &str) -> Vec<Lease> {
    evals
        .iter()
        .filter_map(|eval| Lease::of(eval, project))
        .collect()
}

pub const DEFAULT_TTL_SECONDS: i64 = 60;

/// Where an attempt stands once it has listed the leases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Every other live lease is newer: this attempt holds the lock.
    Held,
    /// An older live lease exists: its holder goes first.
    Behind(Lease),
    /// Another live lease was created in the same second: neither can tell whether the
    /// other saw it, so this one steps back.
    Tied,
    /// The listing does not show this attempt's own lease yet.
    Unseen,
}

/// The pure decision: `mine` is this attempt's lease id and creation time, `now` the
/// service's time as this attempt knows it.
pub fn standing(mine: (&str, i64), leases: &[Lease], now: i64) -> Standing {
    let (my_id, my_created) = mine;
    if !leases.iter().any(|lease| lease.id == my_id) {
        return Standing::Unseen;
    }
    let others = || {
        leases
            .iter()
            .filter(move |lease| lease.id != my_id && lease.is_live(now))
    };
    if let Some(first) = others()
        .filter(|lease| lease.created_at < my_created)
        .min_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
    {
        return Standing::Behind(first.clone());
    }
    if others().any(|lease| lease.created_at == my_created) {
        return Standing::Tied;
    }
    Standing::Held
}

/// The request that creates a lease: the smallest eval every flavor accepts.
fn lease_body(project: &str, token: &str, holder: &Holder, ttl_seconds: i64) -> Value {
    let mut metadata = BTreeMap::from([
        (LOCK.to_string(), project.to_string()),
        (TOKEN.to_string(), token.to_string()),
        (HOLDER.to_string(), holder.who.clone()),
        (TTL.to_string(), ttl_seconds.to_string()),
    ]);
    if let Some(run) = &holder.run {
        metadata.insert(RUN.to_string(), run.clone());
    }
    json!({
        "name": format!("evalctl lock: {project}"),
        "metadata": metadata,
        "data_source_config": {
            "type": "custom",
            "item_schema": {"type": "object", "properties": {}},
        },
        "testing_criteria": [{
            "type": "string_check", "name": "lease",
            "input": "lease", "reference": "lease", "operation": "eq",
        }],
    })
}

/// Who takes a lease, as other applies are told.
#[derive(Debug, Clone)]
pub struct Holder {
    /// `user@host (pid N)`.
    pub who: String,
    pub run: Option<String>,
}

/// A metadata value is at most 512 characters: room for a shortened value and its note.
const VALUE_LIMIT: usize = 400;

impl Holder {
    /// This process, from its environment.
    pub fn of_this_process(env: &dyn Fn(&str) -> Option<String>) -> Holder {
        let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let user = set("USER")
            .or_else(|| set("USERNAME"))
            .unwrap_or_else(|| "someone".into());
        let host = set("HOSTNAME")
            .or_else(|| set("COMPUTERNAME"))
            .or_else(|| {
                std::fs::read_to_string("/proc/sys/kernel/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
                    .filter(|h| !h.is_empty())
            })
            .unwrap_or_else(|| "an unknown host".into());
        let who = format!("{user}@{host} (pid {})", std::process::id());
        Holder {
            who: crate::shown::shorten_to(&who, VALUE_LIMIT).into_owned(),
            run: ci_run(&set).map(|url| crate::shown::shorten_to(&url, VALUE_LIMIT).into_owned()),
        }
    }
}

/// The CI run this process is part of, as a link: GitHub Actions, Azure Pipelines, GitLab.
fn ci_run(env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if let (Some(server), Some(repository), Some(run)) = (
        env("GITHUB_SERVER_URL"),
        env("GITHUB_REPOSITORY"),
        env("GITHUB_RUN_ID"),
    ) {
        return Some(format!("{server}/{repository}/actions/runs/{run}"));
    }
    if let (Some(collection), Some(project), Some(build)) = (
        env("SYSTEM_COLLECTIONURI"),
        env("SYSTEM_TEAMPROJECT"),
        env("BUILD_BUILDID"),
    ) {
        let collection = collection.trim_end_matches('/');
        return Some(format!(
            "{collection}/{project}/_build/results?buildId={build}"
        ));
    }
    env("CI_JOB_URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(id: &str, created_at: i64, until: i64) -> Lease {
        Lease {
            id: id.into(),
            created_at,
            until,
            holder: format!("holder of {id}"),
            run: None,
            token: String::new(),
        }
    }

    #[test]
    fn the_oldest_live_lease_holds() {
        let leases = [lease("a", 100, 160), lease("b", 101, 161)];
        assert_eq!(standing(("a", 100), &leases, 101), Standing::Held);
        assert_eq!(
            standing(("b", 101), &leases, 101),
            Standing::Behind(leases[0].clone())
        );
    }

    #[test]
    fn leases_of_one_second_both_step_back_whatever_their_ids() {
        let leases = [lease("a", 100, 160), lease("b", 100, 160)];
        assert_eq!(standing(("a", 100), &leases, 100), Standing::Tied);
        assert_eq!(standing(("b", 100), &leases, 100), Standing::Tied);
    }

    #[test]
    fn a_lease_that_saw_only_itself_holds_and_a_later_one_of_its_second_steps_back() {
        // `a` listed before `b` existed; `b` (same second, smaller id) must not hold too.
        assert_eq!(
            standing(("a", 100), &[lease("a", 100, 160)], 100),
            Standing::Held
        );
        let both = [lease("a", 100, 160), lease("0", 100, 160)];
        assert_eq!(standing(("0", 100), &both, 100), Standing::Tied);
    }

    #[test]
    fn an_expired_lease_is_taken_over() {
        let leases = [lease("old", 10, 70), lease("new", 100, 160)];
        assert_eq!(standing(("new", 100), &leases, 100), Standing::Held);
        // One second before it ends it still holds.
        assert_eq!(
            standing(
                ("new", 69),
                &[lease("old", 10, 70), lease("new", 69, 129)],
                69
            ),
            Standing::Behind(lease("old", 10, 70))
        );
    }

    #[test]
    fn a_listing_without_the_attempts_own_lease_decides_nothing() {
        assert_eq!(
            standing(("mine", 100), &[lease("other", 200, 260)], 100),
            Standing::Unseen
        );
    }

    #[test]
    fn a_lease_reads_its_end_from_its_ttl_until_renewed() {
        let mut eval: Eval = serde_json::from_value(json!({
            "id": "eval_1", "created_at": 1000,
            "metadata": {"evalctl_lock": "p", "evalctl_lock_ttl": "30", "evalctl_lock_holder": "ana@h (pid 1)"},
        }))
        .unwrap();
        let read = Lease::of(&eval, "p").unwrap();
        assert_eq!((read.until, read.holder.as_str()), (1030, "ana@h (pid 1)"));
        assert!(Lease::of(&eval, "other").is_none());
        eval.metadata.insert(UNTIL.into(), "2000".into());
        assert_eq!(Lease::of(&eval, "p").unwrap().until, 2000);
    }

    #[test]
    fn the_holder_names_its_ci_run() {
        let github = |name: &str| match name {
            "USER" => Some("runner".to_string()),
            "HOSTNAME" => Some("fv-az1".to_string()),
            "GITHUB_SERVER_URL" => Some("https://github.com".to_string()),
            "GITHUB_REPOSITORY" => Some("o/r".to_string()),
            "GITHUB_RUN_ID" => Some("42".to_string()),
            _ => None,
        };
        let holder = Holder::of_this_process(&github);
        assert!(holder.who.starts_with("runner@fv-az1 (pid "));
        assert_eq!(
            holder.run.as_deref(),
            Some("https://github.com/o/r/actions/runs/42")
        );
        let pipelines = |name: &str| match name {
            "SYSTEM_COLLECTIONURI" => Some("https://dev.azure.com/org/".to_string()),
            "SYSTEM_TEAMPROJECT" => Some("evals".to_string()),
            "BUILD_BUILDID" => Some("7".to_string()),
            _ => None,
        };
        assert_eq!(
            Holder::of_this_process(&pipelines).run.as_deref(),
            Some("https://dev.azure.com/org/evals/_build/results?buildId=7")
        );
    }
}
