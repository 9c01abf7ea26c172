//! Request-level control (issue 14 item 8), on a virtual clock: the
//! per-request opt-out of refresh handling (`RequestStarted { refresh:
//! false }`) and the app's `shouldRefresh(response)` verdict
//! (`Response { should_refresh }`).
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use tokenwarden::core::session::BearerError;
use tokenwarden::core::{Config, ErrorCode, Input, Output, Session, TokenSet};

const T0: u64 = 1_700_000_000_000;

fn jwt(exp_s: u64, n: u32) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
    let p = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"u1","exp":{exp_s},"jti":"{n}"}}"#));
    format!("{h}.{p}.c2ln")
}

struct H {
    s: Session,
    now: u64,
}

impl H {
    /// Signed in with a 15-minute JWT and refresh token "r1".
    fn signed_in() -> (H, String) {
        let mut h = H {
            s: Session::new(Config::default(), 7),
            now: T0,
        };
        let a = jwt(T0 / 1000 + 900, 1);
        h.step(Input::SetSession(TokenSet {
            access_token: a.clone(),
            refresh_token: Some("r1".into()),
            expires_in: None,
        }));
        (h, a)
    }

    fn step(&mut self, input: Input) -> Vec<Output> {
        self.s.handle(input, self.now);
        std::iter::from_fn(|| self.s.poll_output()).collect()
    }

    fn start(&mut self, id: u64, attach: bool, refresh: bool) -> Vec<Output> {
        self.step(Input::RequestStarted {
            id,
            attach,
            replayable: true,
            refresh,
        })
    }

    fn respond(&mut self, id: u64, status: u16, verdict: Option<bool>) -> Vec<Output> {
        self.step(Input::Response {
            id,
            status,
            bearer_error: None,
            renewed_token: None,
            should_refresh: verdict,
        })
    }

    fn refreshed(&mut self, attempt: u64, n: u32) -> (Vec<Output>, String) {
        let a = jwt(T0 / 1000 + 1800, n);
        let out = self.step(Input::RefreshSucceeded {
            attempt,
            tokens: TokenSet {
                access_token: a.clone(),
                refresh_token: Some(format!("r{n}")),
                expires_in: None,
            },
        });
        (out, a)
    }
}

fn send(id: u64, token: &str) -> Output {
    Output::Send {
        id,
        token: Some(Rc::from(token)),
    }
}

fn starts(out: &[Output]) -> usize {
    out.iter()
        .filter(|o| matches!(o, Output::StartRefresh { .. }))
        .count()
}

fn sends(out: &[Output]) -> Vec<&Output> {
    out.iter()
        .filter(|o| matches!(o, Output::Send { .. }))
        .collect()
}

// ----- refresh: false --------------------------------------------------------

#[test]
fn opted_out_request_carries_the_token_and_its_401_is_delivered_without_a_refresh() {
    let (mut h, a) = H::signed_in();
    assert_eq!(h.start(1, true, false), [send(1, &a)]);
    assert_eq!(h.respond(1, 401, None), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
    // Even the app's verdict cannot make it refresh: it is not tracked.
    assert_eq!(h.start(2, true, false), [send(2, &a)]);
    assert_eq!(h.respond(2, 419, Some(true)), [Output::Deliver { id: 2 }]);
    assert!(!h.s.refreshing());
}

#[test]
fn opted_out_request_gets_no_token_when_it_may_not_carry_one() {
    let (mut h, _) = H::signed_in();
    assert_eq!(
        h.start(1, false, false),
        [Output::Send { id: 1, token: None }]
    );
    assert_eq!(h.respond(1, 401, None), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
}

#[test]
fn opted_out_request_does_not_wait_for_a_refresh_under_way() {
    let (mut h, a) = H::signed_in();
    // A tracked 401 starts a refresh and parks its request.
    h.start(1, true, true);
    let out = h.respond(1, 401, None);
    assert_eq!(starts(&out), 1);
    assert_eq!(h.s.queued_len(), 1);
    // An opted-out request leaves at once with the old token, not queued.
    assert_eq!(h.start(2, true, false), [send(2, &a)]);
    assert_eq!(h.s.queued_len(), 1);
    // A tracked one waits.
    assert!(sends(&h.start(3, true, true)).is_empty());
    let (out, b) = h.refreshed(1, 2);
    let sent = sends(&out);
    assert_eq!(sent, [&send(1, &b), &send(3, &b)]);
}

#[test]
fn opted_out_request_with_an_expired_token_is_sent_at_once_and_starts_nothing() {
    let (mut h, a) = H::signed_in();
    h.now = T0 + 3_600_000; // the access token expired an hour ago
                            // (the proactive refresh would have run; stop it from mattering)
    let _ = h.step(Input::Wake);
    let out = h.start(9, true, false);
    assert_eq!(sends(&out), [&send(9, &a)]);
    assert!(!out.iter().any(|o| matches!(o, Output::Reject { .. })));
}

#[test]
fn opted_out_request_while_signed_out_goes_without_a_token() {
    let mut h = H {
        s: Session::new(Config::default(), 7),
        now: T0,
    };
    assert_eq!(
        h.start(1, true, false),
        [Output::Send { id: 1, token: None }]
    );
    assert_eq!(h.respond(1, 401, None), [Output::Deliver { id: 1 }]);
}

// ----- should_refresh -------------------------------------------------------

#[test]
fn verdict_true_on_a_419_refreshes_once_and_replays() {
    let (mut h, a) = H::signed_in();
    assert_eq!(h.start(1, true, true), [send(1, &a)]);
    let out = h.respond(1, 419, Some(true));
    assert_eq!(starts(&out), 1);
    assert!(!out.contains(&Output::Deliver { id: 1 }));
    let (out, b) = h.refreshed(1, 2);
    assert_eq!(sends(&out), [&send(1, &b)]);
    // The replay's own verdict `true` is not a second refresh: one retry.
    assert_eq!(h.respond(1, 419, Some(true)), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
}

#[test]
fn verdict_true_on_a_400_json_error_joins_the_single_flight() {
    let (mut h, a) = H::signed_in();
    for id in 1..=5 {
        assert_eq!(h.start(id, true, true), [send(id, &a)]);
    }
    let mut refreshes = 0;
    for id in 1..=5 {
        refreshes += starts(&h.respond(id, 400, Some(true)));
    }
    assert_eq!(refreshes, 1, "one refresh for the whole burst");
    assert_eq!(h.s.queued_len(), 5);
    let (out, b) = h.refreshed(1, 2);
    assert_eq!(sends(&out).len(), 5);
    assert!(sends(&out).iter().all(
        |o| **o == send(1, &b) || matches!(o, Output::Send { token: Some(t), .. } if **t == *b)
    ));
    for id in 1..=5 {
        assert_eq!(h.respond(id, 200, Some(false)), [Output::Deliver { id }]);
    }
}

#[test]
fn verdict_false_delivers_even_a_401_and_starts_no_refresh() {
    let (mut h, _) = H::signed_in();
    h.start(1, true, true);
    assert_eq!(h.respond(1, 401, Some(false)), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
}

#[test]
fn no_verdict_keeps_the_built_in_rule() {
    let (mut h, _) = H::signed_in();
    h.start(1, true, true);
    assert_eq!(h.respond(1, 419, None), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
    h.start(2, true, true);
    h.start(3, true, true);
    assert_eq!(starts(&h.respond(2, 401, None)), 1);
    // An insufficient_scope 401 is not a refresh by default …
    let out = h.step(Input::Response {
        id: 3,
        status: 401,
        bearer_error: Some(BearerError::InsufficientScope),
        renewed_token: None,
        should_refresh: None,
    });
    assert_eq!(out, [Output::Deliver { id: 3 }]);
}

#[test]
fn verdict_true_overrides_the_challenge() {
    // … but the app's verdict decides when it gives one.
    let (mut h, _) = H::signed_in();
    h.start(1, true, true);
    let out = h.step(Input::Response {
        id: 1,
        status: 401,
        bearer_error: Some(BearerError::InsufficientScope),
        renewed_token: None,
        should_refresh: Some(true),
    });
    assert_eq!(starts(&out), 1);
}

#[test]
fn verdict_true_on_a_request_sent_with_an_older_token_resends_without_refreshing() {
    let (mut h, a) = H::signed_in();
    assert_eq!(h.start(1, true, true), [send(1, &a)]);
    assert_eq!(h.start(2, true, true), [send(2, &a)]);
    assert_eq!(starts(&h.respond(1, 419, Some(true))), 1);
    let (_, b) = h.refreshed(1, 2);
    // Request 2 left with the old token: it is re-sent, no second refresh.
    let out = h.respond(2, 419, Some(true));
    assert_eq!(out, [send(2, &b)]);
}

#[test]
fn verdict_true_on_a_non_replayable_request_delivers_and_refreshes_for_the_next() {
    let (mut h, _) = H::signed_in();
    h.step(Input::RequestStarted {
        id: 1,
        attach: true,
        replayable: false,
        refresh: true,
    });
    let out = h.respond(1, 419, Some(true));
    assert_eq!(out.first(), Some(&Output::Deliver { id: 1 }));
    assert_eq!(starts(&out), 1);
}

#[test]
fn verdict_true_with_a_failing_refresh_rejects_with_the_usual_codes() {
    let (mut h, _) = H::signed_in();
    h.start(1, true, true);
    assert_eq!(starts(&h.respond(1, 419, Some(true))), 1);
    let out = h.step(Input::RefreshFailed {
        attempt: 1,
        failure: tokenwarden::core::RefreshFailure::Rejected {
            status: 400,
            error: Some("invalid_grant".into()),
        },
    });
    assert!(out.contains(&Output::Reject {
        id: 1,
        code: ErrorCode::SessionExpired
    }));
}

proptest! {
    /// Whatever the status and verdicts, a tracked request gets exactly one
    /// outcome, at most one refresh starts for a burst, and an opted-out
    /// request is never queued nor starts a refresh.
    #[test]
    fn verdicts_never_storm_nor_hang(
        reqs in proptest::collection::vec((any::<bool>(), 100u16..600, proptest::option::of(any::<bool>())), 1..30)
    ) {
        let (mut h, _) = H::signed_in();
        let mut refreshes = 0;
        let mut delivered = std::collections::HashSet::new();
        for (i, (tracked, _, _)) in reqs.iter().enumerate() {
            let out = h.start(i as u64, true, *tracked);
            prop_assert_eq!(sends(&out).len(), 1);
        }
        for (i, (tracked, status, verdict)) in reqs.iter().enumerate() {
            let out = h.respond(i as u64, *status, *verdict);
            refreshes += starts(&out);
            if !*tracked {
                prop_assert_eq!(&out, &vec![Output::Deliver { id: i as u64 }]);
            }
            for o in &out {
                if let Output::Deliver { id } = o {
                    prop_assert!(delivered.insert(*id));
                }
            }
        }
        prop_assert!(refreshes <= 1);
        let queued = h.s.queued_len();
        prop_assert_eq!(queued + delivered.len(), reqs.len());
        if refreshes == 1 {
            let (out, _) = h.refreshed(1, 2);
            let replays: Vec<u64> = out.iter().filter_map(|o| match o {
                Output::Send { id, .. } => Some(*id),
                _ => None,
            }).collect();
            prop_assert_eq!(replays.len(), queued);
            for id in replays {
                // The replay is delivered whatever it says: one retry.
                prop_assert_eq!(h.respond(id, 419, Some(true)), vec![Output::Deliver { id }]);
            }
        }
        prop_assert_eq!(h.s.queued_len(), 0);
    }
}
