//! `init`: writes a commented deployer.toml with the manual's values; never overwrites one.

use anyhow::{Context as _, Result};
use deployer_steps::InputError;
use std::io::Write;

use crate::cli::Cli;
use crate::config;

pub fn init(cli: &Cli, service: &str, domain: Option<&str>) -> Result<()> {
    deployer_steps::names::validate_service(service)?;
    if let Some(domain) = domain {
        deployer_steps::names::validate_domain(domain)?;
    }
    let path = cli.config.clone().unwrap_or_else(|| config::DEFAULT_PATH.into());
    let file = std::fs::OpenOptions::new().write(true).create_new(true).open(&path);
    let mut file = match file {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(InputError(format!("{} exists already: edit it, or remove it first", path.display())).into())
        }
        Err(e) => return Err(anyhow::Error::new(e).context(format!("creating {}", path.display()))),
    };
    file.write_all(config::template(service, domain).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    out!("wrote {}: check it, then `deployer run`", path.display());
    Ok(())
}
