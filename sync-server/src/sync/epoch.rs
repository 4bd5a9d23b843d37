//! The database's epoch: the name of one history of its data, part of every sync cursor. A
//! restore from a backup starts a new history, so phones holding cursors of the old one get 410
//! at their next pull, take a snapshot and re-push what the backup may have lost.

use crate::config::Settings;
use crate::storage::{self, Storage};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// Gives the database a new epoch; returns it.
pub async fn new_epoch(storage: &dyn Storage) -> anyhow::Result<String> {
    let epoch = uuid::Uuid::now_v7().simple().to_string();
    storage.replace_sync_epoch(&epoch).await?;
    Ok(epoch)
}

/// The SQLite database file of `settings`, or `None` for PostgreSQL.
fn sqlite_file(settings: &Settings) -> Option<PathBuf> {
    let url = settings.database_url();
    let path = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    Some(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// Writes a consistent copy of the database to `file` while the server may keep running
/// (SQLite: `VACUUM INTO`; PostgreSQL: use `pg_dump`).
pub async fn backup(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(!file.exists(), "{} exists already; a backup never overwrites", file.display());
    let storage = storage::connect(&settings.database_url()).await?;
    storage.backup_into(file).await.with_context(|| format!("backing up into {}", file.display()))?;
    Ok(())
}

/// Replaces the database with the backup `file` (SQLite; the server must be stopped), then gives
/// it a new epoch. Returns the epoch. For PostgreSQL, restore with `pg_restore` and run
/// `smartmap new-epoch`.
pub async fn restore(settings: &Settings, file: &Path) -> anyhow::Result<String> {
    let Some(target) = sqlite_file(settings) else {
        anyhow::bail!("restore PostgreSQL with pg_restore, then run `smartmap new-epoch`");
    };
    anyhow::ensure!(file.is_file(), "{} is not a backup file", file.display());
    if let Some(dir) = target.parent() {
        std::fs::create_dir_all(dir)?;
    }
    // The old history's write-ahead log must not be replayed over the restored file.
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", target.display()));
        if side.exists() {
            std::fs::remove_file(&side).with_context(|| format!("removing {}", side.display()))?;
        }
    }
    std::fs::copy(file, &target).with_context(|| format!("copying {} over {}", file.display(), target.display()))?;
    let storage = storage::connect(&settings.database_url()).await?;
    storage.migrate().await?;
    new_epoch(storage.as_ref()).await
}
