//! Uploaded files in the store: their File objects and bytes.

use super::disk::FILES;
use super::{FileEntry, Store};
use crate::emulator::errors::ApiError;
use crate::emulator::ids;
use crate::emulator::objects::FileObject;
use crate::emulator::pagination::{range_after, take_page, ListParams};

/// A validated upload.
pub(crate) struct NewFile {
    pub(crate) filename: String,
    pub(crate) purpose: String,
    pub(crate) expires_after: Option<i64>,
    pub(crate) content: axum::body::Bytes,
    /// How long it stays `pending`.
    pub(crate) processing: std::time::Duration,
}

impl Store {
    pub(crate) fn create_file(&mut self, new: NewFile) -> Result<FileObject, ApiError> {
        let seq = self.next_seq();
        let created_at = ids::now();
        let file = FileObject {
            object: "file".into(),
            id: ids::make("file-", created_at, seq),
            purpose: new.purpose,
            filename: new.filename,
            bytes: new.content.len() as u64,
            created_at,
            expires_at: new.expires_after.map(|seconds| created_at + seconds),
            // Uploads are checked when a run uses them; `pending` is shown while the
            // configured processing time runs.
            status: "processed".into(),
            status_details: None,
        };
        // The bytes first: a File object on disk always has its content.
        self.persist(|disk| {
            disk.put(FILES, &format!("{}.content", file.id), &new.content)?;
            disk.put_json(FILES, &file.id, &file)
        })?;
        let entry = FileEntry {
            file,
            content: new.content,
            pending_until: (!new.processing.is_zero())
                .then(|| std::time::Instant::now() + new.processing),
        };
        let shown = entry.object();
        self.insert_file(seq, entry);
        Ok(shown)
    }

    pub(crate) fn insert_file(&mut self, seq: u64, entry: FileEntry) {
        self.file_ids.insert(entry.file.id.clone(), seq);
        self.files.insert(seq, entry);
    }

    pub(crate) fn file(&self, id: &str) -> Result<&FileEntry, ApiError> {
        self.file_ids
            .get(id)
            .and_then(|seq| self.files.get(seq))
            .ok_or_else(|| ApiError::not_found("file", id))
    }

    pub(crate) fn delete_file(&mut self, id: &str) -> Result<(), ApiError> {
        let seq = *self
            .file_ids
            .get(id)
            .ok_or_else(|| ApiError::not_found("file", id))?;
        self.persist(|disk| {
            disk.remove_json(FILES, id)?;
            disk.remove(FILES, &format!("{id}.content"))
        })?;
        self.files.remove(&seq);
        self.file_ids.remove(id);
        Ok(())
    }

    pub(crate) fn list_files(
        &self,
        params: &ListParams,
    ) -> Result<(Vec<FileObject>, bool), ApiError> {
        let after = params.after_seq()?;
        let purpose = params.filter("purpose");
        let files = range_after(&self.files, after, params.order)
            .map(|(_, entry)| entry)
            .filter(|entry| purpose.is_none_or(|p| entry.file.purpose == p));
        let (page, has_more) = take_page(files, params.limit);
        Ok((page.into_iter().map(FileEntry::object).collect(), has_more))
    }
}
