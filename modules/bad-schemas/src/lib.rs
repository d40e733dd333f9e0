//! Fixture `bad-schemas`: hand-written exports whose `keel_describe` returns one of several
//! invalid schemas, chosen by the two digits after `SCHEMA-CASE:` in the module's data. A test
//! rewrites those digits in the wasm bytes to publish each case without building anything
//! (`tests/src/bad_inputs.rs` lists the cases and what the host must answer to each).

use keel_module::__private as rt;

#[link(wasm_import_module = "keel")]
unsafe extern "C" {
    /// The host's `return_bytes`: hands the schema JSON back.
    #[link_name = "return_bytes"]
    fn raw_return_bytes(ptr: *const u8, len: i32);
}

/// The case to describe; the test rewrites the two digits.
static SELECTOR: [u8; 14] = *b"SCHEMA-CASE:00";

/// Every case's schema, by number.
const SCHEMAS: &[&str] = &[
    // 00: valid, one table `t(id)`.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer","primary_key":true}]}],"reducers":[]}"#,
    // 01: a table declared twice (names compare without case).
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer"}]},{"name":"T","public":true,"columns":[{"name":"id","type":"integer"}]}],"reducers":[]}"#,
    // 02: a table without columns.
    r#"{"tables":[{"name":"t","public":true,"columns":[]}],"reducers":[]}"#,
    // 03: a column name that is not an identifier.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"1st","type":"integer"}]}],"reducers":[]}"#,
    // 04: a default of another type.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"n","type":"integer","default":"seven"}]}],"reducers":[]}"#,
    // 05: auto-increment on a text column.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"text","primary_key":true,"auto_increment":true}]}],"reducers":[]}"#,
    // 06: an index named like the table.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer"}],"indexes":[{"name":"t","columns":["id"]}]}],"reducers":[]}"#,
    // 07: an index without columns.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer"}],"indexes":[{"name":"by_nothing","columns":[]}]}],"reducers":[]}"#,
    // 08: an index over a column the table lacks.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer"}],"indexes":[{"name":"by_ghost","columns":["ghost"]}]}],"reducers":[]}"#,
    // 09: a reducer declared twice.
    r#"{"tables":[],"reducers":[{"name":"go","public":true,"args":[]},{"name":"go","public":true,"args":[]}]}"#,
    // 10: a reducer name that is not an identifier.
    r#"{"tables":[],"reducers":[{"name":"go-now","public":true,"args":[]}]}"#,
    // 11: an index name in the server's reserved namespace.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer"}],"indexes":[{"name":"_keel_index","columns":["id"]}]}],"reducers":[]}"#,
    // 12: a table name longer than 64 characters.
    r#"{"tables":[{"name":"t_123456789_123456789_123456789_123456789_123456789_123456789_123456789","public":true,"columns":[{"name":"id","type":"integer"}]}],"reducers":[]}"#,
    // 13: valid defaults: none (`null`) for a nullable column, bytes for a blob.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer","primary_key":true},{"name":"note","type":"text","nullable":true,"default":null},{"name":"data","type":"blob","default":[1,2,255]}]}],"reducers":[]}"#,
    // 14: a blob default that is not bytes.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"data","type":"blob","default":[1,256]}]}],"reducers":[]}"#,
    // 15: `"default": null` on a column that is not nullable: JSON's null is no default at all.
    r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"n","type":"integer","default":null}]}],"reducers":[]}"#,
];

fn case() -> usize {
    // SAFETY: reading a static; volatile so that the digits stay in the data, where the test
    // finds them, instead of being folded into the code.
    let selector = unsafe { core::ptr::read_volatile(&raw const SELECTOR) };
    usize::from(selector[12] - b'0') * 10 + usize::from(selector[13] - b'0')
}

#[unsafe(no_mangle)]
extern "C" fn keel_abi_version() -> i32 {
    keel_module::keel_api::abi::ABI_VERSION
}

#[unsafe(no_mangle)]
extern "C" fn keel_alloc(len: i32) -> i32 {
    rt::alloc(len)
}

#[unsafe(no_mangle)]
extern "C" fn keel_describe() -> i32 {
    let json = SCHEMAS.get(case()).copied().unwrap_or(SCHEMAS[0]);
    // SAFETY: the pointer and length describe a static string.
    unsafe { raw_return_bytes(json.as_ptr(), json.len() as i32) };
    keel_module::keel_api::abi::STATUS_OK
}

#[unsafe(no_mangle)]
extern "C" fn keel_call(name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32) -> i32 {
    // SAFETY: the host passes buffers from `keel_alloc` (ABI).
    unsafe {
        rt::call(
            name_ptr,
            name_len,
            args_ptr,
            args_len,
            |_ctx, name, _args| rt::Outcome::NoSuchReducer(name.to_owned()),
        )
    }
}
