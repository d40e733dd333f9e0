//! The config file: default server and the identity to act as, in TOML.
//!
//! ```toml
//! server = "http://127.0.0.1:3000"
//! identity = "5f3a..."
//! token = "..."
//! ```
//!
//! This is a file format users edit, so [`Config`] derives serde traits on purpose (the only
//! such type outside `keel-api`). The file holds a secret: it is written with mode 0600.

use std::ffi::OsString;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::errors::ConfigError;

/// Contents of the config file; every field is optional.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Server URL used when `--server` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Identity id the token belongs to, for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// Bearer token of the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Config {
    /// Reads the config at `path`; a missing file is an empty config.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Config::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Writes the config to `path`, creating parent directories. The file is readable by its
    /// owner only and replaced atomically, so a crash never leaves half a token behind.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let write_error = |source| ConfigError::Write {
            path: path.to_owned(),
            source,
        };
        let text = toml::to_string(self).map_err(|err| write_error(std::io::Error::other(err)))?;
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };
        write_private(dir, path, text.as_bytes()).map_err(write_error)
    }

    /// The config path when `--config-path` is not given: `$KEEL_CONFIG` if set, else
    /// `$HOME/.config/keel/config.toml`.
    pub fn default_path() -> Result<PathBuf, ConfigError> {
        default_path_from(std::env::var_os("KEEL_CONFIG"), std::env::var_os("HOME"))
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("server", &self.server)
            .field("identity", &self.identity)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// [`Config::default_path`] with the environment passed in, for tests.
fn default_path_from(
    keel_config: Option<OsString>,
    home: Option<OsString>,
) -> Result<PathBuf, ConfigError> {
    if let Some(path) = keel_config.filter(|path| !path.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    match home.filter(|home| !home.is_empty()) {
        Some(home) => Ok(PathBuf::from(home)
            .join(".config")
            .join("keel")
            .join("config.toml")),
        None => Err(ConfigError::NoPath),
    }
}

/// Writes `bytes` to a temp file in `dir`, readable by its owner only (`tempfile` creates it
/// with mode 0600), flushes it to disk and renames it over `path`; on failure the temp file goes.
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix(".config")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full_config() -> Config {
        Config {
            server: Some("http://127.0.0.1:3000".into()),
            identity: Some("abc123".into()),
            token: Some("secret-token".into()),
        }
    }

    #[test]
    fn save_then_load_round_trips_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("deeper").join("config.toml");
        full_config().save(&path).unwrap();
        assert_eq!(Config::load(&path).unwrap(), full_config());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("server = \"http://127.0.0.1:3000\""),
            "{text}"
        );
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1,
            "temp file left behind"
        );
    }

    #[cfg(unix)]
    #[test]
    fn saved_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        full_config().save(&path).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    #[test]
    fn missing_file_is_an_empty_config() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            Config::load(&dir.path().join("absent.toml")).unwrap(),
            Config::default()
        );
    }

    #[test]
    fn partial_files_load_and_empty_fields_are_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "server = \"http://h:1\"\n").unwrap();
        let config = Config::load(&path).unwrap();
        assert_eq!(
            config,
            Config {
                server: Some("http://h:1".into()),
                ..Config::default()
            }
        );
        config.save(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "server = \"http://h:1\"\n"
        );
    }

    #[test]
    fn malformed_files_are_parse_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        for text in ["server = ", "servr = \"x\"", "server = 5"] {
            std::fs::write(&path, text).unwrap();
            let err = Config::load(&path).unwrap_err();
            assert!(
                matches!(err, ConfigError::Parse { .. }),
                "{text:?} gave {err:?}"
            );
        }
    }

    #[test]
    fn debug_hides_the_token() {
        let debug = format!("{:?}", full_config());
        assert!(
            !debug.contains("secret-token") && debug.contains("abc123"),
            "{debug}"
        );
    }

    #[test]
    fn default_path_prefers_keel_config_then_home() {
        let path = default_path_from(Some("/x/keel.toml".into()), Some("/home/u".into())).unwrap();
        assert_eq!(path, PathBuf::from("/x/keel.toml"));
        let path = default_path_from(Some("".into()), Some("/home/u".into())).unwrap();
        assert_eq!(path, PathBuf::from("/home/u/.config/keel/config.toml"));
        assert!(matches!(
            default_path_from(None, None),
            Err(ConfigError::NoPath)
        ));
    }
}
