//! Uploading run data: each local file once per content, named after its hash so an
//! upload already on the service (from an earlier apply, or one whose answer was lost) is
//! found through the Files API and reused instead of uploaded again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::once::create_once;
use crate::api::wire::FileObject;
use crate::api::{ApiError, Client};
use crate::plan::{Action, DataFileRef, Plan, StartRun};

/// The file id of every data file of the plan, or why it could not be uploaded.
pub(crate) struct Uploads {
    by_hash: BTreeMap<String, Result<String, String>>,
}

/// The name a data file is uploaded under: readable, and unique to its content.
pub(crate) fn upload_name(file: &DataFileRef) -> String {
    let stem = file
        .path
        .file_stem()
        .map_or_else(|| "data".into(), |s| s.to_string_lossy().to_string());
    format!(
        "{stem}.evalctl-{}.jsonl",
        &file.sha256[..file.sha256.len().min(24)]
    )
}

impl Uploads {
    pub(crate) async fn prepare(client: &Client, plan: &Plan) -> Uploads {
        let mut files: BTreeMap<String, DataFileRef> = BTreeMap::new();
        for action in &plan.actions {
            if let Action::StartRun(StartRun {
                data_file: Some(file),
                ..
            }) = action
            {
                files
                    .entry(file.sha256.clone())
                    .or_insert_with(|| file.clone());
            }
        }
        let mut by_hash = BTreeMap::new();
        if files.is_empty() {
            return Uploads { by_hash };
        }
        let existing = client.list_files().await;
        for (hash, file) in files {
            let result = match &existing {
                Err(error) => Err(format!("could not list uploaded files: {error}")),
                Ok(existing) => ensure(client, &file, existing).await,
            };
            by_hash.insert(hash, result);
        }
        Uploads { by_hash }
    }

    /// The run's data source as the service wants it: a `file` source becomes `file_id`.
    pub(crate) fn data_source(&self, run: &StartRun) -> Result<Value, String> {
        let mut data_source = Value::clone(&run.data_source);
        let Some(file) = &run.data_file else {
            return Ok(data_source);
        };
        match self.by_hash.get(&file.sha256) {
            Some(Ok(id)) => {
                data_source["source"] = json!({"type": "file_id", "id": id});
                Ok(data_source)
            }
            Some(Err(reason)) => Err(format!(
                "data file `{}` was not uploaded: {reason}",
                file.display
            )),
            None => Err(format!("data file `{}` was not uploaded", file.display)),
        }
    }
}

async fn ensure(
    client: &Client,
    file: &DataFileRef,
    existing: &[FileObject],
) -> Result<String, String> {
    let name = upload_name(file);
    // A file that failed processing or is being deleted must not be reused forever; one
    // still being processed (an earlier apply stopped while it was) is waited for, not
    // uploaded again.
    let named = |statuses: &[&str]| {
        existing
            .iter()
            .find(|f| f.filename == name && statuses.contains(&f.status.as_str()))
    };
    if let Some(found) = named(&["processed", "uploaded", ""]) {
        return Ok(found.id.clone());
    }
    if let Some(processing) = named(&["pending", "running"]) {
        return ready(client, processing.clone()).await;
    }
    let bytes =
        std::fs::read(&file.path).map_err(|e| format!("cannot read `{}`: {e}", file.display))?;
    if format!("{:x}", Sha256::digest(&bytes)) != file.sha256 {
        return Err(format!(
            "`{}` changed since the plan was made; plan again",
            file.display
        ));
    }
    let lookup = || async {
        let files = client.list_files().await?;
        Ok::<_, ApiError>(files.into_iter().find(|f| f.filename == name))
    };
    let uploaded = create_once(|| client.upload_file(&name, bytes.clone()), lookup)
        .await
        .map_err(|e| e.to_string())?;
    ready(client, uploaded).await
}

/// How long a new upload may take to be processed before its runs are given up.
const PROCESSING_DEADLINE: Duration = Duration::from_secs(600);

/// Waits until the service has processed an upload: Azure processes files asynchronously
/// (`pending`, `running`, then `processed`), and a run started before that fails.
async fn ready(client: &Client, mut file: FileObject) -> Result<String, String> {
    let deadline = Instant::now() + PROCESSING_DEADLINE;
    let mut delay = Duration::from_millis(250);
    loop {
        match file.status.as_str() {
            "processed" | "uploaded" | "" => return Ok(file.id),
            "error" | "deleting" | "deleted" => {
                return Err(format!(
                    "the service could not process `{}` (status `{}`)",
                    file.filename, file.status
                ))
            }
            _ if Instant::now() + delay > deadline => {
                return Err(format!(
                    "`{}` was not processed within {}s",
                    file.filename,
                    PROCESSING_DEADLINE.as_secs()
                ))
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
        file = client.get_file(&file.id).await.map_err(|e| e.to_string())?;
    }
}
