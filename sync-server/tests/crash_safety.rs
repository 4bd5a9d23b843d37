//! An accepted report survives the server being killed, and retries store every report exactly
//! once. The real binary is started on a fresh SQLite database, flooded with submissions that
//! carry client-minted ids, killed with SIGKILL in the middle, and started again.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const REPORTS: usize = 300;

/// Starts `smartmap serve` on `dir` and waits for the line that prints its URL.
fn start(dir: &std::path::Path) -> (Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_smartmap"))
        .args(["serve", "--no-demo"])
        .env("SMARTMAP__DATA_DIR", dir)
        .env("SMARTMAP__BIND", format!("127.0.0.1:{port}"))
        .env("SMARTMAP__OVERDUE_SWEEP_SECONDS", "0")
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting the smartmap binary");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = lines.find_map(|l| l.ok().filter(|l| l.contains("running at"))).expect("the server printed its URL");
    assert!(line.contains(&port.to_string()), "{line}");
    (child, format!("http://127.0.0.1:{port}"))
}

fn report(id: uuid::Uuid, i: usize) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "category": "cleaning",
        // Spread over central Tbilisi (inside the demo districts' box).
        "location": { "lat": 41.70 + (i % 50) as f64 * 0.001, "lon": 44.78 + (i / 50) as f64 * 0.002 },
        "description": format!("ნაგავი #{i} / Rubbish #{i}"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepted_reports_survive_a_kill_and_retries_store_each_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, base) = start(dir.path());
    let client = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let account = client
        .post(format!("{base}/api/auth/register"))
        .json(&serde_json::json!({ "email": "nino@example.ge", "password": "crash-test-password", "display_name": "Nino" }))
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), 201);
    let token = account.json::<serde_json::Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let ids: Vec<uuid::Uuid> = (0..REPORTS).map(|_| uuid::Uuid::now_v7()).collect();

    // Flood the server from 16 clients; kill it as soon as a third of the reports are accepted.
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for chunk in ids.iter().copied().enumerate().collect::<Vec<_>>().chunks(REPORTS / 16 + 1) {
        let (client, base, token, accepted) = (client.clone(), base.clone(), token.clone(), accepted.clone());
        let chunk = chunk.to_vec();
        tasks.push(tokio::spawn(async move {
            for (i, id) in chunk {
                match client.post(format!("{base}/api/reports")).bearer_auth(&token).json(&report(id, i)).send().await {
                    Ok(res) if res.status() == 201 => accepted.lock().unwrap().push(id),
                    Ok(res) => panic!("report {i}: unexpected {}", res.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    while accepted.lock().unwrap().len() < REPORTS / 3 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill().unwrap(); // SIGKILL: no shutdown, no flush
    server.wait().unwrap();
    for t in tasks {
        t.await.unwrap();
    }
    let accepted = accepted.lock().unwrap().clone();
    assert!(accepted.len() < REPORTS, "the kill came too late to test anything");

    // Every report answered 201 before the kill is there after a restart.
    let (mut server, base) = start(dir.path());
    for id in &accepted {
        let res = client.get(format!("{base}/api/reports/{id}")).send().await.unwrap();
        assert_eq!(res.status(), 200, "accepted report {id} was lost");
    }

    // The phone retries everything it has no answer for — and, to be sure, everything else too:
    // stored reports answer 200 (the same report), the rest are stored now.
    let mut replayed = 0;
    let mut created = 0;
    for (i, id) in ids.iter().enumerate() {
        let res =
            client.post(format!("{base}/api/reports")).bearer_auth(&token).json(&report(*id, i)).send().await.unwrap();
        match res.status().as_u16() {
            200 => replayed += 1,
            201 => created += 1,
            other => panic!("retry of report {i}: {other}"),
        }
    }
    eprintln!(
        "{} accepted before the kill; after it, {replayed} found stored (accepted or in flight), {created} stored now",
        accepted.len()
    );
    assert!(replayed >= accepted.len(), "{replayed} replayed, {} were accepted", accepted.len());
    assert_eq!(replayed + created, REPORTS);

    let mine: serde_json::Value =
        client.get(format!("{base}/api/me/reports")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let mut stored: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    stored.sort();
    stored.dedup();
    assert_eq!(stored.len(), REPORTS, "every report exactly once");
    assert_eq!(mine["items"].as_array().unwrap().len(), REPORTS, "no report twice");
    server.kill().unwrap();
    server.wait().unwrap();
}
