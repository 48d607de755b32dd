//! Taking, renewing and releasing a project's lease on the service, and removing leases by
//! hand (`force-unlock`). The decisions are `super::standing`'s; this is the talking.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::{lease_body, leases, standing, Holder, Lease, Standing, TOKEN, UNTIL};
use parking_lot::Mutex;

use crate::api::{ApiError, Client, WriteGate};
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
/// holding one leaves it to expire. Writes go through `gate()`: once the lease may have
/// lapsed (no renewal confirmed in time, or it was removed), no write is sent.
pub struct Held {
    /// Apart from the work's client: renewals and the release never queue behind it.
    client: Client,
    id: String,
    lost: Arc<AtomicBool>,
    /// Until when this process knows the lease holds, by its own clock.
    deadline: Arc<Mutex<Instant>>,
    renewal: tokio::task::JoinHandle<()>,
}

impl Held {
    /// The lease's eval id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the lease may be gone: a renewal found it removed (`force-unlock`, or taken
    /// over), or none was confirmed in time.
    pub fn lost(&self) -> bool {
        !holds(&self.lost, &self.deadline)
    }

    /// What a client asks before each write: whether the lease still holds.
    pub fn gate(&self) -> WriteGate {
        let (lost, deadline) = (self.lost.clone(), self.deadline.clone());
        Arc::new(move || holds(&lost, &deadline))
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

fn holds(lost: &AtomicBool, deadline: &Mutex<Instant>) -> bool {
    !lost.load(Ordering::Relaxed) && Instant::now() < *deadline.lock()
}

/// How long after a create or renewal was sent this process counts on its lease: the ttl,
/// less a margin for the service clock's lead over the estimate of it and for latency.
fn counted_on(ttl: Duration) -> Duration {
    ttl.saturating_sub((ttl / 6).max(Duration::from_secs(2)))
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
        let mut attempt = Attempt::create(client, project, holder, options.ttl).await?;
        let settled = attempt
            .settle(client, project, options, started, tell)
            .await;
        match settled {
            Ok(Settled::Held) => return Ok(attempt.hold(client, options.ttl)),
            // Its own lease lapsed while it waited (renewals failed): a fresh attempt.
            Ok(Settled::Lapsed) => attempt.abandon(client).await,
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
    Lapsed,
    Behind(Lease, i64),
}

/// One lease created, not yet known to hold.
struct Attempt {
    id: String,
    created_at: i64,
    /// When the service's answer arrived: the service's clock read `created_at` then or
    /// a little earlier, so `created_at` plus the time since never runs ahead of it.
    answered: Instant,
    /// When the last create or renewal that succeeded was sent.
    confirmed: Instant,
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
        let sent = Instant::now();
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
            confirmed: sent,
            metadata,
        })
    }

    async fn settle(
        &mut self,
        client: &Client,
        project: &str,
        options: LockOptions,
        started: Instant,
        tell: &mut dyn FnMut(&str),
    ) -> Result<Settled, LockError> {
        let mut told = false;
        let mut unseen = 0;
        loop {
            let listed = leases(&client.list_evals().await?, project);
            let now = service_now(self.created_at, self.answered);
            let own_live = listed
                .iter()
                .any(|lease| lease.id == self.id && lease.is_live(now));
            let standing = standing((&self.id, self.created_at), &listed, now);
            if standing != Standing::Unseen && !own_live {
                return Ok(Settled::Lapsed);
            }
            match standing {
                Standing::Held => {
                    // Held with a fresh confirmation: a wait may have left the last one old.
                    self.renew_if_due(client, options.ttl, options.ttl / 6)
                        .await?;
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
                    self.renew_if_due(client, options.ttl, options.ttl / 3)
                        .await?;
                    let poll = POLL.min(options.ttl / 6).min(options.wait - waited);
                    tokio::time::sleep(poll).await;
                }
            }
        }
    }

    /// Renews the lease when its last confirmation is older than `due`.
    async fn renew_if_due(
        &mut self,
        client: &Client,
        ttl: Duration,
        due: Duration,
    ) -> Result<(), ApiError> {
        if self.confirmed.elapsed() >= due {
            let sent = Instant::now();
            renew(&client.apart(), self, ttl).await?;
            self.confirmed = sent;
        }
        Ok(())
    }

    fn hold(&self, client: &Client, ttl: Duration) -> Held {
        let client = client.apart();
        let lost = Arc::new(AtomicBool::new(false));
        let deadline = Arc::new(Mutex::new(self.confirmed + counted_on(ttl)));
        let renewal = {
            let (client, lost, deadline) = (client.clone(), lost.clone(), deadline.clone());
            let attempt = Attempt {
                id: self.id.clone(),
                created_at: self.created_at,
                answered: self.answered,
                confirmed: self.confirmed,
                metadata: self.metadata.clone(),
            };
            tokio::spawn(async move {
                // Beats are counted from the last confirmation, so the first renewal comes
                // a third of the ttl after the lease was last confirmed, not after it was held.
                let mut next = attempt.confirmed + ttl / 3;
                loop {
                    tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
                    // A lease not confirmed in time may be another's now: never revive it.
                    if !holds(&lost, &deadline) {
                        lost.store(true, Ordering::Relaxed);
                        return;
                    }
                    let sent = Instant::now();
                    match renew(&client, &attempt, ttl).await {
                        Ok(()) => {
                            *deadline.lock() = sent + counted_on(ttl);
                            next = sent + ttl / 3;
                        }
                        Err(error) if error.status() == Some(404) => {
                            lost.store(true, Ordering::Relaxed);
                            return;
                        }
                        // A failed renewal is tried again soon, while the lease still holds.
                        Err(_) => next = Instant::now() + ttl / 10,
                    }
                }
            })
        };
        Held {
            client,
            id: self.id.clone(),
            lost,
            deadline,
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
