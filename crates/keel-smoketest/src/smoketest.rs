//! [`Smoketest`]: one test's isolated view of a Keel server, and its builder.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keel_api::http::{CallResult, DatabaseInfo, LogRecord, PublishResult, SqlResult};
use keel_artifacts::TestUsage;
use keel_client::Client;
use serde_json::Value;

use crate::cli;
use crate::cli_output::CliOutput;
use crate::env;
use crate::errors::SmoketestError;
use crate::journal::Scope;
use crate::module_code::{self, ModuleCode};
use crate::modules;
use crate::pool::{Pool, PooledDatabase};
use crate::server::LocalServer;
use crate::temp::{TempDir, random_suffix};

/// Configures a [`Smoketest`]. Start with [`Smoketest::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct SmoketestBuilder {
    module: Option<ModuleSource>,
    autopublish: bool,
    local_server: Option<&'static str>,
    server_url: Option<String>,
    server_args: Vec<String>,
    data_dir_limit: Option<u64>,
    https: bool,
}

#[derive(Debug, Clone)]
enum ModuleSource {
    Precompiled(String),
    Code(ModuleCode),
}

/// One test's view of a Keel server: its own identity, its own database (from the pool when
/// the server is shared), its own CLI config. Everything it does is journaled for the failure
/// report. Dropping it wipes and returns the database, or on a remote server deletes it and
/// the identities the test made.
pub struct Smoketest {
    scope: Arc<Scope>,
    server: Server,
    client: Client,
    identity: String,
    db: String,
    extra_databases: Vec<String>,
    /// Identities made with [`Smoketest::new_identity`], deleted with the test on a remote
    /// server.
    extra_identities: Mutex<Vec<Client>>,
    wasm: Option<Arc<Vec<u8>>>,
    module_name: Option<String>,
    config_path: Mutex<Option<PathBuf>>,
}

/// Another identity on the same server, for permission tests.
#[derive(Debug, Clone)]
pub struct Identity {
    client: Client,
    identity: String,
}

enum Server {
    /// A server the run does not control: databases are deleted at the end.
    Remote,
    /// A server shared by many tests: databases go back to the pool.
    Shared(Arc<Pool>),
    /// A server owned by this test.
    Private(Box<LocalServer>),
}

impl Server {
    /// The CA a private https server's certificate is signed by.
    fn ca_cert(&self) -> Option<PathBuf> {
        match self {
            Server::Private(server) => server.ca_cert().map(ToOwned::to_owned),
            Server::Remote | Server::Shared(_) => None,
        }
    }
}

/// The server this process spawns when nobody handed one over, shared by its tests.
static PROCESS_SERVER: Mutex<Option<(LocalServer, TempDir)>> = Mutex::new(None);

impl Smoketest {
    /// A builder with no module and autopublish on.
    pub fn builder() -> SmoketestBuilder {
        SmoketestBuilder {
            module: None,
            autopublish: true,
            local_server: None,
            server_url: None,
            server_args: Vec::new(),
            data_dir_limit: None,
            https: false,
        }
    }

    /// The test's database name.
    pub fn db(&self) -> &str {
        &self.db
    }

    /// The test's identity id.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// The server URL.
    pub fn server_url(&self) -> &str {
        self.client.base_url()
    }

    /// The typed client, authenticated as the test's identity.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The bytes of the current module.
    pub fn module_bytes(&self) -> Result<Arc<Vec<u8>>, SmoketestError> {
        self.wasm.clone().ok_or(SmoketestError::NoModule)
    }

    /// Calls a reducer on the test's database.
    pub fn call(&self, reducer: &str, args: Value) -> Result<CallResult, SmoketestError> {
        // Arguments can be large (a test filling the disk sends 64 KiB strings): the journal and
        // the error keep their start.
        let action = format!(
            "call {reducer} {} on {}",
            brief_text(args.to_string()),
            self.db
        );
        self.journaled(action, || self.client.call(&self.db, reducer, &args))
    }

    /// Runs SQL on the test's database.
    pub fn sql(&self, query: &str) -> Result<SqlResult, SmoketestError> {
        self.journaled(format!("sql {query:?} on {}", self.db), || {
            self.client.sql(&self.db, query)
        })
    }

    /// Runs SQL and formats the result as the CLI does.
    pub fn sql_table(&self, query: &str) -> Result<String, SmoketestError> {
        Ok(keel_client::table::format_sql(&self.sql(query)?))
    }

    /// Runs SQL and compares the formatted table with `expected` (trailing spaces and blank
    /// edges ignored).
    pub fn assert_sql(&self, query: &str, expected: &str) -> Result<(), SmoketestError> {
        let actual = normalize_table(&self.sql_table(query)?);
        let expected = normalize_table(expected);
        if actual == expected {
            Ok(())
        } else {
            Err(SmoketestError::SqlMismatch {
                query: query.to_owned(),
                expected,
                actual,
            })
        }
    }

    /// The messages of the last `n` log records of the test's database.
    pub fn logs(&self, n: usize) -> Result<Vec<String>, SmoketestError> {
        Ok(self
            .log_records(n)?
            .into_iter()
            .map(|record| record.message)
            .collect())
    }

    /// The last `n` log records of the test's database.
    pub fn log_records(&self, n: usize) -> Result<Vec<LogRecord>, SmoketestError> {
        self.journaled(format!("logs -n {n} of {}", self.db), || {
            self.client.logs(&self.db, n)
        })
    }

    /// The schema of the test's database.
    pub fn describe(&self) -> Result<DatabaseInfo, SmoketestError> {
        self.journaled(format!("describe {}", self.db), || {
            self.client.describe(&self.db)
        })
    }

    /// Publishes the current module to the test's database (create or automatic migration).
    pub fn publish(&mut self) -> Result<PublishResult, SmoketestError> {
        let db = self.db.clone();
        self.publish_to(&db, false)
    }

    /// Publishes the current module with `clear`: the data is wiped.
    pub fn publish_clear(&mut self) -> Result<PublishResult, SmoketestError> {
        let db = self.db.clone();
        self.publish_to(&db, true)
    }

    /// Publishes the current module to `db` (one of the test's databases).
    pub fn publish_to(&mut self, db: &str, clear: bool) -> Result<PublishResult, SmoketestError> {
        let wasm = self.module_bytes()?;
        let module = self.module_name.clone().unwrap_or_default();
        self.journaled(
            format!(
                "publish {module} to {db}{}",
                if clear { " (clear)" } else { "" }
            ),
            || self.client.publish(db, &wasm, clear),
        )
    }

    /// Switches to another precompiled module; [`Smoketest::publish`] then updates the database.
    pub fn use_precompiled_module(&mut self, name: &str) -> Result<(), SmoketestError> {
        self.scope.note_module(name);
        self.wasm = Some(modules::precompiled(name)?);
        self.module_name = Some(name.to_owned());
        Ok(())
    }

    /// Switches to a module compiled from `source` now (the slow path; prefer precompiled).
    pub fn use_module_code(&mut self, source: &str) -> Result<(), SmoketestError> {
        let code = ModuleCode {
            source: source.to_owned(),
            dependencies: String::new(),
        };
        self.wasm = Some(Arc::new(module_code::build(&self.scope, &code)?));
        self.module_name = Some("module_code".to_owned());
        Ok(())
    }

    /// A fresh database name for this test, deleted when the test ends.
    pub fn new_database(&mut self) -> String {
        let name = database_name(self.scope.name());
        self.scope.note_database(&name);
        self.extra_databases.push(name.clone());
        name
    }

    /// A second identity on the same server.
    pub fn new_identity(&self) -> Result<Identity, SmoketestError> {
        let anonymous = self.client.without_token();
        let created = self.journaled_value("create identity", || anonymous.create_identity())?;
        let client = anonymous.with_token(&created.token);
        self.extra_identities
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(client.clone());
        Ok(Identity {
            client,
            identity: created.identity,
        })
    }

    /// Restarts the test's private server gracefully (SIGTERM) on the same data dir.
    pub fn restart_server(&mut self) -> Result<(), SmoketestError> {
        self.restart(false)
    }

    /// Kills the test's private server with SIGKILL and starts it again on the same data dir.
    pub fn crash_server(&mut self) -> Result<(), SmoketestError> {
        self.restart(true)
    }

    /// Kills the test's private server with SIGKILL and reaps it, without starting it again:
    /// until [`Smoketest::restart_server`], calls fail with [`SmoketestError::ServerGone`], which
    /// says how the server ended and shows its log (as for a server that dies on its own).
    pub fn kill_server(&mut self) -> Result<(), SmoketestError> {
        let Server::Private(server) = &mut self.server else {
            return Err(SmoketestError::NeedsLocalServer(
                "killing the server; build with .local_server(\"reason\")",
            ));
        };
        let gone = server.kill()?;
        self.scope.record(match gone {
            Some(gone) => format!("kill -9 the server (pid {}): {}", gone.pid, gone.status),
            None => "kill -9 the server: it was not running".to_owned(),
        });
        Ok(())
    }

    /// The data dir of the test's private server, for tests of what the server does with the
    /// files it finds there.
    pub fn data_dir(&self) -> Result<PathBuf, SmoketestError> {
        let Server::Private(server) = &self.server else {
            return Err(SmoketestError::NeedsLocalServer(
                "reading the server's data dir; build with .local_server(\"reason\")",
            ));
        };
        Ok(server.data_dir().to_owned())
    }

    /// The log of the test's private server, as written so far.
    pub fn server_log(&self) -> Result<String, SmoketestError> {
        let Server::Private(server) = &self.server else {
            return Err(SmoketestError::NeedsLocalServer(
                "reading the server log; build with .local_server(\"reason\")",
            ));
        };
        let path = server.log_path();
        std::fs::read_to_string(path)
            .map_err(SmoketestError::io(format!("read {}", path.display())))
    }

    /// Changes the size limit of the private server's data dir (see
    /// [`SmoketestBuilder::data_dir_limit`]); raising it gives the space back.
    pub fn set_data_dir_limit(&mut self, bytes: u64) -> Result<(), SmoketestError> {
        let Server::Private(server) = &mut self.server else {
            return Err(SmoketestError::NoDataDirLimit);
        };
        server.set_data_dir_limit(bytes)?;
        self.scope
            .record(format!("data dir limit set to {bytes} bytes"));
        Ok(())
    }

    fn restart(&mut self, crash: bool) -> Result<(), SmoketestError> {
        let Server::Private(server) = &mut self.server else {
            return Err(SmoketestError::NeedsLocalServer(
                "restarting the server; build with .local_server(\"reason\")",
            ));
        };
        self.scope.record(if crash {
            "kill -9 the server and start it again"
        } else {
            "restart the server"
        });
        if crash {
            server.crash_and_restart()?
        } else {
            server.restart()?
        }
        let token = self.client.token().unwrap_or_default().to_owned();
        self.client = client_for(server.url(), server.ca_cert())?.with_token(&token);
        *self
            .config_path
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
        Ok(())
    }

    /// Runs the real `keel` CLI with this test's config; fails unless it exits with 0.
    pub fn cli<I, S>(&self, args: I) -> Result<CliOutput, SmoketestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let output = self.cli_output(args)?;
        if output.success() {
            Ok(output)
        } else {
            Err(SmoketestError::Cli(Box::new(output)))
        }
    }

    /// Runs the real `keel` CLI with this test's config and returns its output, whatever the
    /// exit code.
    pub fn cli_output<I, S>(&self, args: I) -> Result<CliOutput, SmoketestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.cli_with_config(&self.config_path()?, args)
    }

    /// Runs the real `keel` CLI with another config file (a fresh identity, say), whatever the
    /// exit code.
    pub fn cli_with_config<I, S>(
        &self,
        config: &std::path::Path,
        args: I,
    ) -> Result<CliOutput, SmoketestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let ca_cert = self.server.ca_cert();
        self.run_binary(TestUsage::CLI, args, |args| {
            cli::run(config, args, ca_cert.as_deref())
        })
    }

    /// Runs the real `keel-standalone` with `args` (and `--exit-on-stdin-close`, its stdin
    /// closed), whatever the exit code: for how the server refuses to start. One that starts
    /// prints its ready line and exits at once.
    pub fn server_output<I, S>(&self, args: I) -> Result<CliOutput, SmoketestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.run_binary(TestUsage::SERVER, args, cli::run_server)
    }

    /// Runs one of the real binaries (`binary`, for the usage records) with `args` through
    /// `run`, and journals its output.
    fn run_binary<I, S>(
        &self,
        binary: &str,
        args: I,
        run: impl FnOnce(&[String]) -> Result<CliOutput, SmoketestError>,
    ) -> Result<CliOutput, SmoketestError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let args: Vec<String> = args
            .into_iter()
            .map(|arg| arg.as_ref().to_owned())
            .collect();
        self.scope.note_binary(binary);
        let output = run(&args)?;
        self.scope
            .record(format!("{output:?}").replace('\n', "\n    "));
        Ok(output)
    }

    /// The test's CLI config file (server and token), written on first use.
    pub fn config_path(&self) -> Result<PathBuf, SmoketestError> {
        let mut config_path = self
            .config_path
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(path) = config_path.as_ref() {
            return Ok(path.clone());
        }
        let dir = self
            .scope
            .temp_dir()?
            .join(format!("cli-{}", random_suffix()));
        let path = dir.join("config.toml");
        // Written by the CLI's own code: the same format, and readable by its owner only.
        let config = keel_cli::Config {
            server: Some(self.client.base_url().to_owned()),
            identity: Some(self.identity.clone()),
            token: self.client.token().map(str::to_owned),
        };
        config.save(&path)?;
        *config_path = Some(path.clone());
        Ok(path)
    }

    /// A directory of this test's own, removed when the test passes.
    pub fn temp_dir(&self) -> Result<PathBuf, SmoketestError> {
        self.scope.temp_dir()
    }

    /// Waits until `condition` holds; see [`crate::wait_until`].
    pub fn wait_until<E: Into<anyhow::Error>>(
        &self,
        what: &str,
        timeout: Duration,
        condition: impl FnMut() -> Result<bool, E>,
    ) -> anyhow::Result<()> {
        self.scope
            .record(format!("wait until {what} (at most {timeout:?})"));
        crate::wait::wait_until(what, timeout, condition)
    }

    fn journaled<T: std::fmt::Debug>(
        &self,
        action: String,
        work: impl FnOnce() -> Result<T, keel_client::ClientError>,
    ) -> Result<T, SmoketestError> {
        let result = work();
        match &result {
            Ok(value) => self
                .scope
                .record(format!("{action} -> ok {}", brief(value))),
            Err(error) => self.scope.record(format!("{action} -> error: {error}")),
        }
        result.map_err(|source| self.call_error(action, source))
    }

    /// A failed call's error; when no answer came and the private server has exited, the
    /// error says so, with how it ended and its log.
    fn call_error(&self, action: String, source: keel_client::ClientError) -> SmoketestError {
        let no_answer = matches!(
            source,
            keel_client::ClientError::Unreachable { .. }
                | keel_client::ClientError::Transport { .. }
        );
        if let Server::Private(server) = &self.server
            && no_answer
            && let Some(gone) = server.gone()
        {
            self.scope.record(format!(
                "the server (pid {}) is gone: {}",
                gone.pid, gone.status
            ));
            return SmoketestError::ServerGone {
                action,
                pid: gone.pid,
                status: gone.status,
                log_tail: keel_process::log_tail(server.log_path()),
                source: Box::new(source),
            };
        }
        SmoketestError::Client {
            action,
            source: Box::new(source),
        }
    }

    fn journaled_value<T: std::fmt::Debug>(
        &self,
        action: &str,
        work: impl FnOnce() -> Result<T, keel_client::ClientError>,
    ) -> Result<T, SmoketestError> {
        self.journaled(action.to_owned(), work)
    }
}

impl Drop for Smoketest {
    fn drop(&mut self) {
        for database in std::mem::take(&mut self.extra_databases) {
            let _ = self.client.delete(&database);
        }
        match &self.server {
            Server::Remote => {
                // Nothing is left on a server the run does not own: the identities go too,
                // and with them any database they still own (the CLI's included).
                let _ = self.client.delete(&self.db);
                let extra = std::mem::take(
                    self.extra_identities
                        .get_mut()
                        .unwrap_or_else(|poisoned| poisoned.into_inner()),
                );
                for identity in extra {
                    let _ = identity.delete_identity();
                }
                // One the test made with `keel identity new` lives in its CLI config.
                let config_path = self
                    .config_path
                    .get_mut()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .take();
                if let Some(token) = config_path
                    .and_then(|path| keel_cli::Config::load(&path).ok())
                    .and_then(|config| config.token)
                    .filter(|token| Some(token.as_str()) != self.client.token())
                {
                    let _ = self.client.with_token(&token).delete_identity();
                }
                let _ = self.client.delete_identity();
            }
            Server::Shared(pool) => {
                // Whether the test published through the harness, the CLI, or not at all: if the
                // database exists it is wiped and pooled, else there is nothing to return.
                if self.client.reset(&self.db).is_ok() {
                    pool.give(PooledDatabase {
                        name: self.db.clone(),
                        identity: self.identity.clone(),
                        token: self.client.token().unwrap_or_default().to_owned(),
                    });
                }
            }
            Server::Private(_) => {}
        }
    }
}

impl Identity {
    /// The identity id.
    pub fn identity(&self) -> &str {
        &self.identity
    }

    /// A client authenticated as this identity.
    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl SmoketestBuilder {
    /// Uses the precompiled module built from `modules/<name>`.
    pub fn precompiled_module(mut self, name: &str) -> SmoketestBuilder {
        self.module = Some(ModuleSource::Precompiled(name.to_owned()));
        self
    }

    /// Compiles `source` (the body of a module's `src/lib.rs`) at run time.
    pub fn module_code(mut self, source: &str) -> SmoketestBuilder {
        self.module = Some(ModuleSource::Code(ModuleCode {
            source: source.to_owned(),
            dependencies: String::new(),
        }));
        self
    }

    /// Extra `[dependencies]` lines for [`SmoketestBuilder::module_code`].
    pub fn module_dependencies(mut self, dependencies: &str) -> SmoketestBuilder {
        if let Some(ModuleSource::Code(code)) = &mut self.module {
            code.dependencies = dependencies.to_owned();
        }
        self
    }

    /// Whether `build` publishes the module (default true).
    pub fn autopublish(mut self, autopublish: bool) -> SmoketestBuilder {
        self.autopublish = autopublish;
        self
    }

    /// Requires a private local server (for restarts, server flags); `reason` shows in errors.
    /// Such tests must be declared `#[local_only = "..."]` so remote runs skip them.
    pub fn local_server(mut self, reason: &'static str) -> SmoketestBuilder {
        self.local_server = Some(reason);
        self
    }

    /// Extra flags for the private local server (implies [`SmoketestBuilder::local_server`]).
    pub fn server_args<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        args: I,
    ) -> SmoketestBuilder {
        self.server_args.extend(args.into_iter().map(Into::into));
        self.local_server.get_or_insert("custom server flags");
        self
    }

    /// Limits the private server's data dir to `bytes` (implies
    /// [`SmoketestBuilder::local_server`]), for disk-full tests: a tmpfs of that size when the
    /// test process may mount one (as root), else a limit on the size of each file the server
    /// writes (`RLIMIT_FSIZE`); the journal says which. [`Smoketest::set_data_dir_limit`]
    /// changes it.
    pub fn data_dir_limit(mut self, bytes: u64) -> SmoketestBuilder {
        self.data_dir_limit = Some(bytes);
        self.local_server.get_or_insert("a size-limited data dir");
        self
    }

    /// Serves the private local server over `https://` with a certificate signed by a CA made for
    /// the test (implies [`SmoketestBuilder::local_server`]); the test's clients and CLI trust it.
    pub fn https(mut self) -> SmoketestBuilder {
        self.https = true;
        self.local_server
            .get_or_insert("serves https with a CA of its own");
        self
    }

    /// Targets this server instead of the one the environment names.
    pub fn server_url(mut self, url: &str) -> SmoketestBuilder {
        self.server_url = Some(url.to_owned());
        self
    }

    /// Acquires a server, an identity and a database, and publishes the module if asked.
    pub fn build(self) -> Result<Smoketest, SmoketestError> {
        let scope = Scope::current();
        scope.note_binary(TestUsage::SERVER);
        let (server, url) = acquire_server(&self, &scope)?;
        let ca_cert = server.ca_cert();
        let client = client_for(&url, ca_cert.as_deref())?;
        let db = database_name(scope.name());
        // Every test has an identity of its own; a pooled database is given to it.
        let created = client
            .create_identity()
            .map_err(|source| SmoketestError::Client {
                action: "create an identity".to_owned(),
                source: Box::new(source),
            })?;
        if let Server::Shared(pool) = &server {
            take_pooled(pool, &client, &db, &created.identity, &scope);
        }
        let (client, identity) = (client.with_token(&created.token), created.identity);
        scope.note_database(&db);
        scope.record(format!("server {url}, identity {identity}, database {db}"));
        let mut smoketest = Smoketest {
            scope,
            server,
            client,
            identity,
            db,
            extra_databases: Vec::new(),
            extra_identities: Mutex::new(Vec::new()),
            wasm: None,
            module_name: None,
            config_path: Mutex::new(None),
        };
        match self.module {
            Some(ModuleSource::Precompiled(name)) => smoketest.use_precompiled_module(&name)?,
            Some(ModuleSource::Code(code)) => {
                smoketest.wasm = Some(Arc::new(module_code::build(&smoketest.scope, &code)?));
                smoketest.module_name = Some("module_code".to_owned());
            }
            None => {}
        }
        if self.autopublish && smoketest.wasm.is_some() {
            smoketest.publish()?;
        }
        Ok(smoketest)
    }
}

fn acquire_server(
    builder: &SmoketestBuilder,
    scope: &Scope,
) -> Result<(Server, String), SmoketestError> {
    if let Some(url) = &builder.server_url {
        return Ok((Server::Remote, url.clone()));
    }
    let remote = env::remote_server();
    if let Some(reason) = builder.local_server
        && remote.is_some()
    {
        return Err(SmoketestError::NeedsLocalServer(reason));
    }
    if builder.local_server.is_some() || (env::fresh_server() && remote.is_none()) {
        let dir = scope
            .temp_dir()?
            .join(format!("server-{}", random_suffix()));
        let server = LocalServer::start_limited(
            &dir,
            &builder.server_args,
            builder.data_dir_limit,
            builder.https,
            &|entry| scope.record(entry),
        )?;
        scope.watch_log(server.log_path().to_owned(), false);
        let url = server.url().to_owned();
        return Ok((Server::Private(Box::new(server)), url));
    }
    if let Some(url) = remote {
        return Ok((Server::Remote, url));
    }
    let shared = env::shared_servers();
    if !shared.is_empty() {
        let index = blake3::hash(scope.name().as_bytes()).as_bytes()[0] as usize % shared.len();
        let (url, log) = shared[index].clone();
        if let Some(log) = log {
            scope.watch_log(log, true);
        }
        return Ok((Server::Shared(Pool::for_server(&url, env::pool_dir())), url));
    }
    let mut process_server = PROCESS_SERVER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if process_server.is_none() {
        let dir = TempDir::new("server")?;
        let server = LocalServer::start(dir.path(), &[])?;
        *process_server = Some((server, dir));
    }
    let (server, _) = process_server.as_ref().expect("started above");
    scope.watch_log(server.log_path().to_owned(), true);
    let url = server.url().to_owned();
    Ok((Server::Shared(Pool::for_server(&url, None)), url))
}

/// Stops the server this process spawned, if any (the runner calls it at exit).
pub(crate) fn stop_process_server() {
    PROCESS_SERVER
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .take();
}

/// Takes a wiped database from the pool, renames it to `db` and gives it to `identity`;
/// returns whether one was found.
fn take_pooled(pool: &Pool, client: &Client, db: &str, identity: &str, scope: &Scope) -> bool {
    while let Some(entry) = pool.take() {
        let owner = client.with_token(&entry.token);
        match owner.rename_and_transfer(&entry.name, db, identity) {
            Ok(_) => {
                scope.record(format!(
                    "pooled database {} renamed to {db} and given to {identity}",
                    entry.name
                ));
                return true;
            }
            Err(error) => scope.record(format!(
                "pooled database {} unusable ({error}); trying the next",
                entry.name
            )),
        }
    }
    false
}

/// A client of `url`, trusting `ca_cert` (a private https server's own CA) besides the usual.
fn client_for(url: &str, ca_cert: Option<&std::path::Path>) -> Result<Client, SmoketestError> {
    let client = match ca_cert {
        Some(ca_cert) => Client::new_with_ca_cert(url, Some(ca_cert)),
        None => Client::new(url),
    };
    client.map_err(|source| SmoketestError::Client {
        action: format!("connect to {url}"),
        source: Box::new(source),
    })
}

/// `<test name prefix>-<random>`: unique, and tells which test made it.
fn database_name(test_name: &str) -> String {
    format!(
        "{}-{}",
        keel_api::DatabaseName::sanitize_prefix(test_name, 48),
        random_suffix()
    )
}

fn normalize_table(table: &str) -> String {
    table
        .trim_matches('\n')
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn brief(value: &impl std::fmt::Debug) -> String {
    brief_text(format!("{value:?}"))
}

/// The first 300 bytes of `text`, and `...` if there was more.
fn brief_text(text: String) -> String {
    if text.len() > 300 {
        format!("{}...", &text[..text.floor_char_boundary(300)])
    } else {
        text
    }
}
