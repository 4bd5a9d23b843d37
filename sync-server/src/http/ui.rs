//! The web UI: the built Svelte app (`ui_dir`, by default `ui/dist`) served at `/` and its files
//! beside it, or — when the UI is not built — a small server-rendered page that says so.
//!
//! The UI routes by the URL's fragment (`/#/report/…`), so every page is `/` and no path needs
//! an SPA fallback: a file that is not there is the API's JSON 404. Paths under `/api/`,
//! `/open311/` and `/media/` never reach the UI folder.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::response::{Html, IntoResponse, Response};
use std::path::{Path, PathBuf};

/// Prefixes that belong to the API, whatever the UI folder holds.
const RESERVED: [&str; 3] = ["/api/", "/open311/", "/media/"];

/// `GET /`: the UI's `index.html` (revalidated on every load, so a new build is picked up at
/// once), or the server-rendered page when the UI is not built.
pub async fn index(State(state): State<AppState>) -> Response {
    let index = state.settings.ui_dir.join("index.html");
    match tokio::fs::read(&index).await {
        Ok(bytes) => file_response(bytes, "index.html"),
        Err(_) => Html(include_str!("index.html")).into_response(),
    }
}

/// Every request no route matched: a file of the built UI for a GET or HEAD outside the API's
/// prefixes, else the API's JSON 404.
pub async fn fallback(State(state): State<AppState>, request: Request) -> Response {
    let method = request.method();
    if (*method != Method::GET && *method != Method::HEAD)
        || RESERVED.iter().any(|prefix| request.uri().path().starts_with(prefix))
    {
        return ApiError::NotFound("route").into_response();
    }
    let ui_dir = &state.settings.ui_dir;
    let Some(file) = ui_file(ui_dir, request.uri().path()) else {
        return ApiError::NotFound("route").into_response();
    };
    // Only a built UI is served: its index.html is what marks a folder as one.
    if !tokio::fs::try_exists(ui_dir.join("index.html")).await.unwrap_or(false) {
        return ApiError::NotFound("route").into_response();
    }
    match tokio::fs::read(&file).await {
        Ok(bytes) => file_response(bytes, request.uri().path()),
        Err(_) => ApiError::NotFound("route").into_response(),
    }
}

/// The file under `ui_dir` a URL path names, or `None` if the path could step outside it or
/// names something hidden: every segment must be a plain name (no `.`/`..`, no leading dot, no
/// backslash, no percent-escapes — Vite's file names need none).
fn ui_file(ui_dir: &Path, url_path: &str) -> Option<PathBuf> {
    let relative = url_path.strip_prefix('/')?;
    let mut file = ui_dir.to_path_buf();
    for segment in relative.split('/') {
        let plain = !segment.is_empty()
            && !segment.starts_with('.')
            && !segment.contains(['\\', '%', '\0', ':'])
            && segment.len() <= 255;
        if !plain {
            return None;
        }
        file.push(segment);
    }
    Some(file)
}

/// A UI file with its content type and caching: `assets/` holds Vite's content-hashed names,
/// cacheable for good; everything else (`index.html`, the web manifest, icons) is revalidated.
fn file_response(bytes: Vec<u8>, url_path: &str) -> Response {
    let immutable = url_path.starts_with("/assets/");
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(url_path)));
    let cache = if immutable { "public, max-age=31536000, immutable" } else { "no-cache" };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

/// The content type of a UI file, by its extension.
fn content_type(path: &str) -> &'static str {
    let extension = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match extension.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "webmanifest" => "application/manifest+json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "txt" => "text/plain; charset=utf-8",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_inside_the_folder_name_files() {
        let dir = Path::new("/srv/ui");
        assert_eq!(ui_file(dir, "/assets/index-3f2a.js"), Some(PathBuf::from("/srv/ui/assets/index-3f2a.js")));
        assert_eq!(ui_file(dir, "/favicon.svg"), Some(PathBuf::from("/srv/ui/favicon.svg")));
        for bad in ["/", "/../etc/passwd", "/assets/../../x", "/.env", "/a//b", "/%2e%2e/x", "/a\\b", "/assets/"] {
            assert_eq!(ui_file(dir, bad), None, "{bad}");
        }
    }

    #[test]
    fn content_types_cover_what_vite_emits() {
        assert_eq!(content_type("/assets/noto-sans-georgian-400.woff2"), "font/woff2");
        assert_eq!(content_type("/icon.svg"), "image/svg+xml");
        assert_eq!(content_type("/manifest.webmanifest"), "application/manifest+json");
        assert_eq!(content_type("/assets/index-3f2a.JS"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("/LICENSE"), "application/octet-stream");
    }
}
