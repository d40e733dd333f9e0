//! Fixture `bad-import`: imports `keel.does_not_exist` (hand-written extern block), so publishing must be refused.

use keel_module::prelude::*;

#[link(wasm_import_module = "keel")]
unsafe extern "C" {
    /// Not a host function: the host must refuse the module at publish.
    fn does_not_exist() -> i32;
}

keel_module::module! {
    tables = [
        Table::public("item").column(col::<i64>("id").primary_key()),
    ];
    reducer call_missing(_ctx) {
        // SAFETY: never runs; the host refuses the module before any call.
        let answer = unsafe { does_not_exist() };
        info!("{answer}");
        Ok(())
    }
}
