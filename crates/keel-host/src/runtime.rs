//! The runtime: a wasmi engine, the linker of host functions, and the compiled-module cache.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use keel_api::abi::{ABI_VERSION, STATUS_OK};
use keel_api::schema::ModuleSchema;
use wasmi::{Config, Engine, Linker, Module};

use crate::config::HostConfig;
use crate::errors::ModuleError;
use crate::invoke::{Call, HostState, linker};
use crate::sql::deadline::{Deadline, StopFlag};
use crate::validate::{check_imports_and_exports, check_schema};

/// How many compiled modules the cache keeps.
const CACHE_CAPACITY: usize = 256;
/// How many bytes of wasm the cached modules may add up to.
const CACHE_BYTES: usize = 128 << 20;
/// Memory SQLite may use before it sheds cached pages.
const SQLITE_SOFT_HEAP_BYTES: i64 = 256 << 20;
/// Memory SQLite may never pass: allocations beyond fail the statement.
const SQLITE_HARD_HEAP_BYTES: i64 = 1 << 30;

/// Compiles, checks and caches modules; shared by every database of a server.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache: Mutex<HashMap<String, Arc<CompiledModule>>>,
    config: HostConfig,
    stop: StopFlag,
}

/// A module that passed every check, with its schema.
#[derive(Debug)]
pub struct CompiledModule {
    hash: String,
    schema: ModuleSchema,
    module: Module,
    wasm_bytes: usize,
}

impl Runtime {
    /// A runtime with the given limits.
    pub fn new(config: HostConfig) -> Runtime {
        let mut wasm_config = Config::default();
        wasm_config.consume_fuel(true);
        let engine = Engine::new(&wasm_config);
        let linker = linker(&engine);
        // SQLite's own allocations, process-wide: caches shrink past the soft limit, and an
        // allocation past the hard limit fails the statement instead of the machine.
        // SAFETY: both only set a process-wide number.
        unsafe {
            rusqlite::ffi::sqlite3_soft_heap_limit64(SQLITE_SOFT_HEAP_BYTES);
            rusqlite::ffi::sqlite3_hard_heap_limit64(SQLITE_HARD_HEAP_BYTES);
        }
        Runtime {
            engine,
            linker,
            cache: Mutex::new(HashMap::new()),
            config,
            stop: StopFlag::default(),
        }
    }

    /// Stops every statement and reducer call in progress, and every one started later: they
    /// fail as interrupted. For shutting down.
    pub fn stop_everything(&self) {
        self.stop.raise();
    }

    pub(crate) fn stop_flag(&self) -> &StopFlag {
        &self.stop
    }

    /// The limits in force.
    pub fn config(&self) -> &HostConfig {
        &self.config
    }

    /// Compiles and checks `wasm`, or returns the cached module with the same content hash.
    pub fn load(&self, wasm: &[u8]) -> Result<Arc<CompiledModule>, ModuleError> {
        let hash = blake3::hash(wasm).to_hex().to_string();
        if let Some(module) = self.lock_cache().get(&hash) {
            return Ok(module.clone());
        }
        if !wasm.starts_with(b"\0asm") {
            return Err(ModuleError::InvalidWasm(
                "the bytes do not start with the wasm magic number `\\0asm`".to_owned(),
            ));
        }
        let module = Module::new(&self.engine, wasm)
            .map_err(|error| ModuleError::InvalidWasm(error.to_string()))?;
        check_imports_and_exports(&module)?;
        let schema = self.describe(&module)?;
        check_schema(&schema)?;
        let compiled = Arc::new(CompiledModule {
            hash: hash.clone(),
            schema,
            module,
            wasm_bytes: wasm.len(),
        });
        let mut cache = self.lock_cache();
        let cached_bytes: usize = cache.values().map(|module| module.wasm_bytes).sum();
        // Databases hold their own `Arc`s, so emptying the cache only costs recompilations.
        if cache.len() >= CACHE_CAPACITY || cached_bytes + wasm.len() > CACHE_BYTES {
            cache.clear();
        }
        cache.insert(hash, compiled.clone());
        Ok(compiled)
    }

    fn describe(&self, module: &Module) -> Result<ModuleSchema, ModuleError> {
        // The module's own code runs here too: under the time limit and the stop flag, like a
        // reducer call (its start function, run by instantiation, only under fuel).
        let deadline = Deadline::new(self.stop.clone());
        deadline.set(self.config.sql_time_limit);
        let state = HostState::new(self.config.max_memory_bytes).with_deadline(deadline);
        let mut call = Call::start(&self.linker, module, state, self.config.fuel_per_call)
            .map_err(|failed| {
                ModuleError::Describe(format!("instantiation failed: {}", failed.1))
            })?;
        let version = call
            .abi_version()
            .map_err(|error| ModuleError::Describe(error.to_string()))?;
        if version != ABI_VERSION {
            return Err(ModuleError::AbiVersion {
                found: version,
                expected: ABI_VERSION,
            });
        }
        let outcome = call.describe();
        let panic_message = outcome.state.panic_message.clone();
        match outcome.result {
            Ok(STATUS_OK) => {}
            Ok(status) => {
                return Err(ModuleError::Describe(format!(
                    "keel_describe returned status {status}"
                )));
            }
            Err(error) => {
                return Err(ModuleError::Describe(
                    panic_message.unwrap_or_else(|| error.to_string()),
                ));
            }
        }
        let bytes = outcome
            .returned
            .ok_or_else(|| ModuleError::Describe("keel_describe returned no schema".to_owned()))?;
        serde_json::from_slice(&bytes).map_err(|error| {
            ModuleError::InvalidSchema(format!(
                "the schema is not valid JSON of the expected shape: {error}"
            ))
        })
    }

    pub(crate) fn linker(&self) -> &Linker<HostState> {
        &self.linker
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<CompiledModule>>> {
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl CompiledModule {
    /// blake3 hash of the module bytes (hex).
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// The schema the module described.
    pub fn schema(&self) -> &ModuleSchema {
        &self.schema
    }

    pub(crate) fn module(&self) -> &Module {
        &self.module
    }
}
