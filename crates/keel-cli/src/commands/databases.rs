//! `keel delete` and `keel list`.

use crate::commands::{Doing, database_name};
use crate::output::Output;
use crate::session::Session;

pub(crate) fn delete(session: &Session, out: &Output, db: &str) -> anyhow::Result<()> {
    let db = database_name(db)?;
    let client = session.authed_client()?;
    let deleted = client
        .delete(db.as_str())
        .doing(|| format!("delete database `{db}`"))?;
    out.either(&deleted, |deleted| {
        format!("deleted database `{}`", deleted.database)
    })?;
    Ok(())
}

/// Prints one database per line: its name, then its module hash if it has a module.
pub(crate) fn list(session: &Session, out: &Output) -> anyhow::Result<()> {
    let client = session.authed_client()?;
    let list = client
        .list()
        .doing(|| format!("list databases on {}", client.base_url()))?;
    if out.is_json() {
        out.json(&list)?;
        return Ok(());
    }
    let width = list
        .databases
        .iter()
        .map(|db| db.name.len())
        .max()
        .unwrap_or(0);
    for db in &list.databases {
        let line = match &db.module_hash {
            Some(hash) => format!("{:<width$}  {hash}", db.name),
            None => db.name.clone(),
        };
        out.line(&line)?;
    }
    Ok(())
}
