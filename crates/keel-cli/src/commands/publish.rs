//! `keel publish <name> --wasm FILE [--clear]`.

use keel_cli::CliError;

use crate::commands::{Doing, database_name};
use crate::flags::PublishArgs;
use crate::output::Output;
use crate::session::Session;

pub(crate) fn run(session: &Session, out: &Output, args: &PublishArgs) -> anyhow::Result<()> {
    let name = database_name(&args.name)?;
    let wasm = std::fs::read(&args.wasm).map_err(|source| CliError::ReadWasm {
        path: args.wasm.clone(),
        source,
    })?;
    let client = session.authed_client()?;
    let result = client
        .publish(name.as_str(), &wasm, args.clear)
        .doing(|| format!("publish {} to database `{name}`", args.wasm.display()))?;
    out.either(&result, |result| {
        let verb = if result.created { "created" } else { "updated" };
        let cleared = if result.cleared { ", data cleared" } else { "" };
        let mut text = format!(
            "{verb} database `{}` (module {}{cleared})",
            result.database, result.module_hash
        );
        if !result.migration.is_empty() {
            text.push_str("\nmigration:");
            for step in &result.migration {
                text.push_str("\n  ");
                text.push_str(step);
            }
        }
        text
    })?;
    Ok(())
}
