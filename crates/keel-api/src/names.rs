//! Validated database names.

use std::fmt;

/// The longest database name the server accepts.
pub const MAX_DATABASE_NAME_LEN: usize = 64;

/// [`DatabaseName`]'s characters as a regular expression (ECMA-262), for the OpenAPI
/// description; the length is [`MAX_DATABASE_NAME_LEN`].
pub const DATABASE_NAME_PATTERN: &str = "^[a-z0-9][a-z0-9_-]*$";

/// A database name: 1 to 64 characters of `a-z`, `0-9`, `-` and `_`, starting with a letter or
/// digit. Names are file names on the server, so nothing else is allowed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DatabaseName(String);

/// A string that is not a valid [`DatabaseName`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameError {
    name: String,
}

impl DatabaseName {
    /// Checks `name` and wraps it.
    pub fn parse(name: &str) -> Result<DatabaseName, NameError> {
        let valid_char =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_';
        let first_ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        if first_ok && name.len() <= MAX_DATABASE_NAME_LEN && name.chars().all(valid_char) {
            Ok(DatabaseName(name.to_owned()))
        } else {
            Err(NameError {
                name: name.to_owned(),
            })
        }
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Turns any string (a test name, say) into a valid name prefix: lower case, runs of other
    /// characters replaced by one `-`, cut to `max_len` characters.
    pub fn sanitize_prefix(raw: &str, max_len: usize) -> String {
        let mut out = String::new();
        for c in raw.chars() {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                out.push(c);
            } else if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        }
        out.truncate(max_len);
        while out.ends_with('-') {
            out.pop();
        }
        if out.is_empty() { "db".to_owned() } else { out }
    }
}

impl fmt::Display for DatabaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid database name `{}`: use 1 to {MAX_DATABASE_NAME_LEN} characters of a-z, 0-9, `-` and `_`, starting with a letter or digit",
            self.name
        )
    }
}

impl std::error::Error for NameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_names() {
        for name in ["counter", "a", "test-1_x", "0abc"] {
            assert_eq!(DatabaseName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn refuses_paths_and_odd_characters() {
        for name in [
            "",
            "../etc",
            "a/b",
            "Upper",
            "-lead",
            "_lead",
            "a.b",
            "a b",
            &"x".repeat(65),
        ] {
            assert!(DatabaseName::parse(name).is_err(), "{name:?} was accepted");
        }
    }

    #[test]
    fn sanitizes_test_names_into_prefixes() {
        assert_eq!(
            DatabaseName::sanitize_prefix("publish::Update_Works", 40),
            "publish-update-works"
        );
        assert_eq!(DatabaseName::sanitize_prefix("::", 40), "db");
        assert_eq!(DatabaseName::sanitize_prefix("abcdef", 3), "abc");
    }
}
