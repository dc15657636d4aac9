//! Product images on local disk under the data directory, served by the app at `/media/...`.
use std::path::PathBuf;

use async_trait::async_trait;

use crate::ports::{is_valid_image_key, ImageError, ImageStore};

pub struct FsImageStore {
    root: PathBuf,
    base_url: String,
}

impl FsImageStore {
    pub fn new(root: PathBuf, base_url: &str) -> Self {
        Self { root, base_url: base_url.trim_end_matches('/').to_string() }
    }
}

fn io(e: std::io::Error) -> ImageError {
    ImageError::Unavailable(e.to_string())
}

pub fn content_type_for(key: &str) -> &'static str {
    match key.rsplit('.').next().unwrap_or("") {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "avif" => "image/avif",
        _ => "application/octet-stream",
    }
}

#[async_trait]
impl ImageStore for FsImageStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<String, ImageError> {
        if !is_valid_image_key(key) {
            return Err(ImageError::InvalidKey);
        }
        let path = self.root.join(key);
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(io)?;
        }
        tokio::fs::write(&path, bytes).await.map_err(io)?;
        Ok(self.public_url(key))
    }

    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, ImageError> {
        if !is_valid_image_key(key) {
            return Err(ImageError::InvalidKey);
        }
        match tokio::fs::read(self.root.join(key)).await {
            Ok(bytes) => Ok(Some((bytes, content_type_for(key).to_string()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(e)),
        }
    }

    async fn clear(&self) -> Result<(), ImageError> {
        match tokio::fs::remove_dir_all(&self.root).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io(e)),
        }
    }

    fn public_url(&self, key: &str) -> String {
        format!("{}/{}", self.base_url, key)
    }
}
