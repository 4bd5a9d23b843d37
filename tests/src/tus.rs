//! A small tus 1.0 client for the upload scenarios: creation, offset, append, with the headers
//! written out so a test can leave one out or get one wrong on purpose.

use crate::{Reply, TestApp};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use reqwest::Method;
use sha2::Digest;

/// `Tus-Resumable`'s value.
pub const VERSION: &str = "1.0.0";

/// `Upload-Metadata` for a photo of `report`: `sha256` (of `bytes`), `report`, `kind`.
pub fn metadata(bytes: &[u8], report: &str, kind: &str) -> String {
    metadata_of(&[
        ("sha256", &smartmap_shared::sync::sha256_hex(bytes)),
        ("report", report),
        ("kind", kind),
        ("filename", "photo.jpg"),
    ])
}

/// `Upload-Metadata` from `(key, value)` pairs, values base64-encoded.
pub fn metadata_of(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k} {}", STANDARD.encode(v))).collect::<Vec<_>>().join(",")
}

/// `Upload-Checksum: sha256 <base64>` of `chunk`.
pub fn sha256_checksum(chunk: &[u8]) -> String {
    format!("sha256 {}", STANDARD.encode(sha2::Sha256::digest(chunk)))
}

/// `Upload-Checksum: sha1 <base64>` of `chunk`.
pub fn sha1_checksum(chunk: &[u8]) -> String {
    format!("sha1 {}", STANDARD.encode(sha1::Sha1::digest(chunk)))
}

impl TestApp {
    /// `POST /api/uploads` with `Upload-Length` and `Upload-Metadata`.
    pub async fn tus_create(&self, token: &str, length: usize, metadata: &str) -> Reply {
        let request = self
            .request(Method::POST, "/api/uploads", Some(token))
            .header("Tus-Resumable", VERSION)
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata);
        self.send(request).await
    }

    /// Creates an upload of `bytes` for `report` and returns its path (`/api/uploads/<id>`).
    pub async fn tus_upload_path(&self, token: &str, bytes: &[u8], report: &str, kind: &str) -> String {
        let reply = self.tus_create(token, bytes.len(), &metadata(bytes, report, kind)).await;
        reply.expect(201);
        reply.header("location").expect("a Location").to_owned()
    }

    /// `HEAD <path>`.
    pub async fn tus_head(&self, token: &str, path: &str) -> Reply {
        self.send(self.request(Method::HEAD, path, Some(token)).header("Tus-Resumable", VERSION)).await
    }

    /// The `Upload-Offset` a HEAD reports (asserting 200).
    pub async fn tus_offset(&self, token: &str, path: &str) -> u64 {
        let reply = self.tus_head(token, path).await;
        reply.expect(200);
        reply.header("upload-offset").expect("an Upload-Offset").parse().expect("a number")
    }

    /// `PATCH <path>` with `chunk` at `offset`, and `Upload-Checksum` if given.
    pub async fn tus_patch(&self, token: &str, path: &str, offset: u64, chunk: &[u8], checksum: Option<&str>) -> Reply {
        let mut request = self
            .request(Method::PATCH, path, Some(token))
            .header("Tus-Resumable", VERSION)
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", offset.to_string())
            .body(chunk.to_vec());
        if let Some(checksum) = checksum {
            request = request.header("Upload-Checksum", checksum);
        }
        self.send(request).await
    }
}
