//! Keel's wire format: the one home of every type that crosses a process boundary.
//!
//! - [`schema`]: the module schema a guest module describes and the host stores and serves.
//! - [`http`]: request and response bodies of the `/v1` HTTP API.
//! - [`log`]: module log records, as the host writes and the server stores and serves them.
//! - [`abi`]: the contract between a wasm module and the host runtime.
//! - [`names`]: validated database names.
//! - [`routes`]: the route paths and query strings of the `/v1` API.
//! - [`ready`]: the ready line the server prints once it listens.
//! - `openapi` (feature `openapi`): the OpenAPI 3.1 description of the API, derived from these
//!   types with utoipa; only the server enables it.
//!
//! Only these types derive `Serialize`/`Deserialize`; both the server and the client use them,
//! so the two cannot drift apart. The crate depends on serde alone and builds for
//! `wasm32-unknown-unknown`, because the guest SDK uses [`schema`] too; utoipa comes in only
//! with the `openapi` feature.

pub mod abi;
pub mod http;
pub mod log;
pub mod names;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod ready;
pub mod routes;
pub mod schema;

pub use names::{DatabaseName, NameError};
pub use ready::ReadyEvent;
