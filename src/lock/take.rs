//! Taking, renewing and releasing a project's lease on the service, and removing leases by
//! hand (`force-unlock`). The decisions are `super::standing`'s; this is the talking.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{lease_body, leases, standing, Holder, Lease, Standing, TOKEN, UNTIL};
use crate::api::{ApiError, Client};
use crate::plan::tags::Metadata;

/// How a lease is taken.
#[derive(Debug, Clone, Copy)]
pub struct LockOptions {
    /// How long a lease lasts without renewal; renewed every third of it.
    pub ttl: Duration,
    /// How long to wait for another apply's lease (zero: refuse at once).
    pub wait: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{}project `{project}` is locked by another apply: {}", waited_for(*.waited), described(.holder, *.now))]
    Locked {
        project: String,
        /// Boxed: the error travels in every `Result` of a command.
        holder: Box<Lease>,
        /// The service's time as this attempt knew it.
        now: i64,
        waited: Duration,
    },
    #[error("could not take the lock on project `{project}`: another apply took a lease in the same second {attempts} times in a row")]
    Contended { project: String, attempts: u32 },
    #[error("the service does not list the lease evalctl created for project `{project}` (eval {id}); evalctl does not write without seeing it")]
    LeaseNotListed { project: String, id: String },
}

fn waited_for(waited: Duration) -> String {
    match waited.as_secs() {
        0 => String::new(),
        seconds => format!("waited {seconds}s, and "),
    }
}

/// `ana@host (pid 1) since <time> (lease <id>, CI run <url>); it ends in 45s unless renewed`.
fn described(lease: &Lease, now: i64) -> String {
    let run = lease
        .run
        .as_deref()
        .map(|run| format!(", CI run {run}"))
        .unwrap_or_default();
    format!(
        "{} since {} (lease {}{run}); it ends in {}s unless renewed",
        lease.holder,
        crate::render::utc(lease.created_at),
        lease.id,
        (lease.until - now).max(0)
    )
}

/// A lease this process holds. Release it when the writing is done; a process that dies
/// holding one leaves it to expire.
pub struct Held {
    client: Client,
    id: String,
    lost: Arc<AtomicBool>,
    renewal: tokio::task::JoinHandle<()>,
}

impl Held {
    /// The lease's eval id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether a renewal found the lease gone (removed by `force-unlock`, or taken over
    /// after this process could not renew it for a whole ttl).
    pub fn lost(&self) -> bool {
        self.lost.load(Ordering::Relaxed)
    }

    /// Stops renewing and deletes the lease; one already gone is released too.
    pub async fn release(self) -> Result<(), ApiError> {
        self.renewal.abort();
        match self.client.delete_eval(&self.id).await {
            Err(error) if error.status() == Some(404) => Ok(()),
            done => done,
        }
    }
}

/// Ties in a row before giving up: each one means another apply started in the same second.
const MAX_TIES: u32 = 10;
/// How often a waiting attempt lists the leases again.
const POLL: Duration = Duration::from_secs(1);

/// Takes the lease of `project`: at once, or within `options.wait`; `tell` hears that it
/// waits, and for whom.
pub async fn take(
    client: &Client,
    project: &str,
    holder: &Holder,
    options: LockOptions,
    tell: &mut dyn FnMut(&str),
) -> Result<Held, LockError> {
    let started = Instant::now();
    let mut ties = 0;
    loop {
        let attempt = Attempt::create(client, project, holder, options.ttl).await?;
        let settled = attempt
            .settle(client, project, options, started, tell)
            .await;
        match settled {
            Ok(Settled::Held) => return Ok(attempt.hold(client, options.ttl)),
            Ok(Settled::Tied) => {
                attempt.abandon(client).await;
                ties += 1;
                if ties >= MAX_TIES {
                    return Err(LockError::Contended {
                        project: project.to_string(),
                        attempts: ties,
                    });
                }
                // Apart by a random share of a growing span, so the next tries fall in
                // different seconds.
                let span = 1_500 * u64::from(ties.min(4));
                tokio::time::sleep(Duration::from_millis(200 + rand::random::<u64>() % span)).await;
            }
            Ok(Settled::Behind(lease, now)) => {
                attempt.abandon(client).await;
                return Err(LockError::Locked {
                    project: project.to_string(),
                    holder: Box::new(lease),
                    now,
                    waited: started.elapsed(),
                });
            }
            Err(error) => {
                attempt.abandon(client).await;
                return Err(error);
            }
        }
    }
}

enum Settled {
    Held,
    Tied,
    Behind(Lease, i64),
}

/// One lease created, not yet known to hold.
struct Attempt {
    id: String,
    created_at: i64,
    /// When the service's answer arrived: the service's clock read `created_at` then or
    /// a little earlier, so `created_at` plus the time since never runs ahead of it.
    answered: Instant,
    metadata: Metadata,
}

impl Attempt {
    async fn create(
        client: &Client,
        project: &str,
        holder: &Holder,
        ttl: Duration,
    ) -> Result<Attempt, LockError> {
        let token = uuid::Uuid::new_v4().to_string();
        let ttl_seconds = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX).max(1);
        let body = lease_body(project, &token, holder, ttl_seconds);
        let created = match client.create_eval(&body).await {
            Ok(created) => created,
            // The answer was lost, maybe after the lease was made: find it by its token.
            Err(error) if error.maybe_committed() => client
                .list_evals()
                .await?
                .into_iter()
                .find(|eval| eval.metadata.get(TOKEN) == Some(&token))
                .ok_or(error)?,
            Err(error) => return Err(error.into()),
        };
        // Its id goes into every renewal and the release.
        crate::api::path::checked(crate::api::path::IdKind::Eval, &created.id)?;
        let metadata = serde_json::from_value(body["metadata"].clone()).unwrap_or_default();
        Ok(Attempt {
            id: created.id,
            created_at: created.created_at,
            answered: Instant::now(),
            metadata,
        })
    }

    async fn settle(
        &self,
        client: &Client,
        project: &str,
        options: LockOptions,
        started: Instant,
        tell: &mut dyn FnMut(&str),
    ) -> Result<Settled, LockError> {
        let mut told = false;
        let mut renewed = Instant::now();
        let mut unseen = 0;
        loop {
            let listed = leases(&client.list_evals().await?, project);
            let now = service_now(self.created_at, self.answered);
            match standing((&self.id, self.created_at), &listed, now) {
                Standing::Held => {
                    remove_expired(client, &listed, now).await;
                    return Ok(Settled::Held);
                }
                Standing::Tied => return Ok(Settled::Tied),
                Standing::Unseen => {
                    unseen += 1;
                    if unseen > 10 {
                        return Err(LockError::LeaseNotListed {
                            project: project.to_string(),
                            id: self.id.clone(),
                        });
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                Standing::Behind(lease) => {
                    let waited = started.elapsed();
                    if waited >= options.wait {
                        return Ok(Settled::Behind(lease, now));
                    }
                    if !told {
                        told = true;
                        tell(&format!(
                            "waiting up to {}s for the lock on project `{project}`, held by {}",
                            options.wait.as_secs(),
                            described(&lease, now)
                        ));
                    }
                    // While it waits, this attempt keeps its place in line.
                    if renewed.elapsed() >= options.ttl / 3 {
                        renew(client, self, options.ttl).await?;
                        renewed = Instant::now();
                    }
                    tokio::time::sleep(POLL.min(options.wait - waited)).await;
                }
            }
        }
    }

    fn hold(&self, client: &Client, ttl: Duration) -> Held {
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = {
            let (client, lost) = (client.clone(), lost.clone());
            let attempt = Attempt {
                id: self.id.clone(),
                created_at: self.created_at,
                answered: self.answered,
                metadata: self.metadata.clone(),
            };
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(ttl / 3).await;
                    match renew(&client, &attempt, ttl).await {
                        Err(error) if error.status() == Some(404) => {
                            lost.store(true, Ordering::Relaxed);
                            return;
                        }
                        // A failed renewal is tried again at the next beat: the lease
                        // lasts three of them.
                        _ => {}
                    }
                }
            })
        };
        Held {
            client: client.clone(),
            id: self.id.clone(),
            lost,
            renewal,
        }
    }

    /// Deletes the attempt's lease; one left behind expires by itself.
    async fn abandon(&self, client: &Client) {
        let _ = client.delete_eval(&self.id).await;
    }
}

/// The service's time as far as this process knows it (never ahead of it).
fn service_now(created_at: i64, answered: Instant) -> i64 {
    let since = i64::try_from(answered.elapsed().as_secs()).unwrap_or(i64::MAX);
    created_at.saturating_add(since)
}

/// Moves the lease's end to a ttl from now.
async fn renew(client: &Client, attempt: &Attempt, ttl: Duration) -> Result<(), ApiError> {
    let ttl = i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX);
    let until = service_now(attempt.created_at, attempt.answered).saturating_add(ttl);
    let mut metadata = attempt.metadata.clone();
    metadata.insert(UNTIL.to_string(), until.to_string());
    let body: Value = json!({ "metadata": metadata });
    client.update_eval(&attempt.id, &body).await.map(drop)
}

/// Expired leases are left by applies that died; the holder clears them away.
async fn remove_expired(client: &Client, listed: &[Lease], now: i64) {
    for lease in listed.iter().filter(|lease| !lease.is_live(now)) {
        let _ = client.delete_eval(&lease.id).await;
    }
}

/// Removes the project's leases (or only the one with id `only`), whoever holds them, and
/// returns those removed.
pub async fn force_unlock(
    client: &Client,
    project: &str,
    only: Option<&str>,
) -> Result<Vec<Lease>, ApiError> {
    let listed = leases(&client.list_evals().await?, project);
    let mut removed = Vec::new();
    for lease in listed
        .into_iter()
        .filter(|lease| only.is_none_or(|id| lease.id == id))
    {
        match client.delete_eval(&lease.id).await {
            Ok(()) => removed.push(lease),
            Err(error) if error.status() == Some(404) => {}
            Err(error) => return Err(error),
        }
    }
    Ok(removed)
}
