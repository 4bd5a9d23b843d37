//! The server's sync endpoints as plain calls: one function per request, answers parsed into the
//! `shared::sync` wire types. No retry policy here; the engine decides.

use crate::error::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use smartmap_shared::sync::{
    Cursor, DeviceLogin, PROTOCOL_VERSION, PullPage, PushRequest, PushResponse, RefreshRequest, Snapshot, TokenPair,
    tus,
};
use std::time::Duration;

/// The HTTP side of the engine: a client with the configured timeouts and the server's base URL.
#[derive(Debug, Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
}

/// The server's answer to a PATCH or HEAD of an upload, as far as the engine cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadAnswer {
    /// The server holds this many bytes.
    Offset(u64),
    /// The upload is gone (404, 410: expired or lost): create a new one.
    Gone,
    /// The chunk's checksum did not match (460); it was discarded: send it again.
    ChecksumMismatch,
    /// The offset did not match the server's (409): ask with HEAD.
    OffsetConflict,
}

/// How much of an error body is kept in [`Error::Server`].
const BODY_EXCERPT: usize = 300;

async fn server_error(response: Response) -> Error {
    let status = response.status().as_u16();
    let mut body = response.text().await.unwrap_or_default();
    body.truncate(body.char_indices().nth(BODY_EXCERPT).map_or(body.len(), |(i, _)| i));
    Error::Server { status, body }
}

async fn json_or_error<T: DeserializeOwned>(response: Response) -> Result<T> {
    if response.status().is_success() { Ok(response.json().await?) } else { Err(server_error(response).await) }
}

fn header_u64(response: &Response, name: &str) -> Option<u64> {
    response.headers().get(name)?.to_str().ok()?.trim().parse().ok()
}

/// Sending with one immediate retry when the connection failed before any answer: a phone that
/// changed networks finds its pooled connections dead, and the first request on one fails at
/// once. Every request of the protocol is safe to repeat (mutation ids, upload offsets, the
/// refresh grace, GETs), so the retry never does anything twice.
trait SendRetrying {
    async fn send_retrying(self) -> reqwest::Result<Response>;
}

impl SendRetrying for reqwest::RequestBuilder {
    async fn send_retrying(self) -> reqwest::Result<Response> {
        let again = self.try_clone();
        match self.send().await {
            Err(e) if !e.is_timeout() && (e.is_connect() || e.is_request()) => match again {
                Some(again) => {
                    tracing::debug!(error = %e, "the connection failed before an answer; trying once more");
                    again.send().await
                }
                None => Err(e),
            },
            other => other,
        }
    }
}

impl Api {
    /// A client for `base` (e.g. `https://smartmap.tbilisi.gov.ge`) with the given timeouts.
    pub fn new(base: &str, request_timeout: Duration, connect_timeout: Duration) -> Result<Api> {
        let http = reqwest::Client::builder()
            .timeout(request_timeout)
            .connect_timeout(connect_timeout)
            .user_agent(concat!("smartmap-mobile/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Api { http, base: base.trim_end_matches('/').to_owned() })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// An upload's URL from a `Location` header (absolute, or a path on the server).
    pub fn resolve(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_owned()
        } else {
            self.url(location)
        }
    }

    /// `POST /api/auth/login` with a device id. 401 → [`Error::InvalidCredentials`].
    pub async fn login(&self, body: &DeviceLogin) -> Result<TokenPair> {
        let response = self.http.post(self.url("/api/auth/login")).json(body).send_retrying().await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err(Error::InvalidCredentials);
        }
        json_or_error(response).await
    }

    /// `POST /api/auth/logout`.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let response = self.http.post(self.url("/api/auth/logout")).bearer_auth(token).send_retrying().await?;
        if response.status().is_success() { Ok(()) } else { Err(server_error(response).await) }
    }

    /// `POST /api/auth/refresh`. A refused refresh token is `Error::Server` with status 401 (or
    /// 400/403): the caller turns it into "sign in again".
    pub async fn refresh(&self, body: &RefreshRequest) -> Result<TokenPair> {
        let response = self.http.post(self.url("/api/auth/refresh")).json(body).send_retrying().await?;
        json_or_error(response).await
    }

    /// `POST /api/sync/push`.
    pub async fn push(&self, token: &str, body: &PushRequest) -> Result<PushResponse> {
        let response = self
            .http
            .post(self.url("/api/sync/push"))
            .bearer_auth(token)
            .header("Smartmap-Sync", PROTOCOL_VERSION.to_string())
            .json(body)
            .send_retrying()
            .await?;
        json_or_error(response).await
    }

    /// `GET /api/sync/pull`. 410 (cursor expired) is `Error::Server` with status 410.
    pub async fn pull(&self, token: &str, cursor: &Cursor, limit: u32) -> Result<PullPage> {
        let response = self
            .http
            // A cursor is `[A-Za-z0-9-]+.[0-9]+`: nothing in it needs escaping.
            .get(self.url(&format!("/api/sync/pull?cursor={cursor}&limit={limit}")))
            .bearer_auth(token)
            .header("Smartmap-Sync", PROTOCOL_VERSION.to_string())
            .send_retrying()
            .await?;
        json_or_error(response).await
    }

    /// `GET /api/sync/snapshot`.
    pub async fn snapshot(&self, token: &str) -> Result<Snapshot> {
        let response = self
            .http
            .get(self.url("/api/sync/snapshot"))
            .bearer_auth(token)
            .header("Smartmap-Sync", PROTOCOL_VERSION.to_string())
            .send_retrying()
            .await?;
        json_or_error(response).await
    }

    /// tus creation: `POST /api/uploads` → the upload's URL.
    pub async fn create_upload(
        &self,
        token: &str,
        size: u64,
        sha256_hex: &str,
        report: &str,
        kind: &str,
    ) -> Result<String> {
        let metadata = format!(
            "{} {},{} {},{} {}",
            tus::META_SHA256,
            B64.encode(sha256_hex),
            tus::META_REPORT,
            B64.encode(report),
            tus::META_KIND,
            B64.encode(kind)
        );
        let response = self
            .http
            .post(self.url("/api/uploads"))
            .bearer_auth(token)
            .header("Tus-Resumable", tus::VERSION)
            .header("Upload-Length", size.to_string())
            .header("Upload-Metadata", metadata)
            .send_retrying()
            .await?;
        if response.status() != StatusCode::CREATED {
            return Err(server_error(response).await);
        }
        let location = response
            .headers()
            .get("Location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Error::Corrupt("tus creation answered without a Location".into()))?;
        Ok(self.resolve(location))
    }

    /// tus offset: `HEAD <upload>`.
    pub async fn upload_offset(&self, token: &str, url: &str) -> Result<UploadAnswer> {
        let response =
            self.http.head(url).bearer_auth(token).header("Tus-Resumable", tus::VERSION).send_retrying().await?;
        match response.status() {
            s if s.is_success() => header_u64(&response, "Upload-Offset")
                .map(UploadAnswer::Offset)
                .ok_or_else(|| Error::Corrupt("HEAD of an upload without Upload-Offset".into())),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(UploadAnswer::Gone),
            _ => Err(server_error(response).await),
        }
    }

    /// tus append: `PATCH <upload>` with one chunk at `offset`, with its sha256 checksum.
    pub async fn upload_chunk(&self, token: &str, url: &str, offset: u64, chunk: &[u8]) -> Result<UploadAnswer> {
        let checksum = format!("sha256 {}", B64.encode(Sha256::digest(chunk)));
        let response = self
            .http
            .patch(url)
            .bearer_auth(token)
            .header("Tus-Resumable", tus::VERSION)
            .header("Upload-Offset", offset.to_string())
            .header("Upload-Checksum", checksum)
            .header("Content-Type", tus::OFFSET_CONTENT_TYPE)
            .body(chunk.to_vec())
            .send_retrying()
            .await?;
        match response.status() {
            s if s.is_success() => header_u64(&response, "Upload-Offset")
                .map(UploadAnswer::Offset)
                .ok_or_else(|| Error::Corrupt("PATCH answered without Upload-Offset".into())),
            StatusCode::NOT_FOUND | StatusCode::GONE => Ok(UploadAnswer::Gone),
            StatusCode::CONFLICT => Ok(UploadAnswer::OffsetConflict),
            s if s.as_u16() == tus::CHECKSUM_MISMATCH => Ok(UploadAnswer::ChecksumMismatch),
            _ => Err(server_error(response).await),
        }
    }
}
