//! The regions AWS has, by partition: a name no partition has is refused before any request (exit 2), as
//! terraform-provider-aws refuses one. The table is the partitions file the AWS SDK for Rust resolves
//! endpoints with (aws-sdk-* 1.12x, `endpoint_lib`). A region opened after this build is allowed with
//! `DEPLOYER_EXTRA_REGIONS` (comma-separated names).

use crate::error::InputError;

/// (partition, its regions).
pub const PARTITIONS: &[(&str, &[&str])] = &[
    (
        "aws",
        &[
            "af-south-1",
            "ap-east-1",
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
            "ap-southeast-6",
            "ap-southeast-7",
            "ca-central-1",
            "ca-west-1",
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
            "il-central-1",
            "me-central-1",
            "me-south-1",
            "mx-central-1",
            "sa-east-1",
            "us-east-1",
            "us-east-2",
            "us-west-1",
            "us-west-2",
        ],
    ),
    ("aws-cn", &["cn-north-1", "cn-northwest-1"]),
    ("aws-eusc", &["eusc-de-east-1"]),
    ("aws-iso", &["us-iso-east-1", "us-iso-west-1"]),
    ("aws-iso-b", &["us-isob-east-1", "us-isob-west-1"]),
    ("aws-iso-e", &["eu-isoe-west-1"]),
    ("aws-iso-f", &["us-isof-east-1", "us-isof-south-1"]),
    ("aws-us-gov", &["us-gov-east-1", "us-gov-west-1"]),
];

/// The variable that names regions newer than this build.
pub const EXTRA_REGIONS: &str = "DEPLOYER_EXTRA_REGIONS";

fn known(region: &str) -> bool {
    PARTITIONS.iter().any(|(_, regions)| regions.contains(&region))
}

fn allowed_extra(region: &str) -> bool {
    let extra = std::env::var(EXTRA_REGIONS).unwrap_or_default();
    extra.split(',').map(str::trim).any(|r| r == region)
}

/// The closest known region by edit distance, for a typo.
fn closest(region: &str) -> &'static str {
    let distance = |a: &str, b: &str| {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut previous = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let next = (row[j + 1] + 1).min(row[j] + 1).min(previous + usize::from(ca != *cb));
                previous = row[j + 1];
                row[j + 1] = next;
            }
        }
        row[b.len()]
    };
    let all = PARTITIONS.iter().flat_map(|(_, regions)| regions.iter().copied());
    all.min_by_key(|known| distance(region, known)).unwrap_or("us-east-1")
}

pub fn validate(region: &str) -> Result<(), InputError> {
    if known(region) || allowed_extra(region) {
        return Ok(());
    }
    Err(InputError(format!(
        "region '{region}' is not one AWS has (did you mean {}?): set --region or AWS_REGION to one such as us-east-1; \
         if AWS opened '{region}' after this deployer was built, allow it with {EXTRA_REGIONS}={region}",
        closest(region)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partitions_regions_pass_and_a_name_no_partition_has_is_refused_with_the_closest() {
        for region in ["us-east-1", "eu-west-3", "cn-north-1", "us-gov-west-1", "eusc-de-east-1", "ap-southeast-7"] {
            assert_eq!(validate(region), Ok(()), "{region}");
        }
        let refused = validate("us-east-9").unwrap_err().0;
        assert!(refused.contains("did you mean us-east-1?") && refused.contains(EXTRA_REGIONS), "{refused}");
        assert!(validate("eu-wset-1").unwrap_err().0.contains("did you mean eu-west-1?"));
        assert!(validate("moon").is_err());
    }

    #[test]
    fn a_region_newer_than_the_build_is_allowed_by_name() {
        assert!(validate("ap-future-1").is_err());
        // Only this test names ap-future-1, so setting the variable races with no other.
        std::env::set_var(EXTRA_REGIONS, "eu-later-2, ap-future-1");
        assert_eq!(validate("ap-future-1"), Ok(()));
        assert!(validate("ap-future-2").is_err(), "only the regions it names");
    }
}
