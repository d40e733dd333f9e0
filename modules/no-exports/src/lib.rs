//! Fixture `no-exports`: a plain cdylib exporting only `add`, none of the Keel exports; publish must be refused.

/// Not a Keel export.
#[unsafe(no_mangle)]
pub extern "C" fn add(left: i32, right: i32) -> i32 {
    left.wrapping_add(right)
}
