//! `evalctl import`: manifests for evals made outside evalctl, each with `adopt: <id>`, so the
//! next plan shows `<=` (tagged in place, id and runs kept) or a replacement where the
//! service's definition differs from what was written.

use std::io::Write;

use super::session::Session;
use super::{load_valid, runtime};
use crate::api::{self, Fetch, Runs};
use crate::cli::ImportArgs;
use crate::lock::LOCK;
use crate::manifest::import::{import as imported, manifest_text};
use crate::plan::{tags, RemoteEval};
use crate::render::terminal::printable;
use crate::Error;

pub(crate) fn import(
    args: &ImportArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, Error> {
    let project = load_valid(&args.project, false, err)?;
    if let Some(path) = args.out.as_deref().filter(|p| p.exists()) {
        return Err(Error::Usage(format!(
            "`{}` exists; import writes a new file (give another --out, or none for stdout)",
            path.display()
        )));
    }
    let remote = runtime()?.block_on(async {
        let session = Session::open(&project, &args.target, err).await?;
        let fetch = Fetch {
            project: &project.name,
            runs: Runs::None,
        };
        let remote = api::fetch(&session.client, &fetch).await;
        session.close().await;
        Ok::<_, Error>(remote?.evals)
    })?;
    let chosen = choose(&remote, &project, args)?;
    if chosen.is_empty() {
        writeln!(
            err,
            "No eval on the service is unmanaged: nothing to import."
        )
        .map_err(Error::Output)?;
        return Ok(0);
    }
    let taken = project.evals.keys().cloned().collect();
    let evals = imported(&chosen, &taken);
    let header = format!(
        "Imported by `evalctl import` for project {}. Each eval's `adopt:` brings it under\nmanagement in place at the next apply (its id and runs kept); after that it is inert:\nkeep it or delete it.",
        project.name
    );
    let text = manifest_text(&evals, &header);
    match &args.out {
        Some(path) => super::write_whole(path, text.as_bytes())?,
        None => out.write_all(text.as_bytes()).map_err(Error::Output)?,
    }
    for eval in &evals {
        writeln!(
            err,
            "imported {} {} as `{}`",
            printable(&eval.id),
            crate::shown::quoted(&eval.name),
            eval.key
        )
        .map_err(Error::Output)?;
    }
    writeln!(err, "next: `evalctl plan` shows each as `<= adopt` (or a replacement, with the fields that differ)")
        .map_err(Error::Output)?;
    Ok(0)
}

/// The evals asked for: by id (each must exist and be unmanaged), or every unmanaged one.
fn choose<'r>(
    remote: &'r [RemoteEval],
    project: &crate::manifest::Project,
    args: &ImportArgs,
) -> Result<Vec<&'r RemoteEval>, Error> {
    let unmanaged = |eval: &RemoteEval| {
        !eval.metadata.contains_key(tags::PROJECT) && !eval.metadata.contains_key(LOCK)
    };
    // An eval the manifests adopt already is theirs: importing it again would make two keys
    // adopt one eval.
    let adopted_by = |id: &str| {
        project
            .evals
            .iter()
            .find(|(_, eval)| eval.spec.adopt.as_deref() == Some(id))
            .map(|(key, _)| key.clone())
    };
    if args.all_unmanaged {
        return Ok(remote
            .iter()
            .filter(|e| unmanaged(e) && adopted_by(&e.id).is_none())
            .collect());
    }
    let project = project.name.as_str();
    args.ids
        .iter()
        .map(|id| {
            let eval = remote.iter().find(|e| &e.id == id).ok_or_else(|| {
                Error::NotFound(format!("no eval {} on the service", printable(id)))
            })?;
            match eval.tag(tags::PROJECT) {
                None if unmanaged(eval) => match adopted_by(id) {
                    Some(key) => Err(Error::Usage(format!(
                        "{} is adopted by eval `{key}` in the manifests already",
                        printable(id)
                    ))),
                    None => Ok(eval),
                },
                None => Err(Error::Usage(format!(
                    "{} is a lease of evalctl's lock, not an eval to import",
                    printable(id)
                ))),
                Some(owner) if owner == project => Err(Error::Usage(format!(
                    "{} is managed by this project already (key `{}`)",
                    printable(id),
                    printable(eval.key().unwrap_or("-"))
                ))),
                Some(owner) => Err(Error::Usage(format!(
                    "{} is managed by project `{}`; import takes evals no project manages",
                    printable(id),
                    printable(owner)
                ))),
            }
        })
        .collect()
}
