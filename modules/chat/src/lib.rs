//! Fixture `chat`: tables `user` (identity primary key, name) and `message` (index on sent_at); `set_name`, `send` (empty text is an error), private `clear_messages`.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("user")
            .column(col::<String>("identity").primary_key())
            .column(col::<String>("name")),
        Table::public("message")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("sender"))
            .column(col::<String>("text"))
            .column(col::<i64>("sent_at"))
            .index("message_by_sent_at", &["sent_at"]),
    ];
    /// Sets the caller's display name.
    reducer set_name(ctx, name: String) {
        if name.trim().is_empty() {
            bail!("names must not be empty");
        }
        ctx.execute(
            "INSERT INTO user (identity, name) VALUES (?1, ?2) ON CONFLICT(identity) DO UPDATE SET name = excluded.name",
            (ctx.sender(), &name),
        )?;
        Ok(())
    }
    /// Posts a message from the caller.
    reducer send(ctx, text: String) {
        if text.trim().is_empty() {
            bail!("messages must not be empty");
        }
        ctx.execute(
            "INSERT INTO message (sender, text, sent_at) VALUES (?1, ?2, ?3)",
            (ctx.sender(), &text, ctx.timestamp_micros()),
        )?;
        Ok(())
    }
    /// Deletes every message (owner only).
    #[private]
    reducer clear_messages(ctx) {
        ctx.execute("DELETE FROM message", ())?;
        Ok(())
    }
}
