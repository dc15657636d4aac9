//! The store's schema version, and which releases may run on it.
//!
//! Every release declares the schema version it writes ([`CURRENT`]) and the
//! oldest version whose release still works on what it writes
//! ([`COMPATIBLE_FROM`]): changes are made expand-then-contract, so during a
//! rolling deploy the previous release keeps running beside the new one. The
//! store remembers the newest of both; a release older than the store's
//! `compatible_from` refuses to start, saying which release it needs.
use serde::{Deserialize, Serialize};

use crate::ports::KeyValueStore;

/// This release's schema, and the oldest whose release can run beside it
/// (each record carries its own version: see `domain::records`).
pub use crate::domain::records::{COMPATIBLE_FROM, CURRENT};

const KV: (&str, &str) = ("meta", "schema");

/// What the store records about the releases that wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreSchema {
    /// The newest schema version written into the store.
    pub version: u32,
    /// Releases with an older schema than this must not run on the store.
    pub compatible_from: u32,
    /// The release that wrote `version`.
    pub written_by: String,
}

/// Whether a release with schema `current` (compatible back to
/// `compatible_from`) may run on a store that recorded `stored`, and what
/// the store records once it does.
pub fn admit(stored: Option<&StoreSchema>, current: u32, compatible_from: u32, release: &str) -> Result<StoreSchema, String> {
    let mine = StoreSchema { version: current, compatible_from, written_by: release.to_string() };
    let Some(s) = stored else { return Ok(mine) };
    if s.compatible_from > current {
        return Err(format!(
            "this store was written by Vitrina {} (schema {}), which releases before schema {} cannot read safely; this release ({release}) has schema {current}. Run Vitrina {} or newer on it (or restore a backup made by this release).",
            s.written_by, s.version, s.compatible_from, s.written_by
        ));
    }
    Ok(StoreSchema {
        version: s.version.max(current),
        compatible_from: s.compatible_from.max(compatible_from),
        written_by: if current >= s.version { release.to_string() } else { s.written_by.clone() },
    })
}

/// Checks this release against the store, at start, and records it.
pub async fn check(kv: &dyn KeyValueStore) -> Result<StoreSchema, String> {
    let stored: Option<StoreSchema> = match kv.kv_get(KV.0, KV.1).await.map_err(|e| format!("read the schema version: {e}"))? {
        Some(bytes) => Some(serde_json::from_slice(&bytes).map_err(|e| format!("the store's schema record is unreadable: {e}"))?),
        None => None,
    };
    let next = admit(stored.as_ref(), CURRENT, COMPATIBLE_FROM, env!("CARGO_PKG_VERSION"))?;
    if stored.as_ref() != Some(&next) {
        let body = serde_json::to_vec(&next).map_err(|e| e.to_string())?;
        kv.kv_put(KV.0, KV.1, &body, None).await.map_err(|e| format!("record the schema version: {e}"))?;
    }
    Ok(next)
}

/// Records `schema` as the store's (tests simulate other releases with it).
pub async fn record(kv: &dyn KeyValueStore, schema: &StoreSchema) -> Result<(), String> {
    let body = serde_json::to_vec(schema).map_err(|e| e.to_string())?;
    kv.kv_put(KV.0, KV.1, &body, None).await.map_err(|e| format!("record the schema version: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(version: u32, compatible_from: u32, by: &str) -> StoreSchema {
        StoreSchema { version, compatible_from, written_by: by.into() }
    }

    #[test]
    fn a_new_store_takes_this_release() {
        assert_eq!(admit(None, 3, 2, "0.3.0").unwrap(), at(3, 2, "0.3.0"));
    }

    #[test]
    fn the_previous_release_runs_beside_the_new_one_and_an_older_one_is_refused() {
        // release 0.4 (schema 4, compatible from 3) has written the store
        let store = at(4, 3, "0.4.0");
        // 0.3 (schema 3) keeps working during the rolling deploy, and does not lower what the store recorded
        assert_eq!(admit(Some(&store), 3, 2, "0.3.0").unwrap(), store);
        // 0.2 (schema 2) is refused, and told which release to run
        let refused = admit(Some(&store), 2, 1, "0.2.0").unwrap_err();
        assert!(refused.contains("schema 2") && refused.contains("0.4.0 or newer"), "{refused}");
    }

    #[test]
    fn a_newer_release_raises_the_record() {
        assert_eq!(admit(Some(&at(3, 2, "0.3.0")), 4, 3, "0.4.0").unwrap(), at(4, 3, "0.4.0"));
        assert_eq!(admit(Some(&at(3, 2, "0.3.0")), 3, 2, "0.3.1").unwrap(), at(3, 2, "0.3.1"));
    }
}
