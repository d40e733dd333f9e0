//! The guest side of the ABI (`keel_api::abi`), called by the exports that [`module!`]
//! generates. Not a public API: only the macro uses it.
//!
//! Memory: `keel_alloc` hands out buffers with alignment 1 through `std::alloc`; `keel_call`
//! frees the two buffers it receives; bytes given to `return_bytes` stay owned by the module,
//! the host copies them during the import call. Nothing outlives a call.
//!
//! [`module!`]: crate::module

use std::alloc::Layout;

use keel_api::abi;
use keel_api::schema::{ArgSchema, ArgType, ModuleSchema, ReducerSchema, TableSchema};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::args::ReducerArg;
use crate::ctx::Ctx;
use crate::errors::Error;
use crate::sys;

pub use keel_api::abi::ABI_VERSION;

/// How a call ended, before it becomes a status code and a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reducer returned `Ok`.
    Ok,
    /// The reducer returned `Err` with this message.
    ReducerError(String),
    /// The arguments did not decode.
    InvalidArguments(String),
    /// No reducer has that name.
    NoSuchReducer(String),
}

/// A reducer's name and parameters, for argument decoding and its messages.
#[derive(Debug)]
pub struct ReducerDecl {
    /// Reducer name.
    pub name: &'static str,
    /// Parameter names and the text of their Rust types.
    pub params: &'static [(&'static str, &'static str)],
}

/// Reads a reducer's arguments one by one, with messages that name the reducer's signature.
#[derive(Debug)]
pub struct ArgReader {
    decl: &'static ReducerDecl,
    values: std::vec::IntoIter<Value>,
    arg_idx: usize,
}

impl From<Result<(), Error>> for Outcome {
    fn from(result: Result<(), Error>) -> Outcome {
        match result {
            Ok(()) => Outcome::Ok,
            Err(error) => Outcome::ReducerError(error.message().to_owned()),
        }
    }
}

impl ReducerDecl {
    /// `reducer `name` expects (a: i64, b: String)`.
    pub fn signature(&self) -> String {
        let params: Vec<String> = self
            .params
            .iter()
            .map(|(name, ty)| format!("{name}: {ty}"))
            .collect();
        format!("reducer `{}` expects ({})", self.name, params.join(", "))
    }
}

impl ArgReader {
    /// Checks that `args` is a JSON array with one value per parameter.
    pub fn new(decl: &'static ReducerDecl, args: &[u8]) -> Result<ArgReader, Outcome> {
        let invalid =
            |why: String| Outcome::InvalidArguments(format!("{}: {why}", decl.signature()));
        let values: Vec<Value> = match serde_json::from_slice(args) {
            Ok(Value::Array(values)) => values,
            Ok(other) => {
                return Err(invalid(format!(
                    "arguments must be a JSON array, got {other}"
                )));
            }
            Err(error) => return Err(invalid(format!("arguments are not valid JSON: {error}"))),
        };
        if values.len() != decl.params.len() {
            let n_params = decl.params.len();
            let plural = if n_params == 1 { "" } else { "s" };
            return Err(invalid(format!(
                "expected {n_params} argument{plural}, got {}",
                values.len()
            )));
        }
        Ok(ArgReader {
            decl,
            values: values.into_iter(),
            arg_idx: 0,
        })
    }

    /// Decodes the next argument.
    pub fn next_arg<T: DeserializeOwned>(&mut self) -> Result<T, Outcome> {
        let name = self
            .decl
            .params
            .get(self.arg_idx)
            .map_or("?", |(name, _)| name);
        self.arg_idx += 1;
        let value = self.values.next().unwrap_or(Value::Null);
        T::deserialize(value).map_err(|error| {
            Outcome::InvalidArguments(format!(
                "{}: argument `{name}`: {error}",
                self.decl.signature()
            ))
        })
    }
}

/// The shape of `T` as a reducer parameter (lets the macro name a type in an expression).
pub fn arg_type<T: ReducerArg>() -> ArgType {
    T::arg_type()
}

/// The schema of one reducer.
pub fn reducer(name: &str, public: bool, args: Vec<(&str, ArgType)>) -> ReducerSchema {
    let args = args
        .into_iter()
        .map(|(name, ty)| ArgSchema {
            name: name.to_owned(),
            ty,
        })
        .collect();
    ReducerSchema {
        name: name.to_owned(),
        public,
        args,
    }
}

/// Collects a computed list of tables (`tables = some_iterator;`).
pub fn tables<I, T>(tables: I) -> Vec<TableSchema>
where
    I: IntoIterator<Item = T>,
    T: Into<TableSchema>,
{
    tables.into_iter().map(Into::into).collect()
}

/// Builds the module schema.
pub fn schema(tables: Vec<TableSchema>, reducers: Vec<ReducerSchema>) -> ModuleSchema {
    ModuleSchema { tables, reducers }
}

/// `keel_alloc`: a buffer of `len` bytes, alignment 1, that the host fills and `keel_call` frees.
pub fn alloc(len: i32) -> i32 {
    match usize::try_from(len) {
        Ok(0) => 1, // Any non-null pointer: nothing is read or written, nothing is freed.
        Ok(len) => {
            let layout = Layout::from_size_align(len, 1).expect("alignment 1 is valid");
            // SAFETY: the layout has a non-zero size.
            let ptr = unsafe { std::alloc::alloc(layout) };
            if ptr.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            ptr as usize as i32
        }
        Err(_) => 0,
    }
}

/// A buffer from [`alloc`], freed on drop.
struct HostBuffer {
    ptr: *mut u8,
    len: usize,
}

impl HostBuffer {
    /// # Safety
    /// `ptr` and `len` must come from one [`alloc`] call, and the buffer must not be used or
    /// freed elsewhere.
    unsafe fn new(ptr: i32, len: i32) -> HostBuffer {
        HostBuffer {
            ptr: ptr as usize as *mut u8,
            len: usize::try_from(len).unwrap_or(0),
        }
    }

    fn bytes(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: `new`'s contract: `len` initialised bytes the host wrote at `ptr`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl Drop for HostBuffer {
    fn drop(&mut self) {
        if self.len > 0 {
            let layout = Layout::from_size_align(self.len, 1).expect("alignment 1 is valid");
            // SAFETY: `new`'s contract: allocated by `alloc` with this very layout.
            unsafe { std::alloc::dealloc(self.ptr, layout) }
        }
    }
}

/// `keel_describe`: hands the schema JSON to the host.
pub fn describe(schema: fn() -> ModuleSchema) -> i32 {
    sys::install_panic_hook();
    let json = serde_json::to_vec(&schema()).expect("a schema always serializes");
    sys::return_bytes(&json);
    abi::STATUS_OK
}

/// `keel_call`: decodes the reducer name, dispatches, and reports the outcome.
///
/// # Safety
/// Both buffers must come from [`alloc`] (the ABI guarantees it); this function frees them.
pub unsafe fn call(
    name_ptr: i32,
    name_len: i32,
    args_ptr: i32,
    args_len: i32,
    dispatch: fn(&Ctx, &str, &[u8]) -> Outcome,
) -> i32 {
    sys::install_panic_hook();
    // SAFETY: the caller's contract.
    let (name, args) = unsafe {
        (
            HostBuffer::new(name_ptr, name_len),
            HostBuffer::new(args_ptr, args_len),
        )
    };
    let name = String::from_utf8_lossy(name.bytes()).into_owned();
    let outcome = dispatch(&Ctx::new(), &name, args.bytes());
    drop(args);
    let (status, message) = match outcome {
        Outcome::Ok => return abi::STATUS_OK,
        Outcome::ReducerError(message) => (abi::STATUS_REDUCER_ERROR, message),
        Outcome::InvalidArguments(message) => (abi::STATUS_INVALID_ARGUMENTS, message),
        Outcome::NoSuchReducer(name) => (
            abi::STATUS_NO_SUCH_REDUCER,
            format!("no reducer named `{name}`"),
        ),
    };
    sys::return_bytes(message.as_bytes());
    status
}
