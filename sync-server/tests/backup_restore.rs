//! `smartmap backup FILE` and `smartmap restore FILE` with the real binary on SQLite: a backup
//! taken while data exists, more data added, then the backup restored — the database is the
//! backup's again, under a new epoch, so phones' cursors from the lost history get 410.

use sqlx::SqlitePool;
use std::process::Command;

fn smartmap(data_dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let out = Command::new(env!("CARGO_BIN_EXE_smartmap"))
        .args(args)
        .env("SMARTMAP__DATA_DIR", data_dir)
        .env_remove("DATABASE_URL")
        .output()
        .expect("running the smartmap binary");
    assert!(out.status.success(), "smartmap {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

/// Opens the database directly; every use closes it again, as a stopped server would have.
async fn open(data_dir: &std::path::Path) -> SqlitePool {
    SqlitePool::connect(&format!("sqlite://{}/smartmap.db", data_dir.display())).await.unwrap()
}

async fn reports_and_epoch(data_dir: &std::path::Path) -> (i64, String) {
    let pool = open(data_dir).await;
    let count = sqlx::query_scalar("SELECT COUNT(*) FROM reports").fetch_one(&pool).await.unwrap();
    let epoch = sqlx::query_scalar("SELECT value FROM sync_meta WHERE key = 'epoch'").fetch_one(&pool).await.unwrap();
    pool.close().await;
    (count, epoch)
}

async fn users_named(data_dir: &std::path::Path, email: &str) -> i64 {
    let pool = open(data_dir).await;
    let n =
        sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = ?").bind(email).fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}

#[tokio::test]
async fn a_restored_backup_brings_the_old_data_back_under_a_new_epoch() {
    let dir = tempfile::tempdir().unwrap();
    smartmap(dir.path(), &["demo", "--reports", "12"]);
    let (before, epoch) = reports_and_epoch(dir.path()).await;
    assert_eq!(before, 12);

    let backup = dir.path().join("backup.db");
    smartmap(dir.path(), &["backup", backup.to_str().unwrap()]);
    assert!(backup.is_file());
    // A backup never overwrites a file.
    let again = Command::new(env!("CARGO_BIN_EXE_smartmap"))
        .args(["backup", backup.to_str().unwrap()])
        .env("SMARTMAP__DATA_DIR", dir.path())
        .env_remove("DATABASE_URL")
        .output()
        .unwrap();
    assert!(!again.status.success());

    // Life goes on after the backup: a resident registers.
    let late = "late@test.smartmap.ge";
    let pool = open(dir.path()).await;
    sqlx::query(
        "INSERT INTO users (id, email, display_name, password_hash, role, created_at) \
         VALUES (randomblob(16), ?, 'Late', 'x', 'resident', 0)",
    )
    .bind(late)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    assert_eq!(users_named(dir.path(), late).await, 1);
    assert_eq!(reports_and_epoch(dir.path()).await.1, epoch, "the same history");

    // The disk is lost; the backup is restored.
    let out = smartmap(dir.path(), &["restore", backup.to_str().unwrap()]);
    let (after, new_epoch) = reports_and_epoch(dir.path()).await;
    assert_eq!(after, 12, "the database is the backup's");
    assert_eq!(users_named(dir.path(), late).await, 0, "what came after the backup is gone");
    assert_ne!(new_epoch, epoch, "a restore starts a new history");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&new_epoch), "the new epoch is printed");
}
