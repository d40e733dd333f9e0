//! Logging to the database's log: [`log`] and the [`info!`], [`warn!`], [`error!`] and
//! [`debug!`] macros, which take `format!` arguments.
//!
//! [`info!`]: crate::info
//! [`warn!`]: crate::warn
//! [`error!`]: crate::error
//! [`debug!`]: crate::debug

use keel_api::abi;

/// Log levels, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal operation.
    Info,
    /// Detail for debugging.
    Debug,
}

impl Level {
    /// The ABI code (`keel_api::abi::LOG_*`).
    pub fn code(self) -> i32 {
        match self {
            Level::Error => abi::LOG_ERROR,
            Level::Warn => abi::LOG_WARN,
            Level::Info => abi::LOG_INFO,
            Level::Debug => abi::LOG_DEBUG,
        }
    }
}

/// Appends `message` at `level` to the database's log.
pub fn log(level: Level, message: &str) {
    crate::sys::log(level.code(), message);
}

/// Logs at error level: `error!("lost {} rows", n)`.
#[macro_export]
macro_rules! error {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Error, &::std::format!($($arg)+))
    };
}

/// Logs at warning level: `warn!("balance of {name} is low")`.
#[macro_export]
macro_rules! warn {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Warn, &::std::format!($($arg)+))
    };
}

/// Logs at info level: `info!("counter is now {value}")`.
#[macro_export]
macro_rules! info {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Info, &::std::format!($($arg)+))
    };
}

/// Logs at debug level: `debug!("args: {args:?}")`.
#[macro_export]
macro_rules! debug {
    ($($arg:tt)+) => {
        $crate::log::log($crate::log::Level::Debug, &::std::format!($($arg)+))
    };
}

/// Returns early from a reducer with an error built by `format!`:
/// `bail!("insufficient funds: {balance} < {amount}")`.
#[macro_export]
macro_rules! bail {
    ($($arg:tt)+) => {
        return ::std::result::Result::Err($crate::Error::new(::std::format!($($arg)+)).into())
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_abi_codes() {
        let codes = [Level::Error, Level::Warn, Level::Info, Level::Debug].map(Level::code);
        assert_eq!(
            codes,
            [abi::LOG_ERROR, abi::LOG_WARN, abi::LOG_INFO, abi::LOG_DEBUG]
        );
    }

    #[test]
    fn bail_returns_a_formatted_error() {
        fn fails(amount: i64) -> crate::Result<()> {
            crate::bail!("insufficient funds: {amount}");
        }
        assert_eq!(fails(3).unwrap_err().message(), "insufficient funds: 3");
    }
}
