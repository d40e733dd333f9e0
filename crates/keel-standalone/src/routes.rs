//! The `/v1` HTTP API (routes listed in `keel_api::http`). Handlers authenticate, then do
//! their database work on the blocking pool, one database mutex at a time.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Uri};
use axum::routing::{get, post};
use keel_api::DatabaseName;
use keel_api::abi::ABI_VERSION;
use keel_api::http::{
    CallResult, DatabaseInfo, DatabaseList, DatabaseSummary, Deleted, ErrorKind, IdentityCreated,
    LogLevel, LogList, LogRecord, PublishResult, RenameRequest, ServerInfo, SqlRequest, SqlResult,
    WhoAmI,
};
use std::sync::Arc;

use keel_host::{Access, CompiledModule, Installed};
use serde::Deserialize;

use crate::api_error::{AppError, AppResult};
use crate::auth;
use crate::state::{AppState, DatabaseEntry};

/// Largest body of a call or SQL request.
const MAX_SMALL_BODY: usize = 1 << 20;

/// The router with every route.
pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/v1/ping", get(ping))
        .route("/v1/identity", post(create_identity).get(whoami))
        .route("/v1/databases", get(list))
        .route("/v1/databases/{name}", post(publish).delete(delete))
        .route("/v1/databases/{name}/reset", post(reset))
        .route("/v1/databases/{name}/rename", post(rename))
        .route("/v1/databases/{name}/call/{reducer}", post(call))
        .route("/v1/databases/{name}/sql", post(sql))
        .route("/v1/databases/{name}/logs", get(logs))
        .route("/v1/databases/{name}/schema", get(schema))
        .fallback(|| async {
            AppError::new(ErrorKind::NotFound, "no such route")
                .with_hint("the API lives under /v1; see keel_api::http")
        })
        .with_state(state)
}

async fn ping() -> Json<ServerInfo> {
    Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        abi_version: ABI_VERSION,
    })
}

async fn create_identity(State(state): State<AppState>) -> AppResult<Json<IdentityCreated>> {
    blocking(move || {
        let new = auth::new_identity();
        state.add_identity(&new.identity, new.secret_hash)?;
        tracing::info!(identity = %new.identity, "identity created");
        Ok(Json(IdentityCreated {
            identity: new.identity,
            token: new.token,
        }))
    })
    .await
}

async fn whoami(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Json<WhoAmI>> {
    let identity = authenticate(&state, &headers)?;
    Ok(Json(WhoAmI { identity }))
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Json<DatabaseList>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let mut databases = Vec::new();
        for (name, entry) in state.databases_of(&identity) {
            let module_hash = match state.lock(&name, &entry) {
                Ok(mut slot) => slot
                    .database()
                    .module()
                    .map(|module| module.hash().to_owned()),
                Err(_) => continue,
            };
            databases.push(DatabaseSummary { name, module_hash });
        }
        Ok(Json(DatabaseList { databases }))
    })
    .await
}

#[derive(Deserialize)]
struct PublishQuery {
    #[serde(default)]
    clear: bool,
}

async fn publish(
    State(state): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PublishResult>> {
    // The body is read before anything can be refused: a client still sending it would see
    // a reset connection instead of the answer.
    let wasm = body_bytes(body, state.max_body_bytes()).await?;
    let query: PublishQuery = parse_query(&uri)?;
    let identity = authenticate(&state, &headers)?;
    let name = parse_name(&name)?;
    blocking(move || {
        // Ownership first: a publish that will be refused costs no compilation and stores nothing.
        if let Ok(entry) = state.database(name.as_str())
            && !entry.is_owned_by(&identity)
        {
            return Err(AppError::not_owner(name.as_str(), "publish to"));
        }
        let module = state.runtime().load(&wasm)?;
        state.store_module(module.hash(), &wasm)?;
        let (entry, new_entry) = state.database_or_create(name.as_str(), &identity)?;
        if !entry.is_owned_by(&identity) {
            return Err(AppError::not_owner(name.as_str(), "publish to"));
        }
        let outcome = install(&state, name.as_str(), &entry, &module, query.clear, &identity);
        if let Err(error) = &outcome {
            tracing::warn!(database = %name, error = ?error, "publish refused");
            if new_entry {
                // A database that never got a module is not left behind, nor its log.
                state.remove_database(name.as_str(), &entry)?;
            }
        }
        let installed = outcome?;
        tracing::info!(database = %name, hash = module.hash(), created = installed.created, steps = ?installed.steps, "module published");
        Ok(Json(PublishResult {
            database: name.to_string(),
            created: installed.created,
            cleared: query.clear,
            module_hash: module.hash().to_owned(),
            migration: installed.steps,
        }))
    })
    .await
}

/// Installs `module` in the database, logging the outcome in the database's log.
fn install(
    state: &AppState,
    name: &str,
    entry: &DatabaseEntry,
    module: &Arc<CompiledModule>,
    clear: bool,
    identity: &str,
) -> AppResult<Installed> {
    let mut slot = state.lock(name, entry)?;
    let mut logs = Vec::new();
    let result =
        slot.database()
            .install(state.runtime(), module.clone(), clear, identity, &mut logs);
    let record_failure = result
        .as_ref()
        .err()
        .map(|error| error_record(&format!("publish failed: {error}")));
    slot.logs
        .append(logs.into_iter().chain(record_failure).collect())
        .map_err(AppError::internal)?;
    Ok(result?)
}

async fn delete(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<Deleted>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let entry = owned_entry(&state, &name, &identity, "delete")?;
        state.remove_database(&name, &entry)?;
        tracing::info!(database = %name, "database deleted");
        Ok(Json(Deleted { database: name }))
    })
    .await
}

async fn reset(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<Deleted>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let entry = owned_entry(&state, &name, &identity, "reset")?;
        let mut slot = state.lock(&name, &entry)?;
        slot.database().wipe()?;
        slot.logs.clear().map_err(AppError::internal)?;
        tracing::info!(database = %name, "database reset");
        Ok(Json(Deleted { database: name }))
    })
    .await
}

async fn rename(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<DatabaseSummary>> {
    let request: RenameRequest = json_body(body).await?;
    let identity = authenticate(&state, &headers)?;
    let new_name = parse_name(&request.new_name)?;
    blocking(move || {
        let entry = owned_entry(&state, &name, &identity, "rename")?;
        let mut slot = state.lock(&name, &entry)?;
        state.rename_database(&name, new_name.as_str(), request.new_owner.as_deref())?;
        tracing::info!(database = %new_name, old_name = %name, new_owner = ?request.new_owner, "database renamed");
        Ok(Json(DatabaseSummary {
            name: new_name.to_string(),
            module_hash: slot
                .database()
                .module()
                .map(|module| module.hash().to_owned()),
        }))
    })
    .await
}

async fn call(
    State(state): State<AppState>,
    Path((name, reducer)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<CallResult>> {
    let bytes = body_bytes(body, MAX_SMALL_BODY).await?;
    let identity = authenticate(&state, &headers)?;
    let args: serde_json::Value = if bytes.is_empty() {
        serde_json::json!([])
    } else {
        parse_json(&bytes)?
    };
    blocking(move || {
        let entry = state.database(&name)?;
        let mut slot = state.lock(&name, &entry)?;
        let mut logs = Vec::new();
        let result = slot.database().call(
            state.runtime(),
            &reducer,
            &args,
            &identity,
            entry.is_owned_by(&identity),
            &mut logs,
        );
        if let Err(error) = &result {
            tracing::info!(database = %name, %reducer, %error, "reducer call failed");
            logs.push(error_record(&error.to_string()));
        }
        slot.logs.append(logs).map_err(AppError::internal)?;
        let stats = result?;
        Ok(Json(CallResult {
            fuel_used: stats.fuel_used,
            duration_micros: stats.duration.as_micros() as u64,
        }))
    })
    .await
}

async fn sql(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<SqlResult>> {
    let request: SqlRequest = json_body(body).await?;
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let entry = state.database(&name)?;
        let access = if entry.is_owned_by(&identity) {
            Access::Owner
        } else {
            Access::Reader
        };
        let mut slot = state.lock(&name, &entry)?;
        let result = slot.database().sql(&request.query, &request.params, access);
        if let Err(error) = &result {
            tracing::info!(database = %name, %error, "SQL refused");
        }
        let rows = result?;
        Ok(Json(SqlResult {
            columns: rows.columns,
            rows: rows.rows,
            changes: rows.changes,
        }))
    })
    .await
}

#[derive(Deserialize)]
struct LogsQuery {
    n: Option<usize>,
}

async fn logs(
    State(state): State<AppState>,
    Path(name): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> AppResult<Json<LogList>> {
    let query: LogsQuery = parse_query(&uri)?;
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let entry = owned_entry(&state, &name, &identity, "read the logs of")?;
        let mut slot = state.lock(&name, &entry)?;
        let records = slot
            .logs
            .last(query.n.unwrap_or(100))
            .map_err(AppError::internal)?;
        Ok(Json(LogList { records }))
    })
    .await
}

async fn schema(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> AppResult<Json<DatabaseInfo>> {
    authenticate(&state, &headers)?;
    blocking(move || {
        let entry = state.database(&name)?;
        let mut slot = state.lock(&name, &entry)?;
        let module = slot.database().module().cloned();
        Ok(Json(DatabaseInfo {
            name,
            owner: entry.owner(),
            module_hash: module.as_ref().map(|module| module.hash().to_owned()),
            schema: module.map(|module| module.schema().clone()),
        }))
    })
    .await
}

/// The database `name`, if `identity` owns it; `action` completes "only the owner may ...".
fn owned_entry(
    state: &AppState,
    name: &str,
    identity: &str,
    action: &str,
) -> AppResult<std::sync::Arc<crate::state::DatabaseEntry>> {
    let entry = state.database(name)?;
    if !entry.is_owned_by(identity) {
        return Err(AppError::not_owner(name, action));
    }
    Ok(entry)
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> AppResult<String> {
    let (identity, secret_hash) = auth::bearer(headers)?;
    state.authenticate(&identity, &secret_hash)
}

fn parse_name(name: &str) -> AppResult<DatabaseName> {
    DatabaseName::parse(name)
        .map_err(|error| AppError::new(ErrorKind::BadRequest, error.to_string()))
}

/// Reads a request body of at most `limit` bytes. A larger body is still read to its end (up
/// to a cap) before the 413 answer, so that the client, still sending, sees the answer instead
/// of a connection reset.
async fn body_bytes(mut body: Body, limit: usize) -> AppResult<Bytes> {
    use http_body_util::BodyExt;
    let drain_cap = limit.saturating_mul(4).saturating_add(64 << 20);
    let mut data = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            AppError::new(
                ErrorKind::BadRequest,
                format!("could not read the request body: {error}"),
            )
        })?;
        let Ok(chunk) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            data.extend_from_slice(&chunk);
        } else if seen > drain_cap {
            break;
        }
    }
    if seen > limit {
        return Err(AppError::new(
            ErrorKind::PayloadTooLarge,
            format!("the request body is larger than the server accepts ({seen} bytes or more, limit {limit} bytes)"),
        )
        .with_hint("modules may be up to --max-body-mib (16 MiB by default); calls and SQL up to 1 MiB"));
    }
    Ok(Bytes::from(data))
}

async fn json_body<T: serde::de::DeserializeOwned>(body: Body) -> AppResult<T> {
    parse_json(&body_bytes(body, MAX_SMALL_BODY).await?)
}

/// The query string as `T`, with a clear 400 when it does not fit.
fn parse_query<T: serde::de::DeserializeOwned>(uri: &Uri) -> AppResult<T> {
    Query::try_from_uri(uri)
        .map(|Query(query)| query)
        .map_err(|rejection| {
            AppError::new(
                ErrorKind::BadRequest,
                format!("invalid query string: {}", rejection.body_text()),
            )
        })
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> AppResult<T> {
    serde_json::from_slice(bytes).map_err(|error| {
        AppError::new(
            ErrorKind::BadRequest,
            format!("the request body is not the expected JSON: {error}"),
        )
    })
}

fn error_record(message: &str) -> LogRecord {
    let ts_micros = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as i64);
    LogRecord {
        ts_micros,
        level: LogLevel::Error,
        message: message.to_owned(),
        reducer: None,
    }
}

/// Runs database work on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(AppError::internal)?
}
