//! Fixture `empty`: no tables, no reducers.

keel_module::module! {}
