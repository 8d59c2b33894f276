//! Releases as people read them: the line a run ends with, and `deployer releases`' table.

use super::{Release, Releases};

/// `Release 7 is live: 6 functions, REST deployment abc123, from commit 1a2b3c4d5e6f (uncommitted changes).`
pub fn release_line(release: &Release) -> String {
    let mut line = format!("Release {} is live: {} functions", release.number, release.content.functions.len());
    if let Some(deployment) = &release.content.rest_deployment {
        line.push_str(&format!(", REST deployment {deployment}"));
    }
    match (&release.commit, release.dirty) {
        (Some(commit), true) => line.push_str(&format!(", from commit {commit} with uncommitted changes")),
        (Some(commit), false) => line.push_str(&format!(", from commit {commit}")),
        (None, _) => {}
    }
    line.push_str(". `deployer rollback` returns to the one before.");
    line
}

/// One line per release, newest first, the live one marked with `*`.
pub fn table(releases: &Releases) -> Vec<String> {
    let mut lines = vec![format!(
        "  {:>4}  {:<20}  {:<14}  {:>9}  {:<10}  {:<10}  by",
        "", "time (UTC)", "commit", "functions", "REST", "site"
    )];
    let mut list: Vec<&Release> = releases.list.iter().collect();
    list.sort_by_key(|r| std::cmp::Reverse(r.number));
    for release in list {
        let live = if releases.live == Some(release.number) { "*" } else { " " };
        let commit = match (&release.commit, release.dirty) {
            (Some(commit), dirty) => format!("{commit}{}", if dirty { "+" } else { "" }),
            (None, _) => "-".to_string(),
        };
        let short = |value: &Option<String>| value.as_deref().map_or("-".to_string(), |v| v.chars().take(10).collect());
        lines.push(format!(
            "{live} {:>4}  {:<20}  {:<14}  {:>9}  {:<10}  {:<10}  {}",
            release.number,
            release.time.trim_end_matches('Z').replace('T', " "),
            commit,
            release.content.functions.len(),
            short(&release.content.rest_deployment),
            short(&release.content.site),
            release.by
        ));
    }
    lines
}
