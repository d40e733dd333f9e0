//! Reducer calls: the arguments checked against the schema, the module run in one
//! transaction with the connection lent to it, and the outcome turned into a [`CallError`].

use std::time::{Duration, Instant};

use keel_api::abi::{
    STATUS_INVALID_ARGUMENTS, STATUS_NO_SUCH_REDUCER, STATUS_OK, STATUS_REDUCER_ERROR,
};
use keel_api::log::LogRecord;
use keel_api::schema::{LIFECYCLE_REDUCERS, ModuleSchema};
use serde_json::Value;
use wasmi::TrapCode;

use crate::database::Database;
use crate::errors::CallError;
use crate::guard::Access;
use crate::invoke::{Call, HostState};
use crate::runtime::{CompiledModule, Runtime};

/// What a successful reducer call cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallStats {
    /// Fuel (wasm instructions, roughly) the call consumed.
    pub fuel_used: u64,
    /// Wall time of the call.
    pub duration: Duration,
}

impl Database {
    /// Calls `reducer` with `args` (a JSON array) as `caller` in one transaction.
    pub fn call(
        &mut self,
        runtime: &Runtime,
        reducer: &str,
        args: &Value,
        caller: &str,
        caller_is_owner: bool,
        logs: &mut Vec<LogRecord>,
    ) -> Result<CallStats, CallError> {
        let module = self.module.clone().ok_or(CallError::NoModule)?;
        check_call(module.schema(), reducer, args, caller_is_owner)?;
        let args = serde_json::to_vec(args).expect("JSON serializes");
        self.begin()?;
        let result = self.invoke(runtime, &module, reducer, &args, caller, logs);
        self.finish(result.is_ok())?;
        result
    }

    /// Runs the reducer inside the open transaction, under the time limit for the whole call.
    pub(crate) fn invoke(
        &mut self,
        runtime: &Runtime,
        module: &CompiledModule,
        reducer: &str,
        args: &[u8],
        caller: &str,
        logs: &mut Vec<LogRecord>,
    ) -> Result<CallStats, CallError> {
        let started = Instant::now();
        let fuel_limit = runtime.config().fuel_per_call;
        let connection = self
            .connection
            .take()
            .expect("connection is home between calls");
        self.guard.set_access(Access::Owner);
        self.deadline.set(self.sql_time_limit);
        let state = HostState::new(runtime.config().max_memory_bytes).with_database(
            connection,
            self.guard.clone(),
            self.limits.clone(),
            self.deadline.clone(),
            caller,
            reducer,
        );
        let outcome = match Call::start(runtime.linker(), module.module(), state, fuel_limit) {
            Ok(call) => call.reducer(reducer, args),
            Err(failed) => {
                let (mut state, error) = *failed;
                self.connection = state.connection.take();
                self.deadline.clear();
                return Err(CallError::Panic {
                    reducer: reducer.to_owned(),
                    message: format!("instantiation failed: {error}"),
                });
            }
        };
        let mut state = outcome.state;
        self.connection = state.connection.take();
        let stopping = self.deadline.stopping();
        self.deadline.clear();
        logs.append(&mut state.logs);
        let message = || {
            outcome
                .returned
                .as_deref()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                .unwrap_or_default()
        };
        let reducer_name = reducer.to_owned();
        match outcome.result {
            Ok(STATUS_OK) => Ok(CallStats {
                fuel_used: outcome.fuel_used,
                duration: started.elapsed(),
            }),
            Ok(STATUS_REDUCER_ERROR) => Err(CallError::Reducer {
                reducer: reducer_name,
                message: message(),
            }),
            Ok(STATUS_INVALID_ARGUMENTS) => Err(CallError::InvalidArguments(message())),
            Ok(STATUS_NO_SUCH_REDUCER) => Err(CallError::NoSuchReducer(reducer_name)),
            Ok(status) => Err(CallError::Panic {
                reducer: reducer_name,
                message: format!("the module returned unknown status {status}"),
            }),
            Err(_) if state.stopped_at_deadline && stopping => Err(CallError::ShuttingDown {
                reducer: reducer_name,
            }),
            Err(_) if state.stopped_at_deadline => Err(CallError::TimeLimit {
                reducer: reducer_name,
                limit: self.sql_time_limit,
            }),
            Err(trap) if trap.as_trap_code() == Some(TrapCode::OutOfFuel) => {
                Err(CallError::OutOfFuel {
                    reducer: reducer_name,
                    fuel: fuel_limit,
                })
            }
            Err(trap) => {
                let message = match state.panic_message.take() {
                    Some(message) => message,
                    None if outcome.memory_bytes + (1 << 20)
                        >= runtime.config().max_memory_bytes =>
                    {
                        format!(
                            "{trap} (the module reached its memory limit of {} MiB)",
                            runtime.config().max_memory_bytes >> 20
                        )
                    }
                    None => format!("wasm trap: {trap}"),
                };
                Err(CallError::Panic {
                    reducer: reducer_name,
                    message,
                })
            }
        }
    }
}

/// Checks that `reducer` exists, may be called by this caller, and gets well-shaped arguments.
fn check_call(
    schema: &ModuleSchema,
    reducer: &str,
    args: &Value,
    caller_is_owner: bool,
) -> Result<(), CallError> {
    let definition = schema
        .reducer(reducer)
        .ok_or_else(|| CallError::NoSuchReducer(reducer.to_owned()))?;
    if LIFECYCLE_REDUCERS.contains(&reducer) {
        return Err(CallError::Lifecycle(reducer.to_owned()));
    }
    if !definition.public && !caller_is_owner {
        return Err(CallError::Private(reducer.to_owned()));
    }
    let signature = || {
        let params: Vec<String> = definition
            .args
            .iter()
            .map(|arg| format!("{}: {}", arg.name, arg.ty.describe()))
            .collect();
        format!("reducer `{reducer}` takes ({})", params.join(", "))
    };
    let Value::Array(values) = args else {
        return Err(CallError::InvalidArguments(format!(
            "arguments must be a JSON array; {}",
            signature()
        )));
    };
    if values.len() != definition.args.len() {
        return Err(CallError::InvalidArguments(format!(
            "{}, but {} argument(s) were given",
            signature(),
            values.len()
        )));
    }
    for (index, (value, arg)) in values.iter().zip(&definition.args).enumerate() {
        if !arg.ty.accepts(value) {
            return Err(CallError::InvalidArguments(format!(
                "argument {} (`{}`) of reducer `{reducer}` must be {}, got {value}",
                index + 1,
                arg.name,
                arg.ty.describe()
            )));
        }
    }
    Ok(())
}
