//! Session configuration: what the app passes (seconds, as `f64` from JS) and
//! its validated form (milliseconds). Validation always runs, in release
//! builds too: negative, non-finite or absurd values are errors.
//!
//! CONTRACT (shared with `crate::web`): field names of `RawConfig` and
//! `Config` are used by the browser layer.
//!
//! ```
//! use tokenwarden::core::{Config, RawConfig};
//!
//! let raw = RawConfig { lead_seconds: Some(30.0), ..RawConfig::default() };
//! let config = Config::from_raw(&raw).unwrap();
//! assert_eq!(config.lead_ms, 30_000);
//! assert_eq!(config.jitter_ms, 30_000); // the default
//!
//! let bad = RawConfig { jitter_seconds: Some(f64::NAN), ..RawConfig::default() };
//! assert_eq!(Config::from_raw(&bad).unwrap_err().option, "jitterSeconds");
//! ```

use super::Millis;

/// Options as the app gives them, in seconds. `None` = default.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawConfig {
    /// Refresh this long before expiry (default 60).
    pub lead_seconds: Option<f64>,
    /// Plus a uniform random part in [0, jitter] (default 30).
    pub jitter_seconds: Option<f64>,
    /// No user activity for this long → stop refreshing (0 = off, default).
    pub idle_timeout_seconds: Option<f64>,
    /// Absolute session length that refreshes cannot extend (0 = off, default).
    pub max_session_seconds: Option<f64>,
    /// Most requests that may wait for a refresh (default 1000).
    pub queue_limit: Option<f64>,
    /// Longest a request waits for a refresh (default 30).
    pub queue_timeout_seconds: Option<f64>,
    /// Refresh before sending when the token expires within this (default 5).
    pub expiry_margin_seconds: Option<f64>,
    /// Refresh attempts per burst of transient failures (default 4).
    pub retry_attempts: Option<f64>,
    /// First backoff delay (default 0.5); doubles each attempt, capped at 5.
    pub retry_base_seconds: Option<f64>,
    /// Pause after a burst of failed attempts before trying again (default 30).
    pub retry_cooldown_seconds: Option<f64>,
    /// Whether a refresh can run without a refresh token in JS (cookie
    /// transport or a custom function): default false.
    pub refresh_without_token: bool,
}

/// Validated configuration, in milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Refresh this long before the local expiry.
    pub lead_ms: Millis,
    /// Plus a uniform random part in `[0, jitter_ms]`.
    pub jitter_ms: Millis,
    /// No user activity for this long → no more refreshes. 0 = off.
    pub idle_timeout_ms: Millis,
    /// Absolute session length from sign-in. 0 = off.
    pub max_session_ms: Millis,
    /// Most requests waiting for a refresh at once; more are rejected (`queue_full`).
    pub queue_limit: usize,
    /// Longest a request waits for a refresh (`queue_timeout`).
    pub queue_timeout_ms: Millis,
    /// Refresh before sending when the token expires within this.
    pub expiry_margin_ms: Millis,
    /// Refresh attempts per burst of transient failures (at least 1).
    pub retry_attempts: u32,
    /// Backoff before retry n is `min(base * 2^(n-1), max)`, equal-jittered.
    pub retry_base_ms: Millis,
    /// Cap of one backoff delay (default 5 s; no JS option).
    pub retry_max_ms: Millis,
    /// Pause after a failed burst before the next attempt.
    pub retry_cooldown_ms: Millis,
    /// Never schedule two proactive refreshes closer than this (default 5 s).
    pub min_refresh_interval_ms: Millis,
    /// Bound on the clock-skew estimate from `iat` (default 24 h, documented).
    pub max_skew_ms: Millis,
    /// Refreshes may run with no refresh token in JS (cookie transport or a
    /// custom refresh function), even with no access token at all.
    pub refresh_without_token: bool,
}

/// A configuration value that is not acceptable.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfigError {
    /// The option's JS name (`leadSeconds`, …).
    pub option: &'static str,
    /// Why, in a few words (`must be a finite number >= 0`, …).
    pub reason: &'static str,
}

/// Longest duration accepted for any option: 10 years. Longer values are
/// almost certainly unit mistakes (milliseconds given as seconds).
const MAX_SECONDS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// `must be a finite number >= 0`.
pub const REASON_NOT_FINITE: &str = "must be a finite number >= 0";
/// `is too large`.
pub const REASON_TOO_LARGE: &str = "is too large";
/// `must be an integer`.
pub const REASON_NOT_INTEGER: &str = "must be an integer";
/// `must be at least 1`.
pub const REASON_ZERO: &str = "must be at least 1";

impl Default for Config {
    /// The documented defaults (docs/architecture.md, "How tokenwarden decides").
    fn default() -> Self {
        Config {
            lead_ms: 60_000,
            jitter_ms: 30_000,
            idle_timeout_ms: 0,
            max_session_ms: 0,
            queue_limit: 1000,
            queue_timeout_ms: 30_000,
            expiry_margin_ms: 5_000,
            retry_attempts: 4,
            retry_base_ms: 500,
            retry_max_ms: 5_000,
            retry_cooldown_ms: 30_000,
            min_refresh_interval_ms: 5_000,
            max_skew_ms: 24 * 3600 * 1000,
            refresh_without_token: false,
        }
    }
}

impl ConfigError {
    /// Stable code for JS (`TokenError.code`): always `config` (the error
    /// also names the option, as `TokenError.option`).
    pub fn code(&self) -> &'static str {
        "config"
    }
}

impl Config {
    /// Validate the app's options and convert them to milliseconds. Runs in
    /// every build; the first bad option is reported.
    pub fn from_raw(raw: &RawConfig) -> Result<Config, ConfigError> {
        let d = Config::default();
        Ok(Config {
            lead_ms: seconds(raw.lead_seconds, "leadSeconds", d.lead_ms)?,
            jitter_ms: seconds(raw.jitter_seconds, "jitterSeconds", d.jitter_ms)?,
            idle_timeout_ms: seconds(
                raw.idle_timeout_seconds,
                "idleTimeoutSeconds",
                d.idle_timeout_ms,
            )?,
            max_session_ms: seconds(
                raw.max_session_seconds,
                "maxSessionSeconds",
                d.max_session_ms,
            )?,
            queue_limit: count(
                raw.queue_limit,
                "queueLimit",
                d.queue_limit as u64,
                0,
                1_000_000,
            )? as usize,
            queue_timeout_ms: seconds(
                raw.queue_timeout_seconds,
                "queueTimeoutSeconds",
                d.queue_timeout_ms,
            )?,
            expiry_margin_ms: seconds(
                raw.expiry_margin_seconds,
                "expiryMarginSeconds",
                d.expiry_margin_ms,
            )?,
            retry_attempts: count(
                raw.retry_attempts,
                "retryAttempts",
                d.retry_attempts.into(),
                1,
                100,
            )? as u32,
            retry_base_ms: seconds(raw.retry_base_seconds, "retryBaseSeconds", d.retry_base_ms)?,
            retry_max_ms: d.retry_max_ms,
            retry_cooldown_ms: seconds(
                raw.retry_cooldown_seconds,
                "retryCooldownSeconds",
                d.retry_cooldown_ms,
            )?,
            min_refresh_interval_ms: d.min_refresh_interval_ms,
            max_skew_ms: d.max_skew_ms,
            refresh_without_token: raw.refresh_without_token,
        })
    }
}

/// Why a `refresh.resource` entry is refused.
pub const REASON_RESOURCE: &str =
    "must be an absolute URI without a fragment (RFC 8707), or an array of them";
/// Most `refresh.resource` entries (each one is a form parameter).
pub const MAX_RESOURCES: usize = 16;
/// Longest `refresh.resource` entry, in bytes.
pub const MAX_RESOURCE_BYTES: usize = 2048;

/// Checks one RFC 8707 resource indicator (`refresh.resource` of the
/// `oauth2` transport): an absolute URI (RFC 3986 §4.3: a scheme, `:`, the
/// rest) of URI characters only (ASCII, `%XX` escapes), without a
/// fragment, at most [`MAX_RESOURCE_BYTES`] long.
///
/// ```
/// use tokenwarden::core::config::resource_indicator;
///
/// assert!(resource_indicator("https://api.example.com/").is_ok());
/// assert!(resource_indicator("urn:example:orders").is_ok());
/// assert!(resource_indicator("/relative").is_err());
/// assert!(resource_indicator("https://api.example.com/#frag").is_err());
/// ```
pub fn resource_indicator(uri: &str) -> Result<(), &'static str> {
    let bytes = uri.as_bytes();
    let Some(colon) = bytes.iter().position(|&b| b == b':') else {
        return Err(REASON_RESOURCE);
    };
    let (scheme, _) = bytes.split_at(colon);
    let mut scheme_bytes = scheme.iter().copied();
    let scheme_ok = scheme_bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && scheme_bytes.all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b));
    let uri_chars = bytes
        .iter()
        .all(|&b| b.is_ascii_alphanumeric() || b"-._~:/?[]@!$&'()*+,;=%".contains(&b));
    let escapes_ok = bytes.iter().enumerate().all(|(i, &b)| {
        b != b'%'
            || (bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    });
    if uri.len() > MAX_RESOURCE_BYTES || !scheme_ok || !uri_chars || !escapes_ok {
        return Err(REASON_RESOURCE);
    }
    Ok(())
}

/// A duration in seconds → ms, or the default when absent.
fn seconds(
    v: Option<f64>,
    option: &'static str,
    default_ms: Millis,
) -> Result<Millis, ConfigError> {
    let Some(v) = v else { return Ok(default_ms) };
    if !v.is_finite() || v < 0.0 {
        return Err(ConfigError {
            option,
            reason: REASON_NOT_FINITE,
        });
    }
    if v > MAX_SECONDS {
        return Err(ConfigError {
            option,
            reason: REASON_TOO_LARGE,
        });
    }
    // In range by the check above, so the cast cannot saturate.
    Ok((v * 1000.0).round() as Millis)
}

/// A whole number in `[min, max]`, or the default when absent.
fn count(
    v: Option<f64>,
    option: &'static str,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(v) = v else { return Ok(default) };
    if !v.is_finite() || v < 0.0 {
        return Err(ConfigError {
            option,
            reason: REASON_NOT_FINITE,
        });
    }
    if v.fract() != 0.0 {
        return Err(ConfigError {
            option,
            reason: REASON_NOT_INTEGER,
        });
    }
    if v > max as f64 {
        return Err(ConfigError {
            option,
            reason: REASON_TOO_LARGE,
        });
    }
    if (v as u64) < min {
        return Err(ConfigError {
            option,
            reason: REASON_ZERO,
        });
    }
    Ok(v as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_from_empty_raw() {
        assert_eq!(
            Config::from_raw(&RawConfig::default()),
            Ok(Config::default())
        );
    }

    #[test]
    fn rejects_bad_values() {
        let cases: [(RawConfig, &str, &str); 7] = [
            (
                RawConfig {
                    lead_seconds: Some(-1.0),
                    ..Default::default()
                },
                "leadSeconds",
                REASON_NOT_FINITE,
            ),
            (
                RawConfig {
                    jitter_seconds: Some(f64::INFINITY),
                    ..Default::default()
                },
                "jitterSeconds",
                REASON_NOT_FINITE,
            ),
            (
                RawConfig {
                    idle_timeout_seconds: Some(f64::NAN),
                    ..Default::default()
                },
                "idleTimeoutSeconds",
                REASON_NOT_FINITE,
            ),
            (
                RawConfig {
                    max_session_seconds: Some(1e12),
                    ..Default::default()
                },
                "maxSessionSeconds",
                REASON_TOO_LARGE,
            ),
            (
                RawConfig {
                    queue_limit: Some(1.5),
                    ..Default::default()
                },
                "queueLimit",
                REASON_NOT_INTEGER,
            ),
            (
                RawConfig {
                    retry_attempts: Some(0.0),
                    ..Default::default()
                },
                "retryAttempts",
                REASON_ZERO,
            ),
            (
                RawConfig {
                    retry_attempts: Some(1000.0),
                    ..Default::default()
                },
                "retryAttempts",
                REASON_TOO_LARGE,
            ),
        ];
        for (raw, option, reason) in cases {
            assert_eq!(Config::from_raw(&raw), Err(ConfigError { option, reason }));
        }
    }

    #[test]
    fn resource_indicators() {
        for ok in [
            "https://api.example.com",
            "https://api.example.com/orders?v=2",
            "urn:ietf:params:oauth:x",
            "HTTPS://API.example.com:8443/%C3%A9",
        ] {
            assert_eq!(resource_indicator(ok), Ok(()), "{ok}");
        }
        let long = format!("https://a.example/{}", "x".repeat(MAX_RESOURCE_BYTES));
        for bad in [
            "",
            "api.example.com",
            "/orders",
            "://x",
            "1https://x",
            "https://a.example/#top",
            "https://a.example/ space",
            "https://a.example/\u{e9}",
            "https://a.example/%zz",
            "https://a.example/%4",
            long.as_str(),
        ] {
            assert_eq!(resource_indicator(bad), Err(REASON_RESOURCE), "{bad}");
        }
    }

    #[test]
    fn converts_seconds_to_ms() {
        let raw = RawConfig {
            lead_seconds: Some(0.25),
            queue_limit: Some(0.0),
            retry_cooldown_seconds: Some(0.0),
            refresh_without_token: true,
            ..Default::default()
        };
        let c = Config::from_raw(&raw).unwrap();
        assert_eq!((c.lead_ms, c.queue_limit, c.retry_cooldown_ms), (250, 0, 0));
        assert!(c.refresh_without_token);
    }
}
