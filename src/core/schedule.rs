//! The refresh schedule: local expiry (with clock-skew correction) and the
//! refresh time `expiry - lead - jitter`, with the short-lifetime fallback;
//! plus the backoff between failed refresh attempts and the helper the
//! browser layer uses to chain timers longer than `setTimeout` allows.
//!
//! Pure functions of their arguments; randomness is passed in as a number
//! in `[0, 1)` so tables of cases are deterministic.
//!
//! ```
//! use tokenwarden::core::schedule;
//!
//! // A 15-minute token received at t=0, lead 60 s, jitter 30 s, random 0.5:
//! let plan = schedule::plan_refresh(0, 0, 900_000, 60_000, 30_000, 5_000, 0.5);
//! assert_eq!(plan.refresh_at, 900_000 - 60_000 - 15_000);
//! assert!(!plan.short_lifetime);
//! ```

use super::jwt::Claims;
use super::Millis;

/// Longest delay `setTimeout` takes (2^31 − 1 ms, about 24.8 days); longer
/// delays overflow to "fire now" in browsers, so they are chained instead.
pub const MAX_TIMER_DELAY_MS: Millis = 2_147_483_647;

/// When `lead + jitter` does not fit in the token's lifetime, refresh at this
/// fraction of the lifetime…
pub const SHORT_LIFETIME_FRACTION: f64 = 0.75;

/// …minus a random part of up to this fraction of the lifetime (so between
/// 62.5 % and 75 % of the lifetime with the defaults).
pub const SHORT_LIFETIME_JITTER_FRACTION: f64 = 0.125;

/// Longest `expires_in` accepted (10 years); longer values are ignored with
/// the `invalid_expires_in` warning.
pub const MAX_EXPIRES_IN_SECONDS: f64 = 10.0 * 365.0 * 24.0 * 3600.0;

/// Where a token's local expiry came from, and what was odd about it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Expiry {
    /// Local expiry (epoch ms, local clock), `None` when unknown.
    pub expires_at: Option<Millis>,
    /// Warning codes (docs/architecture.md, "Warning codes"): `invalid_expires_in`,
    /// `clock_skew_clamped`, `token_without_exp`.
    pub warnings: Vec<&'static str>,
}

/// Local expiry of a token received at `received_at` (local clock).
///
/// 1. `expires_in` (seconds, from the token response) when it is a finite
///    number in `[0, 10 years]`: `received_at + expires_in`.
/// 2. else the `exp` claim, corrected for clock skew when `iat` is present:
///    `skew = received_at − iat`, clamped to `±max_skew_ms`, expiry =
///    `exp + skew`. (The estimate also counts the token's age and network
///    latency, which makes the expiry slightly late; a late estimate costs
///    at worst one reactive refresh, while a wrong clock without correction
///    would refresh in a loop or never.)
/// 3. else `exp` as is; 4. else unknown (`token_without_exp`).
pub fn local_expiry(
    received_at: Millis,
    expires_in: Option<f64>,
    claims: Option<&Claims>,
    max_skew_ms: Millis,
) -> Expiry {
    let mut warnings = Vec::new();
    if let Some(secs) = expires_in {
        if secs.is_finite() && (0.0..=MAX_EXPIRES_IN_SECONDS).contains(&secs) {
            let at = received_at.saturating_add((secs * 1000.0).round() as Millis);
            return Expiry {
                expires_at: Some(at),
                warnings,
            };
        }
        warnings.push("invalid_expires_in");
    }
    let Some(exp) = claims.and_then(|c| c.exp) else {
        warnings.push("token_without_exp");
        return Expiry {
            expires_at: None,
            warnings,
        };
    };
    let mut at = exp * 1000.0;
    if let Some(iat) = claims.and_then(|c| c.iat) {
        let bound = max_skew_ms as f64;
        let skew = received_at as f64 - iat * 1000.0;
        if skew.abs() > bound {
            warnings.push("clock_skew_clamped");
        }
        at += skew.clamp(-bound, bound);
    }
    // Claims are validated (finite, 0..=1e11 s), so this stays in range.
    Expiry {
        expires_at: Some(at.max(0.0).round() as Millis),
        warnings,
    }
}

/// When to refresh, and how the time was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefreshPlan {
    /// Epoch ms (local clock) of the proactive refresh.
    pub refresh_at: Millis,
    /// `lead + jitter` did not fit in the lifetime: the fraction was used
    /// (`lead_exceeds_lifetime` warning).
    pub short_lifetime: bool,
    /// The lifetime is shorter than the minimum interval: the refresh comes
    /// only after expiry (`lifetime_below_min_interval` warning); requests
    /// sent meanwhile refresh on demand.
    pub below_min_interval: bool,
}

/// Plan the proactive refresh of a token received at `received_at` that
/// expires at `expires_at`. `random` is uniform in `[0, 1)`.
///
/// Normally `expires_at − lead − random·jitter`. When `lead + jitter ≥
/// lifetime`: `received_at + lifetime·(0.75 − 0.125·random)`. Never before
/// `now` nor before `received_at + min_interval`.
pub fn plan_refresh(
    now: Millis,
    received_at: Millis,
    expires_at: Millis,
    lead_ms: Millis,
    jitter_ms: Millis,
    min_interval_ms: Millis,
    random: f64,
) -> RefreshPlan {
    let r = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let lifetime = expires_at.saturating_sub(received_at);
    let short_lifetime = lead_ms.saturating_add(jitter_ms) >= lifetime;
    let at = if short_lifetime {
        let fraction = SHORT_LIFETIME_FRACTION - SHORT_LIFETIME_JITTER_FRACTION * r;
        received_at.saturating_add((lifetime as f64 * fraction) as Millis)
    } else {
        let jitter = ((jitter_ms as f64 * r) as Millis).min(jitter_ms);
        // lead + jitter < lifetime <= expires_at, so this never saturates;
        // saturating anyway for hand-built configs.
        expires_at.saturating_sub(lead_ms).saturating_sub(jitter)
    };
    let earliest = now.max(received_at.saturating_add(min_interval_ms));
    RefreshPlan {
        refresh_at: at.max(earliest),
        short_lifetime,
        below_min_interval: received_at.saturating_add(min_interval_ms) >= expires_at,
    }
}

/// Backoff before retry number `failures` (1 after the first failure):
/// `d = min(base · 2^(failures−1), max)`, then "equal jitter": `d/2 +
/// random·d/2`. A `Retry-After` (ms) is honoured when longer, capped at
/// `max(max, cooldown)` so a hostile header cannot park the session.
pub fn retry_delay(
    failures: u32,
    base_ms: Millis,
    max_ms: Millis,
    cooldown_ms: Millis,
    retry_after_ms: Option<Millis>,
    random: f64,
) -> Millis {
    let r = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let shift = failures.saturating_sub(1).min(40);
    let d = base_ms.saturating_mul(1 << shift).min(max_ms);
    let backoff = d / 2 + ((d - d / 2) as f64 * r) as Millis;
    match retry_after_ms {
        Some(ra) => backoff.max(ra.min(max_ms.max(cooldown_ms))),
        None => backoff,
    }
}

/// The delay to give `setTimeout` for `deadline`: `deadline − now`, at least
/// 0 and at most [`MAX_TIMER_DELAY_MS`]. When it is capped the timer fires
/// early; the browser layer then feeds `TimerFired`, the core finds nothing
/// due, `poll_timeout` returns the same deadline, and the layer arms the next
/// link of the chain.
pub fn timer_delay_ms(now: Millis, deadline: Millis) -> u32 {
    // MAX_TIMER_DELAY_MS fits in u32.
    deadline.saturating_sub(now).min(MAX_TIMER_DELAY_MS) as u32
}
