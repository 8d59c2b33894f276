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
    // The `#:schema` line at the top of the file points editors at this, beside it; it is derived, so
    // it is refreshed whenever init runs.
    let schema_path = path.with_file_name(config::SCHEMA_FILE);
    let schema = serde_json::to_string_pretty(&config::schema()).context("writing the schema")?;
    std::fs::write(&schema_path, schema + "\n").with_context(|| format!("writing {}", schema_path.display()))?;
    out!("wrote {} and {}: check it, then `deployer run`", path.display(), schema_path.display());
    Ok(())
}
