//! The shop's token-signing key: it signs access tokens, guest-order links
//! and password-reset links, so whoever holds it can act as anyone. It is
//! never in the store (and so never in a backup):
//!
//! * `VITRINA_JWT_SECRET` (every instance of a shop sets the same), with
//!   `VITRINA_JWT_SECRET_PREVIOUS` during a rotation; or
//! * without it, a key generated at the first start and kept in its own
//!   file, `<data dir>/signing-key.json`, readable by the shop's user only.
//!
//! A shop from before this kept its key in the store (`settings/jwt_secret`):
//! it moves into the file at the next start and leaves the store.
//!
//! Rotation (`vitrina keys rotate`): a new key signs; the previous one still
//! verifies until the longest-lived thing it signed is over (`OVERLAP`).
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::KeyValueStore;

/// The file's name in the data directory.
pub const KEY_FILE: &str = "signing-key.json";
/// How long a retired key still verifies: access tokens live 15 minutes and
/// reset links 30, guest-order links are opened from mails for weeks.
pub const OVERLAP_DAYS: i64 = 30;

/// The keys in use: `current` signs; `previous` (until it expires) verifies too.
#[derive(Clone)]
pub struct Keyring {
    pub current: Vec<u8>,
    pub previous: Option<(Vec<u8>, DateTime<Utc>)>,
    /// Where the key came from, for the start-up line (never the key).
    pub source: String,
}

impl Keyring {
    /// The keys that verify at `now`, the signing one first.
    pub fn verifying(&self, now: DateTime<Utc>) -> Vec<&[u8]> {
        let mut out = vec![self.current.as_slice()];
        if let Some((k, until)) = &self.previous {
            if now < *until {
                out.push(k.as_slice());
            }
        }
        out
    }
}

#[derive(Serialize, Deserialize)]
struct KeyFile {
    /// Base64 of the signing key.
    current: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    previous_until: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn new_key() -> Vec<u8> {
    use rand::RngCore;
    let mut key = vec![0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut key);
    key
}

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

fn read_file(path: &Path) -> Result<Option<KeyFile>, String> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("{}: not a key file ({e})", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// Writes the key file readable by this user only, replacing it whole (a
/// new file renamed over the old one).
fn write_file(path: &Path, file: &KeyFile) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    crate::infra::private::create_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let tmp = path.with_extension("json.new");
    let body = serde_json::to_vec_pretty(file).map_err(|e| e.to_string())?;
    let mut f = crate::infra::private::create_file(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(&body).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn decode(file: &KeyFile, source: String) -> Result<Keyring, String> {
    let current = b64().decode(&file.current).map_err(|e| format!("the signing key file is damaged: {e}"))?;
    let previous = match (&file.previous, file.previous_until) {
        (Some(p), Some(until)) => Some((b64().decode(p).map_err(|e| format!("the signing key file is damaged: {e}"))?, until)),
        _ => None,
    };
    Ok(Keyring { current, previous, source })
}

/// The shop's keys: from the environment, else from the key file (made, or
/// moved out of the store, on the first start).
pub async fn load(env_secret: Option<&str>, env_previous: Option<&str>, data_dir: &Path, kv: &dyn KeyValueStore) -> Result<Keyring, String> {
    if let Some(secret) = env_secret {
        // the environment wins; a key an older release left in the store has no business there
        forget_stored_key(kv).await;
        let previous = env_previous.map(|p| (p.as_bytes().to_vec(), Utc::now() + Duration::days(OVERLAP_DAYS)));
        return Ok(Keyring { current: secret.as_bytes().to_vec(), previous, source: "VITRINA_JWT_SECRET".into() });
    }
    let path = key_path(data_dir);
    if let Some(file) = read_file(&path)? {
        crate::infra::private::restrict_file(&path);
        forget_stored_key(kv).await;
        return decode(&file, path.display().to_string());
    }
    // an older release's key, kept in the store: moved into the file, so tokens stay valid
    let stored = kv.kv_get("settings", "jwt_secret").await.map_err(|e| format!("token key: {e}"))?;
    let key = stored.clone().unwrap_or_else(new_key);
    write_file(&path, &KeyFile { current: b64().encode(&key), previous: None, previous_until: None, created_at: Utc::now() })?;
    if stored.is_some() {
        forget_stored_key(kv).await;
        tracing::warn!(file = %path.display(), "the token-signing key moved out of the store into its own file");
    }
    // another instance may have written the file first: what is on disk wins
    let file = read_file(&path)?.ok_or_else(|| format!("{}: vanished after it was written", path.display()))?;
    decode(&file, path.display().to_string())
}

async fn forget_stored_key(kv: &dyn KeyValueStore) {
    if let Err(e) = kv.kv_delete("settings", "jwt_secret").await {
        tracing::warn!(error = %e, "could not remove an old token-signing key from the store");
    }
}

/// Starts signing with a new key; the current one keeps verifying for
/// `OVERLAP_DAYS`. Only for a key kept in the data directory (with
/// `VITRINA_JWT_SECRET`, rotate by setting a new one and the old one as
/// `VITRINA_JWT_SECRET_PREVIOUS`).
pub fn rotate(data_dir: &Path) -> Result<DateTime<Utc>, String> {
    let path = key_path(data_dir);
    let old = read_file(&path)?.ok_or_else(|| format!("{} does not exist: start the shop once first (or, with VITRINA_JWT_SECRET, rotate it in the environment)", path.display()))?;
    let until = Utc::now() + Duration::days(OVERLAP_DAYS);
    write_file(&path, &KeyFile { current: b64().encode(new_key()), previous: Some(old.current), previous_until: Some(until), created_at: Utc::now() })?;
    Ok(until)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotated_key_verifies_until_its_overlap_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = key_path(dir.path());
        write_file(&path, &KeyFile { current: b64().encode(b"first key first key first key 00"), previous: None, previous_until: None, created_at: Utc::now() }).unwrap();
        let until = rotate(dir.path()).unwrap();
        let ring = decode(&read_file(&path).unwrap().unwrap(), String::new()).unwrap();
        assert_ne!(ring.current, b"first key first key first key 00".to_vec());
        assert_eq!(ring.verifying(Utc::now()).len(), 2);
        assert_eq!(ring.verifying(until + Duration::seconds(1)).len(), 1, "past the overlap only the new key verifies");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
