//! Object ids in the service's formats (`eval_<32 hex>`, `evalrun_…`, `outputitem_…`,
//! `file-…`). Like the real ids, the first 8 hex digits are the creation time; the next 16 are
//! the store's sequence number, so a pagination cursor keeps its place even after the object it
//! names was deleted. The last 8 are random so ids from different stores never collide.

use rand::Rng;

/// Builds an id from its prefix, creation time and sequence number.
pub(crate) fn make(prefix: &str, created_at: i64, seq: u64) -> String {
    let random: u32 = rand::rng().random();
    format!("{prefix}{:08x}{seq:016x}{random:08x}", created_at as u32)
}

/// The sequence number inside an id made by [`make`], if it is one.
pub(crate) fn seq_of(id: &str) -> Option<u64> {
    let hex = id
        .strip_prefix("eval_")
        .or_else(|| id.strip_prefix("evalrun_"))
        .or_else(|| id.strip_prefix("outputitem_"))
        .or_else(|| id.strip_prefix("file-"))?;
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(&hex[8..24], 16).ok()
}

/// A grader id as the service makes it: `<name>-<uuid4>` (`<name>_<uuid4>` on a project).
pub(crate) fn grader(name: &str, separator: char) -> String {
    format!("{name}{separator}{}", uuid::Uuid::new_v4())
}

/// A request id in the flavor's observed format: `req_<32 hex>` for OpenAI's `x-request-id`,
/// a UUID for Azure's `apim-request-id`.
pub(crate) fn request(azure: bool) -> String {
    let id = uuid::Uuid::new_v4();
    if azure {
        id.to_string()
    } else {
        format!("req_{}", id.simple())
    }
}

/// Now, in unix seconds.
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_sequence_number() {
        let id = make("eval_", 1_739_314_509, 42);
        assert!(id.starts_with("eval_67abd54d"));
        assert_eq!(id.len(), "eval_".len() + 32);
        assert_eq!(seq_of(&id), Some(42));
        assert_eq!(seq_of("eval_xyz"), None);
    }
}
