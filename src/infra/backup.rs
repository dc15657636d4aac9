//! `vitrina backup` and `vitrina restore`: the whole shop in one archive
//! (tar + gzip) while it keeps serving.
//!
//! * `vitrina-backup.json` first: format, store, time, counts.
//! * Embedded store: `store/vitrina.db`, a consistent copy made with SQLite's
//!   online backup API in one step (one read transaction: a snapshot of one
//!   moment; writers go on meanwhile, WAL mode), checked before it is packed.
//! * MongoDB: `store/mongodb/<collection>.jsonl`, every document of the
//!   shop's collections as canonical Extended JSON, one per line.
//! * `images/…`: the local image directory (images in S3 stay there: the
//!   README explains bucket versioning).
//!
//! A restore refuses a shop that already has data unless it is forced, and
//! writes the archive to a `.partial` file first, so a failed backup never
//! leaves a file that looks whole.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::infra::transfer::Moved;

/// Where a shop's data lives (`Config::data_location`).
#[derive(Debug, Clone)]
pub struct Location {
    /// The embedded store's file and the local images.
    pub data_dir: PathBuf,
    /// MongoDB's URI and database, when the shop runs on MongoDB.
    pub mongodb: Option<(String, String)>,
    pub images_in_s3: bool,
}

pub const MANIFEST: &str = "vitrina-backup.json";
const FORMAT: u32 = 1;
const SQLITE_ENTRY: &str = "store/vitrina.db";
const MONGO_DIR: &str = "store/mongodb/";
const IMAGES_DIR: &str = "images";
/// Documents per insert when restoring into MongoDB.
const BATCH: usize = 500;

/// What an archive holds, written first in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `sqlite` or `mongodb`.
    pub store: String,
    pub created_at: DateTime<Utc>,
    pub app_version: String,
    /// MongoDB: documents per collection.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub collections: BTreeMap<String, u64>,
    /// Image files in the archive (0 when images live in S3).
    pub images: u64,
    #[serde(default)]
    pub images_in_s3: bool,
}

#[derive(Debug, Clone)]
pub struct BackupReport {
    pub manifest: Manifest,
    pub path: PathBuf,
    pub bytes: u64,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub struct RestoreReport {
    pub manifest: Manifest,
    pub target: String,
    pub documents: u64,
    /// Records per table, when the backup was of the other kind of store.
    pub moved: Option<crate::infra::transfer::Moved>,
    pub images: u64,
    pub elapsed: Duration,
}

fn err(what: &str, e: impl std::fmt::Display) -> String {
    format!("{what}: {e}")
}

/// Backs the configured store (and local images) up into `to`.
pub async fn backup(config: &Location, to: &Path) -> Result<BackupReport, String> {
    let started = Instant::now();
    let partial = with_suffix(to, ".partial");
    let staging = with_suffix(to, ".staging");
    let _ = std::fs::remove_dir_all(&staging);
    crate::infra::private::create_dir(&staging).map_err(|e| err(&format!("create {}", staging.display()), e))?;
    let result = async {
        let mut manifest = Manifest {
            format: FORMAT,
            store: if config.mongodb.is_some() { "mongodb" } else { "sqlite" }.into(),
            created_at: Utc::now(),
            app_version: env!("CARGO_PKG_VERSION").into(),
            collections: BTreeMap::new(),
            images: 0,
            images_in_s3: config.images_in_s3,
        };
        match &config.mongodb {
            Some((uri, db)) => manifest.collections = mongo_export(uri, db, &staging).await?,
            None => {
                let source = config.data_dir.join("vitrina.db");
                if !source.exists() {
                    return Err(format!("no shop in {}: nothing to back up", config.data_dir.display()));
                }
                let copy = staging.join("vitrina.db");
                manifest.created_at = Utc::now();
                tokio::task::spawn_blocking(move || sqlite_snapshot(&source, &copy)).await.map_err(|e| err("backup task", e))??;
            }
        }
        let images = (!manifest.images_in_s3).then(|| config.data_dir.join(IMAGES_DIR)).filter(|d| d.is_dir());
        let (staging2, partial2, manifest2) = (staging.clone(), partial.clone(), manifest.clone());
        let images_packed = tokio::task::spawn_blocking(move || pack(&partial2, &manifest2, &staging2, images.as_deref())).await.map_err(|e| err("backup task", e))??;
        manifest.images = images_packed;
        std::fs::rename(&partial, to).map_err(|e| err(&format!("move into {}", to.display()), e))?;
        Ok(manifest)
    }
    .await;
    let _ = std::fs::remove_dir_all(&staging);
    let manifest = match result {
        Ok(m) => m,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    let bytes = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    Ok(BackupReport { manifest, path: to.to_path_buf(), bytes, elapsed: started.elapsed() })
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// A consistent copy through the online backup API: all pages in one step,
/// so one read transaction; then an integrity check of the copy.
fn sqlite_snapshot(source: &Path, copy: &Path) -> Result<(), String> {
    use rusqlite::{backup::Backup, Connection};
    let src = Connection::open(source).map_err(|e| err("open the store", e))?;
    src.busy_timeout(Duration::from_secs(30)).map_err(|e| err("open the store", e))?;
    crate::infra::private::create_file(copy).map_err(|e| err("create the copy", e))?;
    let mut dst = Connection::open(copy).map_err(|e| err("create the copy", e))?;
    {
        use rusqlite::backup::StepResult;
        let backup = Backup::new(&src, &mut dst).map_err(|e| err("copy the store", e))?;
        // -1: every page in this one step
        let mut waits = 0;
        loop {
            match backup.step(-1).map_err(|e| err("copy the store", e))? {
                StepResult::Done => break,
                StepResult::More => {}
                _ if waits < 300 => {
                    waits += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                _ => return Err("the store stayed locked for 30 s; try again".into()),
            }
        }
    }
    // one self-contained file
    dst.pragma_update(None, "journal_mode", "DELETE").map_err(|e| err("finish the copy", e))?;
    // a signing key an older release kept in the store never travels in a backup
    dst.pragma_update(None, "secure_delete", "ON").map_err(|e| err("finish the copy", e))?;
    dst.execute("DELETE FROM kv WHERE ns = 'settings' AND key = 'jwt_secret'", []).map_err(|e| err("finish the copy", e))?;
    let check: String = dst.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| err("check the copy", e))?;
    if check != "ok" {
        return Err(format!("the copy failed its integrity check: {check}"));
    }
    Ok(())
}

/// Writes the archive: manifest, store files from `staging`, then images.
/// Returns how many images went in.
fn pack(partial: &Path, manifest: &Manifest, staging: &Path, images: Option<&Path>) -> Result<u64, String> {
    // readable by this user only: a backup holds every customer's data
    let file = crate::infra::private::create_file(partial).map_err(|e| err(&format!("create {}", partial.display()), e))?;
    let gz = flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    tar.follow_symlinks(false);
    let mut manifest = manifest.clone();
    let image_files = match images {
        Some(dir) => files_under(dir).map_err(|e| err("read the images", e))?,
        None => Vec::new(),
    };
    manifest.images = image_files.len() as u64;
    let body = serde_json::to_vec_pretty(&manifest).map_err(|e| err("manifest", e))?;
    append_bytes(&mut tar, MANIFEST, &body)?;
    match manifest.store.as_str() {
        "sqlite" => tar.append_path_with_name(staging.join("vitrina.db"), SQLITE_ENTRY).map_err(|e| err("pack the store", e))?,
        _ => {
            for name in manifest.collections.keys() {
                tar.append_path_with_name(staging.join(format!("{name}.jsonl")), format!("{MONGO_DIR}{name}.jsonl")).map_err(|e| err("pack the store", e))?;
            }
        }
    }
    if let Some(dir) = images {
        for rel in &image_files {
            // an image deleted since the listing is simply not in the backup
            match File::open(dir.join(rel)) {
                Ok(mut f) => tar.append_file(Path::new(IMAGES_DIR).join(rel), &mut f).map_err(|e| err("pack an image", e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err("read an image", e)),
            }
        }
    }
    let gz = tar.into_inner().map_err(|e| err("finish the archive", e))?;
    let mut out = gz.finish().map_err(|e| err("finish the archive", e))?;
    out.flush().map_err(|e| err("finish the archive", e))?;
    out.get_ref().sync_all().map_err(|e| err("finish the archive", e))?;
    Ok(manifest.images)
}

fn append_bytes<W: Write>(tar: &mut tar::Builder<W>, name: &str, body: &[u8]) -> Result<(), String> {
    let mut header = tar::Header::new_gnu();
    header.set_size(body.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(Utc::now().timestamp().max(0) as u64);
    header.set_cksum();
    tar.append_data(&mut header, name, body).map_err(|e| err("pack", e))
}

/// Regular files under `dir`, as paths relative to it, sorted.
fn files_under(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut todo = vec![PathBuf::new()];
    while let Some(rel) = todo.pop() {
        for entry in std::fs::read_dir(dir.join(&rel))? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = rel.join(entry.file_name());
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

async fn mongo_database(uri: &str, db: &str) -> Result<mongodb::Database, String> {
    // connecting through the adapter creates the indexes a restored shop needs
    let store = crate::infra::mongo::MongoStore::connect(uri, db).await.map_err(|e| err("MongoDB", e))?;
    Ok(store.database().clone())
}

/// Every collection of the shop's database, one JSON line per document.
async fn mongo_export(uri: &str, db_name: &str, staging: &Path) -> Result<BTreeMap<String, u64>, String> {
    use futures::TryStreamExt;
    let db = mongo_database(uri, db_name).await?;
    let mut names = db.list_collection_names().await.map_err(|e| err("list collections", e))?;
    names.retain(|n| !n.starts_with("system."));
    names.sort();
    let mut counts = BTreeMap::new();
    for name in names {
        let path = staging.join(format!("{name}.jsonl"));
        let mut out = BufWriter::new(crate::infra::private::create_file(&path).map_err(|e| err("write the export", e))?);
        let mut cursor = db.collection::<mongodb::bson::Document>(&name).find(mongodb::bson::doc! {}).sort(mongodb::bson::doc! { "_id": 1 }).await.map_err(|e| err(&format!("read {name}"), e))?;
        let mut n = 0u64;
        while let Some(d) = cursor.try_next().await.map_err(|e| err(&format!("read {name}"), e))? {
            // a signing key an older release kept in the store never travels in a backup
            if name == "kv" && d.get_str("_id").is_ok_and(|id| id == "settings:jwt_secret") {
                continue;
            }
            let line = mongodb::bson::Bson::Document(d).into_canonical_extjson();
            serde_json::to_writer(&mut out, &line).map_err(|e| err("write the export", e))?;
            out.write_all(b"\n").map_err(|e| err("write the export", e))?;
            n += 1;
        }
        out.flush().map_err(|e| err("write the export", e))?;
        counts.insert(name, n);
    }
    Ok(counts)
}

/// Reads the manifest (the archive's first entry).
pub fn read_manifest(from: &Path) -> Result<Manifest, String> {
    let mut archive = open_archive(from)?;
    let mut entries = archive.entries().map_err(|e| err("read the archive", e))?;
    let mut first = entries.next().ok_or("the archive is empty")?.map_err(|e| err("read the archive", e))?;
    if first.path().map(|p| p.as_os_str() != MANIFEST).unwrap_or(true) {
        return Err(format!("not a Vitrina backup: {MANIFEST} is not its first entry"));
    }
    let mut body = String::new();
    first.read_to_string(&mut body).map_err(|e| err("read the manifest", e))?;
    let manifest: Manifest = serde_json::from_str(&body).map_err(|e| err("read the manifest", e))?;
    if manifest.format != FORMAT {
        return Err(format!("backup format {} is not known to this release (it reads format {FORMAT})", manifest.format));
    }
    Ok(manifest)
}

fn open_archive(from: &Path) -> Result<tar::Archive<flate2::read::GzDecoder<BufReader<File>>>, String> {
    let file = File::open(from).map_err(|e| err(&format!("open {}", from.display()), e))?;
    Ok(tar::Archive::new(flate2::read::GzDecoder::new(BufReader::new(file))))
}

/// Restores `from` into the configured store: the data directory for the
/// embedded store (it must be empty, unless `force`), or the MongoDB
/// database (its collections must be empty, unless `force`).
pub async fn restore(config: &Location, from: &Path, force: bool) -> Result<RestoreReport, String> {
    let started = Instant::now();
    let manifest = read_manifest(from)?;
    let target = if config.mongodb.is_some() { "mongodb" } else { "sqlite" };
    if !["sqlite", "mongodb"].contains(&manifest.store.as_str()) {
        return Err(format!("this backup holds a {:?} store, which this release does not know", manifest.store));
    }
    let images_dir = config.data_dir.join(IMAGES_DIR);
    // refuse before writing anything (the embedded store's directory is checked as a whole below)
    if config.mongodb.is_some() && manifest.images > 0 && !force && images_dir.read_dir().map(|mut d| d.next().is_some()).unwrap_or(false) {
        return Err(format!("{} is not empty (it holds images): restore into a new data directory, or add --force to replace them", images_dir.display()));
    }
    let mut moved = None;
    let documents = match (&config.mongodb, manifest.store.as_str()) {
        (None, "sqlite") => {
            let dir = config.data_dir.clone();
            let (from, force) = (from.to_path_buf(), force);
            tokio::task::spawn_blocking(move || restore_sqlite(&from, &dir, force)).await.map_err(|e| err("restore task", e))??
        }
        (None, _) => {
            let (dir, from, manifest) = (config.data_dir.clone(), from.to_path_buf(), manifest.clone());
            let m = tokio::task::spawn_blocking(move || move_into_sqlite(&from, &manifest, &dir, force)).await.map_err(|e| err("restore task", e))??;
            let n = m.values().sum();
            moved = Some(m);
            n
        }
        (Some((uri, db)), "mongodb") => {
            let db = mongo_database(uri, db).await?;
            restore_mongo(&db, from, &manifest, force).await?
        }
        (Some((uri, db)), _) => {
            let db = mongo_database(uri, db).await?;
            let m = move_into_mongo(&db, from, force)
                .await
                .map_err(|e| format!("{e} (the database may now hold part of the shop: run the restore again with --force)"))?;
            let n = m.values().sum();
            moved = Some(m);
            n
        }
    };
    // images: into the data directory
    let images = if manifest.images > 0 {
        let (from, dir) = (from.to_path_buf(), config.data_dir.clone());
        tokio::task::spawn_blocking(move || unpack_images(&from, &dir)).await.map_err(|e| err("restore task", e))??
    } else {
        0
    };
    Ok(RestoreReport { manifest, target: target.into(), documents, moved, images, elapsed: started.elapsed() })
}

/// Makes `dir` ready to take a restored store: it must be empty, unless
/// `force`, which removes the store and images in it.
fn prepare_data_dir(dir: &Path, force: bool) -> Result<(), String> {
    let occupied = dir.read_dir().map(|mut d| d.next().is_some()).unwrap_or(false);
    if occupied && !force {
        return Err(format!("{} is not empty: restore into a new data directory, or add --force to replace the shop in it", dir.display()));
    }
    crate::infra::private::create_dir(dir).map_err(|e| err(&format!("create {}", dir.display()), e))?;
    if force {
        for f in ["vitrina.db", "vitrina.db-wal", "vitrina.db-shm"] {
            match std::fs::remove_file(dir.join(f)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(err(&format!("remove {f}"), e)),
            }
        }
        let _ = std::fs::remove_dir_all(dir.join(IMAGES_DIR));
    }
    Ok(())
}

fn restore_sqlite(from: &Path, dir: &Path, force: bool) -> Result<u64, String> {
    prepare_data_dir(dir, force)?;
    let target = dir.join("vitrina.db");
    let partial = dir.join("vitrina.db.restoring");
    let mut archive = open_archive(from)?;
    let mut found = false;
    for entry in archive.entries().map_err(|e| err("read the archive", e))? {
        let mut entry = entry.map_err(|e| err("read the archive", e))?;
        if entry.path().map(|p| p.as_os_str() == SQLITE_ENTRY).unwrap_or(false) {
            let mut out = crate::infra::private::create_file(&partial).map_err(|e| err("write the store", e))?;
            std::io::copy(&mut entry, &mut out).map_err(|e| err("write the store", e))?;
            out.sync_all().map_err(|e| err("write the store", e))?;
            found = true;
            break;
        }
    }
    if !found {
        return Err(format!("the archive has no {SQLITE_ENTRY}"));
    }
    let check: String = rusqlite::Connection::open(&partial)
        .and_then(|c| c.query_row("PRAGMA quick_check", [], |r| r.get(0)))
        .map_err(|e| err("check the restored store", e))?;
    if check != "ok" {
        let _ = std::fs::remove_file(&partial);
        return Err(format!("the archive's store failed its integrity check: {check}"));
    }
    std::fs::rename(&partial, &target).map_err(|e| err("move the store into place", e))?;
    Ok(1)
}

/// Makes the database ready to take a restored shop: its collections must
/// be empty, unless `force`, which empties them.
async fn prepare_database(db: &mongodb::Database, force: bool) -> Result<(), String> {
    use mongodb::bson::{doc, Document};
    let existing = db.list_collection_names().await.map_err(|e| err("list collections", e))?;
    let mut occupied = Vec::new();
    for name in existing.iter().filter(|n| !n.starts_with("system.")) {
        let n = crate::infra::mongo::count_all(&db.collection::<Document>(name)).await.map_err(|e| err(&format!("count {name}"), e))?;
        if n > 0 {
            occupied.push(name.clone());
        }
    }
    if !occupied.is_empty() && !force {
        return Err(format!("the database {} is not empty ({} hold documents): restore into a new database, or add --force to replace the shop in it", db.name(), occupied.join(", ")));
    }
    for name in &occupied {
        db.collection::<Document>(name).delete_many(doc! {}).await.map_err(|e| err(&format!("empty {name}"), e))?;
    }
    Ok(())
}

async fn restore_mongo(db: &mongodb::Database, from: &Path, manifest: &Manifest, force: bool) -> Result<u64, String> {
    use mongodb::bson::Document;
    prepare_database(db, force).await?;
    let handle = tokio::runtime::Handle::current();
    let insert = |name: &str, batch: Vec<Document>| {
        let coll = db.collection::<Document>(name);
        tokio::task::block_in_place(|| handle.block_on(async move { coll.insert_many(batch).await.map(|_| ()) })).map_err(|e| err(&format!("write {name}"), e))
    };
    let mut batch: (String, Vec<Document>) = (String::new(), Vec::with_capacity(BATCH));
    let counts = mongo_documents(from, manifest, |name, _, d| {
        if batch.0 != name || batch.1.len() == BATCH {
            if !batch.1.is_empty() {
                insert(&batch.0, std::mem::take(&mut batch.1))?;
            }
            batch.0 = name.to_string();
        }
        batch.1.push(d);
        Ok(())
    })?;
    if !batch.1.is_empty() {
        insert(&batch.0, batch.1)?;
    }
    Ok(counts.values().sum())
}

/// The documents of a MongoDB backup, line by line: `(collection, line
/// number, document)`. Checks them against the manifest; returns how many
/// each collection held.
fn mongo_documents(from: &Path, manifest: &Manifest, mut each: impl FnMut(&str, usize, mongodb::bson::Document) -> Result<(), String>) -> Result<BTreeMap<String, u64>, String> {
    use mongodb::bson::Bson;
    let mut archive = open_archive(from)?;
    let mut counts = BTreeMap::new();
    for entry in archive.entries().map_err(|e| err("read the archive", e))? {
        let entry = entry.map_err(|e| err("read the archive", e))?;
        let path = entry.path().map_err(|e| err("read the archive", e))?.to_string_lossy().into_owned();
        let Some(name) = path.strip_prefix(MONGO_DIR).and_then(|n| n.strip_suffix(".jsonl")).map(str::to_string) else { continue };
        if !manifest.collections.contains_key(&name) {
            return Err(format!("the archive holds {name}, which its manifest does not list"));
        }
        let mut n = 0u64;
        for (i, line) in BufReader::new(entry).lines().enumerate() {
            let line = line.map_err(|e| err("read the archive", e))?;
            let value: serde_json::Value = serde_json::from_str(&line).map_err(|e| err(&format!("{path} line {}", i + 1), e))?;
            let Bson::Document(d) = Bson::try_from(value).map_err(|e| err(&format!("{path} line {}", i + 1), e))? else {
                return Err(format!("{path} line {}: not a document", i + 1));
            };
            each(&name, i + 1, d)?;
            n += 1;
        }
        if Some(&n) != manifest.collections.get(&name) {
            return Err(format!("{name}: the archive holds {n} documents, its manifest says {}", manifest.collections[&name]));
        }
        counts.insert(name, n);
    }
    Ok(counts)
}

/// A MongoDB backup restored into the embedded store: every document read
/// as records and written in one transaction into a new store file, which
/// replaces the old one only when whole.
fn move_into_sqlite(from: &Path, manifest: &Manifest, dir: &Path, force: bool) -> Result<Moved, String> {
    use crate::infra::mongo::transfer::records_of;
    prepare_data_dir(dir, force)?;
    crate::infra::private::create_dir(dir).map_err(|e| err(&format!("create {}", dir.display()), e))?;
    let partial = dir.join("vitrina.db.restoring");
    let _ = std::fs::remove_file(&partial);
    // the schema of this release
    drop(crate::infra::sqlite::SqliteDb::open(&partial).map_err(|e| err("create the store", e))?);
    let result = (|| {
        let mut conn = rusqlite::Connection::open(&partial).map_err(|e| err("open the new store", e))?;
        let tx = conn.transaction().map_err(|e| err("write the store", e))?;
        let mut moved = Moved::new();
        mongo_documents(from, manifest, |name, line, d| match records_of(name, d) {
            // not the shop's: left behind
            None => Ok(()),
            Some(Err(e)) => Err(format!("{MONGO_DIR}{name}.jsonl line {line}: {e}")),
            Some(Ok(records)) => {
                crate::infra::sqlite::transfer::import(&tx, &records).map_err(|e| format!("{MONGO_DIR}{name}.jsonl line {line}: {e}"))?;
                for r in &records {
                    *moved.entry(r.table()).or_default() += 1;
                }
                Ok(())
            }
        })?;
        tx.commit().map_err(|e| err("write the store", e))?;
        // one self-contained file
        conn.pragma_update(None, "journal_mode", "DELETE").map_err(|e| err("finish the store", e))?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(|e| err("check the new store", e))?;
        if check != "ok" {
            return Err(format!("the new store failed its integrity check: {check}"));
        }
        Ok(moved)
    })();
    match result {
        Ok(moved) => {
            std::fs::rename(&partial, dir.join("vitrina.db")).map_err(|e| err("move the store into place", e))?;
            Ok(moved)
        }
        Err(e) => {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(with_suffix(&partial, suffix));
            }
            Err(e)
        }
    }
}

/// An embedded-store backup restored into MongoDB: the store file is taken
/// out of the archive into a scratch directory, read as records in one read
/// transaction, and written in batches.
async fn move_into_mongo(db: &mongodb::Database, from: &Path, force: bool) -> Result<Moved, String> {
    use mongodb::bson::Document;
    prepare_database(db, force).await?;
    let scratch = std::env::temp_dir().join(format!("vitrina-move-{}-{}", std::process::id(), Utc::now().timestamp_millis()));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<crate::infra::transfer::Record>>(4);
    let reader = {
        let (from, scratch) = (from.to_path_buf(), scratch.clone());
        tokio::task::spawn_blocking(move || -> Result<(), String> {
            restore_sqlite(&from, &scratch, false)?;
            let path = scratch.join("vitrina.db");
            // a backup of an earlier release gets this release's tables first
            drop(crate::infra::sqlite::SqliteDb::open(&path).map_err(|e| err("open the backup's store", e))?);
            let mut conn = rusqlite::Connection::open(&path).map_err(|e| err("open the backup's store", e))?;
            let read = conn.transaction().map_err(|e| err("read the backup's store", e))?;
            let mut batch = Vec::with_capacity(BATCH);
            crate::infra::sqlite::transfer::export(&read, &mut |r| {
                batch.push(r);
                if batch.len() == BATCH {
                    // the writer stopped: its error is the one to report
                    tx.blocking_send(std::mem::take(&mut batch)).map_err(|_| crate::ports::StoreError::Other("stopped".into()))?;
                }
                Ok(())
            })
            .map_err(|e| err("read the backup's store", e))?;
            if !batch.is_empty() {
                let _ = tx.blocking_send(batch);
            }
            Ok(())
        })
    };
    let written = async {
        let mut moved = Moved::new();
        while let Some(batch) = rx.recv().await {
            let mut by_collection: BTreeMap<&'static str, Vec<Document>> = BTreeMap::new();
            for r in &batch {
                let (name, d) = crate::infra::mongo::transfer::document_of(r).map_err(|e| err("convert a record", e))?;
                by_collection.entry(name).or_default().push(d);
            }
            for (name, docs) in by_collection {
                let n = docs.len() as u64;
                db.collection::<Document>(name).insert_many(docs).await.map_err(|e| err(&format!("write {name}"), e))?;
                *moved.entry(name).or_default() += n;
            }
        }
        Ok::<_, String>(moved)
    }
    .await;
    let read = reader.await.map_err(|e| err("restore task", e));
    let _ = std::fs::remove_dir_all(&scratch);
    let moved = written?;
    read??;
    Ok(moved)
}

fn unpack_images(from: &Path, dir: &Path) -> Result<u64, String> {
    crate::infra::private::create_dir(dir).map_err(|e| err(&format!("create {}", dir.display()), e))?;
    let mut archive = open_archive(from)?;
    let mut n = 0;
    for entry in archive.entries().map_err(|e| err("read the archive", e))? {
        let mut entry = entry.map_err(|e| err("read the archive", e))?;
        let is_image = entry.path().map(|p| p.starts_with(IMAGES_DIR)).unwrap_or(false);
        if is_image && entry.header().entry_type().is_file() {
            // `unpack_in` refuses paths that leave the directory
            if entry.unpack_in(dir).map_err(|e| err("write an image", e))? {
                n += 1;
            }
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_keep_the_whole_name() {
        assert_eq!(with_suffix(Path::new("/b/shop.tar.gz"), ".partial"), PathBuf::from("/b/shop.tar.gz.partial"));
    }

    #[test]
    fn files_under_lists_nested_files_relative_and_sorted() {
        let dir = std::env::temp_dir().join(format!("vitrina-files-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        std::fs::write(dir.join("a/b/2.jpg"), b"x").unwrap();
        std::fs::write(dir.join("1.jpg"), b"x").unwrap();
        assert_eq!(files_under(&dir).unwrap(), vec![PathBuf::from("1.jpg"), PathBuf::from("a/b/2.jpg")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
