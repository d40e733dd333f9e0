//! Fixture `invalid-schema`: describes a table named `sqlite_evil`; publish must be refused.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("sqlite_evil").column(col::<i64>("id").primary_key()),
    ];
    reducer ok(_ctx) { Ok(()) }
}
