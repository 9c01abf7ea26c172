//! Scenario tests for the session state machine, on a virtual clock. Each
//! rule of the issue has at least one test here; `core_props.rs` checks the
//! invariants over random interleavings.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use support::{jwt, send, starts, stored, tokens, warnings, H, T0};
use tokenwarden::core::session::{warning, BearerError, Challenge};
use tokenwarden::core::{
    Config, ErrorCode, Event, Input, Output, SessionEndReason, TabMessage, TokenSet,
};

// ----- sign-in and the proactive schedule ---------------------------------

#[test]
fn set_session_persists_broadcasts_and_schedules() {
    let mut h = H::new(Config::default());
    let a = jwt(T0 + 900_000, T0);
    let out = h.step(Input::SetSession(tokens(&a, Some("r1"))));
    let st = stored(&a, Some("r1"), T0 + 900_000, T0);
    assert_eq!(out[0], Output::Persist(Some(st.clone())));
    assert_eq!(out[1], Output::Broadcast(TabMessage::Tokens(st)));
    let Output::Emit(Event::Refreshed {
        expires_at,
        refresh_at: Some(r),
        from_tab: false,
    }) = out[2]
    else {
        panic!("{out:?}")
    };
    assert_eq!(expires_at, T0 + 900_000);
    assert!((T0 + 810_000..=T0 + 840_000).contains(&r), "{r}");
    assert_eq!(out.len(), 3);
    assert_eq!(h.s.refresh_at(), Some(r));
    assert_eq!(h.s.poll_timeout(), Some(r));
    assert!(h.s.is_signed_in());
    assert_eq!(h.s.claims().and_then(|c| c.sub.as_deref()), Some("u1"));
    assert!(h
        .s
        .payload_json()
        .is_some_and(|p| p.contains("\"sub\":\"u1\"")));
}

#[test]
fn proactive_refresh_rotates_before_anything_else() {
    let (mut h, _) = H::signed_in(Config::default());
    let out = h.fire();
    assert_eq!(
        out[0],
        Output::Emit(Event::Expiring {
            expires_at: T0 + 900_000
        })
    );
    assert_eq!(starts(&out), [(1, Some("r1".into()))]);
    assert!(h.s.refreshing());
    let t = h.now;
    let b = jwt(t + 900_000, t);
    let out = h.ok(1, &b, Some("r2"));
    assert_eq!(
        out[0],
        Output::Persist(Some(stored(&b, Some("r2"), t + 900_000, T0)))
    );
    assert!(matches!(out[1], Output::Broadcast(TabMessage::Tokens(_))));
    assert!(!h.s.refreshing());
    // Next refresh uses the rotated token.
    let out = h.fire();
    assert_eq!(starts(&out), [(2, Some("r2".into()))]);
}

#[test]
fn response_without_refresh_token_keeps_the_old_one() {
    let (mut h, _) = H::signed_in(Config::default());
    h.fire();
    let b = jwt(h.now + 900_000, h.now);
    h.ok(1, &b, None);
    assert_eq!(h.s.stored().unwrap().refresh_token.as_deref(), Some("r1"));
}

#[test]
fn short_lifetime_falls_back_to_a_fraction_and_warns() {
    let mut h = H::new(Config::default());
    let out = h.step(Input::SetSession(TokenSet {
        expires_in: Some(60.0),
        ..tokens("opaque", Some("r"))
    }));
    assert_eq!(warnings(&out), [warning::LEAD_EXCEEDS_LIFETIME]);
    let r = h.s.refresh_at().unwrap();
    assert!((T0 + 37_500..=T0 + 45_000).contains(&r), "{}", r - T0);
}

#[test]
fn opaque_token_without_expiry_warns_and_has_no_timer() {
    let mut h = H::new(Config::default());
    let out = h.step(Input::SetSession(tokens("opaque", Some("r"))));
    assert_eq!(warnings(&out), [warning::TOKEN_WITHOUT_EXP]);
    assert_eq!(h.s.refresh_at(), None);
    assert_eq!(h.s.poll_timeout(), None);
    assert_eq!(h.s.stored().unwrap().expires_at, 0);
    // A 401 still refreshes.
    h.start(1);
    assert_eq!(starts(&h.respond(1, 401)), [(1, Some("r".into()))]);
}

#[test]
fn ms_exp_is_reported_not_scheduled_in_the_far_future() {
    let mut h = H::new(Config::default());
    let p = URL_SAFE_NO_PAD.encode(format!(r#"{{"exp":{}}}"#, T0 + 900_000));
    let out = h.step(Input::SetSession(tokens(&format!("e30.{p}."), Some("r"))));
    assert_eq!(
        warnings(&out),
        [warning::EXP_IN_MILLISECONDS, warning::TOKEN_WITHOUT_EXP]
    );
    assert_eq!(h.s.refresh_at(), None);
}

#[test]
fn clock_skew_from_iat_shifts_the_schedule() {
    // Server clock one hour ahead of ours.
    let mut h = H::new(Config {
        jitter_ms: 0,
        ..Config::default()
    });
    let a = jwt(T0 + 3_600_000 + 900_000, T0 + 3_600_000);
    h.step(Input::SetSession(tokens(&a, Some("r"))));
    assert_eq!(h.s.expires_at(), Some(T0 + 900_000));
    assert_eq!(h.s.refresh_at(), Some(T0 + 840_000));
}

#[test]
fn deadlines_beyond_settimeout_range_are_absolute_and_early_fires_are_harmless() {
    let mut h = H::new(Config {
        jitter_ms: 0,
        ..Config::default()
    });
    let year = 365 * 24 * 3_600_000;
    h.step(Input::SetSession(TokenSet {
        expires_in: Some((year / 1000) as f64),
        ..tokens("o", Some("r"))
    }));
    let deadline = T0 + year - 60_000;
    assert_eq!(h.s.poll_timeout(), Some(deadline));
    // The browser layer fires after 2^31-1 ms: nothing happens, same deadline.
    let out = h.at(T0 + 2_147_483_647, Input::TimerFired);
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.s.poll_timeout(), Some(deadline));
}

#[test]
fn restore_resumes_without_outputs_and_refreshes_an_expired_token_soon() {
    let mut h = H::new(Config::default());
    let a = jwt(T0 - 1_000, T0 - 901_000);
    let out = h.step(Input::Restore(stored(
        &a,
        Some("r"),
        T0 - 1_000,
        T0 - 901_000,
    )));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(
        h.s.refresh_at(),
        Some(T0 + 5_000),
        "not before the minimum interval"
    );
    // But a request refreshes right away rather than collect a 401.
    let out = h.start(1);
    assert_eq!(starts(&out), [(1, Some("r".into()))]);
    assert!(!out.iter().any(|o| matches!(o, Output::Send { .. })));
}

#[test]
fn restore_drops_an_expired_session_that_cannot_refresh() {
    // No refresh token and no `refresh_without_token`: the session is over.
    // Storage is cleared and nothing else happens (no `sessionExpired`, no
    // redirect, no logout broadcast): nobody was signed in on this page.
    let a = jwt(T0 - 1_000, T0 - 901_000);
    for expires_at in [T0 - 1_000, T0, 0] {
        let mut h = H::new(Config::default());
        let out = h.step(Input::Restore(stored(&a, None, expires_at, T0 - 901_000)));
        assert_eq!(out, [Output::Persist(None)], "expires_at {expires_at}");
        assert!(!h.s.is_signed_in());
        assert_eq!(h.s.poll_timeout(), None);
        // Nothing was adopted: a request goes out without a token.
        assert_eq!(
            h.start(1),
            [Output::Send { id: 1, token: None }],
            "expires_at {expires_at}"
        );
    }
}

#[test]
fn restore_drops_a_session_past_max_session_even_if_refreshable() {
    let config = Config {
        max_session_ms: 3_600_000,
        ..Config::default()
    };
    let a = jwt(T0 + 600_000, T0 - 300_000);
    for started_at in [T0 - 3_600_000, T0 - 7_200_000] {
        let mut h = H::new(config.clone());
        let out = h.step(Input::Restore(stored(
            &a,
            Some("r"),
            T0 + 600_000,
            started_at,
        )));
        assert_eq!(out, [Output::Persist(None)], "started_at {started_at}");
        assert!(!h.s.is_signed_in());
        assert_eq!(h.s.poll_timeout(), None);
    }
    // One millisecond inside the limit it is resumed, and ends at the limit.
    let mut h = H::new(config);
    let out = h.step(Input::Restore(stored(
        &a,
        Some("r"),
        T0 + 600_000,
        T0 - 3_599_999,
    )));
    assert!(out.is_empty(), "{out:?}");
    assert!(h.s.is_signed_in());
    assert_eq!(h.s.poll_timeout(), Some(T0 + 1));
}

#[test]
fn restore_resumes_a_valid_session_without_a_refresh_token() {
    let mut h = H::new(Config {
        max_session_ms: 3_600_000,
        ..Config::default()
    });
    let a = jwt(T0 + 600_000, T0 - 300_000);
    let out = h.step(Input::Restore(stored(&a, None, T0 + 600_000, T0 - 300_000)));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.s.access_token(), Some(a.as_str()));
    assert_eq!(h.s.stored().unwrap().started_at, T0 - 300_000);
    assert_eq!(h.start(1), [send(1, &a)]);
    // No way to refresh: the session ends when the token expires.
    assert_eq!(h.s.poll_timeout(), Some(T0 + 600_000));
}

#[test]
fn restore_resumes_an_expired_session_that_can_refresh_without_a_token() {
    // Cookie mode / custom function: no refresh token in JS, and none needed.
    let mut h = H::new(Config {
        refresh_without_token: true,
        ..Config::default()
    });
    let a = jwt(T0 - 1_000, T0 - 901_000);
    let out = h.step(Input::Restore(stored(&a, None, T0 - 1_000, T0 - 901_000)));
    assert!(out.is_empty(), "{out:?}");
    assert!(h.s.is_signed_in());
    // A request refreshes (tokenless) before going out.
    let out = h.start(1);
    assert_eq!(starts(&out), [(1, None)]);
    assert!(!out.iter().any(|o| matches!(o, Output::Send { .. })));
}

// ----- single flight, queue, retries --------------------------------------

#[test]
fn many_401s_make_one_refresh_and_each_request_is_replayed_once() {
    let (mut h, a) = H::signed_in(Config::default());
    for id in 1..=10 {
        assert_eq!(h.start(id), [send(id, &a)]);
    }
    let mut refreshes = Vec::new();
    for id in 1..=10 {
        refreshes.extend(starts(&h.respond(id, 401)));
    }
    assert_eq!(refreshes, [(1, Some("r1".into()))]);
    assert_eq!(h.s.queued_len(), 10);
    let b = jwt(T0 + 1_800_000, T0);
    let out = h.ok(1, &b, Some("r2"));
    let sends: Vec<_> = out
        .iter()
        .filter(|o| matches!(o, Output::Send { .. }))
        .cloned()
        .collect();
    assert_eq!(sends, (1..=10).map(|id| send(id, &b)).collect::<Vec<_>>());
    // Persist (rotation) comes before any release.
    assert!(matches!(out[0], Output::Persist(Some(_))));
    // A second 401 goes back to the caller: no loop, no new refresh. The
    // first one on the fresh token says that the API rejects fresh tokens.
    assert_eq!(
        h.respond(1, 401),
        [
            Output::Emit(Event::Warning {
                code: warning::FRESH_TOKEN_REJECTED
            }),
            Output::Deliver { id: 1 }
        ]
    );
    for id in 2..=10 {
        assert_eq!(h.respond(id, 401), [Output::Deliver { id }]);
    }
    assert!(!h.s.refreshing());
}

#[test]
fn a_401_for_an_older_token_is_resent_without_refresh() {
    let (mut h, a) = H::signed_in(Config::default());
    assert_eq!(h.start(1), [send(1, &a)]);
    h.fire(); // proactive refresh
    let b = jwt(h.now + 900_000, h.now);
    h.ok(1, &b, Some("r2"));
    assert_eq!(h.respond(1, 401), [send(1, &b)]);
    // That was its one retry (and `b`, fresh from the refresh, was rejected).
    assert_eq!(
        h.respond(1, 401),
        [
            Output::Emit(Event::Warning {
                code: warning::FRESH_TOKEN_REJECTED
            }),
            Output::Deliver { id: 1 }
        ]
    );
}

#[test]
fn requests_during_a_reactive_refresh_wait_for_it() {
    let (mut h, a) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    assert_eq!(h.start(2), [], "queued, not sent with the rejected token");
    let b = jwt(T0 + 1_800_000, T0);
    let out = h.ok(1, &b, None);
    assert!(out.contains(&send(1, &b)) && out.contains(&send(2, &b)));
    let _ = a;
}

#[test]
fn requests_during_a_proactive_refresh_go_out_with_the_valid_token() {
    let (mut h, a) = H::signed_in(Config::default());
    h.fire();
    assert_eq!(h.start(1), [send(1, &a)]);
}

#[test]
fn expired_token_refreshes_before_sending() {
    let mut h = H::new(Config::default());
    let a = jwt(T0 + 3_000, T0); // inside the 5 s margin
    h.step(Input::SetSession(tokens(&a, Some("r"))));
    let out = h.start(1);
    assert_eq!(starts(&out), [(1, Some("r".into()))]);
    assert_eq!(h.s.queued_len(), 1);
    let b = jwt(T0 + 900_000, T0);
    assert!(h.ok(1, &b, None).contains(&send(1, &b)));
    // Released before its first send, with the token the refresh just
    // produced: its 401 says the API rejects fresh tokens. No new refresh
    // (issue 12 item 4); the 401 goes to the caller.
    let out = h.respond(1, 401);
    assert!(starts(&out).is_empty());
    assert!(out.contains(&Output::Deliver { id: 1 }));
}

#[test]
fn queue_overflow_rejects() {
    let (mut h, _) = H::signed_in(Config {
        queue_limit: 2,
        ..Config::default()
    });
    for id in 1..=3 {
        h.start(id);
    }
    h.respond(1, 401);
    h.respond(2, 401);
    assert_eq!(
        h.respond(3, 401),
        [Output::Reject {
            id: 3,
            code: ErrorCode::QueueFull
        }]
    );
}

#[test]
fn queue_timeout_rejects_once_and_the_later_release_skips_it() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    h.now += 10_000;
    h.start(2);
    h.respond(2, 401);
    let out = h.fire();
    assert_eq!(
        out,
        [Output::Reject {
            id: 1,
            code: ErrorCode::QueueTimeout
        }]
    );
    assert_eq!(h.now, T0 + 30_000);
    let b = jwt(h.now + 900_000, h.now);
    let out = h.ok(1, &b, None);
    assert!(out.contains(&send(2, &b)));
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Send { id: 1, .. } | Output::Reject { id: 1, .. })));
}

#[test]
fn forbidden_and_insufficient_scope_do_not_refresh() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    assert_eq!(h.respond(1, 403), [Output::Deliver { id: 1 }]);
    for e in [BearerError::InsufficientScope, BearerError::Other] {
        h.start(2);
        let out = h.step(Input::Response {
            id: 2,
            status: 401,
            challenge: Challenge::Bearer(e),
            renewed_token: None,
            should_refresh: None,
        });
        assert_eq!(out, [Output::Deliver { id: 2 }]);
    }
    h.start(3);
    let out = h.step(Input::Response {
        id: 3,
        status: 401,
        challenge: Challenge::Bearer(BearerError::InvalidToken),
        renewed_token: None,
        should_refresh: None,
    });
    assert_eq!(starts(&out).len(), 1);
}

#[test]
fn non_bearer_challenges_do_not_refresh() {
    // Issue 12 item 9: `Basic`, `Negotiate`, `DPoP` challenges (Challenge::Other)
    // go to the caller untouched; no refresh, no replay.
    let (mut h, _) = H::signed_in(Config::default());
    for id in 1..=3 {
        h.start(id);
        let out = h.step(Input::Response {
            id,
            status: 401,
            challenge: Challenge::Other,
            renewed_token: None,
            should_refresh: None,
        });
        assert_eq!(out, [Output::Deliver { id }]);
    }
    assert!(!h.s.refreshing());
    // No header at all still refreshes.
    h.start(4);
    assert_eq!(starts(&h.respond(4, 401)).len(), 1);
}

#[test]
fn untokened_requests_are_sent_at_once_and_always_delivered() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401); // a refresh is running, requests with tokens wait
    let out = h.step(Input::RequestStarted {
        id: 2,
        attach: false,
        replayable: true,
        refresh: true,
    });
    assert_eq!(out, [Output::Send { id: 2, token: None }]);
    assert_eq!(h.respond(2, 401), [Output::Deliver { id: 2 }]);
}

#[test]
fn non_replayable_401_is_delivered_but_refreshes_for_the_others() {
    let (mut h, _) = H::signed_in(Config::default());
    h.step(Input::RequestStarted {
        id: 1,
        attach: true,
        replayable: false,
        refresh: true,
    });
    let out = h.respond(1, 401);
    assert_eq!(out[0], Output::Deliver { id: 1 });
    assert_eq!(starts(&out).len(), 1);
}

#[test]
fn no_session_sends_without_token_and_delivers_the_401() {
    let mut h = H::new(Config::default());
    assert_eq!(h.start(1), [Output::Send { id: 1, token: None }]);
    assert_eq!(h.respond(1, 401), [Output::Deliver { id: 1 }]);
    let out = h.step(Input::RefreshRequested);
    assert_eq!(warnings(&out), [warning::REFRESH_UNAVAILABLE]);
}

#[test]
fn cookie_mode_refreshes_on_the_first_401_without_any_token() {
    let mut h = H::new(Config {
        refresh_without_token: true,
        ..Config::default()
    });
    assert_eq!(h.start(1), [Output::Send { id: 1, token: None }]);
    assert_eq!(starts(&h.respond(1, 401)), [(1, None)]);
    let b = jwt(T0 + 900_000, T0);
    let out = h.ok(1, &b, None);
    assert!(out.contains(&send(1, &b)));
    assert_eq!(h.s.stored().unwrap().started_at, T0);
}

#[test]
fn stale_refresh_results_are_ignored() {
    let (mut h, a) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    assert!(h.ok(99, "x", None).is_empty());
    assert!(h.rejected(0).is_empty());
    assert_eq!(h.s.access_token(), Some(a.as_str()));
    assert!(h.s.refreshing());
}

// ----- failures -----------------------------------------------------------

#[test]
fn rejected_refresh_ends_the_session() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.start(2);
    h.respond(1, 401);
    h.respond(2, 401);
    let out = h.rejected(1);
    let r = SessionEndReason::RefreshRejected;
    assert_eq!(
        out,
        [
            Output::Reject {
                id: 1,
                code: ErrorCode::SessionExpired
            },
            Output::Reject {
                id: 2,
                code: ErrorCode::SessionExpired
            },
            Output::Persist(None),
            Output::Broadcast(TabMessage::LoggedOut { reason: r }),
            Output::Emit(Event::SessionExpired { reason: r }),
            Output::SessionOver {
                reason: r,
                redirect: true
            },
        ]
    );
    assert!(!h.s.is_signed_in());
    assert_eq!(h.s.poll_timeout(), None);
}

#[test]
fn transient_failures_back_off_then_reject_and_cool_down() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    let t_first = h.now;
    let mut attempt = 1;
    for n in 1..=3 {
        let out = h.transient(attempt, None);
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Emit(Event::Error {
                code: ErrorCode::RefreshFailed,
                ..
            })
        )));
        assert!(
            !out.iter().any(|o| matches!(o, Output::Reject { .. })),
            "attempt {n}: the request keeps waiting"
        );
        assert!(h.s.refreshing());
        let out = h.fire();
        attempt = starts(&out)[0].0;
        assert_eq!(attempt, n + 1);
    }
    // Four attempts in well under 10 s.
    assert!(h.now - t_first <= 3_500, "{}", h.now - t_first);
    let out = h.transient(attempt, None);
    assert!(out.contains(&Output::Reject {
        id: 1,
        code: ErrorCode::RefreshFailed
    }));
    assert!(!h.s.refreshing());
    let cooldown_end = h.s.cooldown_until().unwrap();
    assert_eq!(cooldown_end, h.now + 30_000);
    // During the cooldown, a 401 is delivered without a refresh.
    h.start(2);
    assert_eq!(h.respond(2, 401), [Output::Deliver { id: 2 }]);
    // The session survives; after the cooldown the timer tries again.
    assert!(h.s.is_signed_in());
    let out = h.fire();
    assert_eq!(h.now, cooldown_end);
    assert_eq!(starts(&out).len(), 1);
}

#[test]
fn proactive_refresh_due_during_a_cooldown_waits_for_its_end_without_spinning() {
    let config = Config {
        lead_ms: 60_000,
        jitter_ms: 0,
        retry_cooldown_ms: 3_600_000,
        ..Config::default()
    };
    // Signed in with a 15-minute token.
    let (mut h, _) = H::signed_in(config);
    // A 401: the refresh fails four times, then a one-hour cooldown begins.
    h.start(1);
    h.respond(1, 401);
    let mut attempt = 1;
    for _ in 1..=3 {
        h.transient(attempt, None);
        attempt = starts(&h.fire())[0].0;
    }
    h.transient(attempt, None);
    let cooldown_end = h.s.cooldown_until().unwrap();
    // A renewed token arrives in a response header during the cooldown (the
    // cooldown stays). It expires at T0 + 1000 s, later than the current one,
    // so it is taken, and its refresh is planned 60 s before that: inside
    // the cooldown.
    h.start(2);
    h.step(Input::Response {
        id: 2,
        status: 200,
        challenge: Challenge::Absent,
        renewed_token: Some(jwt(T0 + 1_000_000, T0)),
        should_refresh: None,
    });
    assert_eq!(h.s.cooldown_until(), Some(cooldown_end));
    let planned = h.s.refresh_at().unwrap();
    assert!(
        planned < cooldown_end,
        "the planned refresh falls in the cooldown"
    );
    // Past the planned time, still cooling down: the next deadline must be the
    // cooldown's end, not the past refresh time (the timer would spin).
    let out = h.at(planned + 1_000, Input::TimerFired);
    assert!(starts(&out).is_empty(), "no refresh during the cooldown");
    let next = h.s.poll_timeout().unwrap();
    assert!(next > h.now, "deadline {next} is not after now {}", h.now);
    assert_eq!(next, cooldown_end);
    let out = h.fire();
    assert_eq!(
        starts(&out).len(),
        1,
        "the proactive refresh runs after the cooldown"
    );
}

#[test]
fn transient_failures_do_not_end_the_session_even_after_expiry() {
    let (mut h, _) = H::signed_in(Config::default());
    for _ in 0..200 {
        let out = h.fire();
        assert!(!out.iter().any(|o| matches!(o, Output::SessionOver { .. })));
        for (attempt, _) in starts(&out) {
            h.transient(attempt, None);
        }
    }
    assert!(h.now > T0 + 900_000, "ran past expiry");
    assert!(h.s.is_signed_in());
}

#[test]
fn retry_after_is_honoured() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    h.transient(1, Some(8_000));
    assert_eq!(h.s.poll_timeout(), Some(h.now + 8_000));
}

#[test]
fn proactive_rejection_with_a_valid_token_keeps_the_session_until_expiry() {
    let (mut h, a) = H::signed_in(Config::default());
    h.fire();
    let out = h.rejected(1);
    assert_eq!(warnings(&out), [warning::REFRESH_TOKEN_REJECTED]);
    assert_eq!(h.s.access_token(), Some(a.as_str()));
    // 401s are delivered (no more refreshes) ...
    h.start(1);
    assert_eq!(h.respond(1, 401), [Output::Deliver { id: 1 }]);
    // ... and the session ends when the access token expires.
    let out = h.fire();
    assert_eq!(h.now, T0 + 900_000);
    assert!(out.contains(&Output::SessionOver {
        reason: SessionEndReason::RefreshRejected,
        redirect: true
    }));
}

#[test]
fn another_tab_revives_a_rejected_refresh_token() {
    let (mut h, _) = H::signed_in(Config::default());
    h.fire();
    h.rejected(1);
    let b = jwt(h.now + 900_000, h.now);
    h.step(Input::FromTab(TabMessage::Tokens(stored(
        &b,
        Some("r9"),
        h.now + 900_000,
        T0,
    ))));
    assert!(h.s.refresh_at().is_some());
    assert!(h.s.poll_timeout().unwrap() < h.now + 900_000);
}

// ----- idle and max session -----------------------------------------------

#[test]
fn idle_stops_refreshing_and_ends_at_expiry() {
    let (mut h, _) = H::signed_in(Config {
        idle_timeout_ms: 600_000,
        ..Config::default()
    });
    assert_eq!(h.fire(), [], "the idle deadline passes silently");
    assert_eq!(h.now, T0 + 600_000);
    let out = h.fire();
    assert_eq!(
        out,
        [Output::Emit(Event::Expiring {
            expires_at: T0 + 900_000
        })],
        "no refresh"
    );
    // A 401 now is delivered: no refresh while idle.
    h.start(1);
    assert_eq!(h.respond(1, 401), [Output::Deliver { id: 1 }]);
    let out = h.fire();
    assert_eq!(h.now, T0 + 900_000);
    assert!(out.contains(&Output::SessionOver {
        reason: SessionEndReason::Idle,
        redirect: true
    }));
}

#[test]
fn activity_before_expiry_resumes_refreshing() {
    let (mut h, _) = H::signed_in(Config {
        idle_timeout_ms: 600_000,
        ..Config::default()
    });
    h.fire(); // idle
    h.fire(); // refresh time passes, no refresh
    h.now += 1_000;
    let out = h.step(Input::UserActivity);
    assert_eq!(starts(&out).len(), 0, "at most after the minimum interval");
    let out = h.fire();
    assert_eq!(starts(&out).len(), 1);
}

#[test]
fn max_session_cannot_be_extended_by_refreshes() {
    let (mut h, _) = H::signed_in(Config {
        max_session_ms: 2_000_000,
        ..Config::default()
    });
    let mut ended = false;
    while !ended {
        let out = h.fire();
        for (attempt, _) in starts(&out) {
            let b = jwt(h.now + 900_000, h.now);
            h.ok(attempt, &b, Some("r"));
        }
        ended = out.contains(&Output::SessionOver {
            reason: SessionEndReason::MaxSession,
            redirect: true,
        });
    }
    assert_eq!(h.now, T0 + 2_000_000);
}

// ----- tabs, logout, renew header -----------------------------------------

#[test]
fn tokens_from_another_tab_complete_the_refresh_in_flight() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    let b = jwt(T0 + 1_800_000, T0);
    let out = h.step(Input::FromTab(TabMessage::Tokens(stored(
        &b,
        Some("r2"),
        T0 + 1_800_000,
        T0,
    ))));
    assert!(matches!(out[0], Output::Persist(Some(_))));
    assert!(
        !out.iter().any(|o| matches!(o, Output::Broadcast(_))),
        "no echo"
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Emit(Event::Refreshed { from_tab: true, .. }))));
    assert!(out.contains(&send(1, &b)));
    assert!(!h.s.refreshing());
    assert_eq!(h.s.refresh_attempt(), None, "the attempt is superseded");
    // The stale attempt's result is ignored.
    assert!(h.ok(1, "zzz", Some("r-stale")).is_empty());
    assert_eq!(h.s.stored().unwrap().refresh_token.as_deref(), Some("r2"));
}

#[test]
fn older_or_echoed_tab_tokens_are_ignored() {
    let (mut h, a) = H::signed_in(Config::default());
    let old = jwt(T0 + 100_000, T0);
    assert!(h
        .step(Input::FromTab(TabMessage::Tokens(stored(
            &old,
            None,
            T0 + 100_000,
            T0
        ))))
        .is_empty());
    assert!(h
        .step(Input::FromTab(TabMessage::Tokens(stored(
            &a,
            Some("r1"),
            T0 + 900_000,
            T0
        ))))
        .is_empty());
}

#[test]
fn logout_rejects_waiting_requests_and_tells_everyone() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    let out = h.step(Input::Logout { redirect: false });
    let r = SessionEndReason::Logout;
    assert_eq!(
        out,
        [
            Output::Reject {
                id: 1,
                code: ErrorCode::LoggedOut
            },
            Output::Persist(None),
            Output::Broadcast(TabMessage::LoggedOut { reason: r }),
            Output::Emit(Event::Logout),
            Output::SessionOver {
                reason: r,
                redirect: false
            },
        ]
    );
    // The aborted refresh's result is ignored.
    assert!(h.ok(1, "x", None).is_empty());
    assert!(!h.s.is_signed_in());
}

#[test]
fn logout_from_another_tab_is_not_echoed_and_ignored_when_signed_out() {
    let (mut h, _) = H::signed_in(Config::default());
    let msg = Input::FromTab(TabMessage::LoggedOut {
        reason: SessionEndReason::Logout,
    });
    let out = h.step(msg.clone());
    assert!(!out.iter().any(|o| matches!(o, Output::Broadcast(_))));
    assert!(out.contains(&Output::SessionOver {
        reason: SessionEndReason::Logout,
        redirect: true
    }));
    assert!(
        h.step(msg).is_empty(),
        "a signed-out tab (login page) does not redirect"
    );
}

#[test]
fn tokens_of_a_session_that_ended_here_are_not_adopted_from_a_tab() {
    let (mut h, _) = H::signed_in(Config::default());
    h.step(Input::Logout { redirect: false });
    // Another tab's refresh raced the logout: its tokens (same `started_at`)
    // arrive afterwards, newer than anything, and are refused.
    let b = jwt(T0 + 1_800_000, T0);
    let late = Input::FromTab(TabMessage::Tokens(stored(
        &b,
        Some("r2"),
        T0 + 1_800_000,
        T0,
    )));
    assert!(h.at(T0 + 1_000, late.clone()).is_empty());
    assert!(!h.s.is_signed_in());
    // Still refused after a second logout with nothing to end.
    h.step(Input::Logout { redirect: false });
    assert!(h.step(late).is_empty());
    assert!(!h.s.is_signed_in());
    // A new sign-in in another tab is a new session: adopted.
    let c = jwt(T0 + 1_900_000, T0 + 1_000);
    let out = h.step(Input::FromTab(TabMessage::Tokens(stored(
        &c,
        Some("r3"),
        T0 + 1_900_000,
        T0 + 1_000,
    ))));
    assert!(matches!(out[0], Output::Persist(Some(_))), "{out:?}");
    assert_eq!(h.s.access_token(), Some(c.as_str()));
}

#[test]
fn tokens_of_a_session_that_ended_in_another_tab_are_not_adopted() {
    let (mut h, _) = H::signed_in(Config::default());
    let out = h.step(Input::FromTab(TabMessage::LoggedOut {
        reason: SessionEndReason::Logout,
    }));
    assert!(out.contains(&Output::Persist(None)));
    let b = jwt(T0 + 1_800_000, T0);
    let late = stored(&b, Some("r2"), T0 + 1_800_000, T0);
    assert!(h
        .at(T0 + 1_000, Input::FromTab(TabMessage::Tokens(late)))
        .is_empty());
    assert!(!h.s.is_signed_in());
    // Signing in again here starts a new session; its tokens from another
    // tab (a later refresh there) are adopted.
    h.now = T0 + 2_000;
    let a2 = jwt(T0 + 902_000, T0 + 2_000);
    h.step(Input::SetSession(tokens(&a2, Some("r1"))));
    let c = jwt(T0 + 1_900_000, T0 + 2_000);
    let out = h.step(Input::FromTab(TabMessage::Tokens(stored(
        &c,
        Some("r3"),
        T0 + 1_900_000,
        T0 + 2_000,
    ))));
    assert!(matches!(out[0], Output::Persist(Some(_))), "{out:?}");
    assert_eq!(h.s.access_token(), Some(c.as_str()));
}

#[test]
fn tokens_of_a_session_that_expired_are_not_adopted_from_a_tab() {
    // Any end counts, not only logouts: here the token expires with no way
    // to refresh it.
    let mut h = H::new(Config::default());
    let a = jwt(T0 + 60_000, T0);
    h.step(Input::SetSession(tokens(&a, None)));
    let out = h.fire();
    assert!(out.contains(&Output::SessionOver {
        reason: SessionEndReason::Expired,
        redirect: true
    }));
    let b = jwt(T0 + 1_800_000, T0);
    let late = stored(&b, Some("r2"), T0 + 1_800_000, T0);
    assert!(h.step(Input::FromTab(TabMessage::Tokens(late))).is_empty());
    assert!(!h.s.is_signed_in());
}

#[test]
fn renewed_token_header_is_accepted_only_if_it_expires_later() {
    let (mut h, a) = H::signed_in(Config::default());
    h.start(1);
    let later = jwt(T0 + 1_800_000, T0);
    let out = h.step(Input::Response {
        id: 1,
        status: 200,
        challenge: Challenge::Absent,
        renewed_token: Some(later.clone()),
        should_refresh: None,
    });
    assert!(matches!(out[0], Output::Persist(Some(_))));
    assert_eq!(*out.last().unwrap(), Output::Deliver { id: 1 });
    assert_eq!(h.s.access_token(), Some(later.as_str()));
    assert_eq!(h.s.stored().unwrap().refresh_token.as_deref(), Some("r1"));
    for bad in [a.clone(), jwt(T0 + 60_000, T0), "garbage".into()] {
        h.start(2);
        let out = h.step(Input::Response {
            id: 2,
            status: 200,
            challenge: Challenge::Absent,
            renewed_token: Some(bad),
            should_refresh: None,
        });
        assert_eq!(warnings(&out), [warning::RENEWED_TOKEN_IGNORED]);
        assert_eq!(h.s.access_token(), Some(later.as_str()));
    }
}

#[test]
fn request_gone_leaves_the_queue_silently() {
    let (mut h, _) = H::signed_in(Config::default());
    h.start(1);
    h.respond(1, 401);
    assert!(h.step(Input::RequestGone { id: 1 }).is_empty());
    assert_eq!(h.s.queued_len(), 0);
    let b = jwt(T0 + 1_800_000, T0);
    assert!(!h
        .ok(1, &b, None)
        .iter()
        .any(|o| matches!(o, Output::Send { .. })));
}

/// Issue 12 item 5: an aborted request frees its queue place at once (a
/// later request is queued, not `queue_full`), whether it waited for its
/// replay or for its first send, and its deadline no longer arms the timer.
#[test]
fn request_gone_frees_its_queue_place_for_a_later_request() {
    let config = Config {
        queue_limit: 1,
        ..Config::default()
    };
    // Waiting for its replay (a 401 started the refresh).
    let (mut h, _) = H::signed_in(config.clone());
    h.start(1);
    assert_eq!(starts(&h.respond(1, 401)).len(), 1);
    assert_eq!(h.s.queued_len(), 1);
    h.now += 1_000;
    assert!(h.step(Input::RequestGone { id: 1 }).is_empty());
    assert_eq!(h.s.queued_len(), 0);
    h.now += 1_000;
    h.start(2);
    let out = h.respond(2, 401);
    assert!(
        !out.iter().any(|o| matches!(o, Output::Reject { .. })),
        "{out:?}"
    );
    assert_eq!(h.s.queued_len(), 1);
    // The timer follows request 2's deadline, not the aborted one's.
    assert_eq!(h.s.poll_timeout(), Some(h.now + 30_000));
    let b = jwt(h.now + 900_000, h.now);
    let out = h.ok(1, &b, None);
    assert!(out.contains(&send(2, &b)));
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::Send { id: 1, .. } | Output::Reject { id: 1, .. } | Output::Deliver { id: 1 }
    )));

    // Waiting for its first send (the token expired: refresh first).
    let mut h = H::new(config);
    let a = jwt(T0 + 3_000, T0);
    h.step(Input::SetSession(tokens(&a, Some("r"))));
    assert_eq!(starts(&h.start(1)).len(), 1);
    assert_eq!(h.s.queued_len(), 1);
    assert!(h.step(Input::RequestGone { id: 1 }).is_empty());
    let out = h.start(2);
    assert!(
        !out.iter().any(|o| matches!(o, Output::Reject { .. })),
        "{out:?}"
    );
    assert_eq!(h.s.queued_len(), 1);
}

#[test]
fn explicit_refresh_joins_or_starts() {
    let (mut h, _) = H::signed_in(Config::default());
    assert_eq!(starts(&h.step(Input::RefreshRequested)).len(), 1);
    assert!(
        h.step(Input::RefreshRequested).is_empty(),
        "joins the one in flight"
    );
}
