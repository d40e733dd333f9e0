//! Fixture `bank`: table `account` (name primary key, balance); `transfer` debits before checking funds, then fails: rollback is observable.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("account")
            .column(col::<String>("name").primary_key())
            .column(col::<i64>("balance").default(0)),
    ];
    /// Opens an account.
    reducer open(ctx, name: String, balance: i64) {
        ctx.execute("INSERT INTO account (name, balance) VALUES (?1, ?2)", (&name, balance))?;
        Ok(())
    }
    /// Adds money to an account.
    reducer deposit(ctx, name: String, amount: i64) {
        if ctx.execute("UPDATE account SET balance = balance + ?2 WHERE name = ?1", (&name, amount))? == 0 {
            bail!("no account named {name}");
        }
        Ok(())
    }
    /// Moves money. Debits and credits first, checks the balance last: a failed transfer has
    /// already written, so only a rollback keeps the balances unchanged.
    reducer transfer(ctx, from: String, to: String, amount: i64) {
        if amount <= 0 {
            bail!("amount must be positive, got {amount}");
        }
        if ctx.execute("UPDATE account SET balance = balance - ?2 WHERE name = ?1", (&from, amount))? == 0 {
            bail!("no account named {from}");
        }
        if ctx.execute("UPDATE account SET balance = balance + ?2 WHERE name = ?1", (&to, amount))? == 0 {
            bail!("no account named {to}");
        }
        let balance: i64 = ctx.query_one("SELECT balance FROM account WHERE name = ?1", (&from,))?;
        if balance < 0 {
            bail!("insufficient funds: {from} would have {balance}");
        }
        info!("moved {amount} from {from} to {to}");
        Ok(())
    }
}
