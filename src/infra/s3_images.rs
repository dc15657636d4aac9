//! Product images in S3 (AWS S3, MinIO or any S3-compatible store).
//! Configured by `S3_BUCKET` (+ `S3_ENDPOINT` with path-style addressing for
//! MinIO or moto, `S3_PUBLIC_URL` for a CDN); region and credentials come from
//! the usual AWS variables.
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::Client;

use crate::ports::{is_valid_image_key, ImageError, ImageStore};

pub struct S3ImageStore {
    client: Client,
    bucket: String,
    /// Where browsers fetch images: a CDN, the bucket's URL, or `/media` (served by the app).
    public_base: String,
}

fn unavailable(e: impl std::fmt::Display) -> ImageError {
    ImageError::Unavailable(e.to_string())
}

impl S3ImageStore {
    pub async fn connect(bucket: &str, endpoint: Option<&str>, public_base: Option<&str>) -> Result<Self, ImageError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .timeout_config(aws_config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).connect_timeout(Duration::from_secs(5)).build());
        if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
            loader = loader.region(aws_config::Region::new("us-east-1"));
        }
        let shared = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&shared);
        if let Some(ep) = endpoint {
            config = config.endpoint_url(ep).force_path_style(true);
        }
        let client = Client::from_conf(config.build());
        // make sure the bucket exists (creating it is harmless when it does)
        if client.head_bucket().bucket(bucket).send().await.is_err() {
            client.create_bucket().bucket(bucket).send().await.map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        }
        Ok(Self { client, bucket: bucket.to_string(), public_base: public_base.unwrap_or("/media").trim_end_matches('/').to_string() })
    }
}

#[async_trait]
impl ImageStore for S3ImageStore {
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<String, ImageError> {
        if !is_valid_image_key(key) {
            return Err(ImageError::InvalidKey);
        }
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type(content_type)
            .cache_control("public, max-age=31536000, immutable")
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(self.public_url(key))
    }

    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, ImageError> {
        if !is_valid_image_key(key) {
            return Err(ImageError::InvalidKey);
        }
        match self.client.get_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => {
                let ct = out.content_type().unwrap_or("application/octet-stream").to_string();
                let bytes = out.body.collect().await.map_err(unavailable)?.into_bytes().to_vec();
                Ok(Some((bytes, ct)))
            }
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(unavailable(aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn clear(&self) -> Result<(), ImageError> {
        let mut token = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_continuation_token(token)
                .send()
                .await
                .map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for obj in page.contents() {
                if let Some(k) = obj.key() {
                    self.client.delete_object().bucket(&self.bucket).key(k).send().await.map_err(|e| unavailable(aws_sdk_s3::error::DisplayErrorContext(e)))?;
                }
            }
            match page.next_continuation_token() {
                Some(t) => token = Some(t.to_string()),
                None => return Ok(()),
            }
        }
    }

    fn public_url(&self, key: &str) -> String {
        format!("{}/{}", self.public_base, key)
    }
}
