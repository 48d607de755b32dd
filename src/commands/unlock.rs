//! `evalctl force-unlock`: removes the lease an apply left on the project when it died
//! before releasing it (its lease would otherwise block other applies until it expires).

use std::io::Write;

use super::apply::confirm;
use super::session::Session;
use super::{load_valid, runtime};
use crate::cli::ForceUnlockArgs;
use crate::lock;
use crate::render::terminal::printable;
use crate::Error;

pub(crate) fn force_unlock(
    args: &ForceUnlockArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    // Asked before anything is sent: removing the lease of a live apply lets another write
    // beside it.
    confirm(
        args.auto_approve,
        "Remove the lease even if its apply is still running?",
        err,
    )?;
    let removed = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let removed =
            lock::force_unlock(&session.client, &project.name, args.lease.as_deref()).await;
        session.close().await;
        removed.map_err(Error::from)
    })?;
    if removed.is_empty() {
        return match &args.lease {
            Some(id) => Err(Error::NotFound(format!(
                "no lease {} on project `{}`",
                printable(id),
                project.name
            ))),
            None => {
                writeln!(out, "No lease on project {}.", project.name).map_err(Error::Output)?;
                Ok(0)
            }
        };
    }
    for lease in &removed {
        writeln!(
            out,
            "Removed lease {} of {}, taken {}.",
            printable(&lease.id),
            printable(&lease.holder),
            crate::render::utc(lease.created_at)
        )
        .map_err(Error::Output)?;
    }
    Ok(0)
}
