//! Rate limits: how many attempts a key (an account, an address) may make
//! in a window. Backed by Redis when configured (shared by every instance),
//! else in-process.
use std::sync::Arc;
use std::time::Duration;

use crate::ports::{CacheError, RateDecision, RateLimiter};

#[derive(Clone)]
pub struct RateLimits {
    limiter: Arc<dyn RateLimiter>,
}

impl RateLimits {
    pub fn new(limiter: Arc<dyn RateLimiter>) -> Self {
        Self { limiter }
    }

    /// Counts one attempt of `key` and says whether it is within `limit` per `window`.
    pub async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<RateDecision, CacheError> {
        self.limiter.hit(key, limit, window).await
    }
}
