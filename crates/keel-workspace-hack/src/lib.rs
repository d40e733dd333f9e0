//! No code: this crate exists for its `Cargo.toml`, which asks for the union of the features the
//! workspace's cargo invocations need, so that every dependency compiles once per profile.
