//! Fixture `identity`: table `seen(sender, ts)`; `record` stores ctx.sender() and the timestamp, `echo_sender`/`echo_timestamp` fail with them as the message, `same_timestamp` checks it is fixed per call.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("seen")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("sender"))
            .column(col::<i64>("ts")),
    ];
    /// Stores the caller and the call's timestamp.
    reducer record(ctx) {
        ctx.execute("INSERT INTO seen (sender, ts) VALUES (?1, ?2)", (ctx.sender(), ctx.timestamp_micros()))?;
        Ok(())
    }
    /// Fails with the caller's identity as the message, so a test can read it.
    reducer echo_sender(ctx) {
        Err(ctx.sender().into())
    }
    /// Fails with the call's timestamp (microseconds) as the message.
    reducer echo_timestamp(ctx) {
        Err(ctx.timestamp_micros().to_string().into())
    }
    /// Succeeds when the timestamp and the sender do not change during a call.
    reducer same_timestamp(ctx) {
        let (first, first_sender) = (ctx.timestamp_micros(), ctx.sender());
        let (second, second_sender) = (ctx.timestamp_micros(), ctx.sender());
        if first != second || first_sender != second_sender || first <= 0 {
            bail!("unstable call context: {first} vs {second}, {first_sender} vs {second_sender}");
        }
        Ok(())
    }
}
