//! The tus request headers an upload is described by, parsed at the edge: `Upload-Metadata`
//! (comma-separated `key base64value` pairs) into [`PhotoUploadMetadata`], and `Upload-Checksum`
//! (`sha1|sha256 <base64>`) into a [`Checksum`]. Errors are 400s naming the header or key.

use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use smartmap_shared::ids::ReportId;
use smartmap_shared::sync::tus;
use std::collections::BTreeMap;

/// The metadata a photo upload must carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhotoUploadMetadata {
    /// Hex sha256 (lowercase) of the whole file.
    pub sha256: String,
    /// The report the photo belongs to.
    pub report: ReportId,
    /// `report` or `proof`.
    pub kind: String,
    /// The original file name, informational.
    pub filename: Option<String>,
}

fn metadata_error(key: &str, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::header(format!("Upload-Metadata.{key}"), code, message)
}

/// Splits an `Upload-Metadata` value into its keys and decoded values (a key may have no value).
pub fn parse_pairs(raw: &str) -> Result<BTreeMap<String, Option<Vec<u8>>>, ApiError> {
    let mut pairs = BTreeMap::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once(' ') {
            Some((key, value)) => (key, Some(value.trim())),
            None => (pair, None),
        };
        if key.is_empty() || !key.is_ascii() || key.contains(char::is_whitespace) {
            return Err(ApiError::header("Upload-Metadata", "invalid_metadata", format!("bad key in {pair:?}")));
        }
        let value = value
            .map(|v| STANDARD.decode(v))
            .transpose()
            .map_err(|_| metadata_error(key, "invalid_base64", "the value is not base64"))?;
        if pairs.insert(key.to_owned(), value).is_some() {
            return Err(metadata_error(key, "duplicate_key", "the key appears twice"));
        }
    }
    Ok(pairs)
}

/// Parses the `Upload-Metadata` of a photo upload: `sha256`, `report` and `kind` are required.
pub fn parse_photo_metadata(raw: Option<&str>) -> Result<PhotoUploadMetadata, ApiError> {
    let pairs = parse_pairs(raw.unwrap_or(""))?;
    let text = |key: &str| -> Result<Option<String>, ApiError> {
        match pairs.get(key) {
            None | Some(None) => Ok(None),
            Some(Some(bytes)) => String::from_utf8(bytes.clone())
                .map(Some)
                .map_err(|_| metadata_error(key, "invalid_utf8", "the value is not UTF-8 text")),
        }
    };
    let required = |key: &str| -> Result<String, ApiError> {
        text(key)?.ok_or_else(|| metadata_error(key, "required", format!("the `{key}` metadata is required")))
    };
    let sha256 = required(tus::META_SHA256)?.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(metadata_error(tus::META_SHA256, "invalid_sha256", "64 hex digits: the sha256 of the whole file"));
    }
    let report = required(tus::META_REPORT)?;
    let report = uuid::Uuid::parse_str(&report)
        .map(ReportId)
        .map_err(|_| metadata_error(tus::META_REPORT, "invalid_uuid", "the report's id, a UUID"))?;
    let kind = required(tus::META_KIND)?;
    if kind != "report" && kind != "proof" {
        return Err(metadata_error(tus::META_KIND, "invalid_kind", "`report` or `proof`"));
    }
    let filename = text(tus::META_FILENAME)?;
    Ok(PhotoUploadMetadata { sha256, report, kind, filename })
}

/// A chunk's announced checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// `sha1 <base64>`.
    Sha1(Vec<u8>),
    /// `sha256 <base64>`.
    Sha256(Vec<u8>),
}

impl Checksum {
    /// Parses `Upload-Checksum`. An unsupported algorithm or a malformed digest is a 400.
    pub fn parse(raw: &str) -> Result<Checksum, ApiError> {
        let bad = |message: &str| ApiError::header("Upload-Checksum", "invalid_checksum", message);
        let (algorithm, digest) = raw.trim().split_once(' ').ok_or_else(|| bad("`<algorithm> <base64 digest>`"))?;
        let digest = STANDARD.decode(digest.trim()).map_err(|_| bad("the digest is not base64"))?;
        let (checksum, size) = match algorithm {
            "sha1" => (Checksum::Sha1(digest.clone()), 20),
            "sha256" => (Checksum::Sha256(digest.clone()), 32),
            _ => return Err(bad("supported algorithms: sha1, sha256")),
        };
        if digest.len() != size {
            return Err(bad("the digest has the wrong length for its algorithm"));
        }
        Ok(checksum)
    }

    /// A hasher for this checksum's algorithm.
    pub fn hasher(&self) -> ChunkHasher {
        match self {
            Checksum::Sha1(_) => ChunkHasher::Sha1(Sha1::new()),
            Checksum::Sha256(_) => ChunkHasher::Sha256(Sha256::new()),
        }
    }

    /// Whether `hasher` (fed the whole chunk) produced this digest.
    pub fn matches(&self, hasher: ChunkHasher) -> bool {
        match (self, hasher) {
            (Checksum::Sha1(want), ChunkHasher::Sha1(h)) => h.finalize().as_slice() == want.as_slice(),
            (Checksum::Sha256(want), ChunkHasher::Sha256(h)) => h.finalize().as_slice() == want.as_slice(),
            _ => false,
        }
    }
}

/// A running hash over a chunk as it streams in.
pub enum ChunkHasher {
    /// SHA-1.
    Sha1(Sha1),
    /// SHA-256.
    Sha256(Sha256),
}

impl ChunkHasher {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            ChunkHasher::Sha1(h) => h.update(bytes),
            ChunkHasher::Sha256(h) => h.update(bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        STANDARD.encode(s)
    }

    fn field_of(e: ApiError) -> String {
        match e {
            ApiError::BadHeader(errors) => errors[0].field.clone(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn photo_metadata_needs_sha256_report_and_kind() {
        let sha = "ab".repeat(32);
        let report = "0192f0c1-0000-7000-8000-000000000000";
        let raw = format!(
            "sha256 {},report {},kind {},filename {},is_confidential",
            b64(&sha),
            b64(report),
            b64("proof"),
            b64("ფოტო.jpg")
        );
        let m = parse_photo_metadata(Some(&raw)).unwrap();
        assert_eq!(m.sha256, sha);
        assert_eq!(m.report.0.to_string(), report);
        assert_eq!(m.kind, "proof");
        assert_eq!(m.filename.as_deref(), Some("ფოტო.jpg"));

        let without_kind = format!("sha256 {},report {}", b64(&sha), b64(report));
        assert_eq!(field_of(parse_photo_metadata(Some(&without_kind)).unwrap_err()), "Upload-Metadata.kind");
        assert_eq!(field_of(parse_photo_metadata(None).unwrap_err()), "Upload-Metadata.sha256");
        let bad_report = format!("sha256 {},report {},kind {}", b64(&sha), b64("nope"), b64("report"));
        assert_eq!(field_of(parse_photo_metadata(Some(&bad_report)).unwrap_err()), "Upload-Metadata.report");
        assert_eq!(field_of(parse_photo_metadata(Some("sha256 !!!")).unwrap_err()), "Upload-Metadata.sha256");
    }

    #[test]
    fn checksums_verify_their_chunk() {
        let digest = STANDARD.encode(Sha256::digest(b"chunk"));
        let c = Checksum::parse(&format!("sha256 {digest}")).unwrap();
        let mut h = c.hasher();
        h.update(b"chu");
        h.update(b"nk");
        assert!(c.matches(h));
        let mut h = c.hasher();
        h.update(b"chunK");
        assert!(!c.matches(h));
        let sha1 = STANDARD.encode(Sha1::digest(b"chunk"));
        assert!(Checksum::parse(&format!("sha1 {sha1}")).is_ok());
        assert!(Checksum::parse(&format!("md5 {sha1}")).is_err());
        assert!(Checksum::parse("sha256 AAAA").is_err());
    }
}
