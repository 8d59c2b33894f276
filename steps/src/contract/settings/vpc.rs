//! deployer.toml `[vpc]`: the VPC every function runs in.

use serde::{Deserialize, Serialize};

use super::{InputError, Settings};

/// The subnets and security groups of the functions' network interfaces, for reaching private resources
/// (a database, a cache). Without a NAT gateway or VPC endpoints, functions in a VPC reach neither the
/// internet nor DynamoDB.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VpcSettings {
    /// Private subnets, ideally in two or more availability zones (at most 16), e.g. `subnet-0abc12345def67890`.
    #[schemars(length(min = 1, max = 16))]
    pub subnet_ids: Vec<String>,
    /// Security groups of the functions' interfaces (at most 5), e.g. `sg-0abc12345def67890`.
    #[schemars(length(min = 1, max = 5))]
    pub security_group_ids: Vec<String>,
}

impl Settings {
    pub(super) fn validate_vpc(&self) -> Result<(), InputError> {
        let Some(vpc) = &self.vpc else { return Ok(()) };
        for (key, ids, prefix, most) in
            [("subnet_ids", &vpc.subnet_ids, "subnet-", 16), ("security_group_ids", &vpc.security_group_ids, "sg-", 5)]
        {
            if ids.is_empty() || ids.len() > most {
                return Err(InputError(format!(
                    "[vpc] {key} lists {}: give 1 to {most} (Lambda's limit), or remove [vpc] to run outside a VPC",
                    ids.len()
                )));
            }
            let is_id = |id: &str| {
                id.strip_prefix(prefix).is_some_and(|hex| {
                    matches!(hex.len(), 8 | 17) && hex.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
                })
            };
            if let Some(bad) = ids.iter().find(|id| !is_id(id)) {
                return Err(InputError(format!(
                    "[vpc] {key} has '{bad}', which is not an EC2 ID: give IDs such as {prefix}0abc12345def67890 \
                     (`aws ec2 describe-{}` lists them)",
                    if prefix == "sg-" { "security-groups" } else { "subnets" }
                )));
            }
        }
        Ok(())
    }
}
