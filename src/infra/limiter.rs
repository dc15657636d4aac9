//! Rate limits that hold when Redis does not: counters live in Redis (shared
//! by every instance); when Redis fails, this instance counts in memory
//! instead of letting everything through.
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::ports::{CacheError, RateDecision, RateLimiter};

pub struct FallbackLimiter {
    primary: Arc<dyn RateLimiter>,
    local: Arc<dyn RateLimiter>,
}

impl FallbackLimiter {
    pub fn new(primary: Arc<dyn RateLimiter>, local: Arc<dyn RateLimiter>) -> Self {
        Self { primary, local }
    }
}

#[async_trait]
impl RateLimiter for FallbackLimiter {
    async fn hit(&self, key: &str, limit: u64, window: Duration) -> Result<RateDecision, CacheError> {
        match self.primary.hit(key, limit, window).await {
            Ok(d) => Ok(d),
            Err(e) => {
                tracing::debug!(error = %e, "shared rate limiter unavailable; counting on this instance");
                self.local.hit(key, limit, window).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infra::memory_cache::MemoryCache;

    struct Down;
    #[async_trait]
    impl RateLimiter for Down {
        async fn hit(&self, _: &str, _: u64, _: Duration) -> Result<RateDecision, CacheError> {
            Err(CacheError("connection refused".into()))
        }
    }

    #[tokio::test]
    async fn limits_still_apply_when_the_shared_limiter_is_down() {
        let l = FallbackLimiter::new(Arc::new(Down), Arc::new(MemoryCache::new(1 << 20)));
        for _ in 0..3 {
            assert!(l.hit("k", 3, Duration::from_secs(60)).await.unwrap().allowed);
        }
        assert!(!l.hit("k", 3, Duration::from_secs(60)).await.unwrap().allowed, "the 4th is refused");
    }
}
