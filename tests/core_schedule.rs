//! Schedule tables for `tokenwarden::core::schedule` and config validation.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use tokenwarden::core::jwt::Claims;
use tokenwarden::core::schedule::{
    local_expiry, plan_refresh, retry_delay, timer_delay_ms, RefreshPlan, MAX_TIMER_DELAY_MS,
};

const T0: u64 = 1_700_000_000_000;
const DAY: u64 = 24 * 3600 * 1000;

/// (expires_in, exp, iat) → (expected expires_at, warnings).
type ExpiryRow = (
    Option<f64>,
    Option<f64>,
    Option<f64>,
    Option<u64>,
    &'static [&'static str],
);
/// (now, received, expires, lead, jitter, min interval, random) → (at, short, below_min).
type PlanRow = (u64, u64, u64, u64, u64, u64, f64, u64, bool, bool);

fn claims(exp: Option<f64>, iat: Option<f64>) -> Claims {
    Claims {
        exp,
        iat,
        ..Claims::default()
    }
}

#[test]
fn local_expiry_table() {
    let secs = (T0 / 1000) as f64;
    // (expires_in, exp, iat, expected expires_at, warnings)
    let rows: &[ExpiryRow] = &[
        // expires_in wins over everything.
        (
            Some(300.0),
            Some(secs + 999.0),
            Some(secs),
            Some(T0 + 300_000),
            &[],
        ),
        (Some(0.5), None, None, Some(T0 + 500), &[]),
        (Some(0.0), None, None, Some(T0), &[]),
        // Bad expires_in is ignored, falling back to exp.
        (
            Some(-1.0),
            Some(secs + 60.0),
            None,
            Some(T0 + 60_000),
            &["invalid_expires_in"],
        ),
        (
            Some(f64::NAN),
            None,
            None,
            None,
            &["invalid_expires_in", "token_without_exp"],
        ),
        (
            Some(1e12),
            Some(secs + 60.0),
            None,
            Some(T0 + 60_000),
            &["invalid_expires_in"],
        ),
        // exp alone.
        (None, Some(secs + 900.0), None, Some(T0 + 900_000), &[]),
        // Server clock 10 min ahead (iat 10 min in our future): expiry moves earlier.
        (
            None,
            Some(secs + 600.0 + 900.0),
            Some(secs + 600.0),
            Some(T0 + 900_000),
            &[],
        ),
        // Server clock 1 h behind.
        (
            None,
            Some(secs - 3600.0 + 900.0),
            Some(secs - 3600.0),
            Some(T0 + 900_000),
            &[],
        ),
        // Fractional dates.
        (
            None,
            Some(secs + 900.25),
            Some(secs + 0.25),
            Some(T0 + 900_000),
            &[],
        ),
        // Skew beyond 24 h is clamped to 24 h.
        (
            None,
            Some(secs + 3.0 * 86400.0 + 900.0),
            Some(secs + 3.0 * 86400.0),
            Some(T0 + 2 * DAY + 900_000),
            &["clock_skew_clamped"],
        ),
        (
            None,
            Some(secs - 3.0 * 86400.0 + 900.0),
            Some(secs - 3.0 * 86400.0),
            Some(T0 - 2 * DAY + 900_000),
            &["clock_skew_clamped"],
        ),
        // Nothing at all.
        (None, None, Some(secs), None, &["token_without_exp"]),
    ];
    for (i, (expires_in, exp, iat, want, warnings)) in rows.iter().enumerate() {
        let c = claims(*exp, *iat);
        let e = local_expiry(T0, *expires_in, Some(&c), DAY);
        assert_eq!(e.expires_at, *want, "row {i}");
        assert_eq!(e.warnings, *warnings, "row {i}");
    }
    assert_eq!(local_expiry(T0, None, None, DAY).expires_at, None);
}

#[test]
fn plan_refresh_table() {
    // (now, received, expires, lead, jitter, min, random) -> (at, short, below_min)
    let rows: &[PlanRow] = &[
        // 15 min token, defaults: expires − 60 s − r·30 s.
        (
            T0,
            T0,
            T0 + 900_000,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 840_000,
            false,
            false,
        ),
        (
            T0,
            T0,
            T0 + 900_000,
            60_000,
            30_000,
            5_000,
            0.5,
            T0 + 825_000,
            false,
            false,
        ),
        (
            T0,
            T0,
            T0 + 900_000,
            60_000,
            30_000,
            5_000,
            1.0,
            T0 + 810_000,
            false,
            false,
        ),
        // No jitter configured: random does not matter.
        (
            T0,
            T0,
            T0 + 900_000,
            60_000,
            0,
            5_000,
            0.7,
            T0 + 840_000,
            false,
            false,
        ),
        // 60 s token: lead+jitter (90 s) ≥ lifetime → 75 % − r·12.5 %.
        (
            T0,
            T0,
            T0 + 60_000,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 45_000,
            true,
            false,
        ),
        (
            T0,
            T0,
            T0 + 60_000,
            60_000,
            30_000,
            5_000,
            1.0,
            T0 + 37_500,
            true,
            false,
        ),
        // Exactly equal counts as "does not fit".
        (
            T0,
            T0,
            T0 + 90_000,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 67_500,
            true,
            false,
        ),
        // 4 s token with a 5 s minimum interval: not before received + 5 s.
        (
            T0,
            T0,
            T0 + 4_000,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 5_000,
            true,
            true,
        ),
        // Already expired at restore: not in the past, not before min interval.
        (
            T0 + 10_000,
            T0 + 10_000,
            T0,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 15_000,
            true,
            true,
        ),
        // Planned time already passed (late): now.
        (
            T0 + 850_000,
            T0,
            T0 + 900_000,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 850_000,
            false,
            false,
        ),
        // Year-long token: far beyond 2^31−1 ms, reported as an absolute time.
        (
            T0,
            T0,
            T0 + 365 * DAY,
            60_000,
            30_000,
            5_000,
            0.0,
            T0 + 365 * DAY - 60_000,
            false,
            false,
        ),
        // Garbage random is treated as 0.
        (
            T0,
            T0,
            T0 + 900_000,
            60_000,
            30_000,
            5_000,
            f64::NAN,
            T0 + 840_000,
            false,
            false,
        ),
    ];
    for (i, &(now, rec, exp, lead, jit, min, r, at, short, below)) in rows.iter().enumerate() {
        let plan = plan_refresh(now, rec, exp, lead, jit, min, r);
        assert_eq!(
            plan,
            RefreshPlan {
                refresh_at: at,
                short_lifetime: short,
                below_min_interval: below
            },
            "row {i}"
        );
        assert!(plan.refresh_at >= now, "row {i}: never in the past");
    }
}

#[test]
fn retry_delay_table() {
    // Defaults: base 500 ms, max 5 s, cooldown 30 s; equal jitter d/2 + r·d/2.
    let rows: &[(u32, f64, Option<u64>, u64)] = &[
        (1, 0.0, None, 250),
        (1, 1.0, None, 500),
        (2, 0.0, None, 500),
        (3, 0.5, None, 1_500),
        (4, 1.0, None, 4_000),
        (5, 1.0, None, 5_000),             // capped at max
        (60, 1.0, None, 5_000),            // no shift overflow
        (1, 0.0, Some(2_000), 2_000),      // Retry-After longer: honoured
        (4, 1.0, Some(100), 4_000),        // shorter: backoff wins
        (1, 0.0, Some(3_600_000), 30_000), // capped at the cooldown
    ];
    for (i, &(n, r, ra, want)) in rows.iter().enumerate() {
        assert_eq!(retry_delay(n, 500, 5_000, 30_000, ra, r), want, "row {i}");
    }
    // Default burst: 4 attempts; the three waits between them total at most 3.5 s.
    let worst: u64 = (1..=3)
        .map(|n| retry_delay(n, 500, 5_000, 30_000, None, 1.0))
        .sum();
    assert_eq!(worst, 3_500);
}

#[test]
fn timer_delay_is_clamped_for_chaining() {
    assert_eq!(timer_delay_ms(T0, T0 + 1_000), 1_000);
    assert_eq!(timer_delay_ms(T0 + 5, T0), 0);
    assert_eq!(
        timer_delay_ms(T0, T0 + 365 * DAY),
        MAX_TIMER_DELAY_MS as u32
    );
    assert_eq!(timer_delay_ms(0, u64::MAX), 2_147_483_647);
}
