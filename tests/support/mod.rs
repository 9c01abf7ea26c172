//! The session harness shared by the host test files (`tests/core_*.rs`): a
//! [`Session`] on a virtual clock (`H`), the inputs a test feeds it, readers
//! of its outputs and token builders. Each file includes it with
//! `mod support;` (a subdirectory `mod.rs` is not a test target of its own).
//!
//! Host only: it is compiled solely as part of those files, which are
//! `#![cfg(not(target_arch = "wasm32"))]`; the browser tests (`tests/web_*.rs`)
//! have their own helpers in `tests/common/`.
//!
//! Test code: panicking on a broken test setup is the point here.
// Each test file uses only some of these helpers.
#![allow(dead_code)]

use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use tokenwarden::core::refresh::{classify, Body};
use tokenwarden::core::session::Challenge;
use tokenwarden::core::{
    Config, ErrorCode, Event, Input, Output, RefreshFailure, Session, StoredSession, TokenSet,
};

/// The virtual clock's start (ms since the epoch).
pub const T0: u64 = 1_700_000_000_000;

/// A JWT for user "u1" expiring at `exp_ms`, issued at `iat_ms` (both
/// truncated to seconds), with a dummy signature.
pub fn jwt(exp_ms: u64, iat_ms: u64) -> String {
    let h = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT"}"#);
    let p = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"sub":"u1","exp":{},"iat":{}}}"#,
        exp_ms / 1000,
        iat_ms / 1000
    ));
    format!("{h}.{p}.c2ln")
}

pub fn tokens(access: &str, refresh: Option<&str>) -> TokenSet {
    TokenSet {
        access_token: access.into(),
        refresh_token: refresh.map(Into::into),
        expires_in: None,
    }
}

pub fn stored(
    access: &str,
    refresh: Option<&str>,
    expires_at: u64,
    started_at: u64,
) -> StoredSession {
    StoredSession {
        access_token: access.into(),
        refresh_token: refresh.map(Into::into),
        expires_at,
        started_at,
    }
}

/// A session (seed 7) and the virtual time of the next input.
pub struct H {
    pub s: Session,
    pub now: u64,
}

impl H {
    /// Signed out, at `T0`.
    pub fn new(config: Config) -> H {
        H {
            s: Session::new(config, 7),
            now: T0,
        }
    }

    /// Signed in with a 15-minute JWT and refresh token "r1".
    pub fn signed_in(config: Config) -> (H, String) {
        let mut h = H::new(config);
        let a = jwt(T0 + 900_000, T0);
        h.step(Input::SetSession(tokens(&a, Some("r1"))));
        (h, a)
    }

    /// Signed in with these tokens and the default config; the outputs of
    /// the sign-in.
    pub fn signed_in_as(access: &str, refresh: &str, expires_in: Option<f64>) -> (H, Vec<Output>) {
        let mut h = H::new(Config::default());
        let out = h.step(Input::SetSession(TokenSet {
            access_token: access.into(),
            refresh_token: Some(refresh.into()),
            expires_in,
        }));
        (h, out)
    }

    /// Feeds `input` at `now` and drains the outputs.
    pub fn step(&mut self, input: Input) -> Vec<Output> {
        self.s.handle(input, self.now);
        std::iter::from_fn(|| self.s.poll_output()).collect()
    }

    pub fn at(&mut self, t: u64, input: Input) -> Vec<Output> {
        self.now = t;
        self.step(input)
    }

    /// A replayable request that carries the token and refreshes on a 401.
    pub fn start(&mut self, id: u64) -> Vec<Output> {
        self.start_with(id, true, true)
    }

    /// A replayable request; `attach: false` is `auth: false`, `refresh:
    /// false` the per-request opt-out of refresh handling.
    pub fn start_with(&mut self, id: u64, attach: bool, refresh: bool) -> Vec<Output> {
        self.step(Input::RequestStarted {
            id,
            attach,
            replayable: true,
            refresh,
        })
    }

    /// A response without a challenge, renewed token or app verdict.
    pub fn respond(&mut self, id: u64, status: u16) -> Vec<Output> {
        self.respond_with(id, status, None)
    }

    /// A response without a challenge or renewed token, with the app's
    /// `shouldRefresh` verdict.
    pub fn respond_with(&mut self, id: u64, status: u16, verdict: Option<bool>) -> Vec<Output> {
        self.step(Input::Response {
            id,
            status,
            challenge: Challenge::Absent,
            renewed_token: None,
            should_refresh: verdict,
        })
    }

    pub fn ok(&mut self, attempt: u64, access: &str, refresh: Option<&str>) -> Vec<Output> {
        self.step(Input::RefreshSucceeded {
            attempt,
            tokens: tokens(access, refresh),
        })
    }

    pub fn transient(&mut self, attempt: u64, retry_after_ms: Option<u64>) -> Vec<Output> {
        let failure = RefreshFailure::Transient {
            status: 503,
            retry_after_ms,
            detail: Rc::from("503"),
        };
        self.step(Input::RefreshFailed { attempt, failure })
    }

    pub fn rejected(&mut self, attempt: u64) -> Vec<Output> {
        let failure = RefreshFailure::Rejected {
            status: 400,
            error: Some("invalid_grant".into()),
        };
        self.step(Input::RefreshFailed { attempt, failure })
    }

    /// Answers refresh `attempt` with this HTTP response, through the classifier.
    pub fn answer(&mut self, attempt: u64, status: u16, body: &str) -> Vec<Output> {
        let outcome = classify(status, None, Body::Text(body), false, self.now);
        self.step(outcome.into_input(attempt))
    }

    /// Jump to the next deadline and fire the timer.
    pub fn fire(&mut self) -> Vec<Output> {
        let t = self.s.poll_timeout().expect("a timer is armed");
        assert!(t >= self.now, "deadline in the past");
        self.at(t, Input::TimerFired)
    }
}

pub fn send(id: u64, token: &str) -> Output {
    Output::Send {
        id,
        token: Some(Rc::from(token)),
    }
}

/// The refreshes started: (attempt, refresh token).
pub fn starts(out: &[Output]) -> Vec<(u64, Option<String>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::StartRefresh {
                attempt,
                refresh_token,
            } => Some((*attempt, refresh_token.as_ref().map(|r| r.to_string()))),
            _ => None,
        })
        .collect()
}

pub fn sends(out: &[Output]) -> Vec<&Output> {
    out.iter()
        .filter(|o| matches!(o, Output::Send { .. }))
        .collect()
}

pub fn warnings(out: &[Output]) -> Vec<&'static str> {
    out.iter()
        .filter_map(|o| match o {
            Output::Emit(Event::Warning { code }) => Some(*code),
            _ => None,
        })
        .collect()
}

/// The details of the error events, all `refresh_failed`.
pub fn errors(out: &[Output]) -> Vec<String> {
    out.iter()
        .filter_map(|o| match o {
            Output::Emit(Event::Error { code, detail }) => {
                assert_eq!(*code, ErrorCode::RefreshFailed);
                Some(detail.to_string())
            }
            _ => None,
        })
        .collect()
}

/// The refresh tokens persisted.
pub fn persisted_refresh(out: &[Output]) -> Vec<Option<String>> {
    out.iter()
        .filter_map(|o| match o {
            Output::Persist(Some(s)) => Some(s.refresh_token.clone()),
            _ => None,
        })
        .collect()
}
