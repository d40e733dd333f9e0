//! `keel call` and `keel sql`.

use keel_client::table::format_sql;

use crate::call_args::parse_call_args;
use crate::commands::{Doing, database_name};
use crate::flags::{CallArgs, SqlArgs};
use crate::output::Output;
use crate::session::Session;

pub(crate) fn call(session: &Session, out: &Output, args: &CallArgs) -> anyhow::Result<()> {
    let db = database_name(&args.db)?;
    let call_args = parse_call_args(&args.args)?;
    let client = session.authed_client()?;
    let result = client
        .call(db.as_str(), &args.reducer, &call_args)
        .doing(|| format!("call reducer `{}` on database `{db}`", args.reducer))?;
    out.either(&result, |result| {
        format!(
            "called `{}` (fuel used {}, {} us)",
            args.reducer, result.fuel_used, result.duration_micros
        )
    })?;
    Ok(())
}

pub(crate) fn sql(session: &Session, out: &Output, args: &SqlArgs) -> anyhow::Result<()> {
    let db = database_name(&args.db)?;
    let client = session.authed_client()?;
    let result = client
        .sql(db.as_str(), &args.query)
        .doing(|| format!("run SQL on database `{db}`"))?;
    out.either(&result, format_sql)?;
    Ok(())
}
