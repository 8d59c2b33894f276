//! A run's part in releases: before the steps, catching up with a release another machine made live (a
//! rollback there moved aliases that this state file's checkpoints vouch for); after them, numbering a
//! new release when what is live changed.

use anyhow::Result;
use deployer_steps::revisions::KEY as REVISIONS;
use deployer_steps::Clients;

use super::{content_of, git, record, Origin, Release, Releases, RECORDED_RELEASES};
use crate::state::{self, State};

/// The record in AWS, merged into the state's list. When it names another live release than the state
/// does, the aliases were moved elsewhere: the checkpoints that vouch for them are dropped, so that the
/// steps read the aliases again. Returns a notice for that case.
pub async fn catch_up(state: &mut State, clients: &Clients) -> Result<Option<String>> {
    if state.releases.is_empty() {
        return Ok(None);
    }
    let Some(recorded) = record::read(clients, &record::bucket(&state.settings)).await? else {
        return Ok(None);
    };
    let moved_elsewhere = recorded.live != state.releases.live;
    state.releases = state.releases.merged(&recorded);
    if !moved_elsewhere {
        return Ok(None);
    }
    forget_aliases(state);
    let live = recorded.live.map_or("none".to_string(), |n| n.to_string());
    Ok(Some(format!(
        "release {live} was made live elsewhere (a rollback on another machine?): the functions' aliases are read \
         again, and what differs from this project becomes a new release"
    )))
}

/// Drops the checkpoints that vouch for the functions' aliases (the `alias` lines of the functions'
/// revisions), so that the next look reads each alias.
pub fn forget_aliases(state: &mut State) {
    for record in state.steps.values_mut() {
        if let Some(lines) = record.outputs.get_mut(REVISIONS) {
            let kept: Vec<&str> = lines.lines().filter(|line| line.split(' ').nth(1) != Some("alias")).collect();
            *lines = kept.join("\n");
        }
    }
}

/// After a whole run: the next release when what is live changed, recorded in AWS. Returns the releases
/// the state is to keep, with the new one (none when the record had it already: a run killed after
/// recording it); `None` when nothing changed.
pub async fn after_run(state: &State, clients: &Clients) -> Result<Option<(Releases, Option<Release>)>> {
    let content = content_of(&state.settings, &state.outputs());
    if content.functions.is_empty() {
        return Ok(None);
    }
    if state.releases.live_release().is_some_and(|live| live.content.same_live(&content)) {
        return Ok(None);
    }
    let bucket = record::bucket(&state.settings);
    let recorded = record::read(clients, &bucket).await?.unwrap_or_default();
    let mut releases = state.releases.merged(&recorded);
    let (commit, dirty) = git::commit(&state.settings.backend).map_or((None, false), |(c, d)| (Some(c), d));
    let user = std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "someone".into());
    let by = format!("{user} ({})", clients.identity().await?.arn);
    let Some(number) = releases.add(content, Origin { time: state::now(), commit, dirty, by }) else {
        return Ok(Some((releases, None)));
    };
    let releases = releases.trimmed(RECORDED_RELEASES);
    record::write(clients, &bucket, &releases).await?;
    let release = releases.get(number).cloned();
    Ok(Some((releases, release)))
}
