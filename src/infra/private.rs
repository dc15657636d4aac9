//! Files only the shop's own user may read: the data directory, the store,
//! backups, the signing key, staging and scratch folders. The process also
//! starts with umask 077 (`main`), so whatever else it creates is private.
use std::fs::{DirBuilder, File, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Only this user, for everything the process creates from now on.
pub fn private_umask() {
    // SAFETY: umask only sets the process's file-creation mask; it cannot fail
    unsafe {
        libc::umask(0o077);
    }
}

/// Creates `dir` (and its parents) as `0700`; an existing one is made `0700`.
pub fn create_dir(dir: &Path) -> std::io::Result<()> {
    if !dir.exists() {
        DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    }
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
}

/// Creates (or truncates) a file readable and writable by this user only.
pub fn create_file(path: &Path) -> std::io::Result<File> {
    let f = OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    // an existing file keeps its mode through `open`: make it private too
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// Makes an existing file `0600` (a store or key file an older release left readable).
pub fn restrict_file(path: &Path) {
    if path.exists() {
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            tracing::warn!(file = %path.display(), error = %e, "could not make a file private");
        }
    }
}

/// Makes an existing directory `0700`.
pub fn restrict_dir(path: &Path) {
    if path.is_dir() {
        if let Err(e) = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)) {
            tracing::warn!(dir = %path.display(), error = %e, "could not make a directory private");
        }
    }
}
