//! Module logs: levels, order, the last N, unicode, and an error record for each failed call.

use keel_client::{ErrorKind, LogLevel};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// One record per level, in the order written, each naming its reducer.
    fn levels_are_recorded_in_order() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        t.call("log_all", json!(["m"]))?;
        let records = t.log_records(4)?;
        let levels: Vec<LogLevel> = records.iter().map(|record| record.level).collect();
        assert_eq!(levels, [LogLevel::Error, LogLevel::Warn, LogLevel::Info, LogLevel::Debug]);
        let messages: Vec<&str> = records.iter().map(|record| record.message.as_str()).collect();
        assert_eq!(messages, ["error: m", "warn: m", "info: m", "debug: m"]);
        assert!(records.iter().all(|record| record.reducer.as_deref() == Some("log_all")), "{records:?}");
        Ok(())
    }
}

smoketest! {
    /// `logs(n)` returns the last n records, oldest first; asking for more returns all.
    fn last_n_records_oldest_first() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        t.call("log_many", json!([10]))?;
        assert_eq!(t.logs(3)?, ["message 7", "message 8", "message 9"]);
        let all = t.logs(1000)?;
        let expected: Vec<String> = (0..10).map(|idx| format!("message {idx}")).collect();
        assert_eq!(all, expected);
        assert_eq!(t.logs(1)?, ["message 9"]);
        Ok(())
    }
}

smoketest! {
    /// Records from successive calls keep call order, with non-decreasing timestamps.
    fn records_of_successive_calls_keep_order() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        for round in 0..3 {
            t.call("log_all", json!([format!("round {round}")]))?;
        }
        let records = t.log_records(12)?;
        let infos: Vec<&str> = records.iter().filter(|record| record.level == LogLevel::Info).map(|record| record.message.as_str()).collect();
        assert_eq!(infos, ["info: round 0", "info: round 1", "info: round 2"]);
        assert!(records.windows(2).all(|pair| pair[0].ts_micros <= pair[1].ts_micros), "{records:?}");
        Ok(())
    }
}

smoketest! {
    /// Non-ASCII text and long messages survive the trip.
    fn unicode_and_long_messages_survive() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        t.call("log_unicode", json!([]))?;
        t.call("log_long", json!([3000]))?;
        assert_eq!(t.logs(2)?, ["héllo wörld ✓ 日本語".to_owned(), "x".repeat(3000)]);
        Ok(())
    }
}

smoketest! {
    /// A failed call keeps what it logged and adds an error record with the failure.
    fn failed_calls_are_logged() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        expect_error(t.call("log_and_fail", json!(["last words"])), ErrorKind::ReducerError)?;
        let records = t.log_records(2)?;
        assert_eq!(records[0].message, "last words");
        assert_eq!(records[1].level, LogLevel::Error);
        expect_contains(&records[1].message, "failed after logging: last words")?;
        expect_error(t.call("no_such_reducer", json!([])), ErrorKind::NotFound)?;
        let last = t.log_records(1)?.pop().expect("a record");
        assert_eq!(last.level, LogLevel::Error);
        expect_contains(&last.message, "no_such_reducer")?;
        Ok(())
    }
}

smoketest! {
    /// A fresh database has no log records, and the logs of an unknown database are 404.
    fn fresh_database_has_no_logs() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        assert_eq!(t.logs(10)?, Vec::<String>::new());
        expect_error(t.client().logs(&crate::support::missing_database(&t), 10), ErrorKind::NotFound)?;
        Ok(())
    }
}

smoketest! {
    /// The first records of a brand-new database are stored once: a fresh database (not one
    /// from the pool) returns exactly what its first call logged.
    fn first_records_of_a_new_database_are_not_duplicated() {
        let mut t = Smoketest::builder().precompiled_module("logger").autopublish(false).build()?;
        let db = t.new_database();
        t.publish_to(&db, false)?;
        t.client().call(&db, "log_many", &json!([3]))?;
        let messages: Vec<String> = t.client().logs(&db, 100)?.into_iter().map(|record| record.message).collect();
        assert_eq!(messages, ["message 0", "message 1", "message 2"]);
        Ok(())
    }
}

smoketest! {
    /// A record longer than 64 KiB is cut there and marked, so no module can flood the log.
    fn oversized_messages_are_cut_and_marked() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        t.call("log_long", json!([200_000]))?;
        let message = t.logs(1)?.remove(0);
        assert_eq!(message, format!("{} [truncated]", "x".repeat(64 << 10)));
        Ok(())
    }
}

smoketest! {
    /// One call keeps at most 1,000 records; the rest are dropped and a warning says so.
    fn a_call_that_logs_too_much_is_cut_with_a_warning() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        t.call("log_many", json!([1_500]))?;
        let records = t.log_records(1_000)?;
        let last = records.last().expect("records were kept");
        assert_eq!(last.level, LogLevel::Warn);
        expect_contains(&last.message, "the rest was dropped")?;
        // 1,000 records and the warning; the database keeps the last 1,000 of them.
        assert_eq!(records.len(), 1_000);
        assert_eq!(records[0].message, "message 1");
        assert_eq!(records[records.len() - 2].message, "message 999");
        Ok(())
    }
}

smoketest! {
    /// A log that outgrows what is kept (4 MiB) is compacted on disk: the newest records are
    /// served, and after a restart the server reads the compacted file back.
    #[local_only = "restarts the server"]
    fn a_long_log_is_compacted_and_read_back_after_a_restart() {
        let mut t = Smoketest::builder().precompiled_module("logger").local_server("restarts the server").build()?;
        // 140 records of 60,000 bytes: past twice the kept bytes, so the file is rewritten.
        for _ in 0..140 {
            t.call("log_long", json!([60_000]))?;
        }
        t.call("log_many", json!([3]))?;
        let check = |t: &Smoketest| -> anyhow::Result<()> {
            let messages = t.logs(1_000)?;
            anyhow::ensure!((60..140).contains(&(messages.len() - 3)), "{} records kept", messages.len());
            assert_eq!(messages[messages.len() - 3..], ["message 0", "message 1", "message 2"]);
            anyhow::ensure!(messages[..messages.len() - 3].iter().all(|it| it.len() == 60_000));
            Ok(())
        };
        check(&t)?;
        t.restart_server()?;
        check(&t)?;
        Ok(())
    }
}

smoketest! {
    /// A refused SQL statement is noted in the server's log: the owner's every time, another
    /// identity's too (rate-limited, so that others cannot flood the log).
    #[local_only = "reads its server's log"]
    fn refused_sql_is_noted_in_the_server_log() {
        let t = Smoketest::builder().precompiled_module("counter").local_server("reads its server's log").build()?;
        let _ = t.sql("SELECT * FROM owner_typo");
        let reader = t.new_identity()?;
        let _ = reader.client().sql(t.db(), "SELECT * FROM reader_typo");
        t.wait_until("both refusals are in the server log", std::time::Duration::from_secs(10), || {
            let log = t.server_log()?;
            let refused: Vec<&str> = log.lines().filter(|line| line.contains("SQL refused")).collect();
            Ok::<_, keel_smoketest::SmoketestError>(
                refused.iter().any(|line| line.contains("owner_typo") && line.contains("owner=true"))
                    && refused.iter().any(|line| line.contains("reader_typo") && line.contains("owner=false")),
            )
        })?;
        Ok(())
    }
}
