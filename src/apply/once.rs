//! Creating things exactly once over an unreliable network. A create whose response was
//! lost (a timeout, a dropped connection, a 5xx after the service committed) is never simply
//! sent again: the object is first looked up by the identity evalctl gave it (its tags, or
//! a file's content-hash name), and only created again when it is not there.

use crate::api::retry::Backoff;
use crate::api::ApiError;
use std::future::Future;

/// Attempts of a create, counting the first.
const ATTEMPTS: u32 = 6;

/// Runs `create`; after a failure the service may have acted on, asks `lookup` whether the
/// object exists before trying again.
pub(crate) async fn create_once<T, C, CF, L, LF>(
    mut create: C,
    mut lookup: L,
) -> Result<T, ApiError>
where
    C: FnMut() -> CF,
    CF: Future<Output = Result<T, ApiError>>,
    L: FnMut() -> LF,
    LF: Future<Output = Result<Option<T>, ApiError>>,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match create().await {
            Ok(created) => return Ok(created),
            Err(error) if error.maybe_committed() && attempt < ATTEMPTS => {
                // The service may still be carrying the request out (a timeout, a lost
                // answer): let it land before looking, or the look-up misses it.
                tokio::time::sleep(Backoff::RETRY.delay(attempt - 1)).await;
                if let Some(found) = lookup().await? {
                    return Ok(found);
                }
            }
            Err(error) => return Err(error),
        }
    }
}
