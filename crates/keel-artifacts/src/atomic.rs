//! Atomic file writes: a temp file beside the target, renamed over it (`tempfile`).

use std::{fs, io, io::Write, os::unix::fs::PermissionsExt, path::Path};

/// Writes `contents` to `path` so that readers see either the old file or the whole new one.
///
/// The parent directory is created when missing. The temp file is hidden (leading dot) so
/// directory readers skip it, and removed if anything fails. The file is world-readable, as
/// records and the manifest hold nothing secret.
pub fn write_atomic(path: &Path, contents: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut file = tempfile::Builder::new()
        .prefix(".")
        .suffix(".tmp")
        .permissions(fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    file.write_all(contents)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
