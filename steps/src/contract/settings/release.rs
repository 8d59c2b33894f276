//! deployer.toml `[release]`: how releases are kept.

use serde::{Deserialize, Serialize};

use super::{InputError, Settings};

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

    pub(super) fn validate_release(&self) -> Result<(), InputError> {
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
}
