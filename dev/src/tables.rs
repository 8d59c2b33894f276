//! The tables the handlers use: by default an embedded DynamoDB (a moto server on a free port, its
//! stdin a lifeline as the workers'), with every table of the settings created (keys, indexes, TTL).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, ScalarAttributeType,
    TimeToLiveSpecification,
};
use deployer_steps::settings::Table;
use deployer_steps::InputError;
use tokio::process::{Child, Command};

/// A moto server that lives as long as this value (its lifeline is the pipe this holds).
pub struct LocalTables {
    pub endpoint: String,
    process: Child,
}

const LIFELINE_BOOTSTRAP: &str = r#"
import os, sys, threading
def lifeline():
    sys.stdin.buffer.read()
    os._exit(0)
threading.Thread(target=lifeline, daemon=True).start()
from moto.server import main
main(sys.argv[1:])
"#;

/// The Python that has moto: `moto_server`'s own interpreter when it is on PATH, else `python3`.
pub fn moto_python(python: &Path) -> Result<PathBuf, InputError> {
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
        .and_then(|script| std::fs::read_to_string(script).ok())
        .and_then(|text| text.lines().next().and_then(|l| l.strip_prefix("#!")).map(|s| PathBuf::from(s.trim())));
    let candidates = from_path.into_iter().chain(std::iter::once(python.to_path_buf()));
    for candidate in candidates {
        let has_moto = std::process::Command::new(&candidate)
            .args(["-c", "import moto.server"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if has_moto {
            return Ok(candidate);
        }
    }
    Err(InputError(format!(
        "--tables local runs the tables in moto, which {} cannot import: install it with `{} -m pip install \
         'moto[server]'` (or use the deployed tables with --tables aws)",
        python.display(),
        python.display()
    )))
}

impl LocalTables {
    /// Starts moto on a free port and waits until it answers.
    pub async fn start(python: &Path) -> Result<LocalTables> {
        let port = free_port()?;
        let process = Command::new(python)
            .args(["-c", LIFELINE_BOOTSTRAP, "-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ALLOW_NONEXISTENT_REGION", "true")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting moto with {}", python.display()))?;
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        // A readiness probe: moto takes a second or two to import; each try is a connect.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(address).await.is_err() {
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!(
                    "moto did not start listening on {address} within 30 s: run `{} -m moto.server` to see why",
                    python.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        Ok(LocalTables { endpoint: format!("http://{address}"), process })
    }

    /// Cuts moto's lifeline and waits for it to exit (SIGKILL after two seconds).
    pub async fn stop(mut self) {
        drop(self.process.stdin.take());
        if tokio::time::timeout(Duration::from_secs(2), self.process.wait()).await.is_err() {
            let _ = self.process.kill().await;
        }
    }
}

fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("finding a free port for moto")?;
    Ok(listener.local_addr()?.port())
}

/// Creates each table as 01-dynamodb would (on-demand, string keys, indexes, TTL).
pub async fn create_tables(client: &aws_sdk_dynamodb::Client, service: &str, tables: &[Table]) -> Result<()> {
    for table in tables {
        let name = deployer_steps::names::resource(service, &table.name);
        let mut keys = vec![(table.partition_key.clone(), KeyType::Hash)];
        keys.extend(table.sort_key.clone().map(|k| (k, KeyType::Range)));
        let mut attributes: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
        let mut create = client.create_table().table_name(&name).billing_mode(BillingMode::PayPerRequest);
        for (key, kind) in &keys {
            create = create.key_schema(KeySchemaElement::builder().attribute_name(key).key_type(kind.clone()).build()?);
        }
        for index in &table.indexes {
            let mut built = GlobalSecondaryIndex::builder()
                .index_name(&index.name)
                .projection(deployer_steps::dynamodb::projection(&index.projection));
            built = built.key_schema(
                KeySchemaElement::builder().attribute_name(&index.partition_key).key_type(KeyType::Hash).build()?,
            );
            attributes.push(index.partition_key.clone());
            if let Some(sort) = &index.sort_key {
                built = built
                    .key_schema(KeySchemaElement::builder().attribute_name(sort).key_type(KeyType::Range).build()?);
                attributes.push(sort.clone());
            }
            create = create.global_secondary_indexes(built.build()?);
        }
        attributes.sort();
        attributes.dedup();
        for attribute in attributes {
            create = create.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(attribute)
                    .attribute_type(ScalarAttributeType::S)
                    .build()?,
            );
        }
        create.send().await.with_context(|| format!("dynamodb:CreateTable {name} (local)"))?;
        if let Some(ttl) = &table.ttl_attribute {
            let spec = TimeToLiveSpecification::builder().attribute_name(ttl).enabled(true).build()?;
            client
                .update_time_to_live()
                .table_name(&name)
                .time_to_live_specification(spec)
                .send()
                .await
                .with_context(|| format!("dynamodb:UpdateTimeToLive {name} (local)"))?;
        }
    }
    Ok(())
}
