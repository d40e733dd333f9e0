//! Failing reducers: an error or a panic rolls the whole call back, and its message reaches the
//! caller (422) and the logs.

use keel_client::{ErrorKind, LogLevel};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

fn bank() -> anyhow::Result<Smoketest> {
    let t = Smoketest::builder().precompiled_module("bank").build()?;
    t.call("open", json!(["alice", 100]))?;
    t.call("open", json!(["bob", 0]))?;
    Ok(t)
}

const BALANCES: &str = "SELECT name, balance FROM account ORDER BY name";

smoketest! {
    /// A transfer that overdraws fails after it has written: the error reaches the caller and
    /// both balances are unchanged.
    fn failed_transfer_rolls_back() {
        let t = bank()?;
        let message = expect_error(t.call("transfer", json!(["alice", "bob", 150])), ErrorKind::ReducerError)?;
        assert_eq!(message, "reducer `transfer` failed: insufficient funds: alice would have -50");
        t.assert_sql(BALANCES, "name  | balance\n------+--------\nalice | 100\nbob   | 0")?;
        Ok(())
    }
}

smoketest! {
    /// A transfer to a missing account fails after the debit: the debit is rolled back.
    fn transfer_to_missing_account_rolls_back_the_debit() {
        let t = bank()?;
        let message = expect_error(t.call("transfer", json!(["alice", "carol", 10])), ErrorKind::ReducerError)?;
        expect_contains(&message, "no account named carol")?;
        t.assert_sql(BALANCES, "name  | balance\n------+--------\nalice | 100\nbob   | 0")?;
        Ok(())
    }
}

smoketest! {
    /// A valid transfer commits both sides and logs what it did.
    fn successful_transfer_commits() {
        let t = bank()?;
        t.call("transfer", json!(["alice", "bob", 30]))?;
        t.call("transfer", json!(["bob", "alice", 5]))?;
        t.assert_sql(BALANCES, "name  | balance\n------+--------\nalice | 75\nbob   | 25")?;
        assert_eq!(t.logs(2)?, ["moved 30 from alice to bob", "moved 5 from bob to alice"]);
        Ok(())
    }
}

smoketest! {
    /// A reducer's `Err` message reaches the caller exactly, prefixed with the reducer's name.
    fn reducer_error_message_reaches_the_caller() {
        let t = Smoketest::builder().precompiled_module("errors").build()?;
        let message = expect_error(t.call("fail", json!(["custom message 42"])), ErrorKind::ReducerError)?;
        assert_eq!(message, "reducer `fail` failed: custom message 42");
        let message = expect_error(t.call("bail_code", json!([7])), ErrorKind::ReducerError)?;
        assert_eq!(message, "reducer `bail_code` failed: error code 7");
        let message = expect_error(t.call("unicode_error", json!([])), ErrorKind::ReducerError)?;
        assert_eq!(message, "reducer `unicode_error` failed: échec ✗ 失败");
        Ok(())
    }
}

smoketest! {
    /// An insert followed by an error is rolled back; the next successful call commits.
    fn error_after_insert_rolls_back() {
        let t = Smoketest::builder().precompiled_module("errors").build()?;
        let message = expect_error(t.call("fail_after_insert", json!(["ghost"])), ErrorKind::ReducerError)?;
        expect_contains(&message, "failed after inserting ghost")?;
        t.call("ok", json!(["kept"]))?;
        t.assert_sql("SELECT id, text FROM attempt", "id | text\n---+-----\n1  | kept")?;
        Ok(())
    }
}

smoketest! {
    /// SQL mistakes inside a reducer become its error with SQLite's explanation.
    fn sql_errors_inside_reducers_are_reported() {
        let t = Smoketest::builder().precompiled_module("errors").build()?;
        let message = expect_error(t.call("bad_sql", json!([])), ErrorKind::ReducerError)?;
        expect_contains(&message, "syntax error")?;
        let message = expect_error(t.call("no_such_table", json!([])), ErrorKind::ReducerError)?;
        expect_contains(&message, "no such table: nowhere")?;
        let message = expect_error(t.call("missing_param", json!([])), ErrorKind::ReducerError)?;
        expect_contains(&message, "parameter")?;
        t.assert_sql("SELECT count(*) AS n FROM attempt", "n\n-\n0")?;
        Ok(())
    }
}

smoketest! {
    /// A long error message arrives whole.
    fn long_error_messages_arrive_whole() {
        let t = Smoketest::builder().precompiled_module("errors").build()?;
        let message = expect_error(t.call("long_error", json!([5000])), ErrorKind::ReducerError)?;
        assert_eq!(message, format!("reducer `long_error` failed: {}", "e".repeat(5000)));
        Ok(())
    }
}

smoketest! {
    /// A panic rolls back the insert before it; the panic message is in the response and in
    /// an error log record.
    fn panic_rolls_back_and_reports_its_message() {
        let t = Smoketest::builder().precompiled_module("panicker").build()?;
        let message = expect_error(t.call("boom", json!([])), ErrorKind::ReducerPanic)?;
        expect_contains(&message, "reducer `boom` panicked")?;
        expect_contains(&message, "panicker: deliberate panic")?;
        t.assert_sql("SELECT count(*) AS n FROM event", "n\n-\n0")?;
        let record = t.log_records(1)?.pop().expect("the failure is logged");
        assert_eq!(record.level, LogLevel::Error);
        expect_contains(&record.message, "panicker: deliberate panic")?;
        Ok(())
    }
}

smoketest! {
    /// Panics from `expect` and with caller-chosen unicode messages carry their text.
    fn panic_messages_carry_their_text() {
        let t = Smoketest::builder().precompiled_module("panicker").build()?;
        let message = expect_error(t.call("expect_missing", json!([])), ErrorKind::ReducerPanic)?;
        expect_contains(&message, "panicker: no such event")?;
        let message = expect_error(t.call("boom_with", json!(["übel ☠ 恐慌"])), ErrorKind::ReducerPanic)?;
        expect_contains(&message, "übel ☠ 恐慌")?;
        Ok(())
    }
}

smoketest! {
    /// Logs written before a panic are kept, followed by the error record; the module keeps
    /// working afterwards.
    fn module_works_after_a_panic() {
        let t = Smoketest::builder().precompiled_module("panicker").build()?;
        expect_error(t.call("log_then_panic", json!([])), ErrorKind::ReducerPanic)?;
        let records = t.log_records(2)?;
        assert_eq!(records[0].message, "about to panic");
        assert_eq!(records[1].level, LogLevel::Error);
        expect_contains(&records[1].message, "panicker: panic after logging")?;
        t.call("ok", json!(["after"]))?;
        t.assert_sql("SELECT message FROM event", "message\n-------\nafter")?;
        Ok(())
    }
}

smoketest! {
    /// Host calls no SDK would make fail with the host's own message and leave the module
    /// working: parameters that are not a JSON array or not JSON and SQL that is not UTF-8 come
    /// back to the reducer as SQL errors; a buffer outside the module's memory or of negative
    /// length traps the call. `null` parameters mean none.
    fn malformed_host_calls_fail_with_the_hosts_message() {
        let t = Smoketest::builder().precompiled_module("bad-host-calls").build()?;
        for (reducer, needle) in [
            ("params_not_array", "parameters must be a JSON array"),
            ("params_not_json", "parameters are not a JSON array"),
            ("sql_not_utf8", "SQL text is not UTF-8"),
        ] {
            let message = expect_error(t.call(reducer, json!([])), ErrorKind::ReducerError)?;
            expect_contains(&message, needle)?;
        }
        for (reducer, needle) in [
            ("log_outside_memory", "buffer outside the module's memory"),
            ("log_negative_length", "buffer length out of range"),
        ] {
            let message = expect_error(t.call(reducer, json!([])), ErrorKind::ReducerPanic)?;
            expect_contains(&message, needle)?;
        }
        t.call("params_null", json!([]))?;
        expect_contains(&t.logs(1)?.remove(0), "[[7]]")?;
        t.call("ok", json!([]))?;
        Ok(())
    }
}
