//! Where the bytes of uploaded files live: a folder on this machine (the default) or an
//! S3-compatible bucket, both behind `object_store`'s one `ObjectStore` trait.
//!
//! A file is written under a fresh key before any row names it, and a write that is not
//! committed is taken back: [`ObjectWriter`] aborts an unfinished write when dropped, and
//! [`StoredObject`] deletes a finished object when dropped before [`StoredObject::keep`],
//! so a refused, failed or abandoned upload leaves no object behind.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::body::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

use crate::config::AppSettings;

/// Bytes buffered before a write becomes a multipart upload, and the size of each part
/// after that: S3's smallest part. A write holds at most two parts in memory (the one
/// being filled and one being sent).
pub const S3_PART_BYTES: usize = 5 * 1024 * 1024;

/// The same for the local folder, where parts have no minimum.
pub const LOCAL_PART_BYTES: usize = 1024 * 1024;

/// Which kind of storage holds the files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageKind {
    Local,
    S3,
}

/// The configured file storage.
#[derive(Clone, Debug)]
pub struct FileStorage {
    store: Arc<dyn ObjectStore>,
    /// Prepended to every key: the folder (local) or the configured prefix (S3).
    root: Path,
    kind: StorageKind,
}

/// Why the storage could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("the uploads folder {0} cannot be used: {1}")]
    Folder(PathBuf, std::io::Error),
    #[error("the S3 storage cannot be set up: {0}")]
    S3(object_store::Error),
    #[error("LIVECHAT_S3_BUCKET is required with the other LIVECHAT_S3_ settings")]
    NoBucket,
}

impl FileStorage {
    /// The storage the settings name: the S3 bucket when `LIVECHAT_S3_BUCKET` is set,
    /// otherwise the uploads folder.
    pub fn from_settings(settings: &AppSettings) -> Result<Self, StorageError> {
        let s3 = &settings.s3;
        match &s3.bucket {
            Some(bucket) => {
                let mut builder = AmazonS3Builder::new().with_bucket_name(bucket).with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    builder = builder.with_endpoint(endpoint).with_allow_http(endpoint.starts_with("http://"));
                }
                if let (Some(key), Some(secret)) = (&s3.access_key_id, &s3.secret_access_key) {
                    builder = builder.with_access_key_id(key).with_secret_access_key(secret.expose());
                }
                let store = builder.build().map_err(StorageError::S3)?;
                let root = Path::from(s3.prefix.as_deref().unwrap_or(""));
                Ok(Self { store: Arc::new(store), root, kind: StorageKind::S3 })
            }
            None if s3.endpoint.is_some() || s3.access_key_id.is_some() => Err(StorageError::NoBucket),
            None => Self::local(&settings.uploads_dir()),
        }
    }

    /// Files in `folder`; it is created with the first file stored.
    pub fn local(folder: &FsPath) -> Result<Self, StorageError> {
        let failed = |error| StorageError::Folder(folder.to_owned(), error);
        let absolute = std::path::absolute(folder).map_err(failed)?;
        let root = Path::from_absolute_path(&absolute).map_err(|error| failed(std::io::Error::other(error)))?;
        let store = LocalFileSystem::new().with_automatic_cleanup(false);
        Ok(Self { store: Arc::new(store), root, kind: StorageKind::Local })
    }

    pub fn kind(&self) -> StorageKind {
        self.kind
    }

    /// The memory one write holds at most: two parts.
    pub fn write_buffer_bytes(&self) -> usize {
        2 * self.part_bytes()
    }

    fn part_bytes(&self) -> usize {
        match self.kind {
            StorageKind::Local => LOCAL_PART_BYTES,
            StorageKind::S3 => S3_PART_BYTES,
        }
    }

    fn location(&self, key: &str) -> Path {
        self.root.parts().chain(Path::from(key).parts()).collect()
    }

    /// A new object under `key`, written piece by piece.
    pub fn writer(&self, key: &str) -> ObjectWriter {
        ObjectWriter {
            storage: self.clone(),
            key: key.to_owned(),
            buffer: Vec::new(),
            upload: None,
            written: 0,
            done: false,
        }
    }

    /// The object's bytes, as they are read from the storage.
    pub async fn read(&self, key: &str) -> object_store::Result<BoxStream<'static, object_store::Result<Bytes>>> {
        let result = self.store.get(&self.location(key)).await?;
        Ok(result.into_stream().boxed())
    }

    /// The object's bytes, whole (tests and small files).
    pub async fn read_all(&self, key: &str) -> object_store::Result<Vec<u8>> {
        let chunks: Vec<Bytes> = self.read(key).await?.try_collect().await?;
        Ok(chunks.concat())
    }

    /// Removes the object; an object already gone is not an error.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.store.delete(&self.location(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(error) => Err(error),
        }
    }

    /// The keys of every object under `prefix`, for checks that nothing was left behind.
    pub async fn keys(&self, prefix: &str) -> object_store::Result<Vec<String>> {
        let location = self.location(prefix);
        let root_parts = self.root.parts().count();
        let listed: Vec<_> = self.store.list(Some(&location)).try_collect().await?;
        Ok(listed
            .into_iter()
            .map(|meta| {
                meta.location
                    .parts()
                    .skip(root_parts)
                    .map(|part| part.as_ref().to_owned())
                    .collect::<Vec<_>>()
                    .join("/")
            })
            .collect())
    }
}

/// An object being written: bytes are buffered up to one part; a larger object becomes a
/// multipart upload sending part after part. Dropped before [`ObjectWriter::finish`], the
/// upload is aborted (in the background) and nothing is stored.
pub struct ObjectWriter {
    storage: FileStorage,
    key: String,
    buffer: Vec<u8>,
    upload: Option<WriteMultipart>,
    written: u64,
    done: bool,
}

impl ObjectWriter {
    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    pub async fn write(&mut self, chunk: &[u8]) -> object_store::Result<()> {
        self.written += chunk.len() as u64;
        let part = self.storage.part_bytes();
        if let Some(upload) = &mut self.upload {
            // One part in flight at most while the next one fills.
            upload.wait_for_capacity(1).await?;
            upload.write(chunk);
            return Ok(());
        }
        self.buffer.extend_from_slice(chunk);
        if self.buffer.len() >= part {
            let started = self.storage.store.put_multipart(&self.storage.location(&self.key)).await?;
            let mut upload = WriteMultipart::new_with_chunk_size(started, part);
            upload.write(&std::mem::take(&mut self.buffer));
            self.upload = Some(upload);
        }
        Ok(())
    }

    /// Gives the write up: a multipart upload under way is aborted, nothing is stored.
    pub async fn abort(mut self) {
        self.done = true;
        if let Some(upload) = self.upload.take()
            && let Err(error) = upload.abort().await
        {
            tracing::warn!(%error, key = self.key, "aborting an unfinished upload failed");
        }
    }

    /// Stores what was written; the object is then the caller's to keep or delete.
    pub async fn finish(mut self) -> object_store::Result<StoredObject> {
        self.done = true;
        let storage = self.storage.clone();
        let key = std::mem::take(&mut self.key);
        match self.upload.take() {
            Some(upload) => {
                upload.finish().await?;
            }
            None => {
                let payload = PutPayload::from(std::mem::take(&mut self.buffer));
                storage.store.put(&storage.location(&key), payload).await?;
            }
        }
        Ok(StoredObject { storage, key, kept: false })
    }
}

impl Drop for ObjectWriter {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Some(upload) = self.upload.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let key = self.key.clone();
            runtime.spawn(async move {
                if let Err(error) = upload.abort().await {
                    tracing::warn!(%error, key, "aborting an unfinished upload failed");
                }
            });
        }
    }
}

/// A stored object no row names yet: deleted (in the background) when dropped, unless
/// [`StoredObject::keep`] was called after the rows naming it were committed.
pub struct StoredObject {
    storage: FileStorage,
    key: String,
    kept: bool,
}

impl StoredObject {
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The rows naming the object are committed: it stays.
    pub fn keep(mut self) {
        self.kept = true;
    }

    /// Deletes the object now.
    pub async fn discard(mut self) {
        self.kept = true;
        if let Err(error) = self.storage.delete(&self.key).await {
            tracing::warn!(%error, key = self.key, "deleting an uncommitted upload failed");
        }
    }
}

impl Drop for StoredObject {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        let (storage, key) = (self.storage.clone(), std::mem::take(&mut self.key));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(error) = storage.delete(&key).await {
                    tracing::warn!(%error, key, "deleting an uncommitted upload failed");
                }
            });
        }
    }
}
