//! Durations as the flags and deployer.toml take them (`cert_wait`): seconds, or numbers with units.

use super::InputError;

/// A duration as the flags and deployer.toml take it: plain seconds ("90"), or numbers with units run
/// together ("90s", "45m", "1h30m", "2d", "1w"). The schema's pattern and [`parse_duration_seconds`] are
/// both this definition (a test holds them to it).
pub const DURATION_PATTERN: &str = r"^([0-9]+|([0-9]+(s|m|h|d|w))+)$";
const DURATION_UNITS: [char; 5] = ['s', 'm', 'h', 'd', 'w'];
/// Ten years: past this a duration is a typo, and a start time that far back would not exist.
const LONGEST_DURATION: u64 = 10 * 365 * 24 * 3600;

/// Whether `text` is of [`DURATION_PATTERN`]'s form.
fn duration_form(text: &str) -> bool {
    if text.chars().all(|c| c.is_ascii_digit()) {
        return !text.is_empty();
    }
    let mut digits = 0;
    for c in text.chars() {
        match c {
            '0'..='9' => digits += 1,
            unit if DURATION_UNITS.contains(&unit) && digits > 0 => digits = 0,
            _ => return false,
        }
    }
    digits == 0
}

/// [`DURATION_PATTERN`]'s durations in seconds, read by `humantime`; at most ten years.
pub fn parse_duration_seconds(text: &str) -> Result<u64, InputError> {
    let text = text.trim();
    let refused = |why: &str| {
        InputError(format!(
            "'{text}' is not a duration{why}: give it as seconds (90) or with units, e.g. 90s, 45m, 1h30m, 2d"
        ))
    };
    if !duration_form(text) {
        return Err(refused(""));
    }
    let seconds = if text.chars().all(|c| c.is_ascii_digit()) {
        text.parse::<u64>().map_err(|_| refused(" deployer can count"))?
    } else {
        humantime::parse_duration(text).map_err(|e| refused(&format!(" ({e})")))?.as_secs()
    };
    if seconds > LONGEST_DURATION {
        return Err(refused(" of ten years or less"));
    }
    Ok(seconds)
}

#[cfg(test)]
mod duration_tests {
    use super::*;

    #[test]
    fn durations_take_plain_seconds_and_units_run_together_without_overflow() {
        for (text, seconds) in
            [("90", 90), ("90s", 90), ("45m", 2700), ("1h30m", 5400), ("2d", 172_800), ("1w", 604_800)]
        {
            assert_eq!(parse_duration_seconds(text), Ok(seconds), "{text}");
        }
        for bad in ["", "1x", "h", "1h 30m", "-5s", "1.5h", "99999999999999999999", "999999999999d", "11000d"] {
            assert!(parse_duration_seconds(bad).is_err(), "{bad} refused");
        }
    }
}
