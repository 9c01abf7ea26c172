//! The cross-tab shared state re-read under the refresh lock, and the
//! rotation marker (`core::session`: `Session::adopts`, `behind_marker`,
//! `refresh_token_for`, `fingerprint`): a refresh token that another tab
//! rotated *alone* (a 2xx there without a usable access token) is newer
//! than ours, replaces ours, and is the one the refresh under way sends —
//! never the old, used-up one (the server would take it for theft and
//! revoke the grant).
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use tokenwarden::core::session::{fingerprint, Challenge};
use tokenwarden::core::{
    Config, Event, Input, Output, RefreshFailure, Session, StoredSession, TabMessage, TokenSet,
};

const T0: u64 = 1_700_000_000_000;

fn jwt(exp_ms: u64, iat_ms: u64) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"u1","exp":{},"iat":{}}}"#,
        exp_ms / 1000,
        iat_ms / 1000
    ));
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
        let a = jwt(T0 + 900_000, T0);
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

    fn start(&mut self, id: u64) -> Vec<Output> {
        self.step(Input::RequestStarted {
            id,
            attach: true,
            replayable: true,
            refresh: true,
        })
    }

    fn respond(&mut self, id: u64, status: u16) -> Vec<Output> {
        self.step(Input::Response {
            id,
            status,
            challenge: Challenge::Absent,
            renewed_token: None,
            should_refresh: None,
        })
    }
}

fn starts(out: &[Output]) -> Vec<(u64, Option<String>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::StartRefresh {
                attempt,
                refresh_token,
            } => Some((*attempt, refresh_token.as_deref().map(String::from))),
            _ => None,
        })
        .collect()
}

/// What another tab stored / sent: `ours` with another refresh token.
fn rotated(ours: &StoredSession, refresh: &str) -> StoredSession {
    StoredSession {
        refresh_token: Some(refresh.into()),
        ..ours.clone()
    }
}

#[test]
fn the_shared_state_with_only_a_rotated_refresh_token_is_newer() {
    let (h, a) = H::signed_in();
    let ours = h.s.stored().unwrap();
    assert_eq!(ours.access_token, a);
    assert!(!h.s.adopts(&ours), "our own state is not newer");
    assert!(
        h.s.adopts(&rotated(&ours, "r2")),
        "same access token, refresh token rotated elsewhere: newer"
    );
    // No refresh token there (cookie mode): nothing to take.
    assert!(!h.s.adopts(&StoredSession {
        refresh_token: None,
        ..ours.clone()
    }));
    // New access tokens: newer when they expire later, as before.
    let later = StoredSession {
        access_token: jwt(T0 + 1_800_000, T0),
        expires_at: ours.expires_at + 900_000,
        ..ours.clone()
    };
    assert!(h.s.adopts(&later));
    let older = StoredSession {
        access_token: jwt(T0 + 600_000, T0),
        expires_at: ours.expires_at - 300_000,
        ..ours.clone()
    };
    assert!(!h.s.adopts(&older));
}

/// The lock-time re-read: a refresh is running (StartRefresh named r1) when
/// the shared state shows r2 with our access token. The refresh goes on,
/// with r2; the request waiting for it keeps waiting (its token is the
/// rejected one) and gets the new access token.
#[test]
fn a_refresh_under_way_sends_the_refresh_token_rotated_in_another_tab() {
    let (mut h, a) = H::signed_in();
    h.start(1);
    let out = h.respond(1, 401);
    assert_eq!(starts(&out), [(1, Some("r1".into()))]);
    assert_eq!(h.s.refresh_token_for(1).as_deref(), Some("r1"));
    let shared = rotated(&h.s.stored().unwrap(), "r2");
    assert!(h.s.adopts(&shared));
    let out = h.step(Input::FromTab(TabMessage::Tokens(shared.clone())));
    // Persisted (rotation first), and nothing else: not broadcast back, no
    // `refreshed` (the access token did not change), no request released.
    assert_eq!(out, [Output::Persist(Some(shared))], "{out:?}");
    assert_eq!(h.s.access_token(), Some(a.as_str()));
    assert_eq!(h.s.refresh_attempt(), Some(1), "the refresh still runs");
    assert_eq!(
        h.s.refresh_token_for(1).as_deref(),
        Some("r2"),
        "and sends the rotated refresh token, never r1"
    );
    assert_eq!(h.s.refresh_token_for(2), None, "not the running attempt");
    assert_eq!(h.s.queued_len(), 1, "the request keeps waiting");
    let b = jwt(T0 + 1_800_000, T0);
    let out = h.step(Input::RefreshSucceeded {
        attempt: 1,
        tokens: TokenSet {
            access_token: b.clone(),
            refresh_token: Some("r3".into()),
            expires_in: None,
        },
    });
    assert!(out.contains(&Output::Send {
        id: 1,
        token: Some(Rc::from(b.as_str()))
    }));
    assert_eq!(h.s.stored().unwrap().refresh_token.as_deref(), Some("r3"));
}

/// The broadcast path: no refresh under way; the next one sends r2.
#[test]
fn a_refresh_token_rotated_alone_in_another_tab_is_used_by_the_next_refresh() {
    let (mut h, _) = H::signed_in();
    let refresh_at = h.s.refresh_at();
    let shared = rotated(&h.s.stored().unwrap(), "r2");
    let out = h.step(Input::FromTab(TabMessage::Tokens(shared.clone())));
    assert_eq!(out, [Output::Persist(Some(shared.clone()))]);
    assert_eq!(h.s.refresh_at(), refresh_at, "schedule unchanged");
    // An echo changes nothing.
    assert!(h
        .step(Input::FromTab(TabMessage::Tokens(shared)))
        .is_empty());
    let out = h.step(Input::RefreshRequested);
    assert_eq!(starts(&out), [(1, Some("r2".into()))]);
}

/// A proactive refresh was rejected (no more attempts while the access
/// token lasts); a refresh token rotated elsewhere revives refreshing.
#[test]
fn a_refresh_token_rotated_elsewhere_revives_a_rejected_one() {
    let (mut h, _) = H::signed_in();
    let out = h.step(Input::RefreshRequested);
    assert_eq!(starts(&out), [(1, Some("r1".into()))]);
    h.step(Input::RefreshFailed {
        attempt: 1,
        failure: RefreshFailure::Rejected {
            status: 400,
            error: Some("invalid_grant".into()),
        },
    });
    assert!(
        h.s.is_signed_in(),
        "the access token is used until it expires"
    );
    assert_eq!(h.s.refresh_at(), None, "no more refreshes");
    let shared = rotated(&h.s.stored().unwrap(), "r2");
    let out = h.step(Input::FromTab(TabMessage::Tokens(shared)));
    assert!(!out
        .iter()
        .any(|o| matches!(o, Output::Emit(Event::SessionExpired { .. }))));
    assert!(h.s.refresh_at().is_some(), "refreshing again");
    let out = h.step(Input::RefreshRequested);
    assert_eq!(starts(&out), [(2, Some("r2".into()))]);
}

#[test]
fn the_rotation_marker_covers_both_tokens() {
    let (h, a) = H::signed_in();
    let ours = fingerprint(&a, Some("r1"));
    assert_eq!(h.s.fingerprint(), Some(ours));
    assert_ne!(
        ours,
        fingerprint(&a, Some("r2")),
        "refresh token rotated alone"
    );
    assert_ne!(ours, fingerprint(&a, None));
    assert_ne!(ours, fingerprint("other", Some("r1")));
    // Length-prefixed: moving bytes between the tokens changes it.
    assert_ne!(fingerprint("ab", Some("c")), fingerprint("a", Some("bc")));
    assert_ne!(fingerprint("", Some("")), fingerprint("", None));
    assert!(!h.s.behind_marker(None), "no marker: nothing newer known");
    assert!(!h.s.behind_marker(Some(ours)));
    assert!(h.s.behind_marker(Some(fingerprint(&a, Some("r2")))));
    let signed_out = Session::new(Config::default(), 7);
    assert_eq!(signed_out.fingerprint(), None);
    assert!(signed_out.behind_marker(Some(ours)));
}

proptest! {
    /// Whatever the order of inputs, once a rotated refresh token was
    /// adopted from another tab, no refresh starts with the old one.
    #[test]
    fn after_adopting_a_rotated_refresh_token_the_old_one_is_never_sent(
        steps in proptest::collection::vec(0u8..5, 1..30)
    ) {
        let (mut h, _) = H::signed_in();
        let mut adopted = false;
        let mut id = 0;
        for step in steps {
            h.now += 1_000;
            let out = match step {
                0 => {
                    // What was due first (a retry may start, naming the
                    // refresh token of its time: refresh_token_for below).
                    h.step(Input::TimerFired);
                    adopted = true;
                    let shared = rotated(&h.s.stored().unwrap(), "r2");
                    h.step(Input::FromTab(TabMessage::Tokens(shared)))
                }
                1 => h.step(Input::RefreshRequested),
                2 => { id += 1; h.start(id); h.respond(id, 401) }
                3 => h.step(Input::TimerFired),
                _ => match h.s.refresh_attempt() {
                    Some(attempt) => h.step(Input::RefreshFailed {
                        attempt,
                        failure: RefreshFailure::Transient {
                            status: 503,
                            retry_after_ms: None,
                            detail: Rc::from("503"),
                        },
                    }),
                    None => Vec::new(),
                },
            };
            if adopted {
                for (_, token) in starts(&out) {
                    prop_assert_eq!(token.as_deref(), Some("r2"));
                }
                if let Some(attempt) = h.s.refresh_attempt() {
                    let token = h.s.refresh_token_for(attempt);
                    prop_assert_eq!(token.as_deref(), Some("r2"));
                }
            }
        }
    }
}
