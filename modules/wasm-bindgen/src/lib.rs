//! Fixture `wasm-bindgen`: depends on wasm-bindgen and exports one `#[wasm_bindgen]` function, so it imports from `__wbindgen_placeholder__` and the host must refuse it with a clear error.

use keel_module::prelude::*;
use wasm_bindgen::prelude::*;

/// A wasm-bindgen export: pulls in `__wbindgen_*` imports the host does not provide.
#[wasm_bindgen]
pub fn greet(name: &str) -> String {
    format!("hello {name}")
}

keel_module::module! {
    tables = [
        Table::public("item").column(col::<i64>("id").primary_key()),
    ];
    reducer ok(_ctx) { Ok(()) }
}
