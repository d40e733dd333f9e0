//! The command line of `keel`, declared once with clap derive; doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Manage Keel databases: identities, modules, reducer calls, SQL and logs.
#[derive(Debug, Parser)]
#[command(name = "keel", version, propagate_version = true)]
pub(crate) struct Cli {
    /// Server URL, e.g. http://127.0.0.1:3000 or https://keel.example.com (overrides the config
    /// file's `server`)
    #[arg(long, global = true, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// PEM file of CA certificates to trust for an https:// server, besides the system's
    #[arg(long, global = true, value_name = "FILE", env = keel_client::CA_CERT_ENV)]
    pub(crate) ca_cert: Option<PathBuf>,
    /// Config file [default: $KEEL_CONFIG, else $HOME/.config/keel/config.toml]
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) config_path: Option<PathBuf>,
    /// Print machine-readable JSON on stdout
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Talk to the server itself
    #[command(subcommand)]
    Server(ServerCommand),
    /// Create or show the identity this CLI acts as
    #[command(subcommand)]
    Identity(IdentityCommand),
    /// Publish a module to a database, creating it or migrating it
    Publish(PublishArgs),
    /// Build a module directory to wasm32 and print the path of the .wasm
    Build(BuildArgs),
    /// Call a reducer
    Call(CallArgs),
    /// Run one SQL statement
    Sql(SqlArgs),
    /// Print a database's module logs
    Logs(LogsArgs),
    /// Describe a database's schema
    Describe(DatabaseArg),
    /// Delete a database and its data
    Delete(DatabaseArg),
    /// List your databases
    List,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ServerCommand {
    /// Check that the server answers, and print its version
    Ping,
}

#[derive(Debug, Subcommand)]
pub(crate) enum IdentityCommand {
    /// Create an identity on the server and save server, identity and token to the config file
    New,
    /// Show the identity the config file's token belongs to
    Show,
}

#[derive(Debug, Args)]
pub(crate) struct PublishArgs {
    /// Database name
    pub(crate) name: String,
    /// The module's .wasm file
    #[arg(long, value_name = "FILE")]
    pub(crate) wasm: PathBuf,
    /// Wipe the database's data first, which allows any schema change
    #[arg(long)]
    pub(crate) clear: bool,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    /// Directory of the module's cargo package
    pub(crate) module_dir: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// Database name
    pub(crate) db: String,
    /// Reducer name
    pub(crate) reducer: String,
    /// Arguments, each a JSON value; a bare word that is not JSON is a string
    #[arg(allow_negative_numbers = true)]
    pub(crate) args: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SqlArgs {
    /// Database name
    pub(crate) db: String,
    /// One SQL statement
    pub(crate) query: String,
}

#[derive(Debug, Args)]
pub(crate) struct LogsArgs {
    /// Database name
    pub(crate) db: String,
    /// How many of the last records to print
    #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 100)]
    pub(crate) n: usize,
}

#[derive(Debug, Args)]
pub(crate) struct DatabaseArg {
    /// Database name
    pub(crate) db: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[track_caller]
    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("keel").chain(args.iter().copied())).unwrap()
    }

    #[track_caller]
    fn parse_err(args: &[&str]) -> clap::error::ErrorKind {
        Cli::try_parse_from(std::iter::once("keel").chain(args.iter().copied()))
            .unwrap_err()
            .kind()
    }

    #[test]
    fn command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_before_and_after_the_command() {
        let cli = parse(&["--server", "http://h:1", "--json", "server", "ping"]);
        assert_eq!(cli.server.as_deref(), Some("http://h:1"));
        assert!(cli.json);
        assert!(matches!(cli.command, Command::Server(ServerCommand::Ping)));
        let cli = parse(&["list", "--config-path", "/c.toml", "--json"]);
        assert_eq!(cli.config_path, Some(PathBuf::from("/c.toml")));
        assert!(cli.json && cli.server.is_none());
    }

    #[test]
    fn publish_takes_a_name_a_wasm_file_and_clear() {
        let Command::Publish(args) =
            parse(&["publish", "counter", "--wasm", "m.wasm", "--clear"]).command
        else {
            panic!("not publish")
        };
        assert_eq!(
            (args.name.as_str(), args.wasm.to_str(), args.clear),
            ("counter", Some("m.wasm"), true)
        );
        assert_eq!(
            parse_err(&["publish", "counter"]),
            clap::error::ErrorKind::MissingRequiredArgument
        );
    }

    #[test]
    fn call_accepts_json_and_negative_numbers() {
        let Command::Call(args) =
            parse(&["call", "db", "add", "-5", "[1, 2]", "word", "--json"]).command
        else {
            panic!("not call")
        };
        assert_eq!((args.db.as_str(), args.reducer.as_str()), ("db", "add"));
        assert_eq!(args.args, ["-5", "[1, 2]", "word"]);
        let Command::Call(args) = parse(&["call", "db", "noargs"]).command else {
            panic!("not call")
        };
        assert!(args.args.is_empty());
    }

    #[test]
    fn logs_default_to_100_lines() {
        let Command::Logs(args) = parse(&["logs", "db"]).command else {
            panic!("not logs")
        };
        assert_eq!(args.n, 100);
        let Command::Logs(args) = parse(&["logs", "db", "-n", "7", "--json"]).command else {
            panic!("not logs")
        };
        assert_eq!(args.n, 7);
        assert_eq!(
            parse_err(&["logs", "db", "-n", "x"]),
            clap::error::ErrorKind::ValueValidation
        );
    }

    #[test]
    fn other_commands_parse() {
        assert!(matches!(
            parse(&["identity", "new"]).command,
            Command::Identity(IdentityCommand::New)
        ));
        assert!(matches!(
            parse(&["identity", "show"]).command,
            Command::Identity(IdentityCommand::Show)
        ));
        assert!(matches!(
            parse(&["build", "modules/counter"]).command,
            Command::Build(_)
        ));
        assert!(matches!(
            parse(&["sql", "db", "SELECT 1"]).command,
            Command::Sql(_)
        ));
        assert!(matches!(
            parse(&["describe", "db"]).command,
            Command::Describe(_)
        ));
        assert!(matches!(
            parse(&["delete", "db"]).command,
            Command::Delete(_)
        ));
        assert!(matches!(parse(&["list"]).command, Command::List));
    }

    #[test]
    fn usage_errors_are_reported() {
        assert_eq!(
            parse_err(&[]),
            clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
        );
        assert_eq!(
            parse_err(&["frobnicate"]),
            clap::error::ErrorKind::InvalidSubcommand
        );
        assert_eq!(
            parse_err(&["sql", "db"]),
            clap::error::ErrorKind::MissingRequiredArgument
        );
        assert_eq!(
            parse_err(&["list", "--bogus"]),
            clap::error::ErrorKind::UnknownArgument
        );
    }
}
