//! Uploading run data: each local file once per content, named after its hash so an
//! upload already on the service (from an earlier apply, or one whose answer was lost) is
//! found through the Files API and reused instead of uploaded again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::once::create_once;
use crate::api::retry::Backoff;
use crate::api::wire::FileObject;
use crate::api::{ApiError, Client};
use crate::plan::{upload_state, Action, DataFileRef, Plan, StartRun, UploadState};

/// The file id of every data file of the plan, or why it could not be uploaded.
pub(crate) struct Uploads {
    by_hash: BTreeMap<String, Result<String, String>>,
}

impl Uploads {
    /// Uploads what the plan's runs need, from `listed` when the caller listed the service's
    /// uploads already.
    pub(crate) async fn prepare(
        client: &Client,
        plan: &Plan,
        listed: Option<&[FileObject]>,
    ) -> Uploads {
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
        let existing = match listed {
            Some(listed) => Ok(listed.to_vec()),
            None => client.list_files().await,
        };
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
    let name = file.upload_name();
    // A file that failed processing or is being deleted must not be reused forever; one
    // still being processed (an earlier apply stopped while it was) is waited for, not
    // uploaded again.
    let named = |state: UploadState| {
        existing
            .iter()
            .find(|f| f.filename == name && upload_state(&f.status) == state)
    };
    if let Some(found) = named(UploadState::Ready) {
        return Ok(found.id.clone());
    }
    if let Some(processing) = named(UploadState::Processing) {
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
    for attempt in 0.. {
        let delay = Backoff::POLL.delay(attempt);
        match upload_state(&file.status) {
            UploadState::Ready => return Ok(file.id),
            UploadState::Unusable => {
                return Err(format!(
                    "the service could not process `{}` (status `{}`)",
                    file.filename, file.status
                ))
            }
            UploadState::Processing if Instant::now() + delay > deadline => break,
            UploadState::Processing => {}
        }
        tokio::time::sleep(delay).await;
        file = client.get_file(&file.id).await.map_err(|e| e.to_string())?;
    }
    Err(format!(
        "`{}` was not processed within {}s",
        file.filename,
        PROCESSING_DEADLINE.as_secs()
    ))
}
