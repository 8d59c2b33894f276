//! `rollback`'s work: the checks that refuse a release that cannot be returned to, then the moves: every
//! function's alias `live` back to its version of that release, and the REST stage back on its
//! deployment, all at once. Tables keep their data, and the site stays as it is (see the README). Only
//! the functions whose version differs from the live release's are checked and moved: Lambda's 15
//! requests/s make each one cost, and a release usually changes a few.

use anyhow::Result;
use deployer_steps::apigw::{put_rest_stage_on, rest_deployment_exists};
use deployer_steps::live_alias::{move_alias, version_exists};
use deployer_steps::{Clients, InputError, Settings};
use futures::future::try_join_all;

use super::{table_keys, Release, Releases};

/// The release to return to: the one asked for, else the one before the live one.
pub fn choose(releases: &Releases, asked: Option<u32>) -> Result<Release, InputError> {
    let known = || {
        let numbers: Vec<String> = releases.list.iter().map(|r| r.number.to_string()).collect();
        if numbers.is_empty() {
            "none".to_string()
        } else {
            numbers.join(", ")
        }
    };
    let release = match asked {
        Some(number) => releases.get(number).ok_or_else(|| {
            InputError(format!("there is no release {number}: `deployer releases` lists them (known: {})", known()))
        })?,
        None => releases.previous().ok_or_else(|| {
            InputError(format!(
                "there is no release before the live one ({}) to roll back to: `deployer releases` lists them",
                releases.live.map_or("none".to_string(), |n| n.to_string())
            ))
        })?,
    };
    if releases.live == Some(release.number) {
        return Err(InputError(format!("release {} is live already: nothing to roll back", release.number)));
    }
    Ok(release.clone())
}

/// The functions whose version differs between the live release and `release` (all of them when no
/// release is known to be live): the only aliases a rollback reads or moves.
pub fn to_move<'r>(release: &'r Release, live: Option<&Release>) -> Vec<(&'r String, &'r String)> {
    let live_version = |function: &String| live.and_then(|l| l.content.functions.get(function));
    release.content.functions.iter().filter(|(function, version)| live_version(function) != Some(*version)).collect()
}

/// Every reason the release cannot be returned to, read from AWS and the settings; none: it can.
pub async fn refusals(
    clients: &Clients,
    settings: &Settings,
    release: &Release,
    live: Option<&Release>,
) -> Result<Vec<String>> {
    let mut refusals = Vec::new();
    let tables_now = table_keys(settings);
    for (table, keys) in &release.content.tables {
        if let Some(now) = tables_now.get(table).filter(|now| *now != keys) {
            refusals.push(format!(
                "table {table} has the keys {now}, release {} had {keys}: its code expects the old keys, and data is \
                 not rolled back",
                release.number
            ));
        }
    }
    let deployed = &settings.function_names();
    let checks = to_move(release, live).into_iter().map(|(function, version)| async move {
        let name = format!("{}-{function}", settings.service);
        if !deployed.contains(&function.as_str()) {
            return Ok::<_, anyhow::Error>(Some(format!("function {name} is no longer in the settings")));
        }
        Ok((!version_exists(clients, &name, version).await?).then(|| {
            format!(
                "version {version} of {name} was deleted ([release] keep_releases = {} keeps the newest)",
                settings.keep_releases()
            )
        }))
    });
    refusals.extend(try_join_all(checks).await?.into_iter().flatten());
    if let (Some(api), Some(deployment)) = (&release.content.rest_api, &release.content.rest_deployment) {
        if !rest_deployment_exists(clients, api, deployment).await? {
            refusals.push(format!("the REST API's deployment {deployment} no longer exists"));
        }
    }
    Ok(refusals)
}

/// Moves everything back at once; returns the functions moved.
pub async fn apply(clients: &Clients, settings: &Settings, release: &Release, live: Option<&Release>) -> Result<usize> {
    let moves = to_move(release, live).into_iter().map(|(function, version)| async move {
        move_alias(clients, &format!("{}-{function}", settings.service), version).await
    });
    let stage = async {
        match (&release.content.rest_api, &release.content.rest_deployment) {
            (Some(api), Some(deployment)) => put_rest_stage_on(clients, api, &release.content.stage, deployment).await,
            _ => Ok(()),
        }
    };
    let (moved, stage) = futures::join!(try_join_all(moves), stage);
    stage?;
    Ok(moved?.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::releases::Content;
    use std::collections::BTreeMap;

    fn release(number: u32, versions: &[(&str, &str)]) -> Release {
        let functions: BTreeMap<String, String> =
            versions.iter().map(|(f, v)| (f.to_string(), v.to_string())).collect();
        let content = Content { functions, stage: "prod".into(), ..Content::default() };
        Release { number, time: String::new(), commit: None, dirty: false, by: String::new(), content }
    }

    #[test]
    fn only_the_functions_whose_version_differs_from_the_live_release_move() {
        let target = release(1, &[("a", "1"), ("b", "1"), ("c", "2")]);
        let live = release(2, &[("a", "1"), ("b", "3")]);
        let moved: Vec<&str> = to_move(&target, Some(&live)).into_iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(moved, ["b", "c"], "c is not in the live release: it moves too");
        assert_eq!(to_move(&target, None).len(), 3, "no live release known: every function");
    }
}
