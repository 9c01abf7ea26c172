//! Session configuration: what the app passes (seconds, as `f64` from JS) and
//! its validated form (milliseconds). Validation always runs, in release
//! builds too: negative, non-finite or absurd values are errors.
//!
//! CONTRACT (shared with `crate::web`): field names of `RawConfig` and
//! `Config` are used by the browser layer.

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
    pub lead_ms: Millis,
    pub jitter_ms: Millis,
    /// 0 = off.
    pub idle_timeout_ms: Millis,
    /// 0 = off.
    pub max_session_ms: Millis,
    pub queue_limit: usize,
    pub queue_timeout_ms: Millis,
    pub expiry_margin_ms: Millis,
    pub retry_attempts: u32,
    pub retry_base_ms: Millis,
    pub retry_max_ms: Millis,
    pub retry_cooldown_ms: Millis,
    /// Never schedule two proactive refreshes closer than this (default 5 s).
    pub min_refresh_interval_ms: Millis,
    /// Bound on the clock-skew estimate from `iat` (default 24 h, documented).
    pub max_skew_ms: Millis,
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
