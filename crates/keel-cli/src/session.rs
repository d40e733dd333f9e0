//! [`Session`]: the global flags resolved into a config file, a server and a client.

use std::path::PathBuf;

use keel_cli::{CliError, Config, ConfigError};
use keel_client::Client;

use crate::flags::Cli;

/// What every command needs to reach the server.
pub(crate) struct Session {
    server_flag: Option<String>,
    ca_cert: Option<PathBuf>,
    config_path: Result<PathBuf, ConfigError>,
}

impl Session {
    pub(crate) fn new(cli: &Cli) -> Session {
        let config_path = match &cli.config_path {
            Some(path) => Ok(path.clone()),
            None => Config::default_path(),
        };
        Session {
            server_flag: cli.server.clone(),
            ca_cert: cli
                .ca_cert
                .clone()
                .filter(|path| !path.as_os_str().is_empty()),
            config_path,
        }
    }

    /// Where `keel identity new` saves the config.
    pub(crate) fn config_path(&self) -> Result<PathBuf, CliError> {
        match &self.config_path {
            Ok(path) => Ok(path.clone()),
            Err(_) => Err(ConfigError::NoPath.into()),
        }
    }

    /// The config file's contents; with no locatable config file, an empty config.
    pub(crate) fn config(&self) -> Result<Config, CliError> {
        match &self.config_path {
            Ok(path) => Ok(Config::load(path)?),
            Err(_) => Ok(Config::default()),
        }
    }

    /// A client without a token for `--server`, else the config's server.
    pub(crate) fn client(&self) -> Result<Client, CliError> {
        let config = self.config()?;
        self.client_for(&config)
    }

    /// A client acting as the configured identity.
    ///
    /// The token is only sent to the server it was created on: with `--server` pointing
    /// elsewhere, the command fails instead of leaking the token.
    pub(crate) fn authed_client(&self) -> Result<Client, CliError> {
        let config = self.config()?;
        let client = self.client_for(&config)?;
        let Some(token) = &config.token else {
            return Err(CliError::NoIdentity);
        };
        if let Some(configured_server) = &config.server {
            let same_server = Client::new_with_ca_cert(configured_server, self.ca_cert.as_deref())
                .is_ok_and(|it| it.base_url() == client.base_url());
            if !same_server {
                return Err(CliError::IdentityForOtherServer {
                    server: client.base_url().to_owned(),
                    configured_server: configured_server.clone(),
                });
            }
        }
        Ok(client.with_token(token))
    }

    fn client_for(&self, config: &Config) -> Result<Client, CliError> {
        let server = self
            .server_flag
            .as_ref()
            .or(config.server.as_ref())
            .ok_or(CliError::NoServer)?;
        Ok(Client::new_with_ca_cert(server, self.ca_cert.as_deref())?)
    }
}
