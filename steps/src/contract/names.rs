//! Resource names derived from the service name, and the rules a service name must follow so that every
//! derived name is valid in S3, Lambda, IAM and DynamoDB.

use crate::error::InputError;

/// The longest derived name is `SERVICE-websocket-disconnect` (Lambda: at most 64 characters).
const LONGEST_SUFFIX: &str = "-websocket-disconnect";
pub const MAX_SERVICE_LEN: usize = 64 - LONGEST_SUFFIX.len();

/// The alias every function is invoked through (see [`crate::live_alias`]).
pub const LIVE_ALIAS: &str = "live";

/// A function's alias `live`'s ARN, from the function's (unqualified) ARN.
pub fn alias_arn(function_arn: &str) -> String {
    format!("{function_arn}:{LIVE_ALIAS}")
}

/// The longest Lambda function name (and IAM role name, which a function with its own tables shares).
pub const FUNCTION_NAME_MOST: usize = 64;
/// The longest DynamoDB table name.
pub const TABLE_NAME_MOST: usize = 255;
/// Names the service's own resources take in the IAM role namespace, where a function of deployer.toml's
/// with its own `tables` gets a role of its name.
const RESERVED_FUNCTION_NAMES: &[&str] = &["lambda-role"];

/// A function or table deployer.toml adds: named like the service (lowercase letters, digits, single
/// hyphens, from a letter), so that `SERVICE-NAME` is valid in Lambda, IAM and DynamoDB and `NAME_TABLE`
/// is a variable; `SERVICE-NAME` at most `most` characters.
pub fn validate_added(service: &str, section: &str, name: &str, most: usize) -> Result<(), InputError> {
    let well_formed = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.ends_with('-')
        && !name.contains("--");
    if !well_formed {
        return Err(InputError(format!(
            "[{section}.{name}]: name it with lowercase letters, digits and single hyphens, starting with a letter \
             (e.g. billing-webhook)"
        )));
    }
    let full = resource(service, name);
    if full.len() > most {
        return Err(InputError(format!(
            "[{section}.{name}] would be named '{full}', {} characters; AWS allows {most}: shorten the name by {}",
            full.len(),
            full.len() - most
        )));
    }
    if section == "functions" && RESERVED_FUNCTION_NAMES.contains(&name) {
        return Err(InputError(format!(
            "[functions.{name}]: '{full}' is the name of the functions' shared role: choose another name"
        )));
    }
    Ok(())
}

pub fn resource(service: &str, suffix: &str) -> String {
    format!("{service}-{suffix}")
}

/// A hex token no other run makes (this moment and process): for idempotency tokens and lock IDs.
pub fn unique_token(length: usize) -> String {
    use sha2::{Digest, Sha256};
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let token = crate::package::hex(&Sha256::digest(format!("{} {}", now.as_nanos(), std::process::id())));
    token[..length.min(token.len())].to_string()
}

/// The service's name, and the names deployer.toml gives functions and tables, as the JSON Schema says
/// it; [`validate_service`] and [`validate_added`] check the same, character by character (a test holds
/// them to it).
pub const NAME_PATTERN: &str = r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$";

/// Lowercase letters, digits and single hyphens, starting with a letter: the intersection of the S3
/// bucket (`SERVICE-frontend`), Lambda, IAM role and DynamoDB naming rules.
pub fn validate_service(service: &str) -> Result<(), InputError> {
    let fix = "use lowercase letters, digits and hyphens, starting with a letter, e.g. 'new-service'";
    if service.is_empty() {
        return Err(InputError(format!("the service name is empty: {fix}")));
    }
    if service.len() > MAX_SERVICE_LEN {
        return Err(InputError(format!(
            "service name '{service}' is {} characters long; at most {MAX_SERVICE_LEN} fit, since the Lambda function \
             '{service}{LONGEST_SUFFIX}' may have at most 64: choose a shorter --service",
            service.len()
        )));
    }
    let bad_char = service.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'));
    if let Some(c) = bad_char {
        return Err(InputError(format!(
            "service name '{service}' contains '{c}', which S3 bucket names do not allow: {fix}"
        )));
    }
    if !service.starts_with(|c: char| c.is_ascii_lowercase()) || service.ends_with('-') || service.contains("--") {
        return Err(InputError(format!(
            "service name '{service}' must start with a letter and have no leading, trailing or doubled hyphen: {fix}"
        )));
    }
    Ok(())
}

/// A domain as DNS compares names, where the intent is clear: lower case, without `https://` or
/// `http://`, a final `/` or a trailing dot. Anything else (a path, a port) is left for
/// [`validate_domain`] to refuse.
pub fn normalise_domain(given: &str) -> String {
    let mut domain = given.trim().to_ascii_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = domain.strip_prefix(scheme) {
            domain = rest.to_string();
        }
    }
    let domain = domain.strip_suffix('/').unwrap_or(&domain);
    domain.strip_suffix('.').unwrap_or(domain).to_string()
}

pub fn validate_domain(domain: &str) -> Result<(), InputError> {
    let fix = "give the apex domain you own, e.g. --domain new-service.com";
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    let tld_ok = labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_lowercase()));
    if domain.len() > 253 || labels.len() < 2 || !labels.iter().all(label_ok) || !tld_ok {
        return Err(InputError(format!(
            "domain '{domain}' is not a valid lowercase DNS name with at least two labels: {fix}"
        )));
    }
    Ok(())
}

/// API Gateway stage names: letters, digits, hyphens and underscores, at most 128.
pub fn validate_stage(stage: &str) -> Result<(), InputError> {
    let ok = !stage.is_empty()
        && stage.len() <= 128
        && stage.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(InputError(format!(
            "stage '{stage}' is not a valid API Gateway stage name: use letters, digits, '-' or '_', e.g. --stage prod"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names_follow_every_services_rules() {
        assert!(validate_service("new-service").is_ok());
        assert!(validate_service("a1").is_ok());
        for bad in ["New_Service!", "", "-svc", "svc-", "a--b", "1abc", "UPPER", "with.dot"] {
            assert!(validate_service(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn longest_service_name_still_fits_lambda() {
        let longest = "a".repeat(MAX_SERVICE_LEN);
        assert!(validate_service(&longest).is_ok());
        assert_eq!(resource(&longest, "websocket-disconnect").len(), 64);
        assert!(validate_service(&"a".repeat(MAX_SERVICE_LEN + 1)).is_err());
    }

    #[test]
    fn domains_need_two_valid_labels() {
        assert!(validate_domain("new-service.com").is_ok());
        assert!(validate_domain("a.b.co").is_ok());
        for bad in ["localhost", "New-Service.com", "-a.com", "a..com", "a.com.", "a.c0m", "http://a.com"] {
            assert!(validate_domain(bad).is_err(), "{bad} should be refused");
        }
    }
}

#[cfg(test)]
mod normalise_tests {
    use super::*;

    #[test]
    fn a_domain_is_lowered_and_loses_its_scheme_slash_and_trailing_dot_but_not_a_path() {
        assert_eq!(normalise_domain("New-Service.COM"), "new-service.com");
        assert_eq!(normalise_domain(" https://new-service.com/ "), "new-service.com");
        assert_eq!(normalise_domain("HTTP://new-service.com."), "new-service.com");
        assert_eq!(normalise_domain("new-service.com/app"), "new-service.com/app");
        assert!(validate_domain(&normalise_domain("new-service.com/app")).is_err());
        assert!(validate_domain(&normalise_domain("HTTPS://New-Service.com.")).is_ok());
    }
}
