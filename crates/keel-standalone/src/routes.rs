//! The `/v1` HTTP API (routes listed in `keel_api::http`). Handlers authenticate from the
//! headers before they hold any of the body, then do their database work on the blocking
//! pool, one database mutex at a time, with ownership checked under that mutex.

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum::response::IntoResponse;
use axum::routing::{MethodFilter, MethodRouter, on};
use keel_api::DatabaseName;
use keel_api::abi::ABI_VERSION;
use keel_api::http::{
    CallResult, DatabaseInfo, DatabaseList, DatabaseSummary, Deleted, ErrorKind, IdentityCreated,
    IdentityDeleted, LogLevel, LogList, LogRecord, PublishResult, RenameRequest, ServerInfo,
    SqlRequest, SqlResult, WhoAmI,
};
use keel_api::routes::{Endpoint, LogsQuery, Method, PublishQuery};
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use keel_host::{Access, CompiledModule, Installed};
use tokio::sync::OwnedSemaphorePermit;

use crate::api_error::{AppError, AppResult};
use crate::auth;
use crate::state::{AppState, DatabaseEntry, Slot};

/// Largest body of a call or SQL request.
const MAX_SMALL_BODY: usize = 1 << 20;

/// The router with every route: one per [`Endpoint`], the list the OpenAPI description is made
/// from too.
pub(crate) fn router(state: AppState) -> Router {
    Endpoint::ALL
        .iter()
        .fold(Router::new(), |router, &endpoint| {
            router.route(endpoint.route(), handler(endpoint))
        })
        .fallback(|| async {
            AppError::new(ErrorKind::NotFound, "no such route")
                .with_hint("the API lives under /v1; GET /v1/openapi.json describes it")
        })
        .with_state(state)
}

/// The handler of `endpoint`, on its method.
fn handler(endpoint: Endpoint) -> MethodRouter<AppState> {
    let method = match endpoint.method() {
        Method::Get => MethodFilter::GET,
        Method::Post => MethodFilter::POST,
        Method::Delete => MethodFilter::DELETE,
    };
    match endpoint {
        Endpoint::Ping => on(method, ping),
        Endpoint::OpenApi => on(method, openapi),
        Endpoint::CreateIdentity => on(method, create_identity),
        Endpoint::WhoAmI => on(method, whoami),
        Endpoint::DeleteIdentity => on(method, delete_identity),
        Endpoint::ListDatabases => on(method, list),
        Endpoint::Publish => on(method, publish),
        Endpoint::DeleteDatabase => on(method, delete),
        Endpoint::Reset => on(method, reset),
        Endpoint::Rename => on(method, rename),
        Endpoint::Call => on(method, call),
        Endpoint::Sql => on(method, sql),
        Endpoint::Logs => on(method, logs),
        Endpoint::Schema => on(method, schema),
    }
}

async fn ping() -> Json<ServerInfo> {
    Json(ServerInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        abi_version: ABI_VERSION,
    })
}

/// The OpenAPI description, made once.
async fn openapi() -> impl IntoResponse {
    static DOCUMENT: LazyLock<String> = LazyLock::new(keel_api::openapi::document_json);
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        DOCUMENT.as_str(),
    )
}

async fn create_identity(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> AppResult<Json<IdentityCreated>> {
    state.identity_rate().take(peer.ip())?;
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

async fn delete_identity(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Json<IdentityDeleted>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let databases = state.remove_identity(&identity)?;
        tracing::info!(%identity, databases = databases.len(), "identity deleted");
        Ok(Json(IdentityDeleted {
            identity,
            databases,
        }))
    })
    .await
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> AppResult<Json<DatabaseList>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let mut databases = Vec::new();
        for (name, _) in state.databases_of(&identity) {
            // A database deleted or given away since the listing is left out.
            let module_hash = state.with_database(&name, |entry, slot| {
                if !entry.is_owned_by(&identity) {
                    return Err(AppError::not_found(&name));
                }
                Ok(slot
                    .database()
                    .module()
                    .map(|module| module.hash().to_owned()))
            });
            if let Ok(module_hash) = module_hash {
                databases.push(DatabaseSummary { name, module_hash });
            }
        }
        Ok(Json(DatabaseList { databases }))
    })
    .await
}

async fn publish(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<PublishResult>> {
    let limit = state.max_body_bytes();
    // Everything the headers decide is decided before a byte of the body is held.
    let checked = (|| {
        let query: PublishQuery = parse_query(&uri)?;
        let identity = authenticate(&state, &headers)?;
        let name = parse_name(&name)?;
        // An early answer only: ownership is checked again under the database's lock, so a
        // busy directory (a create or delete writing control.sqlite) is not waited for here,
        // on the async runtime.
        if let Some(entry) = state.try_database(name.as_str())
            && !entry.is_owned_by(&identity)
        {
            return Err(AppError::not_owner(name.as_str(), "publish to"));
        }
        check_declared_length(&headers, limit)?;
        Ok((query, identity, name))
    })();
    let (query, identity, name) = match checked {
        Ok(checked) => checked,
        Err(error) => return Err(refuse(&state, body, limit, error).await),
    };
    let (wasm, _permit) = read_body(&state, &headers, body, limit).await?;
    blocking(move || {
        // A module is compiled before the database is locked: compilation is the slow part.
        let module = state.runtime().load(&wasm)?;
        let _lease = state.store_module(module.hash(), &wasm)?;
        let installed = state.with_database_or_create(name.as_str(), &identity, |entry, slot, created| {
            // Checked again under the lock: the owner may have given the database away.
            if !entry.is_owned_by(&identity) {
                return Err(AppError::not_owner(name.as_str(), "publish to"));
            }
            let old_hash = slot
                .database()
                .module()
                .map(|module| module.hash().to_owned());
            state.record_pending_module(entry, module.hash())?;
            let outcome = install(&state, slot, &module, query.clear, &identity);
            if outcome.is_err() {
                // Nothing changed: the module it had is still the one recorded.
                state.record_module(entry, old_hash.as_deref(), old_hash.as_deref());
            }
            if outcome.is_ok() {
                state.record_module(entry, old_hash.as_deref(), Some(module.hash()));
            }
            if let Err(error) = &outcome {
                tracing::warn!(database = %name, error = ?error, "publish refused");
                // A database this request created and that never got a module is not left
                // behind, nor its log.
                if created && slot.database().module().is_none() {
                    state.remove_database(entry, slot)?;
                }
            }
            outcome
        })?;
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

/// Installs `module` in the database of a locked slot, logging the outcome in its log.
fn install(
    state: &AppState,
    slot: &mut Slot,
    module: &Arc<CompiledModule>,
    clear: bool,
    identity: &str,
) -> AppResult<Installed> {
    let mut logs = Vec::new();
    let result =
        slot.database()
            .install(state.runtime(), module.clone(), clear, identity, &mut logs);
    let record_failure = result
        .as_ref()
        .err()
        .map(|error| error_record(&format!("publish failed: {error}")));
    append_logs(slot, logs.into_iter().chain(record_failure).collect());
    Ok(result?)
}

async fn delete(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
) -> AppResult<Json<Deleted>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        state.with_database(&name, |entry, slot| {
            check_owner(entry, &name, &identity, "delete")?;
            state.remove_database(entry, slot)
        })?;
        tracing::info!(database = %name, "database deleted");
        Ok(Json(Deleted { database: name }))
    })
    .await
}

async fn reset(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
) -> AppResult<Json<Deleted>> {
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        state.with_database(&name, |entry, slot| {
            check_owner(entry, &name, &identity, "reset")?;
            let old_hash = slot
                .database()
                .module()
                .map(|module| module.hash().to_owned());
            slot.database().wipe()?;
            state.record_module(entry, old_hash.as_deref(), None);
            slot.logs.clear().map_err(AppError::io)
        })?;
        tracing::info!(database = %name, "database reset");
        Ok(Json(Deleted { database: name }))
    })
    .await
}

async fn rename(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<DatabaseSummary>> {
    let identity = match authenticate(&state, &headers) {
        Ok(identity) => identity,
        Err(error) => return Err(refuse(&state, body, MAX_SMALL_BODY, error).await),
    };
    let request: RenameRequest = json_body(&state, &headers, body).await?;
    let new_name = parse_name(&request.new_name)?;
    blocking(move || {
        let module_hash = state.with_database(&name, |entry, slot| {
            check_owner(entry, &name, &identity, "rename")?;
            state.rename_database(entry, new_name.as_str(), request.new_owner.as_deref())?;
            Ok(slot
                .database()
                .module()
                .map(|module| module.hash().to_owned()))
        })?;
        tracing::info!(database = %new_name, old_name = %name, new_owner = ?request.new_owner, "database renamed");
        Ok(Json(DatabaseSummary {
            name: new_name.to_string(),
            module_hash,
        }))
    })
    .await
}

async fn call(
    State(state): State<AppState>,
    PathArgs((name, reducer)): PathArgs<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<CallResult>> {
    let identity = match authenticate(&state, &headers) {
        Ok(identity) => identity,
        Err(error) => return Err(refuse(&state, body, MAX_SMALL_BODY, error).await),
    };
    let (bytes, _permit) = read_body(&state, &headers, body, MAX_SMALL_BODY).await?;
    let args: serde_json::Value = if bytes.is_empty() {
        serde_json::json!([])
    } else {
        parse_json(&bytes)?
    };
    blocking(move || {
        state.with_database(&name, |entry, slot| {
            let owner = entry.is_owned_by(&identity);
            let mut logs = Vec::new();
            let result = slot.database().call(
                state.runtime(),
                &reducer,
                &args,
                &identity,
                owner,
                &mut logs,
            );
            if let Err(error) = &result {
                if owner {
                    tracing::info!(database = %name, %reducer, %error, "reducer call failed");
                    logs.push(error_record(&error.to_string()));
                } else if let Some(left_out) = state.others_failures().admit() {
                    // The module's log holds what the module and its owner did: other
                    // identities' failures go to the server's log, a few lines a second.
                    tracing::info!(database = %name, %reducer, %identity, %error, left_out, "reducer call by another identity failed");
                }
            }
            append_logs(slot, logs);
            let stats = result?;
            Ok(Json(CallResult {
                fuel_used: stats.fuel_used,
                duration_micros: stats.duration.as_micros() as u64,
            }))
        })
    })
    .await
}

async fn sql(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
    body: Body,
) -> AppResult<Json<SqlResult>> {
    let identity = match authenticate(&state, &headers) {
        Ok(identity) => identity,
        Err(error) => return Err(refuse(&state, body, MAX_SMALL_BODY, error).await),
    };
    let request: SqlRequest = json_body(&state, &headers, body).await?;
    blocking(move || {
        state.with_database(&name, |entry, slot| {
            let owner = entry.is_owned_by(&identity);
            let access = if owner { Access::Owner } else { Access::Reader };
            let result = slot.database().sql(&request.query, &request.params, access);
            if let Err(error) = &result
                && (owner || state.others_failures().admit().is_some())
            {
                tracing::info!(database = %name, %error, owner, "SQL refused");
            }
            let rows = result?;
            Ok(Json(SqlResult {
                columns: rows.columns,
                rows: rows.rows,
                changes: rows.changes,
            }))
        })
    })
    .await
}

async fn logs(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    uri: Uri,
    headers: HeaderMap,
) -> AppResult<Json<LogList>> {
    let query: LogsQuery = parse_query(&uri)?;
    let identity = authenticate(&state, &headers)?;
    blocking(move || {
        let records = state.with_database(&name, |entry, slot| {
            check_owner(entry, &name, &identity, "read the logs of")?;
            slot.logs
                .last(query.n.unwrap_or(100))
                .map_err(AppError::internal)
        })?;
        Ok(Json(LogList { records }))
    })
    .await
}

async fn schema(
    State(state): State<AppState>,
    PathArgs(name): PathArgs<String>,
    headers: HeaderMap,
) -> AppResult<Json<DatabaseInfo>> {
    authenticate(&state, &headers)?;
    blocking(move || {
        state.with_database(&name, |entry, slot| {
            let module = slot.database().module().cloned();
            Ok(Json(DatabaseInfo {
                name: name.clone(),
                owner: entry.owner(),
                module_hash: module.as_ref().map(|module| module.hash().to_owned()),
                schema: module.map(|module| module.schema().clone()),
            }))
        })
    })
    .await
}

/// Refuses unless `identity` owns the database (checked under its lock); `action` completes
/// "only the owner may ...".
fn check_owner(entry: &DatabaseEntry, name: &str, identity: &str, action: &str) -> AppResult<()> {
    if entry.is_owned_by(identity) {
        Ok(())
    } else {
        Err(AppError::not_owner(name, action))
    }
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> AppResult<String> {
    let (identity, secret_hash) = auth::bearer(headers)?;
    state.authenticate(&identity, &secret_hash)
}

fn parse_name(name: &str) -> AppResult<DatabaseName> {
    DatabaseName::parse(name)
        .map_err(|error| AppError::new(ErrorKind::BadRequest, error.to_string()))
}

/// The 413 for a body past `limit`.
fn too_large(seen: usize, limit: usize) -> AppError {
    AppError::new(
        ErrorKind::PayloadTooLarge,
        format!("the request body is larger than the server accepts ({seen} bytes or more, limit {limit} bytes)"),
    )
    .with_hint("modules may be up to --max-body-mib (16 MiB by default); calls and SQL up to 1 MiB")
}

/// Refuses from the headers alone a body that declares more than `limit` bytes.
fn check_declared_length(headers: &HeaderMap, limit: usize) -> AppResult<()> {
    match declared_length(headers) {
        Some(length) if length > limit => Err(too_large(length, limit)),
        _ => Ok(()),
    }
}

fn declared_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(axum::http::header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Answers a request refused before its body was read: the body is read and dropped (up to a
/// cap and the body timeout, holding no more than one chunk at a time), so that a client still
/// sending sees the answer rather than a reset connection.
async fn refuse(state: &AppState, mut body: Body, limit: usize, error: AppError) -> AppError {
    use http_body_util::BodyExt;
    let cap = limit.saturating_mul(2).saturating_add(1 << 20);
    let drain = async {
        let mut seen = 0usize;
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(chunk) = frame.into_data() {
                seen = seen.saturating_add(chunk.len());
                if seen > cap {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(state.body_timeout(), drain).await;
    error
}

/// Reads a request body of at most `limit` bytes, once the body budget grants its memory (the
/// permit is held as long as the bytes are), within the body timeout.
async fn read_body(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> AppResult<(Bytes, OwnedSemaphorePermit)> {
    use http_body_util::BodyExt;
    if let Err(error) = check_declared_length(headers, limit) {
        return Err(refuse(state, body, limit, error).await);
    }
    let expected = declared_length(headers).unwrap_or(limit);
    let permit = state
        .body_budget()
        .grant(expected, state.body_timeout())
        .await?;
    let mut body = body;
    let read = async {
        let mut data = Vec::with_capacity(expected.min(limit));
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
            if data.len() + chunk.len() > limit {
                return Err(too_large(data.len() + chunk.len(), limit));
            }
            data.extend_from_slice(&chunk);
        }
        Ok(data)
    };
    match tokio::time::timeout(state.body_timeout(), read).await {
        Ok(Ok(data)) => Ok((Bytes::from(data), permit)),
        Ok(Err(error)) => Err(refuse(state, body, limit, error).await),
        Err(_) => Err(AppError::new(
            ErrorKind::BadRequest,
            format!(
                "the request body did not arrive within {} s",
                state.body_timeout().as_secs()
            ),
        )),
    }
}

async fn json_body<T: serde::de::DeserializeOwned>(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
) -> AppResult<T> {
    let (bytes, _permit) = read_body(state, headers, body, MAX_SMALL_BODY).await?;
    parse_json(&bytes)
}

/// The `{...}` segments of the path, as axum's `Path` extracts them, except that a segment that
/// does not decode (invalid UTF-8 once percent-decoded) is an `ApiError` like every other
/// error, not axum's plain-text 400.
struct PathArgs<T>(T);

impl<T, S> FromRequestParts<S> for PathArgs<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(PathArgs(value)),
            Err(rejection) => Err(AppError::new(
                ErrorKind::BadRequest,
                format!("invalid path: {}", rejection.body_text()),
            )),
        }
    }
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

/// Appends to a database's log. The call or publish the records belong to has committed or
/// rolled back already, so a log that cannot be written (a full disk) must not turn its
/// outcome into an error: the failure goes to the server's log.
fn append_logs(slot: &mut Slot, records: Vec<LogRecord>) {
    if let Err(error) = slot.logs.append(records) {
        tracing::warn!(%error, "could not write a module log");
    }
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
