//! Which releases may run on a store: the next release's records are
//! readable by this one when it says so (a rolling deploy), and a store that
//! a much newer release has written refuses this one at start, saying why.
//! Both stores.
mod common;

use std::sync::Arc;

use vitrina::config::Config;
use vitrina::ports::KeyValueStore;
use vitrina::services::schema::{record, StoreSchema, COMPATIBLE_FROM, CURRENT};
use vitrina::state::AppState;

async fn releases_on(config: Config, kv: Arc<dyn KeyValueStore>) {
    // this release records itself on a new store
    AppState::build(&config).await.expect("a new store");
    let mine = vitrina::services::schema::check(&*kv).await.unwrap();
    assert_eq!((mine.version, mine.compatible_from), (CURRENT, COMPATIBLE_FROM));

    // the next release ran (expand: it still accepts this one) and this one starts beside it
    record(&*kv, &StoreSchema { version: CURRENT + 1, compatible_from: CURRENT, written_by: "9.8.0".into() }).await.unwrap();
    AppState::build(&config).await.expect("the previous release runs beside the next one");
    let kept = vitrina::services::schema::check(&*kv).await.unwrap();
    assert_eq!((kept.version, kept.written_by.as_str()), (CURRENT + 1, "9.8.0"), "an older release does not lower the record");

    // a release that contracted past this one's schema ran: this one refuses to start, and says what to run
    record(&*kv, &StoreSchema { version: CURRENT + 2, compatible_from: CURRENT + 1, written_by: "9.9.0".into() }).await.unwrap();
    match AppState::build(&config).await {
        Ok(_) => panic!("a release too old for the store started"),
        Err(e) => assert!(e.contains("9.9.0 or newer") && e.contains(&format!("schema {CURRENT}")), "{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_refuses_a_release_too_old_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::for_data_dir(dir.path().to_path_buf());
    let store = vitrina::infra::sqlite::SqliteStore(vitrina::infra::sqlite::SqliteDb::open(&dir.path().join("vitrina.db")).unwrap());
    releases_on(config, Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mongodb_refuses_a_release_too_old_for_it() {
    let Some(uri) = common::mongo_uri() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::for_data_dir(dir.path().to_path_buf());
    config.mongodb_uri = Some(uri.clone());
    config.mongodb_db = common::unique_name("vitrina_schema");
    let store = vitrina::infra::mongo::MongoStore::connect(&uri, &config.mongodb_db).await.unwrap();
    releases_on(config, Arc::new(store)).await;
}
