//! Content hashing of build inputs and artifacts with blake3.

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Component, Path, PathBuf},
};

/// Hashes the files named by `inputs` (files or directories, relative to `root`).
///
/// Directories are walked recursively in sorted order, skipping `target`, `.git` and hidden entries
/// (an input named explicitly, such as `modules/.cargo`, is hashed even though it is hidden).
/// Each file contributes its relative path and its contents, so renames and edits both change the hash.
/// An input that does not exist contributes a marker instead of failing, so that deleting it also changes the hash.
pub fn hash_inputs(root: &Path, inputs: &[PathBuf]) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    for input in inputs {
        let absolute = root.join(input);
        match fs::metadata(&absolute) {
            Ok(metadata) if metadata.is_dir() => hash_dir(&mut hasher, root, &absolute)?,
            Ok(_) => hash_one_file(&mut hasher, root, &absolute)?,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                hasher.update(b"missing\0");
                hasher.update(relative_name(root, &absolute).as_bytes());
                hasher.update(b"\0");
            }
            Err(err) => return Err(err),
        }
    }
    Ok(hasher.finalize().to_hex().to_string())
}

/// The files [`hash_inputs`] reads for `inputs`, each with its [`hash_file`], by relative path
/// (`/` separators): what lets a checkout be compared file by file with the one an artifact was
/// built from. Inputs that do not exist contribute nothing.
pub fn hash_input_files(root: &Path, inputs: &[PathBuf]) -> io::Result<BTreeMap<String, String>> {
    let mut files = BTreeMap::new();
    for input in inputs {
        let absolute = root.join(input);
        match fs::metadata(&absolute) {
            Ok(metadata) if metadata.is_dir() => list_dir(&mut files, root, &absolute)?,
            Ok(_) => {
                files.insert(relative_name(root, &absolute), hash_file(&absolute)?);
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(err),
        }
    }
    Ok(files)
}

fn list_dir(files: &mut BTreeMap<String, String>, root: &Path, dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?.path();
        let name = entry.file_name().and_then(|it| it.to_str()).unwrap_or("");
        if name == "target" || name.starts_with('.') {
            continue;
        }
        if fs::metadata(&entry)?.is_dir() {
            list_dir(files, root, &entry)?;
        } else {
            files.insert(relative_name(root, &entry), hash_file(&entry)?);
        }
    }
    Ok(())
}

/// blake3 of `bytes`, hex: the same value [`hash_file`] gives a file holding them.
pub fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Hashes one file's contents.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let mut hasher = blake3::Hasher::new();
    hasher.update_reader(fs::File::open(path)?)?;
    Ok(hasher.finalize().to_hex().to_string())
}

fn hash_dir(hasher: &mut blake3::Hasher, root: &Path, dir: &Path) -> io::Result<()> {
    let mut entries = fs::read_dir(dir)?
        .map(|entry| entry.map(|it| it.path()))
        .collect::<io::Result<Vec<_>>>()?;
    entries.sort();
    for entry in entries {
        let name = entry.file_name().and_then(|it| it.to_str()).unwrap_or("");
        if name == "target" || name.starts_with('.') {
            continue;
        }
        if fs::metadata(&entry)?.is_dir() {
            hash_dir(hasher, root, &entry)?;
        } else {
            hash_one_file(hasher, root, &entry)?;
        }
    }
    Ok(())
}

fn hash_one_file(hasher: &mut blake3::Hasher, root: &Path, path: &Path) -> io::Result<()> {
    let contents = fs::read(path)?;
    hasher.update(b"file\0");
    hasher.update(relative_name(root, path).as_bytes());
    hasher.update(b"\0");
    hasher.update(&(contents.len() as u64).to_le_bytes());
    hasher.update(&contents);
    Ok(())
}

/// The path relative to `root` with `/` separators, so hashes agree across checkouts.
fn relative_name(root: &Path, path: &Path) -> String {
    let relative = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<_> = relative
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy()),
            _ => None,
        })
        .collect();
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, relative: &str, contents: &str) {
        let path = root.join(relative);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }

    fn hash(root: &Path) -> String {
        hash_inputs(root, &[PathBuf::from("src"), PathBuf::from("Cargo.toml")]).unwrap()
    }

    #[test]
    fn hash_does_not_depend_on_creation_order() {
        let first = tempfile::tempdir().unwrap();
        write(first.path(), "src/a.rs", "a");
        write(first.path(), "src/b/c.rs", "c");
        write(first.path(), "Cargo.toml", "t");
        let second = tempfile::tempdir().unwrap();
        write(second.path(), "Cargo.toml", "t");
        write(second.path(), "src/b/c.rs", "c");
        write(second.path(), "src/a.rs", "a");
        assert_eq!(hash(first.path()), hash(second.path()));
    }

    #[test]
    fn hash_changes_on_content_and_rename() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/a.rs", "a");
        let original = hash(dir.path());
        write(dir.path(), "src/a.rs", "b");
        let edited = hash(dir.path());
        assert_ne!(original, edited);
        fs::rename(dir.path().join("src/a.rs"), dir.path().join("src/z.rs")).unwrap();
        assert_ne!(edited, hash(dir.path()));
    }

    #[test]
    fn hash_skips_target_git_and_hidden_entries() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "src/a.rs", "a");
        let original = hash(dir.path());
        write(dir.path(), "src/target/debug/out", "x");
        write(dir.path(), "src/.git/HEAD", "x");
        write(dir.path(), "src/.swap", "x");
        assert_eq!(original, hash(dir.path()));
    }

    #[test]
    fn hidden_input_named_explicitly_is_hashed() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), ".cargo/config.toml", "a");
        let inputs = [PathBuf::from(".cargo")];
        let original = hash_inputs(dir.path(), &inputs).unwrap();
        write(dir.path(), ".cargo/config.toml", "b");
        assert_ne!(original, hash_inputs(dir.path(), &inputs).unwrap());
    }

    #[test]
    fn missing_input_hashes_differently_from_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        let missing = hash(dir.path());
        fs::create_dir(dir.path().join("src")).unwrap();
        write(dir.path(), "Cargo.toml", "");
        assert_ne!(missing, hash(dir.path()));
    }

    #[test]
    fn file_hash_follows_contents() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a", "1");
        write(dir.path(), "b", "1");
        assert_eq!(
            hash_file(&dir.path().join("a")).unwrap(),
            hash_file(&dir.path().join("b")).unwrap()
        );
        write(dir.path(), "b", "2");
        assert_ne!(
            hash_file(&dir.path().join("a")).unwrap(),
            hash_file(&dir.path().join("b")).unwrap()
        );
    }

    #[test]
    fn input_files_lists_what_the_hash_reads() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src/target")).unwrap();
        fs::write(dir.path().join("src/lib.rs"), "fn f() {}").unwrap();
        fs::write(dir.path().join("src/.hidden"), "x").unwrap();
        fs::write(dir.path().join("src/target/out"), "x").unwrap();
        fs::write(dir.path().join("Cargo.toml"), "[workspace]").unwrap();
        let inputs = [
            PathBuf::from("src"),
            PathBuf::from("Cargo.toml"),
            PathBuf::from("gone"),
        ];
        let files = hash_input_files(dir.path(), &inputs).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            ["Cargo.toml", "src/lib.rs"]
        );
        assert_eq!(
            files["src/lib.rs"],
            hash_file(&dir.path().join("src/lib.rs")).unwrap()
        );
    }
}
