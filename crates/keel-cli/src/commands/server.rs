//! `keel server ping`.

use crate::commands::Doing;
use crate::output::Output;
use crate::session::Session;

pub(crate) fn ping(session: &Session, out: &Output) -> anyhow::Result<()> {
    let client = session.client()?;
    let info = client.ping().doing(|| "ping the server".to_owned())?;
    out.either(&info, |info| {
        format!(
            "server at {} is up: version {}, module ABI {}",
            client.base_url(),
            info.version,
            info.abi_version
        )
    })?;
    Ok(())
}
