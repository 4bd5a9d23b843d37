//! Resumable photo uploads, as a phone on a bad network makes them (tus 1.0: core, creation,
//! checksum, expiration): a photo goes up in chunks and reaches its report; a cut upload resumes
//! with only the missing tail; everything tus forbids is refused with the status it names; an
//! unfinished upload expires and is swept; an upload survives a restart of the server.

use reqwest::Method;
use smartmap_shared::role::Role;
use smartmap_tests::photos::jpeg;
use smartmap_tests::tus::{VERSION, metadata, metadata_of, sha1_checksum, sha256_checksum};
use smartmap_tests::{Backend, TestApp, spawn_app, spawn_app_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

smartmap_tests::scenarios!(
    anyone_may_ask_what_the_upload_server_supports,
    a_photo_sent_in_chunks_reaches_its_report,
    a_cut_upload_resumes_with_only_the_missing_tail,
    a_chunk_that_fails_its_checksum_is_discarded_and_sent_again,
    a_file_that_is_not_what_its_metadata_promised_is_refused,
    requests_tus_forbids_are_refused_with_the_status_it_names,
    another_users_upload_does_not_exist_for_them,
    an_unfinished_upload_expires_and_is_swept,
    an_upload_survives_a_restart_of_the_server,
);

/// A photo of some tens of kilobytes, so that it goes up in several chunks.
fn big_photo(seed: u8) -> Vec<u8> {
    jpeg(640, 480, seed)
}

fn report_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn anyone_may_ask_what_the_upload_server_supports(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app.send(app.request(Method::OPTIONS, "/api/uploads", None)).await;
    reply.expect(204);
    assert_eq!(reply.header("tus-resumable"), Some(VERSION));
    assert_eq!(reply.header("tus-version"), Some(VERSION));
    let extensions = reply.header("tus-extension").unwrap();
    for extension in ["creation", "checksum", "expiration"] {
        assert!(extensions.split(',').any(|e| e == extension), "{extensions}");
    }
    assert_eq!(reply.header("tus-max-size"), Some(app.state.settings.max_photo_bytes.to_string().as_str()));
    assert_eq!(reply.header("tus-checksum-algorithm"), Some("sha1,sha256"));

    // Browsers: a CORS preflight is answered, and the tus headers are readable by scripts.
    let preflight = app
        .request(Method::OPTIONS, "/api/uploads/0", None)
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "PATCH")
        .header("Access-Control-Request-Headers", "upload-offset,tus-resumable,content-type");
    let preflight = app.send(preflight).await;
    assert!(preflight.status < 300, "preflight → {}", preflight.status);
    assert!(preflight.header("access-control-allow-origin").is_some());
    let resident = app.make_user(Role::Resident, None, None).await;
    let created = app
        .send(
            app.request(Method::POST, "/api/uploads", Some(&resident.token))
                .header("Origin", "https://app.example")
                .header("Tus-Resumable", VERSION)
                .header("Upload-Length", "10")
                .header("Upload-Metadata", metadata(b"0123456789", &report_id(), "report")),
        )
        .await;
    created.expect(201);
    let exposed = created.header("access-control-expose-headers").unwrap().to_lowercase();
    for header in ["location", "upload-offset", "upload-length", "upload-expires", "tus-resumable", "tus-max-size"] {
        assert!(exposed.contains(header), "{header} not exposed: {exposed}");
    }
}

async fn a_photo_sent_in_chunks_reaches_its_report(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let bytes = big_photo(1);
    let report = report_id();
    let created = app.tus_create(&resident.token, bytes.len(), &metadata(&bytes, &report, "report")).await;
    created.expect(201);
    assert_eq!(created.header("tus-resumable"), Some(VERSION));
    let expires = created.header("upload-expires").expect("Upload-Expires");
    assert!(expires.ends_with(" GMT"), "an RFC 9110 date: {expires}");
    let path = created.header("location").unwrap().to_owned();
    assert!(path.starts_with("/api/uploads/"), "{path}");

    let head = app.tus_head(&resident.token, &path).await;
    head.expect(200);
    assert_eq!(head.header("upload-offset"), Some("0"));
    assert_eq!(head.header("upload-length"), Some(bytes.len().to_string().as_str()));
    assert_eq!(head.header("cache-control"), Some("no-store"));
    assert_eq!(head.header("tus-resumable"), Some(VERSION));

    assert_eq!(app.counts().await.blobs, 0);
    let chunks: Vec<&[u8]> = bytes.chunks(bytes.len() / 3 + 1).collect();
    assert_eq!(chunks.len(), 3);
    let mut offset = 0u64;
    for (i, chunk) in chunks.iter().enumerate() {
        // Chunks may carry a checksum in either algorithm, or none.
        let checksum = match i {
            0 => Some(sha1_checksum(chunk)),
            1 => Some(sha256_checksum(chunk)),
            _ => None,
        };
        let reply = app.tus_patch(&resident.token, &path, offset, chunk, checksum.as_deref()).await;
        reply.expect(204);
        offset += chunk.len() as u64;
        assert_eq!(reply.header("upload-offset"), Some(offset.to_string().as_str()));
        assert_eq!(reply.header("tus-resumable"), Some(VERSION));
        assert!(reply.header("upload-expires").is_some());
    }
    assert_eq!(offset, bytes.len() as u64);
    assert_eq!(app.tus_offset(&resident.token, &path).await, offset, "complete: offset = length");
    assert!(app.counts().await.blobs >= 2, "the photo went through the pipeline into the blob store");

    // The phone, unsure whether its upload finished, creates it again: the server answers with
    // the completed upload, and the phone skips it.
    let again = app.tus_create(&resident.token, bytes.len(), &metadata(&bytes, &report, "report")).await;
    again.expect(201);
    assert_eq!(again.header("location"), Some(path.as_str()));
    assert_eq!(app.tus_offset(&resident.token, &path).await, bytes.len() as u64);
    // Another report's upload of the same file is a new upload.
    let other = app.tus_create(&resident.token, bytes.len(), &metadata(&bytes, &report_id(), "report")).await;
    other.expect(201);
    assert_ne!(other.header("location"), Some(path.as_str()));
}

/// Sends the headers of a PATCH for the whole rest of the file but only `sent` of its bytes, then
/// hangs up: what a phone losing its network mid-chunk does.
async fn patch_cut_short(app: &TestApp, token: &str, path: &str, offset: u64, rest: &[u8], sent: usize) {
    let address = app.address.strip_prefix("http://").unwrap();
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "PATCH {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nTus-Resumable: {VERSION}\r\n\
         Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\nContent-Length: {}\r\n\r\n",
        rest.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&rest[..sent]).await.unwrap();
    stream.flush().await.unwrap();
    stream.shutdown().await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
}

async fn a_cut_upload_resumes_with_only_the_missing_tail(backend: Backend) {
    let app = spawn_app(backend).await;
    // A reporter's photo for a report whose mutation has not arrived yet: kept until it does.
    let resident = app.make_user(Role::Resident, None, None).await;
    let bytes = big_photo(2);
    let path = app.tus_upload_path(&resident.token, &bytes, &report_id(), "report").await;
    let cut = bytes.len() * 3 / 10;
    patch_cut_short(&app, &resident.token, &path, 0, &bytes, cut).await;

    // The server kept every byte that arrived before the connection broke, and says so.
    let mut offset = 0;
    for _ in 0..50 {
        offset = app.tus_offset(&resident.token, &path).await;
        if offset == cut as u64 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(offset, cut as u64, "HEAD reports exactly the bytes stored");

    let tail = &bytes[offset as usize..];
    assert_eq!(tail.len() as u64, bytes.len() as u64 - offset, "only the tail is sent again");
    let reply = app.tus_patch(&resident.token, &path, offset, tail, Some(&sha256_checksum(tail))).await;
    reply.expect(204);
    assert_eq!(reply.header("upload-offset"), Some(bytes.len().to_string().as_str()));
    assert!(app.counts().await.blobs >= 2, "the whole photo arrived");
}

async fn a_chunk_that_fails_its_checksum_is_discarded_and_sent_again(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let bytes = big_photo(3);
    let path = app.tus_upload_path(&resident.token, &bytes, &report_id(), "report").await;
    let (first, rest) = bytes.split_at(bytes.len() / 2);
    app.tus_patch(&resident.token, &path, 0, first, Some(&sha256_checksum(first))).await.expect(204);

    // One bit flipped on the way: the checksum is of the bytes the phone meant to send.
    let mut corrupted = rest.to_vec();
    corrupted[10] ^= 0x01;
    let reply =
        app.tus_patch(&resident.token, &path, first.len() as u64, &corrupted, Some(&sha256_checksum(rest))).await;
    reply.expect_problem(460, "checksum_mismatch");
    assert_eq!(reply.header("tus-resumable"), Some(VERSION));
    assert_eq!(app.tus_offset(&resident.token, &path).await, first.len() as u64, "the bad chunk was discarded");
    let sha1_wrong =
        app.tus_patch(&resident.token, &path, first.len() as u64, &corrupted, Some(&sha1_checksum(rest))).await;
    sha1_wrong.expect_problem(460, "checksum_mismatch");
    assert_eq!(app.tus_offset(&resident.token, &path).await, first.len() as u64);

    app.tus_patch(&resident.token, &path, first.len() as u64, rest, Some(&sha256_checksum(rest))).await.expect(204);
    assert_eq!(app.tus_offset(&resident.token, &path).await, bytes.len() as u64);
    assert!(app.counts().await.blobs >= 2);
}

async fn a_file_that_is_not_what_its_metadata_promised_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let promised = big_photo(4);
    let mut sent = promised.clone();
    let middle = sent.len() / 2;
    sent[middle] ^= 0x01;
    let created = app.tus_create(&resident.token, sent.len(), &metadata(&promised, &report_id(), "report")).await;
    created.expect(201);
    let path = created.header("location").unwrap().to_owned();
    let (a, b) = sent.split_at(sent.len() / 2);
    app.tus_patch(&resident.token, &path, 0, a, None).await.expect(204);
    let reply = app.tus_patch(&resident.token, &path, a.len() as u64, b, None).await;
    let problem = reply.expect_problem(460, "checksum_mismatch");
    assert!(problem["detail"].as_str().unwrap().contains("start over"), "{problem}");
    assert_eq!(app.counts().await.blobs, 0, "nothing reached the photo store");
    app.tus_head(&resident.token, &path).await.expect(404);
    assert_dir_has_no_part_files(&app);
}

async fn requests_tus_forbids_are_refused_with_the_status_it_names(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.max_photo_bytes = 200_000).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let token = resident.token.as_str();
    let bytes = big_photo(6);
    let report = report_id();
    let path = app.tus_upload_path(token, &bytes, &report, "report").await;
    app.tus_patch(token, &path, 0, &bytes[..100], None).await.expect(204);

    // An offset other than the server's.
    let wrong = app.tus_patch(token, &path, 50, &bytes[50..150], None).await;
    wrong.expect_problem(409, "offset_mismatch");
    assert_eq!(app.tus_offset(token, &path).await, 100);

    // A body that is not application/offset+octet-stream.
    let json_body = app
        .request(Method::PATCH, &path, Some(token))
        .header("Tus-Resumable", VERSION)
        .header("Upload-Offset", "100")
        .header("Content-Type", "application/json")
        .body(bytes[100..200].to_vec());
    app.send(json_body).await.expect_problem(415, "unsupported_media_type");

    // No Tus-Resumable, or another version.
    for version in [None, Some("0.2.2")] {
        let mut request = app
            .request(Method::PATCH, &path, Some(token))
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Offset", "100")
            .body(bytes[100..200].to_vec());
        if let Some(version) = version {
            request = request.header("Tus-Resumable", version);
        }
        let reply = app.send(request).await;
        reply.expect_problem(412, "unsupported_version");
        assert_eq!(reply.header("tus-version"), Some(VERSION));
    }
    let no_version = app
        .request(Method::POST, "/api/uploads", Some(token))
        .header("Upload-Length", "10")
        .header("Upload-Metadata", metadata(b"0123456789", &report, "report"));
    app.send(no_version).await.expect_problem(412, "unsupported_version");
    assert_eq!(app.tus_offset(token, &path).await, 100, "nothing refused was stored");

    // Larger than Tus-Max-Size: at creation, and a chunk beyond the upload's length.
    let huge = app.tus_create(token, 200_001, &metadata(&bytes, &report, "report")).await;
    huge.expect_field_error(413, "Upload-Length", "too_large");
    let overflow = app.tus_patch(token, &path, 100, &[&bytes[100..], b"extra".as_slice()].concat(), None).await;
    overflow.expect_problem(413, "too_large");
    assert_eq!(app.tus_offset(token, &path).await, 100);

    // Metadata: each required key, and nonsense values, named in the problem.
    let sha = smartmap_shared::sync::sha256_hex(&bytes);
    // (metadata pairs, the field named, the code)
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: [Case; 6] = [
        (vec![("report", &report), ("kind", "report")], "Upload-Metadata.sha256", "required"),
        (vec![("sha256", &sha), ("kind", "report")], "Upload-Metadata.report", "required"),
        (vec![("sha256", &sha), ("report", &report)], "Upload-Metadata.kind", "required"),
        (vec![("sha256", "abc"), ("report", &report), ("kind", "report")], "Upload-Metadata.sha256", "invalid_sha256"),
        (vec![("sha256", &sha), ("report", "#12"), ("kind", "report")], "Upload-Metadata.report", "invalid_uuid"),
        (vec![("sha256", &sha), ("report", &report), ("kind", "selfie")], "Upload-Metadata.kind", "invalid_kind"),
    ];
    for (pairs, field, code) in cases {
        let reply = app.tus_create(token, bytes.len(), &metadata_of(&pairs)).await;
        let problem = reply.expect_problem(400, "invalid_header");
        let named = problem["errors"].as_array().unwrap().iter().any(|e| e["field"] == field && e["code"] == code);
        assert!(named, "expected {field}/{code}: {problem}");
    }
    let no_length = app
        .request(Method::POST, "/api/uploads", Some(token))
        .header("Tus-Resumable", VERSION)
        .header("Upload-Metadata", metadata(&bytes, &report, "report"));
    let problem = app.send(no_length).await.expect_problem(400, "invalid_header");
    assert_eq!(problem["errors"][0]["field"], "Upload-Length");

    // Anonymous callers are refused before anything else, still with Tus-Resumable.
    let anonymous = app.send(app.request(Method::POST, "/api/uploads", None).header("Tus-Resumable", VERSION)).await;
    anonymous.expect_problem(401, "unauthenticated");
    assert_eq!(anonymous.header("tus-resumable"), Some(VERSION));
}

async fn another_users_upload_does_not_exist_for_them(backend: Backend) {
    let app = spawn_app(backend).await;
    let owner = app.make_user(Role::Resident, None, None).await;
    let stranger = app.make_user(Role::Resident, None, None).await;
    let bytes = big_photo(7);
    let path = app.tus_upload_path(&owner.token, &bytes, &report_id(), "report").await;
    app.tus_head(&stranger.token, &path).await.expect(404);
    app.tus_patch(&stranger.token, &path, 0, &bytes[..100], None).await.expect_problem(404, "not_found");
    let delete = app.request(Method::DELETE, &path, Some(&stranger.token)).header("Tus-Resumable", VERSION);
    app.send(delete).await.expect_problem(404, "not_found");
    app.tus_head(&owner.token, "/api/uploads/../../etc/passwd").await.expect(404);
    assert_eq!(app.tus_offset(&owner.token, &path).await, 0, "the owner's upload is untouched");

    // The owner may discard it (tus termination).
    let delete = app.request(Method::DELETE, &path, Some(&owner.token)).header("Tus-Resumable", VERSION);
    app.send(delete).await.expect(204);
    app.tus_head(&owner.token, &path).await.expect(404);
}

fn part_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.state.settings.uploads_dir())
        .map(|entries| entries.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".part")).count())
        .unwrap_or(0)
}

fn assert_dir_has_no_part_files(app: &TestApp) {
    assert_eq!(part_files(app), 0, "no unfinished bytes left in the uploads folder");
}

async fn an_unfinished_upload_expires_and_is_swept(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let bytes = big_photo(8);
    let path = app.tus_upload_path(&resident.token, &bytes, &report_id(), "report").await;
    app.tus_patch(&resident.token, &path, 0, &bytes[..1000], None).await.expect(204);
    assert_eq!(part_files(&app), 1);

    let hours = app.state.settings.upload_expiry_hours;
    app.advance(chrono::Duration::hours(hours) - chrono::Duration::seconds(1));
    assert_eq!(smartmap_server::uploads::sweep_expired(&app.state).await.unwrap(), 0, "not yet");
    assert_eq!(app.tus_offset(&resident.token, &path).await, 1000);
    app.advance(chrono::Duration::seconds(1));
    app.tus_head(&resident.token, &path).await.expect(410);
    app.tus_patch(&resident.token, &path, 1000, &bytes[1000..], None).await.expect_problem(410, "expired");

    assert_eq!(smartmap_server::uploads::sweep_expired(&app.state).await.unwrap(), 1);
    assert_dir_has_no_part_files(&app);
    app.tus_head(&resident.token, &path).await.expect(404);
}

async fn an_upload_survives_a_restart_of_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    let resident = app.make_user(Role::Resident, None, None).await;
    let bytes = big_photo(9);
    let path = app.tus_upload_path(&resident.token, &bytes, &report_id(), "report").await;
    let half = bytes.len() / 2;
    app.tus_patch(&resident.token, &path, 0, &bytes[..half], None).await.expect(204);

    // A new server process on the same database and folders: nothing of the upload lived in memory.
    let replica = app.replica().await;
    let url = format!("{}{path}", replica.address);
    let head = app
        .send(app.client.request(Method::HEAD, &url).bearer_auth(&resident.token).header("Tus-Resumable", VERSION))
        .await;
    head.expect(200);
    assert_eq!(head.header("upload-offset"), Some(half.to_string().as_str()));
    let patch = app
        .client
        .request(Method::PATCH, &url)
        .bearer_auth(&resident.token)
        .header("Tus-Resumable", VERSION)
        .header("Content-Type", "application/offset+octet-stream")
        .header("Upload-Offset", half.to_string())
        .body(bytes[half..].to_vec());
    let reply = app.send(patch).await;
    reply.expect(204);
    assert_eq!(reply.header("upload-offset"), Some(bytes.len().to_string().as_str()));
    assert!(app.counts().await.blobs >= 2);
}
