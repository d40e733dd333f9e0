//! The SQL guard: an authorizer installed on every connection, and the policy it applies.
//!
//! SQL is a door into the file system unless it is guarded. Whatever the caller, the guard
//! refuses `ATTACH`/`DETACH`, extension loading, `PRAGMA`s other than a few read-only ones,
//! transaction control (the host owns transactions), and DDL (the module's schema owns
//! tables). Readers who are not the owner may only read, and only public tables.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use rusqlite::hooks::{AuthAction, AuthContext, Authorization};

/// Who is running a statement, which decides what it may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The host itself (schema changes): everything.
    System,
    /// A reducer of the module, or the owner through the SQL endpoint: reads and writes of the
    /// module's tables.
    Owner,
    /// Any other identity: reads of public tables only.
    Reader,
}

/// Read-only pragmas that reveal only the shape of public data.
const ALLOWED_PRAGMAS: &[&str] = &[
    "table_info",
    "table_xinfo",
    "index_list",
    "index_info",
    "index_xinfo",
];

/// The guard's shared state: the current access mode, the private tables, and the first
/// refusal of the current statement (so errors can say what was refused).
#[derive(Debug, Clone)]
pub(crate) struct Guard {
    inner: Arc<Mutex<GuardState>>,
}

#[derive(Debug)]
struct GuardState {
    access: Access,
    public_tables: HashSet<String>,
    private_tables: HashSet<String>,
    refusal: Option<String>,
}

impl Guard {
    pub(crate) fn new() -> Guard {
        Guard {
            inner: Arc::new(Mutex::new(GuardState {
                access: Access::Reader,
                public_tables: HashSet::new(),
                private_tables: HashSet::new(),
                refusal: None,
            })),
        }
    }

    pub(crate) fn set_access(&self, access: Access) {
        let mut state = self.lock();
        state.access = access;
        state.refusal = None;
    }

    pub(crate) fn access(&self) -> Access {
        self.lock().access
    }

    /// Declares the module's tables: readers may read the public ones and nothing else.
    pub(crate) fn set_tables(&self, schema: Option<&keel_api::schema::ModuleSchema>) {
        let tables = schema
            .map(|schema| schema.tables.as_slice())
            .unwrap_or_default();
        let names = |public: bool| {
            tables
                .iter()
                .filter(|table| table.public == public)
                .map(|table| table.name.to_ascii_lowercase())
                .collect()
        };
        let mut state = self.lock();
        state.public_tables = names(true);
        state.private_tables = names(false);
    }

    /// The reason the last statement was refused, if it was.
    pub(crate) fn take_refusal(&self) -> Option<String> {
        self.lock().refusal.take()
    }

    /// The authorizer callback to install on a connection.
    pub(crate) fn authorizer(
        &self,
    ) -> impl for<'r> FnMut(AuthContext<'r>) -> Authorization + Send + 'static {
        let guard = self.clone();
        move |context: AuthContext<'_>| {
            let mut state = guard.lock();
            match decide(&state, &context.action) {
                Ok(()) => Authorization::Allow,
                Err(reason) => {
                    state.refusal.get_or_insert(reason);
                    Authorization::Deny
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GuardState> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn decide(state: &GuardState, action: &AuthAction<'_>) -> Result<(), String> {
    let access = state.access;
    // Always refused, whoever asks.
    match action {
        AuthAction::Attach { .. } | AuthAction::Detach { .. } => {
            return Err("ATTACH and DETACH are not allowed".to_owned());
        }
        AuthAction::Function { function_name }
            if function_name.eq_ignore_ascii_case("load_extension") =>
        {
            return Err("loading extensions is not allowed".to_owned());
        }
        // Refused to the host itself too (`System` is let through below): that is the only
        // case this arm decides. For owners and readers SQLite first asks to write
        // `sqlite_master`, which `is_internal` refuses, and the last arm would refuse it too.
        AuthAction::CreateVtable { .. } | AuthAction::DropVtable { .. } => {
            return Err("virtual tables are not allowed".to_owned());
        }
        AuthAction::Function { function_name }
            if access != Access::System
                && QUADRATIC_FUNCTIONS
                    .iter()
                    .any(|name| function_name.eq_ignore_ascii_case(name)) =>
        {
            return Err(format!(
                "`{function_name}` is not available: its running time grows with the product of its arguments' sizes, inside one step the time limit cannot interrupt"
            ));
        }
        _ => {}
    }
    if access == Access::System {
        return Ok(());
    }
    match action {
        AuthAction::Select | AuthAction::Recursive | AuthAction::Function { .. } => Ok(()),
        AuthAction::Pragma { pragma_name, pragma_value } => {
            let name = pragma_name.to_ascii_lowercase();
            let reads_public = pragma_value.is_none_or(|table| !state.private_tables.contains(&table.to_ascii_lowercase()) || access == Access::Owner);
            if ALLOWED_PRAGMAS.contains(&name.as_str()) && reads_public {
                Ok(())
            } else {
                Err(format!("PRAGMA {pragma_name} is not allowed"))
            }
        }
        AuthAction::Transaction { .. } | AuthAction::Savepoint { .. } => {
            Err("transaction control is not allowed: every reducer call and SQL request already runs in its own transaction".to_owned())
        }
        // SQLite asks for every table a statement names, also one it reads no column of
        // (`SELECT count(*) FROM t`, `EXISTS (SELECT 1 FROM t)`): then with the column "".
        AuthAction::Read { table_name, .. } => read(state, table_name),
        AuthAction::Insert { table_name } | AuthAction::Delete { table_name } | AuthAction::Update { table_name, .. } => {
            if is_internal(table_name) {
                Err(format!("table `{table_name}` belongs to the database engine or the server"))
            } else if access == Access::Owner {
                Ok(())
            } else {
                Err(format!("only the database owner may write to `{table_name}`"))
            }
        }
        _ => Err("schema changes are not allowed: tables are declared by the module (publish an updated module instead)".to_owned()),
    }
}

/// Built-in functions whose work grows with the product of their arguments' sizes, with no
/// linear replacement (see `sql/functions.rs`): JSON merge patch scans the target's keys
/// for every key of the patch.
const QUADRATIC_FUNCTIONS: &[&str] = &["json_patch", "jsonb_patch"];

/// Tables every reader may see besides the module's public tables: the schema (which
/// `describe` shows anyway) and JSON table functions, which read nothing stored.
const READABLE_BY_EVERYONE: &[&str] = &["sqlite_master", "sqlite_schema", "json_each", "json_tree"];

fn read(state: &GuardState, table_name: &str) -> Result<(), String> {
    let lower = table_name.to_ascii_lowercase();
    if lower.starts_with("_keel") {
        return Err(format!("table `{table_name}` belongs to the server"));
    }
    if state.access == Access::Owner
        || state.public_tables.contains(&lower)
        || READABLE_BY_EVERYONE.contains(&lower.as_str())
    {
        return Ok(());
    }
    if state.private_tables.contains(&lower) {
        Err(format!(
            "table `{table_name}` is private: only the database owner may read it"
        ))
    } else if is_engine_table(&lower) {
        // sqlite_sequence, dbstat, sqlite_stat1, pragma functions and other engine tables
        // reveal the size and shape of private tables, or the server's files.
        Err(format!(
            "table `{table_name}` is not readable: only the module's public tables are"
        ))
    } else {
        // Not a table of this database at all (DDL is refused, so every table is the module's
        // or the engine's): the name of a common table expression or subquery, whose rows
        // come from tables checked on their own.
        Ok(())
    }
}

/// Tables and table-valued functions of the engine itself.
fn is_engine_table(lower: &str) -> bool {
    lower.starts_with("sqlite_") || lower.starts_with("pragma_") || lower == "dbstat"
}

fn is_internal(table_name: &str) -> bool {
    let lower = table_name.to_ascii_lowercase();
    lower.starts_with("sqlite_") || lower.starts_with("_keel")
}
