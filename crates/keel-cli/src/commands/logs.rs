//! `keel logs <db> [-n N]`: one line per record, `TIMESTAMP LEVEL [reducer] message`.

use keel_api::http::{LogLevel, LogList, LogRecord};

use crate::commands::{Doing, database_name};
use crate::flags::LogsArgs;
use crate::output::Output;
use crate::session::Session;

pub(crate) fn run(session: &Session, out: &Output, args: &LogsArgs) -> anyhow::Result<()> {
    let db = database_name(&args.db)?;
    let client = session.authed_client()?;
    let records = client
        .logs(db.as_str(), args.n)
        .doing(|| format!("read the logs of database `{db}`"))?;
    if out.is_json() {
        out.json(&LogList { records })?;
        return Ok(());
    }
    for record in &records {
        out.line(&format_record(record))?;
    }
    Ok(())
}

/// `2024-05-01T12:00:00.000001Z INFO [increment] message`; the reducer is left out when none
/// wrote the record.
fn format_record(record: &LogRecord) -> String {
    let level = match record.level {
        LogLevel::Error => "ERROR",
        LogLevel::Warn => "WARN",
        LogLevel::Info => "INFO",
        LogLevel::Debug => "DEBUG",
    };
    let timestamp = format_timestamp(record.ts_micros);
    match &record.reducer {
        Some(reducer) => format!("{timestamp} {level} [{reducer}] {}", record.message),
        None => format!("{timestamp} {level} {}", record.message),
    }
}

/// RFC 3339 in UTC with microseconds, from microseconds since the Unix epoch.
fn format_timestamp(ts_micros: i64) -> String {
    const MICROS_PER_DAY: i64 = 86_400 * 1_000_000;
    let days = ts_micros.div_euclid(MICROS_PER_DAY);
    let micros_of_day = ts_micros.rem_euclid(MICROS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let seconds_of_day = micros_of_day / 1_000_000;
    let (hour, minute, second) = (
        seconds_of_day / 3600,
        seconds_of_day / 60 % 60,
        seconds_of_day % 60,
    );
    let micros = micros_of_day % 1_000_000;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{micros:06}Z")
}

/// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_utc_with_microseconds() {
        assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            format_timestamp(1_700_000_000_123_456),
            "2023-11-14T22:13:20.123456Z"
        );
        assert_eq!(
            format_timestamp(951_782_400_000_000),
            "2000-02-29T00:00:00.000000Z"
        );
        assert_eq!(format_timestamp(-1), "1969-12-31T23:59:59.999999Z");
    }

    #[test]
    fn records_show_level_reducer_and_message() {
        let record = LogRecord {
            ts_micros: 0,
            level: LogLevel::Info,
            message: "hello".into(),
            reducer: Some("increment".into()),
        };
        assert_eq!(
            format_record(&record),
            "1970-01-01T00:00:00.000000Z INFO [increment] hello"
        );
        let record = LogRecord {
            reducer: None,
            level: LogLevel::Error,
            ..record
        };
        assert_eq!(
            format_record(&record),
            "1970-01-01T00:00:00.000000Z ERROR hello"
        );
    }
}
