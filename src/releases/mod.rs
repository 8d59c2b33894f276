//! Releases: every `run` that changes a function's version, the REST API's deployment or the site is a
//! numbered release. A release names what was live after it (each function's version behind its alias
//! `live`, the REST deployment on the main stage, the site's digest), when, from which commit and by whom.
//! The list lives in the state file and in AWS ([`record`]: an object in the site's bucket), so that
//! another machine or a lost state file still knows it; `deployer rollback` moves back to one.

pub mod canary;
pub mod git;
pub mod numbering;
pub mod record;
pub mod rollback;
pub mod show;

use deployer_steps::live_alias::version_key;
use deployer_steps::manual::ids;
use deployer_steps::{outputs, Outputs, Settings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One release: what was live after it, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub number: u32,
    /// When it was made (UTC, RFC 3339).
    pub time: String,
    /// The git commit of the project, when it is a git repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Whether the working tree had uncommitted changes.
    #[serde(default)]
    pub dirty: bool,
    /// Who ran it: the local user and the AWS identity.
    pub by: String,
    #[serde(flatten)]
    pub content: Content,
}

/// What a release puts live; two runs with the same content are one release.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Content {
    /// Each function's version behind its alias `live`, by name after `SERVICE-`.
    pub functions: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_api: Option<String>,
    /// The REST API's deployment on the main stage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rest_deployment: Option<String>,
    pub stage: String,
    /// The digest of the site's objects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Each table's key schema (`partitionKey` or `partitionKey/sortKey`): data is not rolled back, so a
    /// release whose keys differ from today's cannot be returned to.
    #[serde(default)]
    pub tables: BTreeMap<String, String>,
}

impl Content {
    /// Whether the two put the same things live, with the same tables under them.
    pub fn same_live(&self, other: &Content) -> bool {
        (&self.functions, &self.rest_deployment, &self.site, &self.stage, &self.tables)
            == (&other.functions, &other.rest_deployment, &other.site, &other.stage, &other.tables)
    }
}

/// The releases known, and which one is live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Releases {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub list: Vec<Release>,
}

impl Releases {
    pub fn is_empty(&self) -> bool {
        self.list.is_empty() && self.live.is_none()
    }

    pub fn get(&self, number: u32) -> Option<&Release> {
        self.list.iter().find(|r| r.number == number)
    }

    pub fn live_release(&self) -> Option<&Release> {
        self.live.and_then(|n| self.get(n))
    }

    /// The release before the live one: `rollback`'s default.
    pub fn previous(&self) -> Option<&Release> {
        let live = self.live?;
        self.list.iter().filter(|r| r.number < live).max_by_key(|r| r.number)
    }

    /// Both lists as one (by number; `other`'s entry wins a tie), `other`'s live release when it names one.
    /// The record in AWS is `other` when the state's list is merged with it.
    pub fn merged(&self, other: &Releases) -> Releases {
        let mut by_number: BTreeMap<u32, Release> = self.list.iter().map(|r| (r.number, r.clone())).collect();
        by_number.extend(other.list.iter().map(|r| (r.number, r.clone())));
        Releases { live: other.live.or(self.live), list: by_number.into_values().collect() }
    }

    /// Adds `content` as the next release unless it is what is live already; returns the new number.
    pub fn add(&mut self, content: Content, origin: Origin) -> Option<u32> {
        if self.live_release().is_some_and(|live| live.content.same_live(&content)) {
            return None;
        }
        let number = self.list.iter().map(|r| r.number).max().unwrap_or(0) + 1;
        let Origin { time, commit, dirty, by } = origin;
        self.list.push(Release { number, time, commit, dirty, by, content });
        self.live = Some(number);
        Some(number)
    }

    /// The newest `keep` releases (the live one always): older ones name versions that are gone.
    pub fn trimmed(mut self, keep: usize) -> Releases {
        self.list.sort_by_key(|r| std::cmp::Reverse(r.number));
        let live = self.live;
        let mut kept = 0;
        self.list.retain(|r| {
            kept += 1;
            kept <= keep || Some(r.number) == live
        });
        self.list.sort_by_key(|r| r.number);
        self
    }
}

/// Where a release comes from.
pub struct Origin {
    pub time: String,
    pub commit: Option<String>,
    pub dirty: bool,
    pub by: String,
}

/// How many releases the record keeps: more than `keep_releases`, for the history, though only those whose
/// versions are kept can be returned to.
pub const RECORDED_RELEASES: usize = 100;

/// What the steps' outputs say is live now.
pub fn content_of(settings: &Settings, outputs: &Outputs) -> Content {
    let output = |step: &str, key: &str| outputs.get(step).and_then(|o| o.get(key)).filter(|v| !v.is_empty()).cloned();
    let functions = settings
        .function_names()
        .into_iter()
        .filter_map(|f| {
            let key = version_key(f);
            // 04 publishes the versions of the functions that answer WebSocket clients, after 02.
            let version = output(ids::WEBSOCKET, &key).or_else(|| output(ids::LAMBDA, &key))?;
            Some((f.to_string(), version))
        })
        .collect();
    Content {
        functions,
        rest_api: output(ids::API_GATEWAY, &outputs::REST_API_ID.key),
        rest_deployment: output(ids::API_GATEWAY, &outputs::DEPLOYMENT_ID.key),
        stage: settings.stage.clone(),
        site: output(ids::FRONTEND, &outputs::SITE_DIGEST.key),
        tables: table_keys(settings),
    }
}

/// Each table's key schema, as a release records it.
pub fn table_keys(settings: &Settings) -> BTreeMap<String, String> {
    settings
        .deployed_tables()
        .into_iter()
        .map(|t| {
            let keys = match t.sort_key.as_deref().filter(|k| !k.is_empty()) {
                Some(sort) => format!("{}/{sort}", t.partition_key),
                None => t.partition_key.clone(),
            };
            (t.name, keys)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(version: &str) -> Content {
        Content {
            functions: BTreeMap::from([("api".to_string(), version.to_string())]),
            stage: "prod".into(),
            ..Content::default()
        }
    }

    fn origin() -> Origin {
        Origin { time: "2026-12-06T00:00:00Z".into(), commit: None, dirty: false, by: "me".into() }
    }

    #[test]
    fn a_new_release_only_when_what_is_live_changes_numbered_after_the_highest_known() {
        let mut releases = Releases::default();
        assert_eq!(releases.add(content("1"), origin()), Some(1));
        assert_eq!(releases.add(content("1"), origin()), None, "the same content is the same release");
        let mut changed_tables = content("1");
        changed_tables.tables.insert("t".into(), "id".into());
        assert_eq!(releases.add(changed_tables, origin()), Some(2), "other tables under the same code");
        assert_eq!(releases.add(content("2"), origin()), Some(3));
        releases.live = Some(1);
        assert_eq!(releases.previous(), None);
        assert_eq!(releases.add(content("2"), origin()), Some(4), "after a rollback, the next run is new");
        assert_eq!(releases.previous().map(|r| r.number), Some(3));
    }

    #[test]
    fn merging_keeps_both_lists_and_the_records_live_release() {
        let mut mine = Releases::default();
        mine.add(content("1"), origin());
        let mut theirs = mine.clone();
        theirs.add(content("2"), origin());
        theirs.live = Some(1);
        let merged = mine.merged(&theirs);
        assert_eq!(merged.list.len(), 2);
        assert_eq!(merged.live, Some(1));
    }

    #[test]
    fn trimming_keeps_the_newest_and_the_live_one() {
        let mut releases = Releases::default();
        for v in 1..=5 {
            releases.add(content(&v.to_string()), origin());
        }
        releases.live = Some(1);
        let kept: Vec<u32> = releases.trimmed(2).list.iter().map(|r| r.number).collect();
        assert_eq!(kept, vec![1, 4, 5]);
    }
}
