//! Request-level control (issue 14 item 8), on a virtual clock: the
//! per-request opt-out of refresh handling (`RequestStarted { refresh:
//! false }`) and the app's `shouldRefresh(response)` verdict
//! (`Response { should_refresh }`).
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use support::{send, sends, starts, H, T0};
use tokenwarden::core::session::{BearerError, Challenge};
use tokenwarden::core::{Config, ErrorCode, Input, Output, Session};

/// A JWT told apart from others by its number (`jti`), whatever its expiry.
fn numbered_jwt(exp_s: u64, n: u32) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#);
    let p = URL_SAFE_NO_PAD.encode(format!(r#"{{"sub":"u1","exp":{exp_s},"jti":"{n}"}}"#));
    format!("{h}.{p}.c2ln")
}

/// Signed in with a 15-minute JWT numbered 1 and refresh token "r1".
fn signed_in() -> (H, String) {
    let a = numbered_jwt(T0 / 1000 + 900, 1);
    let (h, _) = H::signed_in_as(&a, "r1", None);
    (h, a)
}

impl H {
    /// Answers refresh `attempt` with a JWT numbered `n`, expiring at T0 +
    /// 30 min, and the refresh token "r`n`".
    fn refreshed(&mut self, attempt: u64, n: u32) -> (Vec<Output>, String) {
        let a = numbered_jwt(T0 / 1000 + 1800, n);
        let out = self.ok(attempt, &a, Some(&format!("r{n}")));
        (out, a)
    }
}

// ----- refresh: false --------------------------------------------------------

#[test]
fn opted_out_request_carries_the_token_and_its_401_is_delivered_without_a_refresh() {
    let (mut h, a) = signed_in();
    assert_eq!(h.start_with(1, true, false), [send(1, &a)]);
    assert_eq!(h.respond_with(1, 401, None), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
    // Even the app's verdict cannot make it refresh: it is not tracked.
    assert_eq!(h.start_with(2, true, false), [send(2, &a)]);
    assert_eq!(
        h.respond_with(2, 419, Some(true)),
        [Output::Deliver { id: 2 }]
    );
    assert!(!h.s.refreshing());
}

#[test]
fn opted_out_request_gets_no_token_when_it_may_not_carry_one() {
    let (mut h, _) = signed_in();
    assert_eq!(
        h.start_with(1, false, false),
        [Output::Send { id: 1, token: None }]
    );
    assert_eq!(h.respond_with(1, 401, None), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
}

#[test]
fn opted_out_request_does_not_wait_for_a_refresh_under_way() {
    let (mut h, a) = signed_in();
    // A tracked 401 starts a refresh and parks its request.
    h.start_with(1, true, true);
    let out = h.respond_with(1, 401, None);
    assert_eq!(starts(&out).len(), 1);
    assert_eq!(h.s.queued_len(), 1);
    // An opted-out request leaves at once with the old token, not queued.
    assert_eq!(h.start_with(2, true, false), [send(2, &a)]);
    assert_eq!(h.s.queued_len(), 1);
    // A tracked one waits.
    assert!(sends(&h.start_with(3, true, true)).is_empty());
    let (out, b) = h.refreshed(1, 2);
    let sent = sends(&out);
    assert_eq!(sent, [&send(1, &b), &send(3, &b)]);
}

#[test]
fn opted_out_request_with_an_expired_token_is_sent_at_once_and_starts_nothing() {
    let (mut h, a) = signed_in();
    h.now = T0 + 3_600_000; // the access token expired an hour ago
                            // (the proactive refresh would have run; stop it from mattering)
    let _ = h.step(Input::Wake);
    let out = h.start_with(9, true, false);
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
        h.start_with(1, true, false),
        [Output::Send { id: 1, token: None }]
    );
    assert_eq!(h.respond_with(1, 401, None), [Output::Deliver { id: 1 }]);
}

// ----- should_refresh -------------------------------------------------------

#[test]
fn verdict_true_on_a_419_refreshes_once_and_replays() {
    let (mut h, a) = signed_in();
    assert_eq!(h.start_with(1, true, true), [send(1, &a)]);
    let out = h.respond_with(1, 419, Some(true));
    assert_eq!(starts(&out).len(), 1);
    assert!(!out.contains(&Output::Deliver { id: 1 }));
    let (out, b) = h.refreshed(1, 2);
    assert_eq!(sends(&out), [&send(1, &b)]);
    // The replay's own verdict `true` is not a second refresh: one retry
    // (and the API rejected the fresh token: `fresh_token_rejected`).
    let out = h.respond_with(1, 419, Some(true));
    assert_eq!(out.last(), Some(&Output::Deliver { id: 1 }));
    assert_eq!(starts(&out).len(), 0);
    assert!(!h.s.refreshing());
}

#[test]
fn verdict_true_on_a_400_json_error_joins_the_single_flight() {
    let (mut h, a) = signed_in();
    for id in 1..=5 {
        assert_eq!(h.start_with(id, true, true), [send(id, &a)]);
    }
    let mut refreshes = 0;
    for id in 1..=5 {
        refreshes += starts(&h.respond_with(id, 400, Some(true))).len();
    }
    assert_eq!(refreshes, 1, "one refresh for the whole burst");
    assert_eq!(h.s.queued_len(), 5);
    let (out, b) = h.refreshed(1, 2);
    assert_eq!(sends(&out).len(), 5);
    assert!(sends(&out).iter().all(
        |o| **o == send(1, &b) || matches!(o, Output::Send { token: Some(t), .. } if **t == *b)
    ));
    for id in 1..=5 {
        assert_eq!(
            h.respond_with(id, 200, Some(false)),
            [Output::Deliver { id }]
        );
    }
}

#[test]
fn verdict_false_delivers_even_a_401_and_starts_no_refresh() {
    let (mut h, _) = signed_in();
    h.start_with(1, true, true);
    assert_eq!(
        h.respond_with(1, 401, Some(false)),
        [Output::Deliver { id: 1 }]
    );
    assert!(!h.s.refreshing());
}

#[test]
fn no_verdict_keeps_the_built_in_rule() {
    let (mut h, _) = signed_in();
    h.start_with(1, true, true);
    assert_eq!(h.respond_with(1, 419, None), [Output::Deliver { id: 1 }]);
    assert!(!h.s.refreshing());
    h.start_with(2, true, true);
    h.start_with(3, true, true);
    assert_eq!(starts(&h.respond_with(2, 401, None)).len(), 1);
    // An insufficient_scope 401 is not a refresh by default …
    let out = h.step(Input::Response {
        id: 3,
        status: 401,
        challenge: Challenge::Bearer(BearerError::InsufficientScope),
        renewed_token: None,
        should_refresh: None,
    });
    assert_eq!(out, [Output::Deliver { id: 3 }]);
}

#[test]
fn verdict_true_overrides_the_challenge() {
    // … but the app's verdict decides when it gives one.
    let (mut h, _) = signed_in();
    h.start_with(1, true, true);
    let out = h.step(Input::Response {
        id: 1,
        status: 401,
        challenge: Challenge::Bearer(BearerError::InsufficientScope),
        renewed_token: None,
        should_refresh: Some(true),
    });
    assert_eq!(starts(&out).len(), 1);
}

#[test]
fn verdict_true_on_a_request_sent_with_an_older_token_resends_without_refreshing() {
    let (mut h, a) = signed_in();
    assert_eq!(h.start_with(1, true, true), [send(1, &a)]);
    assert_eq!(h.start_with(2, true, true), [send(2, &a)]);
    assert_eq!(starts(&h.respond_with(1, 419, Some(true))).len(), 1);
    let (_, b) = h.refreshed(1, 2);
    // Request 2 left with the old token: it is re-sent, no second refresh.
    let out = h.respond_with(2, 419, Some(true));
    assert_eq!(out, [send(2, &b)]);
}

#[test]
fn verdict_true_on_a_non_replayable_request_delivers_and_refreshes_for_the_next() {
    let (mut h, _) = signed_in();
    h.step(Input::RequestStarted {
        id: 1,
        attach: true,
        replayable: false,
        refresh: true,
    });
    let out = h.respond_with(1, 419, Some(true));
    assert_eq!(out.first(), Some(&Output::Deliver { id: 1 }));
    assert_eq!(starts(&out).len(), 1);
}

#[test]
fn verdict_true_with_a_failing_refresh_rejects_with_the_usual_codes() {
    let (mut h, _) = signed_in();
    h.start_with(1, true, true);
    assert_eq!(starts(&h.respond_with(1, 419, Some(true))).len(), 1);
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
        let (mut h, _) = signed_in();
        let mut refreshes = 0;
        let mut delivered = std::collections::HashSet::new();
        for (i, (tracked, _, _)) in reqs.iter().enumerate() {
            let out = h.start_with(i as u64, true, *tracked);
            prop_assert_eq!(sends(&out).len(), 1);
        }
        for (i, (tracked, status, verdict)) in reqs.iter().enumerate() {
            let out = h.respond_with(i as u64, *status, *verdict);
            refreshes += starts(&out).len();
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
                // The replay is delivered whatever it says: one retry (the
                // first one may also say `fresh_token_rejected`).
                let out = h.respond_with(id, 419, Some(true));
                prop_assert_eq!(out.last(), Some(&Output::Deliver { id }));
                prop_assert_eq!(starts(&out).len(), 0);
            }
        }
        prop_assert_eq!(h.s.queued_len(), 0);
    }
}

// ----- random interleavings ---------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// A request: `mode` 0 = tracked, 1 = `refresh: false`, 2 = `auth: false`.
    Start {
        mode: u8,
    },
    /// The oldest request in flight answers `status` with this verdict.
    Respond {
        pick: usize,
        status: u16,
        verdict: Option<bool>,
    },
    RefreshOk,
    RefreshFails {
        rejected: bool,
    },
    /// Time passes (timers: backoff, queue timeouts, expiry).
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3).prop_map(|mode| Op::Start { mode }),
        4 => (any::<usize>(), prop_oneof![Just(200u16), Just(401), Just(419), Just(400), Just(403)],
              proptest::option::of(any::<bool>()))
            .prop_map(|(pick, status, verdict)| Op::Respond { pick, status, verdict }),
        2 => Just(Op::RefreshOk),
        1 => any::<bool>().prop_map(|rejected| Op::RefreshFails { rejected }),
        1 => (1u64..40_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Whatever the order of requests (tracked or opted out), responses with
    /// any verdict, refresh outcomes and time:
    /// - at most one refresh is in flight, and a refresh only starts when
    ///   none is;
    /// - an opted-out request is sent at once (with the token for
    ///   `refresh: false` when signed in, never for `auth: false`), never
    ///   queued, and its response is delivered at once;
    /// - every request ends exactly once (delivered or rejected), and none
    ///   is left once the queue has drained.
    #[test]
    fn opted_out_requests_and_verdicts_keep_the_invariants(ops in proptest::collection::vec(op(), 1..80)) {
        let (mut h, _) = signed_in();
        let mut next_id = 0u64;
        let mut modes = std::collections::HashMap::new();
        let mut in_flight: Vec<u64> = Vec::new(); // sent, awaiting a response
        let mut ended = std::collections::HashSet::new();
        let mut running: Option<u64> = None;
        let mut n = 10;
        for op in ops {
            let out = match op {
                Op::Start { mode } => {
                    let id = next_id;
                    next_id += 1;
                    modes.insert(id, mode);
                    let signed_in = h.s.access_token().map(str::to_owned);
                    let out = h.start_with(id, mode != 2, mode == 0);
                    if mode != 0 {
                        let expected = Output::Send {
                            id,
                            token: if mode == 1 { signed_in.as_deref().map(Rc::from) } else { None },
                        };
                        prop_assert_eq!(&out, &vec![expected]);
                    }
                    out
                }
                Op::Respond { pick, status, verdict } => {
                    if in_flight.is_empty() {
                        continue;
                    }
                    let id = in_flight.remove(pick % in_flight.len());
                    let out = h.respond_with(id, status, verdict);
                    if modes.get(&id) != Some(&0) {
                        prop_assert_eq!(&out, &vec![Output::Deliver { id }]);
                    }
                    out
                }
                Op::RefreshOk => match running {
                    Some(attempt) => {
                        n += 1;
                        h.refreshed(attempt, n).0
                    }
                    None => continue,
                },
                Op::RefreshFails { rejected } => match running {
                    Some(attempt) => {
                        let failure = if rejected {
                            tokenwarden::core::RefreshFailure::Rejected { status: 400, error: None }
                        } else {
                            tokenwarden::core::RefreshFailure::Transient {
                                status: 503,
                                retry_after_ms: None,
                                detail: Rc::from("down"),
                            }
                        };
                        h.step(Input::RefreshFailed { attempt, failure })
                    }
                    None => continue,
                },
                Op::Advance { ms } => {
                    h.now += ms;
                    h.step(Input::TimerFired)
                }
            };
            for o in &out {
                match o {
                    Output::StartRefresh { attempt, .. } => {
                        prop_assert!(running.is_none() || h.s.refresh_attempt() == Some(*attempt),
                            "a second refresh while one runs");
                        running = Some(*attempt);
                    }
                    Output::Send { id, .. } => {
                        prop_assert!(!ended.contains(id), "request {} sent after it ended", id);
                        if !in_flight.contains(id) {
                            in_flight.push(*id);
                        }
                    }
                    Output::Deliver { id } | Output::Reject { id, .. } => {
                        prop_assert!(ended.insert(*id), "request {} ended twice", id);
                        in_flight.retain(|x| x != id);
                    }
                    _ => {}
                }
            }
            if h.s.refresh_attempt().is_none() {
                running = None;
            }
        }
        // Drain: answer everything in flight with 200, let the queue time out.
        while let Some(id) = in_flight.pop() {
            for o in h.respond_with(id, 200, Some(false)) {
                if let Output::Deliver { id } | Output::Reject { id, .. } = o {
                    prop_assert!(ended.insert(id));
                }
            }
        }
        h.now += 3_600_000;
        for o in h.step(Input::TimerFired) {
            if let Output::Deliver { id } | Output::Reject { id, .. } = o {
                prop_assert!(ended.insert(id));
            }
        }
        prop_assert_eq!(h.s.queued_len(), 0);
        prop_assert_eq!(ended.len() as u64, next_id, "every request ended exactly once");
    }
}
