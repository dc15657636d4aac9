//! argon2id password hashing (m = 19 MiB, t = 2, p = 1), off the async runtime.
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;

use crate::ports::PasswordHasher;

pub const MEMORY_KIB: u32 = 19 * 1024;
pub const ITERATIONS: u32 = 2;
pub const PARALLELISM: u32 = 1;

#[derive(Clone, Default)]
pub struct Argon2Hasher;

fn argon() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, ITERATIONS, PARALLELISM, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> Result<String, String> {
        let password = password.to_string();
        crate::cpu::bounded(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
        })
        .await?
    }

    async fn verify(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_string(), hash.to_string());
        crate::cpu::bounded(move || match PasswordHash::new(&hash) {
            // verification uses the parameters recorded in the hash itself
            Ok(parsed) => argon().verify_password(password.as_bytes(), &parsed).is_ok(),
            Err(_) => false,
        })
        .await
        .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_configured_cost_and_verify() {
        let h = Argon2Hasher.hash("correct horse battery").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(Argon2Hasher.verify("correct horse battery", &h).await);
        assert!(!Argon2Hasher.verify("wrong horse battery", &h).await);
        assert!(!Argon2Hasher.verify("x", "not a hash").await);
        assert_ne!(h, Argon2Hasher.hash("correct horse battery").await.unwrap(), "salted");
    }
}
