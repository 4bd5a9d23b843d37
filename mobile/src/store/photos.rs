//! Prepared photos and their resumable-upload state.
//!
//! A photo is uploaded only once its mutation is acknowledged (the server then expects it; an
//! early one would be kept too, but a rejected mutation's photos should never leave the phone).
//! After each acknowledged chunk the offset is recorded, so a restart resumes where it stopped.
//! A photo follows its mutation: it is uploaded only under the account its mutation was sent as.

use super::{Store, signed_in_account};
use crate::error::Result;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A photo waiting for (or in the middle of) its upload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoUpload {
    /// Row id.
    pub id: i64,
    /// The mutation that promised it.
    pub mutation_id: String,
    /// The report it belongs to.
    pub report_id: String,
    /// `report` or `proof`.
    pub kind: String,
    /// Hex sha256 of the prepared JPEG.
    pub sha256: String,
    /// Its size in bytes.
    pub size: i64,
    /// The tus upload, once created.
    pub upload_url: Option<String>,
    /// The last offset the server acknowledged.
    pub upload_offset: i64,
    /// Uploaded completely.
    pub done: bool,
    /// The account its mutation belongs to (`None` only for rows older than accounts on the
    /// outbox); the upload is made only under that account's token.
    pub account_id: Option<String>,
}

const COLUMNS: &str = "id, mutation_id, report_id, kind, sha256, size, upload_url, upload_offset, done";

/// `COLUMNS` of `photos p` joined with `outbox o`, and the owning account.
fn joined_columns() -> String {
    let mut columns: Vec<String> = COLUMNS.split(", ").map(|c| format!("p.{c}")).collect();
    columns.push("o.account_id".into());
    columns.join(", ")
}

fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<PhotoUpload> {
    Ok(PhotoUpload {
        id: row.get(0)?,
        mutation_id: row.get(1)?,
        report_id: row.get(2)?,
        kind: row.get(3)?,
        sha256: row.get(4)?,
        size: row.get(5)?,
        upload_url: row.get(6)?,
        upload_offset: row.get(7)?,
        done: row.get(8)?,
        account_id: row.get(9)?,
    })
}

impl Store {
    /// Photos of the signed-in account's acknowledged mutations not uploaded yet, in capture
    /// order (another account's photos wait for it, as its mutations do).
    pub fn photos_to_upload(&self) -> Result<Vec<PhotoUpload>> {
        let account = signed_in_account(&self.conn)?;
        let sql = format!(
            "SELECT {} FROM photos p JOIN outbox o USING (mutation_id)
             WHERE o.state = 'acked' AND p.done = 0 AND (o.account_id IS NULL OR o.account_id = ?1)
             ORDER BY o.device_seq, p.position",
            joined_columns()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([account.map(|a| a.id)], read)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The photos of a report captured on this phone.
    pub fn photos_of_report(&self, report_id: Uuid) -> Result<Vec<PhotoUpload>> {
        let sql = format!(
            "SELECT {} FROM photos p JOIN outbox o USING (mutation_id) WHERE p.report_id = ?1 ORDER BY p.id",
            joined_columns()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([report_id.to_string()], read)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The photos a mutation promised.
    pub fn photos_of_mutation(&self, mutation_id: Uuid) -> Result<Vec<PhotoUpload>> {
        let sql = format!(
            "SELECT {} FROM photos p JOIN outbox o USING (mutation_id) WHERE p.mutation_id = ?1 ORDER BY p.position",
            joined_columns()
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map([mutation_id.to_string()], read)?.collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// The prepared JPEG of a photo.
    pub fn photo_jpeg(&self, id: i64) -> Result<Option<Vec<u8>>> {
        Ok(self.conn.query_row("SELECT jpeg FROM photos WHERE id = ?1", [id], |r| r.get(0)).optional()?)
    }

    /// The thumbnail of a photo, by its sha256 (for the app's lists).
    pub fn photo_thumb(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT thumb FROM photos WHERE sha256 = ?1 LIMIT 1", [sha256], |r| r.get(0))
            .optional()?)
    }

    /// Records a created upload.
    pub fn set_upload_url(&mut self, id: i64, url: &str) -> Result<()> {
        self.conn.execute("UPDATE photos SET upload_url = ?2, upload_offset = 0 WHERE id = ?1", params![id, url])?;
        Ok(())
    }

    /// Records the offset the server acknowledged.
    pub fn set_upload_offset(&mut self, id: i64, offset: i64) -> Result<()> {
        self.conn.execute("UPDATE photos SET upload_offset = ?2 WHERE id = ?1", params![id, offset])?;
        Ok(())
    }

    /// Marks a photo uploaded.
    pub fn mark_uploaded(&mut self, id: i64) -> Result<()> {
        self.conn.execute("UPDATE photos SET done = 1, upload_offset = size WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Forgets an upload the server no longer has (expired, or lost in a restore): the next
    /// attempt creates a new one.
    pub fn reset_upload(&mut self, id: i64) -> Result<()> {
        self.conn.execute("UPDATE photos SET upload_url = NULL, upload_offset = 0, done = 0 WHERE id = ?1", [id])?;
        Ok(())
    }
}
