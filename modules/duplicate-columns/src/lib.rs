//! Fixture `duplicate-columns`: describes table `dup` with column `x` twice; publish must be refused.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("dup")
            .column(col::<i64>("x"))
            .column(col::<String>("x")),
    ];
    reducer ok(_ctx) { Ok(()) }
}
