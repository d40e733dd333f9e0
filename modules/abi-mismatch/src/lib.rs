//! Fixture `abi-mismatch`: hand-written exports with `keel_abi_version` returning 999; publish must be refused naming the ABI versions.

//!
//! It uses the SDK's hidden runtime functions for everything but the version, knowingly.

use keel_module::__private::{self as rt, ModuleSchema, Outcome};
use keel_module::Ctx;

fn schema() -> ModuleSchema {
    ModuleSchema::default()
}

fn dispatch(_ctx: &Ctx, name: &str, _args: &[u8]) -> Outcome {
    Outcome::NoSuchReducer(name.to_owned())
}

#[unsafe(no_mangle)]
extern "C" fn keel_abi_version() -> i32 {
    999
}

#[unsafe(no_mangle)]
extern "C" fn keel_alloc(len: i32) -> i32 {
    rt::alloc(len)
}

#[unsafe(no_mangle)]
extern "C" fn keel_describe() -> i32 {
    rt::describe(schema)
}

#[unsafe(no_mangle)]
extern "C" fn keel_call(name_ptr: i32, name_len: i32, args_ptr: i32, args_len: i32) -> i32 {
    // SAFETY: the host passes buffers from `keel_alloc` (ABI).
    unsafe { rt::call(name_ptr, name_len, args_ptr, args_len, dispatch) }
}
