//! One module instance per call: the host functions, and calling `keel_describe` and
//! `keel_call` with the ABI of `keel_api::abi`.
//!
//! Every call gets a fresh [`Store`] and instance, so a trap can never leave state behind for
//! the next call and memory is bounded per call. Fuel is handed out in slices; between two
//! slices, and before every SQL statement the module runs, the call's deadline is checked, so
//! the time limit holds for the whole call, in wasm code and across statements alike.

use keel_api::abi;
use keel_api::log::{LogLevel, LogRecord};
use rusqlite::Connection;
use serde_json::Value;
use wasmi::{
    Caller, Engine, Extern, Instance, Linker, Memory, Module, Store, StoreLimits,
    StoreLimitsBuilder, TrapCode, TypedFunc, TypedResumableCall,
};

use crate::guard::Guard;
use crate::sql::connection::Limits;
use crate::sql::deadline::Deadline;
use crate::sql::{Session, run_statement};

/// Fuel handed to a call at a time; the deadline is checked between slices. About a
/// millisecond of wasm in a release build.
const FUEL_SLICE: u64 = 1_000_000;

/// Longest log message kept; longer ones are cut.
const MAX_LOG_MESSAGE: usize = 64 << 10;
/// Most log bytes (as stored) one call keeps.
const MAX_LOG_BYTES_PER_CALL: usize = 1 << 20;
/// Most log records one call keeps.
const MAX_LOG_RECORDS_PER_CALL: usize = 1_000;
/// What a stored record takes beyond its message: timestamp, level, reducer, JSON syntax.
const LOG_RECORD_OVERHEAD: usize = 96;

/// Largest buffer a module may hand to one host function.
const MAX_GUEST_BUFFER: usize = 16 << 20;

/// State of one call, owned by its [`Store`].
pub(crate) struct HostState {
    limits: StoreLimits,
    /// The database connection, lent for the duration of a reducer call.
    pub(crate) connection: Option<Connection>,
    database: Option<(Guard, Limits)>,
    /// When the call must stop; checked between fuel slices and before each statement.
    deadline: Option<Deadline>,
    /// Set when the call was stopped at its deadline.
    pub(crate) stopped_at_deadline: bool,
    result: Vec<u8>,
    returned: Option<Vec<u8>>,
    pub(crate) panic_message: Option<String>,
    pub(crate) logs: Vec<LogRecord>,
    log_bytes: usize,
    logs_truncated: bool,
    caller_identity: String,
    now_micros: i64,
    reducer: Option<String>,
}

impl HostState {
    pub(crate) fn new(max_memory_bytes: usize) -> HostState {
        HostState {
            limits: StoreLimitsBuilder::new()
                .memory_size(max_memory_bytes)
                .instances(1)
                .build(),
            connection: None,
            database: None,
            deadline: None,
            stopped_at_deadline: false,
            result: Vec::new(),
            returned: None,
            panic_message: None,
            logs: Vec::new(),
            log_bytes: 0,
            logs_truncated: false,
            caller_identity: String::new(),
            now_micros: now_micros(),
            reducer: None,
        }
    }

    /// A call without a database (describing a module at load) that must end by `deadline`.
    pub(crate) fn with_deadline(mut self, deadline: Deadline) -> HostState {
        self.deadline = Some(deadline);
        self
    }

    /// Lends the database to the call, which must end by `deadline`.
    pub(crate) fn with_database(
        mut self,
        connection: Connection,
        guard: Guard,
        limits: Limits,
        deadline: Deadline,
        caller_identity: &str,
        reducer: &str,
    ) -> HostState {
        self.connection = Some(connection);
        self.database = Some((guard, limits));
        self.deadline = Some(deadline);
        self.caller_identity = caller_identity.to_owned();
        self.reducer = Some(reducer.to_owned());
        self
    }
}

impl HostState {
    /// Fails (and remembers why) once the call's deadline has passed.
    fn stop_at_deadline(&mut self) -> Result<(), wasmi::Error> {
        if self.deadline.as_ref().is_some_and(Deadline::passed) {
            self.stopped_at_deadline = true;
            return Err(wasmi::Error::new("stopped at the time limit"));
        }
        Ok(())
    }
}

/// How a call into the module ended.
pub(crate) struct Outcome {
    /// The status code, or the trap.
    pub(crate) result: Result<i32, wasmi::Error>,
    /// Bytes the module handed over with `return_bytes` (schema or error message).
    pub(crate) returned: Option<Vec<u8>>,
    /// Fuel consumed.
    pub(crate) fuel_used: u64,
    /// Linear memory size when the call ended, in bytes.
    pub(crate) memory_bytes: usize,
    /// The state, with the lent connection.
    pub(crate) state: HostState,
}

/// The host functions every module instance is linked against.
pub(crate) fn linker(engine: &Engine) -> Linker<HostState> {
    let mut linker = Linker::new(engine);
    let module = abi::IMPORT_MODULE;
    linker
        .func_wrap(
            module,
            "return_bytes",
            |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> Result<(), wasmi::Error> {
                let bytes = read_guest(&caller, ptr, len)?;
                caller.data_mut().returned = Some(bytes);
                Ok(())
            },
        )
        .expect("define return_bytes");
    linker
        .func_wrap(
            module,
            "sql",
            |mut caller: Caller<'_, HostState>,
             sql_ptr: i32,
             sql_len: i32,
             params_ptr: i32,
             params_len: i32|
             -> Result<i64, wasmi::Error> {
                caller.data_mut().stop_at_deadline()?;
                let sql = read_guest(&caller, sql_ptr, sql_len)?;
                let params = read_guest(&caller, params_ptr, params_len)?;
                let outcome = run_guest_sql(caller.data(), &sql, &params);
                let state = caller.data_mut();
                Ok(match outcome {
                    Ok(json) => {
                        state.result = json;
                        state.result.len() as i64
                    }
                    Err(message) => {
                        state.result = message.into_bytes();
                        -(state.result.len() as i64) - 1
                    }
                })
            },
        )
        .expect("define sql");
    linker
        .func_wrap(
            module,
            "read_result",
            |mut caller: Caller<'_, HostState>, ptr: i32| -> Result<(), wasmi::Error> {
                let result = std::mem::take(&mut caller.data_mut().result);
                let written = write_guest(&mut caller, ptr, &result);
                caller.data_mut().result = result;
                written
            },
        )
        .expect("define read_result");
    linker
        .func_wrap(
            module,
            "caller_identity",
            |mut caller: Caller<'_, HostState>| -> i32 {
                let state = caller.data_mut();
                state.result = state.caller_identity.clone().into_bytes();
                state.result.len() as i32
            },
        )
        .expect("define caller_identity");
    linker
        .func_wrap(
            module,
            "timestamp_micros",
            |caller: Caller<'_, HostState>| -> i64 { caller.data().now_micros },
        )
        .expect("define timestamp_micros");
    linker
        .func_wrap(
            module,
            "log",
            |mut caller: Caller<'_, HostState>,
             level: i32,
             ptr: i32,
             len: i32|
             -> Result<(), wasmi::Error> {
                let message = String::from_utf8_lossy(&read_guest(&caller, ptr, len)?).into_owned();
                let level = match level {
                    abi::LOG_ERROR => LogLevel::Error,
                    abi::LOG_WARN => LogLevel::Warn,
                    abi::LOG_DEBUG => LogLevel::Debug,
                    _ => LogLevel::Info,
                };
                let state = caller.data_mut();
                // A runaway logger must not exhaust the server's memory: records are cut to
                // MAX_LOG_MESSAGE bytes and a call keeps at most MAX_LOG_BYTES_PER_CALL of them.
                let message = truncate(message, MAX_LOG_MESSAGE);
                // What the record costs once stored as a JSON line, not just its text.
                let record_bytes = message.len() + LOG_RECORD_OVERHEAD;
                if state.logs.len() < MAX_LOG_RECORDS_PER_CALL
                    && state.log_bytes + record_bytes <= MAX_LOG_BYTES_PER_CALL
                {
                    state.log_bytes += record_bytes;
                    state.logs.push(LogRecord {
                        ts_micros: now_micros(),
                        level,
                        message,
                        reducer: state.reducer.clone(),
                    });
                } else if !state.logs_truncated {
                    state.logs_truncated = true;
                    state.logs.push(LogRecord {
                        ts_micros: now_micros(),
                        level: LogLevel::Warn,
                        message: format!(
                            "log output of this call passed {} MiB; the rest was dropped",
                            MAX_LOG_BYTES_PER_CALL >> 20
                        ),
                        reducer: state.reducer.clone(),
                    });
                }
                Ok(())
            },
        )
        .expect("define log");
    linker
        .func_wrap(
            module,
            "panic",
            |mut caller: Caller<'_, HostState>, ptr: i32, len: i32| -> Result<(), wasmi::Error> {
                let message = String::from_utf8_lossy(&read_guest(&caller, ptr, len)?).into_owned();
                caller.data_mut().panic_message = Some(message);
                Ok(())
            },
        )
        .expect("define panic");
    linker
}

fn run_guest_sql(state: &HostState, sql: &[u8], params: &[u8]) -> Result<Vec<u8>, String> {
    let (Some(connection), Some((guard, limits)), Some(deadline)) =
        (&state.connection, &state.database, &state.deadline)
    else {
        return Err("SQL is only available inside reducers".to_owned());
    };
    let session = Session {
        connection,
        guard,
        limits,
        deadline,
    };
    let sql = std::str::from_utf8(sql).map_err(|_| "SQL text is not UTF-8".to_owned())?;
    let params: Vec<Value> = if params.is_empty() {
        Vec::new()
    } else {
        match serde_json::from_slice(params)
            .map_err(|error| format!("parameters are not a JSON array: {error}"))?
        {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            _ => return Err("parameters must be a JSON array".to_owned()),
        }
    };
    let rows = run_statement(session, sql, &params).map_err(|error| error.to_string())?;
    let result = serde_json::json!({
        "columns": rows.columns,
        "rows": rows.rows,
        "changes": rows.changes,
    });
    Ok(serde_json::to_vec(&result).expect("JSON serializes"))
}

fn memory(caller: &Caller<'_, HostState>) -> Result<Memory, wasmi::Error> {
    caller
        .get_export("memory")
        .and_then(Extern::into_memory)
        .ok_or_else(|| wasmi::Error::new("the module exports no memory"))
}

fn read_guest(caller: &Caller<'_, HostState>, ptr: i32, len: i32) -> Result<Vec<u8>, wasmi::Error> {
    let len = usize::try_from(len)
        .ok()
        .filter(|len| *len <= MAX_GUEST_BUFFER)
        .ok_or_else(|| wasmi::Error::new("buffer length out of range"))?;
    let mut buffer = vec![0; len];
    memory(caller)?
        .read(caller, ptr as u32 as usize, &mut buffer)
        .map_err(|_| wasmi::Error::new("buffer outside the module's memory"))?;
    Ok(buffer)
}

fn write_guest(
    caller: &mut Caller<'_, HostState>,
    ptr: i32,
    bytes: &[u8],
) -> Result<(), wasmi::Error> {
    let memory = memory(caller)?;
    memory
        .write(caller, ptr as u32 as usize, bytes)
        .map_err(|_| wasmi::Error::new("buffer outside the module's memory"))
}

/// A started instance in its own store, ready for one call.
pub(crate) struct Call {
    store: Store<HostState>,
    instance: Instance,
    fuel_limit: u64,
}

impl Call {
    /// Instantiates `module` with `fuel_limit` fuel.
    pub(crate) fn start(
        linker: &Linker<HostState>,
        module: &Module,
        state: HostState,
        fuel_limit: u64,
    ) -> Result<Call, Box<(HostState, wasmi::Error)>> {
        let mut store = Store::new(module.engine(), state);
        store.limiter(|state| &mut state.limits);
        // Start-up code (a start function) gets the whole budget; calls get slices.
        store
            .set_fuel(fuel_limit)
            .expect("fuel metering is enabled");
        match linker.instantiate_and_start(&mut store, module) {
            Ok(instance) => Ok(Call {
                store,
                instance,
                fuel_limit,
            }),
            Err(error) => Err(Box::new((store.into_data(), error))),
        }
    }

    /// Calls `keel_abi_version`.
    pub(crate) fn abi_version(&mut self) -> Result<i32, wasmi::Error> {
        let abi_version = self.func::<(), i32>("keel_abi_version")?;
        self.run(abi_version, ())
    }

    /// Calls `keel_describe`.
    pub(crate) fn describe(mut self) -> Outcome {
        let result = self
            .func::<(), i32>("keel_describe")
            .and_then(|describe| self.run(describe, ()));
        self.finish(result)
    }

    /// Calls `keel_call` for `reducer` with the JSON `args`.
    pub(crate) fn reducer(mut self, reducer: &str, args: &[u8]) -> Outcome {
        let result = self
            .pass(reducer.as_bytes())
            .and_then(|(name_ptr, name_len)| {
                let (args_ptr, args_len) = self.pass(args)?;
                let call = self.func::<(i32, i32, i32, i32), i32>("keel_call")?;
                self.run(call, (name_ptr, name_len, args_ptr, args_len))
            });
        self.finish(result)
    }

    /// Runs `func` to its end, handing out fuel a slice at a time up to the call's budget, and
    /// stopping it when the deadline passes between two slices.
    fn run<Params: wasmi::WasmParams, Results: wasmi::WasmResults>(
        &mut self,
        func: TypedFunc<Params, Results>,
        params: Params,
    ) -> Result<Results, wasmi::Error> {
        self.store.data_mut().stop_at_deadline()?;
        let left = self.store.get_fuel().expect("fuel metering is enabled");
        // Fuel beyond the slice is held back and handed out as the call goes on.
        let mut held_back = left.saturating_sub(FUEL_SLICE);
        self.store
            .set_fuel(left - held_back)
            .expect("fuel metering is enabled");
        let mut call = func.call_resumable(&mut self.store, params);
        loop {
            match call? {
                TypedResumableCall::Finished(results) => {
                    self.give_back(held_back);
                    return Ok(results);
                }
                TypedResumableCall::HostTrap(trap) => {
                    self.give_back(held_back);
                    return Err(wasmi::Error::new(trap.host_error().to_string()));
                }
                TypedResumableCall::OutOfFuel(out_of_fuel) => {
                    if let Err(stopped) = self.store.data_mut().stop_at_deadline() {
                        self.give_back(held_back);
                        return Err(stopped);
                    }
                    let current = self.store.get_fuel().expect("fuel metering is enabled");
                    let needed = out_of_fuel.required_fuel().saturating_sub(current);
                    if held_back == 0 || held_back < needed {
                        return Err(TrapCode::OutOfFuel.into());
                    }
                    let slice = FUEL_SLICE.max(needed).min(held_back);
                    held_back -= slice;
                    self.store
                        .set_fuel(current + slice)
                        .expect("fuel metering is enabled");
                    call = out_of_fuel.resume(&mut self.store);
                }
            }
        }
    }

    /// Returns the fuel held back from a finished run, so the next run (and the fuel count)
    /// sees the whole budget.
    fn give_back(&mut self, held_back: u64) {
        let current = self.store.get_fuel().expect("fuel metering is enabled");
        self.store
            .set_fuel(current + held_back)
            .expect("fuel metering is enabled");
    }

    fn pass(&mut self, bytes: &[u8]) -> Result<(i32, i32), wasmi::Error> {
        let len =
            i32::try_from(bytes.len()).map_err(|_| wasmi::Error::new("argument too large"))?;
        // Through `run`, like the call itself: a module's allocator is its code too.
        let alloc = self.func::<i32, i32>("keel_alloc")?;
        let ptr = self.run(alloc, len)?;
        let memory = self
            .instance
            .get_memory(&self.store, "memory")
            .ok_or_else(|| wasmi::Error::new("the module exports no memory"))?;
        memory
            .write(&mut self.store, ptr as u32 as usize, bytes)
            .map_err(|_| wasmi::Error::new("keel_alloc returned a buffer outside memory"))?;
        Ok((ptr, len))
    }

    fn func<Params: wasmi::WasmParams, Results: wasmi::WasmResults>(
        &self,
        name: &str,
    ) -> Result<TypedFunc<Params, Results>, wasmi::Error> {
        self.instance
            .get_typed_func::<Params, Results>(&self.store, name)
    }

    fn finish(self, result: Result<i32, wasmi::Error>) -> Outcome {
        let fuel_used = self
            .fuel_limit
            .saturating_sub(self.store.get_fuel().unwrap_or(0));
        let memory_bytes = self
            .instance
            .get_memory(&self.store, "memory")
            .map_or(0, |memory| memory.data_size(&self.store));
        let mut state = self.store.into_data();
        Outcome {
            result,
            returned: state.returned.take(),
            fuel_used,
            memory_bytes,
            state,
        }
    }
}

/// `message` cut to at most `max` bytes on a character boundary, marked when cut.
fn truncate(mut message: String, max: usize) -> String {
    if message.len() > max {
        let cut = message.floor_char_boundary(max);
        message.truncate(cut);
        message.push_str(" [truncated]");
    }
    message
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as i64)
}
