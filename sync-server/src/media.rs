//! Content-addressed photo blobs in a local folder: `<root>/<aa>/<sha256>.jpg` and
//! `<sha256>.thumb.jpg`, where the sha256 is of the processed full-size JPEG. Blobs are
//! immutable, so they are served with year-long cache headers.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Which rendition of a photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rendition {
    /// ≤ 2048 px on the long edge.
    Full,
    /// ≤ 400 px on the long edge.
    Thumb,
}

/// The local blob store.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// A store rooted at `root` (created if missing).
    pub fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(&root)?;
        Ok(BlobStore { root })
    }

    fn path(&self, sha256: &str, rendition: Rendition) -> PathBuf {
        let suffix = match rendition {
            Rendition::Full => "jpg",
            Rendition::Thumb => "thumb.jpg",
        };
        self.root.join(&sha256[..2]).join(format!("{sha256}.{suffix}"))
    }

    /// Stores a processed photo and its thumbnail; returns the sha256 address. Writing the same
    /// photo twice is harmless (same address, same bytes).
    pub async fn put(&self, full: &[u8], thumb: &[u8]) -> std::io::Result<String> {
        let sha256 = hex::encode(Sha256::digest(full));
        write_atomically(&self.path(&sha256, Rendition::Thumb), thumb).await?;
        // The full image last: its presence means both are complete.
        write_atomically(&self.path(&sha256, Rendition::Full), full).await?;
        Ok(sha256)
    }

    /// Reads a rendition, or `None` if there is no such blob. `sha256` must be 64 hex digits.
    pub async fn get(&self, sha256: &str, rendition: Rendition) -> std::io::Result<Option<Vec<u8>>> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
            return Ok(None);
        }
        match tokio::fs::read(self.path(sha256, rendition)).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Writes to a temporary sibling, syncs, then renames: a crash never leaves a torn blob.
async fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if tokio::fs::try_exists(path).await? {
        return Ok(());
    }
    let dir = path.parent().expect("blob paths have a parent");
    tokio::fs::create_dir_all(dir).await?;
    let tmp = dir.join(format!(".{}.tmp", uuid::Uuid::new_v4()));
    let mut file = tokio::fs::File::create(&tmp).await?;
    tokio::io::AsyncWriteExt::write_all(&mut file, bytes).await?;
    file.sync_all().await?;
    drop(file);
    tokio::fs::rename(&tmp, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_addressed_by_content_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let a = store.put(b"full-a", b"thumb-a").await.unwrap();
        let again = store.put(b"full-a", b"thumb-a").await.unwrap();
        assert_eq!(a, again);
        assert_eq!(a, hex::encode(Sha256::digest(b"full-a")));
        assert_eq!(store.get(&a, Rendition::Full).await.unwrap().unwrap(), b"full-a");
        assert_eq!(store.get(&a, Rendition::Thumb).await.unwrap().unwrap(), b"thumb-a");
        assert_eq!(store.get(&"0".repeat(64), Rendition::Full).await.unwrap(), None);
        assert_eq!(store.get("../../etc/passwd", Rendition::Full).await.unwrap(), None);
    }
}
