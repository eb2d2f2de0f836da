//! Parsing `--expires-in` / `--expires-at` and formatting timestamps.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::CliError;

/// Seconds since the Unix epoch, now.
pub(crate) fn now() -> Result<u64, CliError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| CliError::Clock)
}

/// The expiry time (Unix seconds) the flags ask for, if any.
pub(crate) fn parse(
    now: u64,
    expires_in: Option<&str>,
    expires_at: Option<&str>,
) -> Result<Option<u64>, CliError> {
    if let Some(value) = expires_in {
        let err = |reason: String| CliError::ExpiresIn {
            value: value.to_owned(),
            reason,
        };
        let d = humantime::parse_duration(value).map_err(|e| err(e.to_string()))?;
        if d.as_secs() == 0 {
            return Err(err("must be at least one second".into()));
        }
        return now
            .checked_add(d.as_secs())
            .map(Some)
            .ok_or_else(|| err("too far in the future".into()));
    }
    if let Some(value) = expires_at {
        let err = |reason: String| CliError::ExpiresAt {
            value: value.to_owned(),
            reason,
        };
        let t = OffsetDateTime::parse(value, &Rfc3339).map_err(|e| err(e.to_string()))?;
        let secs = u64::try_from(t.unix_timestamp()).map_err(|_| err("before 1970".into()))?;
        if secs <= now {
            return Err(err("is not in the future".into()));
        }
        return Ok(Some(secs));
    }
    Ok(None)
}

/// Formats Unix seconds as RFC 3339 UTC.
pub(crate) fn format(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse(100, Some("90s"), None).unwrap(), Some(190));
        assert_eq!(parse(0, Some("12h"), None).unwrap(), Some(12 * 3600));
        assert_eq!(parse(0, Some("30d"), None).unwrap(), Some(30 * 86400));
        assert!(matches!(
            parse(0, Some("soon"), None),
            Err(CliError::ExpiresIn { .. })
        ));
        assert!(matches!(
            parse(0, Some("0s"), None),
            Err(CliError::ExpiresIn { .. })
        ));
    }

    #[test]
    fn timestamps() {
        assert_eq!(
            parse(0, None, Some("2027-01-31T12:00:00Z")).unwrap(),
            Some(1_801_396_800)
        );
        assert_eq!(
            parse(0, None, Some("2027-01-31T14:00:00+02:00")).unwrap(),
            Some(1_801_396_800)
        );
        assert!(matches!(
            parse(2_000_000_000, None, Some("2027-01-31T12:00:00Z")),
            Err(CliError::ExpiresAt { .. })
        ));
        assert!(matches!(
            parse(0, None, Some("tomorrow")),
            Err(CliError::ExpiresAt { .. })
        ));
        assert_eq!(format(1_801_396_800), "2027-01-31T12:00:00Z");
    }
}
