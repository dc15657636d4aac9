//! HS256 access tokens.
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::ports::{AccessClaims, TokenSigner};

pub struct JwtSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtSigner {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.validate_exp = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }
}

impl TokenSigner for JwtSigner {
    fn sign(&self, claims: &AccessClaims) -> Result<String, String> {
        encode(&Header::new(Algorithm::HS256), claims, &self.encoding).map_err(|e| e.to_string())
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, String> {
        decode::<AccessClaims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|e| e.to_string())
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
}
