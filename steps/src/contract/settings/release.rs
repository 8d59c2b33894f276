//! deployer.toml `[release]`: how releases are kept.

use serde::{Deserialize, Serialize};

use super::{parse_duration_seconds, InputError, Settings};

/// Versions kept of each function (the newest), so the releases a rollback can reach, by default.
pub const DEFAULT_KEEP_RELEASES: u32 = 10;

/// How many of each function's versions stay in Lambda (each counts against the region's 75 GB of code
/// storage).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSettings {
    /// The newest versions of each function kept (the live one always is); default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub keep_releases: Option<u32>,
    /// Every run's changed functions first take a share of the traffic for a while, watched on CloudWatch,
    /// then all of it, or are rolled back by themselves: "10%:5m", or stages "10%:5m,50%:5m". `run
    /// --canary` overrides it for one run ("off": none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<String>,
}

/// One stage of a canary: the new versions get `percent` of their functions' traffic for `seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CanaryStage {
    pub percent: f64,
    pub seconds: u64,
}

/// The longest a whole canary may watch: a day (a release held half-live longer is a decision, not a
/// canary).
const LONGEST_CANARY_SECONDS: u64 = 24 * 3600;

/// The stages of a canary, "10%:5m,50%:5m": shares between 0 and 100 (exclusive), rising, each watched
/// for a duration of at least a second.
pub fn parse_canary(text: &str) -> Result<Vec<CanaryStage>, InputError> {
    let refused = |why: String| {
        InputError(format!(
            "canary '{text}' {why}: give the share of traffic and how long to watch it, e.g. \"10%:5m\", or \
             stages \"10%:5m,50%:5m\""
        ))
    };
    let mut stages: Vec<CanaryStage> = Vec::new();
    for part in text.split(',').map(str::trim) {
        let (share, duration) = part.split_once(':').ok_or_else(|| refused(format!("has no ':' in '{part}'")))?;
        let percent: f64 = share
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse().ok())
            .ok_or_else(|| refused(format!("gives '{share}' as a share: write a percentage such as 10%")))?;
        if !(percent > 0.0 && percent < 100.0) {
            return Err(refused(format!("gives {percent}%: a canary's share is above 0% and below 100%")));
        }
        if stages.last().is_some_and(|last| last.percent >= percent) {
            return Err(refused("has shares that do not rise from one stage to the next".to_string()));
        }
        let seconds = parse_duration_seconds(duration.trim())?;
        if seconds == 0 {
            return Err(refused(format!("watches '{part}' for no time")));
        }
        stages.push(CanaryStage { percent, seconds });
    }
    if stages.iter().map(|s| s.seconds).sum::<u64>() > LONGEST_CANARY_SECONDS {
        return Err(refused("watches for more than a day in all".to_string()));
    }
    Ok(stages)
}

impl ReleaseSettings {
    pub fn is_empty(&self) -> bool {
        self == &ReleaseSettings::default()
    }
}

impl Settings {
    /// The newest versions of each function kept.
    pub fn keep_releases(&self) -> usize {
        self.release.keep_releases.unwrap_or(DEFAULT_KEEP_RELEASES) as usize
    }

    /// The canary this run makes of its changed functions: `--canary` (unless "off"), else `[release]
    /// canary`; none when neither says one. Checked by `validate`.
    pub fn canary(&self) -> Option<Vec<CanaryStage>> {
        let text = match self.canary_flag.as_deref() {
            Some("off") => return None,
            Some(flag) => flag,
            None => self.release.canary.as_deref()?,
        };
        parse_canary(text).ok()
    }

    pub(super) fn validate_release(&self) -> Result<(), InputError> {
        for text in [self.canary_flag.as_deref().filter(|f| *f != "off"), self.release.canary.as_deref()] {
            text.map(parse_canary).transpose()?;
        }
        if self.release.keep_releases == Some(0) {
            return Err(InputError(
                "[release] keep_releases = 0 would keep no version to roll back to: give 1 or more (default 10)"
                    .to_string(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_canary, CanaryStage};
    use crate::settings::test_settings;

    #[test]
    fn keeps_ten_by_default_what_the_file_says_otherwise_and_refuses_none() {
        let mut settings = test_settings();
        assert_eq!(settings.keep_releases(), 10);
        settings.release.keep_releases = Some(3);
        assert_eq!(settings.keep_releases(), 3);
        assert!(settings.validate_release().is_ok());
        settings.release.keep_releases = Some(0);
        let refused = settings.validate_release().unwrap_err().0;
        assert!(refused.contains("give 1 or more"), "{refused}");
    }

    #[test]
    fn a_canary_is_rising_shares_each_watched_for_a_while() {
        let stages = parse_canary("10%:5m, 50%:90s").unwrap();
        assert_eq!(stages, [CanaryStage { percent: 10.0, seconds: 300 }, CanaryStage { percent: 50.0, seconds: 90 }]);
        assert_eq!(parse_canary("2.5%:1h").unwrap()[0].percent, 2.5);
        for (text, why) in [
            ("10%", "no ':'"),
            ("10:5m", "as a share"),
            ("0%:5m", "above 0%"),
            ("100%:5m", "below 100%"),
            ("50%:5m,10%:5m", "do not rise"),
            ("10%:0s", "no time"),
            ("10%:soon", "not a duration"),
            ("10%:1d,20%:1m", "more than a day"),
        ] {
            let refused = parse_canary(text).unwrap_err().0;
            assert!(refused.contains(why), "{text}: {refused}");
        }
    }

    #[test]
    fn the_flag_overrides_the_file_and_off_turns_the_canary_off() {
        let mut settings = test_settings();
        assert_eq!(settings.canary(), None);
        settings.release.canary = Some("10%:5m".into());
        assert_eq!(settings.canary().unwrap()[0].percent, 10.0);
        settings.canary_flag = Some("25%:1m".into());
        assert_eq!(settings.canary().unwrap()[0].percent, 25.0);
        settings.canary_flag = Some("off".into());
        assert_eq!(settings.canary(), None);
        settings.canary_flag = Some("ten percent".into());
        assert!(settings.validate_release().is_err());
    }
}
