//! Lambda's concurrency quota (GetAccountSettings) against what the settings reserve. AWS keeps 100
//! executions of the account unreserved ("Lambda quotas"), and new accounts often start with a quota of
//! 10, so any reservation there fails: `run` and `plan` check it before any step starts (exit 2), and
//! `doctor` says so, naming the quota rather than AWS's "must keep 100 unreserved".

use anyhow::Result;

use crate::aws::{AwsContext, Clients};
use crate::error::InputError;
use crate::settings::Settings;

/// What AWS keeps unreserved in every account and region.
pub const UNRESERVED_MINIMUM: i32 = 100;

/// The executions the settings set aside: each function's reservation, or its provisioned instances
/// where those are more (they come out of the unreserved pool too).
pub fn reserved_by(settings: &Settings) -> i32 {
    settings
        .function_names()
        .into_iter()
        .map(|function| {
            let reserved = settings.reserved_concurrency(function).unwrap_or(0);
            reserved.max(settings.provisioned_concurrency(function).unwrap_or(0))
        })
        .sum()
}

/// The account's concurrency quota in the clients' region.
pub async fn account_quota(aws: &Clients) -> Result<i32> {
    let got = aws.lambda().get_account_settings().send().await;
    let got = got.aws_context(|| "lambda:GetAccountSettings".to_string())?;
    Ok(got.account_limit().map(|l| l.concurrent_executions()).unwrap_or_default())
}

/// Whether `reserved` fits in `quota` with AWS's unreserved minimum; the fix when it does not.
pub fn fits(reserved: i32, quota: i32, region: &str) -> Result<(), String> {
    if reserved == 0 || quota - reserved >= UNRESERVED_MINIMUM {
        return Ok(());
    }
    Err(format!(
        "the settings reserve {reserved} concurrent executions, but the account's Lambda concurrency quota in {region} \
         is {quota} and AWS keeps {UNRESERVED_MINIMUM} of it unreserved, so at most {} can be reserved: lower \
         reserved_concurrency and provisioned_concurrency, or ask AWS to raise \"Concurrent executions\" (Service \
         Quotas, AWS Lambda; new accounts often start at 10)",
        (quota - UNRESERVED_MINIMUM).max(0)
    ))
}

/// Refuses (as bad input) settings that reserve more than the account allows. No request at all when
/// they reserve nothing.
pub async fn check(aws: &Clients, settings: &Settings) -> Result<()> {
    let reserved = reserved_by(settings);
    if reserved == 0 {
        return Ok(());
    }
    let quota = account_quota(aws).await?;
    fits(reserved, quota, &settings.region).map_err(|why| InputError(format!("{why}; nothing was changed")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_accounts_quota_of_ten_fits_no_reservation_and_names_itself() {
        let why = fits(1, 10, "eu-west-1").unwrap_err();
        assert!(why.contains("quota in eu-west-1 is 10") && why.contains("at most 0 can be reserved"), "{why}");
        assert_eq!(fits(0, 10, "eu-west-1"), Ok(()), "nothing reserved, nothing to check");
        assert_eq!(fits(900, 1000, "eu-west-1"), Ok(()));
        assert!(fits(901, 1000, "eu-west-1").is_err());
    }
}
