//! `keel identity new` and `keel identity show`.

use keel_cli::Config;
use serde_json::json;

use crate::commands::Doing;
use crate::output::Output;
use crate::session::Session;

/// Creates an identity and saves server, identity and token to the config file. The token is
/// never printed.
pub(crate) fn new(session: &Session, out: &Output) -> anyhow::Result<()> {
    let config_path = session.config_path()?;
    let client = session.client()?;
    let created = client
        .create_identity()
        .doing(|| format!("create an identity on {}", client.base_url()))?;
    let config = Config {
        server: Some(client.base_url().to_owned()),
        identity: Some(created.identity.clone()),
        token: Some(created.token),
    };
    config
        .save(&config_path)
        .doing(|| "save the new identity".to_owned())?;
    let summary = json!({
        "identity": created.identity,
        "server": client.base_url(),
        "config_path": config_path,
    });
    out.either(&summary, |_| {
        format!(
            "created identity {} on {}\nsaved to {}",
            created.identity,
            client.base_url(),
            config_path.display()
        )
    })?;
    Ok(())
}

/// Asks the server whom the configured token belongs to.
pub(crate) fn show(session: &Session, out: &Output) -> anyhow::Result<()> {
    let client = session.authed_client()?;
    let who = client
        .whoami()
        .doing(|| format!("look up the configured identity on {}", client.base_url()))?;
    let summary = json!({ "identity": who.identity, "server": client.base_url() });
    out.either(&summary, |_| {
        format!("identity {}\nserver {}", who.identity, client.base_url())
    })?;
    Ok(())
}
