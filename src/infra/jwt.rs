//! HS256 access tokens.
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::ports::{AccessClaims, TokenSigner};

pub struct JwtSigner {
    encoding: EncodingKey,
    /// The signing key's, then a rotated-out key's while it still verifies.
    decoding: Vec<(DecodingKey, Option<chrono::DateTime<chrono::Utc>>)>,
    validation: Validation,
}

impl JwtSigner {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: vec![(DecodingKey::from_secret(secret), None)], validation }
    }

    /// Signs with the keyring's current key; verifies with it and with the
    /// previous one until that expires (a key rotation loses no session).
    pub fn from_keys(keys: &crate::infra::keys::Keyring) -> Self {
        let mut signer = Self::new(&keys.current);
        if let Some((previous, until)) = &keys.previous {
            signer.decoding.push((DecodingKey::from_secret(previous), Some(*until)));
        }
        signer
    }
}

impl TokenSigner for JwtSigner {
    fn sign(&self, claims: &AccessClaims) -> Result<String, String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| e.to_string())
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, String> {
        let now = chrono::Utc::now();
        let mut last = "no key".to_string();
        for (key, until) in &self.decoding {
            if until.is_some_and(|u| now >= u) {
                continue;
            }
            match decode::<AccessClaims>(token, key, &self.validation) {
                Ok(d) => return Ok(d.claims),
                Err(e) => last = e.to_string(),
            }
        }
        Err(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::user::Role;

    fn claims(exp_offset: i64) -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims { sub: "u1".into(), role: Role::Admin, fam: "f1".into(), iat: now, exp: now + exp_offset, jti: "j".into() }
    }

    #[test]
    fn signs_verifies_and_refuses_tampering_and_expiry() {
        let s = JwtSigner::new(b"0123456789abcdef0123456789abcdef");
        let t = s.sign(&claims(600)).unwrap();
        assert_eq!(s.verify(&t).unwrap().sub, "u1");
        let other = JwtSigner::new(b"another-secret-another-secret-xx");
        assert!(other.verify(&t).is_err(), "wrong key");
        let expired = s.sign(&claims(-60)).unwrap();
        assert!(s.verify(&expired).is_err(), "expired");
        let mut parts: Vec<String> = t.split('.').map(String::from).collect();
        parts[1] = parts[1].chars().rev().collect();
        assert!(s.verify(&parts.join(".")).is_err(), "tampered");
    }

    #[test]
    fn after_a_rotation_the_previous_key_still_verifies_until_it_expires() {
        let old = JwtSigner::new(b"0123456789abcdef0123456789abcdef");
        let token = old.sign(&claims(600)).unwrap();
        let until = chrono::Utc::now() + chrono::Duration::minutes(30);
        let keys = crate::infra::keys::Keyring { current: b"a brand new key, 32 bytes long!!".to_vec(), previous: Some((b"0123456789abcdef0123456789abcdef".to_vec(), until)), source: String::new() };
        let rotated = JwtSigner::from_keys(&keys);
        assert_eq!(rotated.verify(&token).unwrap().sub, "u1", "signed before the rotation");
        assert!(old.verify(&rotated.sign(&claims(600)).unwrap()).is_err(), "new tokens use the new key");
        let expired = crate::infra::keys::Keyring { previous: Some((b"0123456789abcdef0123456789abcdef".to_vec(), chrono::Utc::now() - chrono::Duration::seconds(1))), ..keys };
        assert!(JwtSigner::from_keys(&expired).verify(&token).is_err(), "past the overlap");
    }
}
