//! One module per group of commands; [`run`] dispatches on the parsed command line.
//!
//! Commands check their local input first (names, files, JSON) so malformed input is reported
//! as such before any server is contacted.

mod build;
mod databases;
mod describe;
mod identity;
mod logs;
mod publish;
mod query;
mod server;

use keel_api::DatabaseName;
use keel_cli::CliError;

use crate::flags::{Cli, Command, IdentityCommand, ServerCommand};
use crate::output::Output;
use crate::session::Session;

/// Runs the command `cli` names.
pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    let session = Session::new(&cli);
    let out = Output::new(cli.json);
    match cli.command {
        Command::Server(ServerCommand::Ping) => server::ping(&session, &out),
        Command::Identity(IdentityCommand::New) => identity::new(&session, &out),
        Command::Identity(IdentityCommand::Show) => identity::show(&session, &out),
        Command::Publish(args) => publish::run(&session, &out, &args),
        Command::Build(args) => build::run(&out, &args),
        Command::Call(args) => query::call(&session, &out, &args),
        Command::Sql(args) => query::sql(&session, &out, &args),
        Command::Logs(args) => logs::run(&session, &out, &args),
        Command::Describe(args) => describe::run(&session, &out, &args.db),
        Command::Delete(args) => databases::delete(&session, &out, &args.db),
        Command::List => databases::list(&session, &out),
    }
}

/// Labels a failing step; keeps the typed [`CliError`] in the chain for the exit code.
trait Doing<T> {
    fn doing(self, what: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T, E: Into<CliError>> Doing<T> for Result<T, E> {
    fn doing(self, what: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map_err(|err| anyhow::Error::new(err.into()).context(what()))
    }
}

/// Checks a database name before it goes over the wire.
fn database_name(name: &str) -> Result<DatabaseName, CliError> {
    Ok(DatabaseName::parse(name)?)
}
