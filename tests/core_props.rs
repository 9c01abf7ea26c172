//! Property tests for the session state machine: random interleavings of up
//! to 1000 requests with 401s, refresh outcomes (success, rotation, stale,
//! transient, rejected), timers, activity, tabs and logout, on a virtual
//! clock, checked against the invariants of the issue after every step:
//!
//! - at most one refresh attempt in flight (a new `StartRefresh` only once
//!   the previous attempt was answered or superseded), attempts increasing;
//! - every request ends with exactly one outcome (`Deliver` or `Reject`, or
//!   the caller's own `RequestGone`), never two, never none (checked by
//!   driving every scenario to quiescence at the end);
//! - a request is sent at most twice (one retry), never while in flight;
//! - nothing waits in the queue unless a refresh is under way, and the queue
//!   never exceeds its limit;
//! - the next deadline is always in the future (no stuck timer), and sends
//!   carry the current access token.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use tokenwarden::core::session::{BearerError, Challenge};
use tokenwarden::core::{
    Config, Input, Output, RefreshFailure, Session, SessionEndReason, StoredSession, TabMessage,
    TokenSet,
};

const T0: u64 = 1_700_000_000_000;

#[derive(Clone, Debug)]
enum Op {
    Start {
        attach: bool,
        replayable: bool,
    },
    Respond {
        pick: usize,
        status: u16,
        scope: bool,
    },
    Gone {
        pick: usize,
    },
    RefreshOk {
        lifetime_s: u32,
        rotate: bool,
        stale: bool,
        opaque: bool,
    },
    RefreshFail {
        rejected: bool,
        retry_after_ms: Option<u64>,
        stale: bool,
    },
    Advance {
        ms: u32,
    },
    FireTimer,
    Activity,
    Wake,
    TabTokens {
        newer: bool,
    },
    TabLoggedOut,
    Logout,
    SetSession {
        lifetime_s: u32,
    },
    RefreshRequested,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (any::<bool>(), any::<bool>()).prop_map(|(a, r)| Op::Start { attach: a || r, replayable: r || !a }),
        30 => (any::<usize>(), prop_oneof![Just(200u16), Just(401), Just(401), Just(401), Just(403)], any::<bool>())
            .prop_map(|(pick, status, s)| Op::Respond { pick, status, scope: s && status == 401 && pick % 7 == 0 }),
        2 => any::<usize>().prop_map(|pick| Op::Gone { pick }),
        8 => (1u32..2000, any::<bool>(), any::<bool>(), any::<bool>())
            .prop_map(|(l, rotate, s, o)| Op::RefreshOk { lifetime_s: l, rotate, stale: s && l % 5 == 0, opaque: o && l % 3 == 0 }),
        6 => (any::<bool>(), proptest::option::of(0u64..60_000), any::<bool>())
            .prop_map(|(r, ra, s)| Op::RefreshFail { rejected: r && ra.map_or(true, |x| x % 4 == 0), retry_after_ms: ra, stale: s && ra.is_none() }),
        8 => (0u32..120_000).prop_map(|ms| Op::Advance { ms }),
        8 => Just(Op::FireTimer),
        3 => Just(Op::Activity),
        1 => Just(Op::Wake),
        2 => any::<bool>().prop_map(|newer| Op::TabTokens { newer }),
        1 => Just(Op::TabLoggedOut),
        1 => Just(Op::Logout),
        1 => (1u32..2000).prop_map(|l| Op::SetSession { lifetime_s: l }),
        1 => Just(Op::RefreshRequested),
    ]
}

fn config() -> impl Strategy<Value = Config> {
    (
        prop_oneof![Just(1000usize), Just(3), Just(0)],
        prop_oneof![Just(0u64), Just(300_000)],
        prop_oneof![Just(0u64), Just(3_000_000)],
        any::<bool>(),
        1u32..5,
        prop_oneof![Just(30_000u64), Just(5_000)],
    )
        .prop_map(
            |(queue_limit, idle, max, cookie, attempts, queue_timeout)| Config {
                queue_limit,
                idle_timeout_ms: idle,
                max_session_ms: max,
                refresh_without_token: cookie,
                retry_attempts: attempts,
                queue_timeout_ms: queue_timeout,
                ..Config::default()
            },
        )
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Req {
    /// The core holds it (not sent yet, queued, or deciding after a response).
    Held,
    /// Sent; the harness owes a response.
    InFlight,
    /// Delivered, rejected or gone.
    Done,
}

struct Harness {
    s: Session,
    now: u64,
    next_id: u64,
    reqs: BTreeMap<u64, Req>,
    sends: BTreeMap<u64, u32>,
    /// Untracked (attach: false) requests in flight.
    bare: Vec<u64>,
    /// The attempt the harness owes an answer for.
    attempt: Option<u64>,
    last_attempt: u64,
    serial: u64,
    queue_limit: usize,
}

impl Harness {
    fn new(config: Config, seed: u64) -> Self {
        let queue_limit = config.queue_limit;
        Harness {
            s: Session::new(config, seed),
            now: T0,
            next_id: 1,
            reqs: BTreeMap::new(),
            sends: BTreeMap::new(),
            bare: Vec::new(),
            attempt: None,
            last_attempt: 0,
            serial: 0,
            queue_limit,
        }
    }

    fn token(&mut self, lifetime_s: u32) -> String {
        self.serial += 1;
        let iat = self.now / 1000;
        let p = format!(
            r#"{{"exp":{},"iat":{iat},"jti":"{}"}}"#,
            iat + u64::from(lifetime_s),
            self.serial
        );
        format!("e30.{}.", URL_SAFE_NO_PAD.encode(p))
    }

    fn in_flight(&self) -> Vec<u64> {
        self.reqs
            .iter()
            .filter(|(_, s)| **s == Req::InFlight)
            .map(|(id, _)| *id)
            .collect()
    }

    fn feed(&mut self, input: Input) -> Result<(), TestCaseError> {
        let before = self.s.refresh_attempt();
        let supersedes = matches!(
            input,
            Input::SetSession(_) | Input::Restore(_) | Input::FromTab(_) | Input::Logout { .. }
        );
        let answers = match &input {
            Input::RefreshSucceeded { attempt, .. } | Input::RefreshFailed { attempt, .. } => {
                Some(*attempt)
            }
            _ => None,
        };
        self.s.handle(input, self.now);
        let out: Vec<Output> = std::iter::from_fn(|| self.s.poll_output()).collect();
        let mut started = 0;
        let changed_tokens = out.iter().any(|o| matches!(o, Output::Persist(_)));
        for o in &out {
            match o {
                Output::Send { id, token } => {
                    if let Some(pos) = self.bare.iter().position(|b| b == id) {
                        prop_assert!(false, "bare request {id} sent twice (pos {pos})");
                    }
                    let tracked = self.reqs.contains_key(id);
                    match self.reqs.get(id).copied() {
                        Some(Req::Held) => {
                            let n = self.sends.entry(*id).or_insert(0);
                            *n += 1;
                            prop_assert!(*n <= 2, "request {id} sent {n} times");
                            self.reqs.insert(*id, Req::InFlight);
                        }
                        Some(Req::InFlight) => {
                            prop_assert!(false, "request {id} sent while in flight")
                        }
                        Some(Req::Done) => {
                            prop_assert!(false, "request {id} sent after its outcome")
                        }
                        None => {
                            prop_assert!(token.is_none(), "untracked request {id} got a token");
                            self.bare.push(*id);
                        }
                    }
                    if tracked && !changed_tokens {
                        prop_assert_eq!(
                            token.as_deref(),
                            self.s.access_token(),
                            "stale token on send"
                        );
                    }
                }
                Output::Deliver { id } | Output::Reject { id, .. } => {
                    if let Some(pos) = self.bare.iter().position(|b| b == id) {
                        prop_assert!(matches!(o, Output::Deliver { .. }), "bare request rejected");
                        self.bare.swap_remove(pos);
                        continue;
                    }
                    prop_assert_eq!(
                        self.reqs.get(id).copied(),
                        Some(Req::Held),
                        "outcome for {} in wrong state: {:?}",
                        id,
                        o
                    );
                    self.reqs.insert(*id, Req::Done);
                }
                Output::StartRefresh { attempt, .. } => {
                    started += 1;
                    prop_assert!(*attempt > self.last_attempt, "attempt ids increase");
                    prop_assert!(
                        before.is_none() || answers == before || supersedes,
                        "second refresh {attempt} while {before:?} in flight"
                    );
                    self.last_attempt = *attempt;
                    self.attempt = Some(*attempt);
                }
                Output::Persist(_)
                | Output::Broadcast(_)
                | Output::Emit(_)
                | Output::SessionOver { .. } => {}
            }
        }
        prop_assert!(started <= 1, "{started} refreshes started at once");
        prop_assert!(self.s.queued_len() <= self.queue_limit);
        prop_assert!(
            self.s.queued_len() == 0 || self.s.refreshing(),
            "requests wait for no refresh"
        );
        if let Some(t) = self.s.poll_timeout() {
            prop_assert!(t > self.now, "deadline {t} not after now {}", self.now);
        }
        // Requests the core holds but did not queue or send: only possible
        // transiently; after a handle every Held request is queued.
        let held = self.reqs.values().filter(|s| **s == Req::Held).count();
        prop_assert_eq!(held, self.s.queued_len(), "held requests must be queued");
        Ok(())
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Start { attach, replayable } => {
                let id = self.next_id;
                self.next_id += 1;
                if attach {
                    self.reqs.insert(id, Req::Held);
                }
                self.feed(Input::RequestStarted {
                    id,
                    attach,
                    replayable,
                    refresh: true,
                })
            }
            Op::Respond {
                pick,
                status,
                scope,
            } => {
                let mut ids = self.in_flight();
                ids.extend(self.bare.iter().copied());
                if ids.is_empty() {
                    return Ok(());
                }
                let id = ids[pick % ids.len()];
                if self.reqs.contains_key(&id) {
                    self.reqs.insert(id, Req::Held);
                }
                let challenge = if scope {
                    Challenge::Bearer(BearerError::InsufficientScope)
                } else {
                    Challenge::Absent
                };
                self.feed(Input::Response {
                    id,
                    status,
                    challenge,
                    renewed_token: None,
                    should_refresh: None,
                })?;
                // A response always settles the request one way or another.
                if self.reqs.get(&id) == Some(&Req::Held) {
                    prop_assert!(self.s.queued_len() > 0);
                }
                Ok(())
            }
            Op::Gone { pick } => {
                let live: Vec<u64> = self
                    .reqs
                    .iter()
                    .filter(|(_, s)| **s != Req::Done)
                    .map(|(id, _)| *id)
                    .collect();
                if live.is_empty() {
                    return Ok(());
                }
                let id = live[pick % live.len()];
                self.reqs.insert(id, Req::Done);
                self.feed(Input::RequestGone { id })
            }
            Op::RefreshOk {
                lifetime_s,
                rotate,
                stale,
                opaque,
            } => {
                let Some(a) = self.attempt else { return Ok(()) };
                let attempt = if stale { a.saturating_sub(1) } else { a };
                if !stale {
                    self.attempt = None;
                }
                let access = if opaque {
                    format!("opaque-{}", self.serial)
                } else {
                    self.token(lifetime_s)
                };
                self.serial += 1;
                let tokens = TokenSet {
                    access_token: access,
                    refresh_token: rotate.then(|| format!("r{}", self.serial)),
                    expires_in: opaque.then_some(f64::from(lifetime_s)),
                };
                self.feed(Input::RefreshSucceeded { attempt, tokens })
            }
            Op::RefreshFail {
                rejected,
                retry_after_ms,
                stale,
            } => {
                let Some(a) = self.attempt else { return Ok(()) };
                let attempt = if stale { a.saturating_sub(1) } else { a };
                if !stale {
                    self.attempt = None;
                }
                let failure = if rejected {
                    RefreshFailure::Rejected {
                        status: 400,
                        error: Some("invalid_grant".into()),
                    }
                } else {
                    RefreshFailure::Transient {
                        status: 503,
                        retry_after_ms,
                        detail: Rc::from("down"),
                    }
                };
                self.feed(Input::RefreshFailed { attempt, failure })
            }
            Op::Advance { ms } => {
                self.now += u64::from(ms);
                self.feed(Input::TimerFired)
            }
            Op::FireTimer => {
                if let Some(t) = self.s.poll_timeout() {
                    self.now = t;
                }
                self.feed(Input::TimerFired)
            }
            Op::Activity => self.feed(Input::UserActivity),
            Op::Wake => self.feed(Input::Wake),
            Op::TabTokens { newer } => {
                let lifetime = if newer { 1_800 } else { 10 };
                let access = self.token(lifetime);
                let stored = StoredSession {
                    access_token: access,
                    refresh_token: Some(format!("tab{}", self.serial)),
                    expires_at: self.now + u64::from(lifetime) * 1000,
                    started_at: self.now,
                };
                self.feed(Input::FromTab(TabMessage::Tokens(stored)))
            }
            Op::TabLoggedOut => self.feed(Input::FromTab(TabMessage::LoggedOut {
                reason: SessionEndReason::Logout,
            })),
            Op::Logout => self.feed(Input::Logout { redirect: true }),
            Op::SetSession { lifetime_s } => {
                let access = self.token(lifetime_s);
                self.feed(Input::SetSession(TokenSet {
                    access_token: access,
                    refresh_token: Some(format!("login{}", self.serial)),
                    expires_in: None,
                }))
            }
            Op::RefreshRequested => self.feed(Input::RefreshRequested),
        }
    }

    /// Settle everything: answer requests with 200 and refreshes with
    /// success, fire timers; every request must end with one outcome.
    fn drain(&mut self) -> Result<(), TestCaseError> {
        for _ in 0..10_000 {
            let pending = self.reqs.values().any(|s| *s != Req::Done) || !self.bare.is_empty();
            if !pending {
                return Ok(());
            }
            if let Some(id) = self
                .in_flight()
                .first()
                .copied()
                .or(self.bare.first().copied())
            {
                if self.reqs.contains_key(&id) {
                    self.reqs.insert(id, Req::Held);
                }
                self.feed(Input::Response {
                    id,
                    status: 200,
                    challenge: Challenge::Absent,
                    renewed_token: None,
                    should_refresh: None,
                })?;
            } else if let Some(attempt) = self.attempt.take() {
                let access = self.token(900);
                let tokens = TokenSet {
                    access_token: access,
                    refresh_token: None,
                    expires_in: None,
                };
                self.feed(Input::RefreshSucceeded { attempt, tokens })?;
            } else if let Some(t) = self.s.poll_timeout() {
                self.now = t;
                self.feed(Input::TimerFired)?;
            } else {
                let stuck: Vec<_> = self.reqs.iter().filter(|(_, s)| **s != Req::Done).collect();
                prop_assert!(false, "requests never settle: {stuck:?}");
            }
        }
        prop_assert!(false, "drain did not finish");
        Ok(())
    }
}

fn run(config: Config, seed: u64, signed_in: bool, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let mut h = Harness::new(config, seed);
    if signed_in {
        let access = h.token(900);
        h.feed(Input::SetSession(TokenSet {
            access_token: access,
            refresh_token: Some("r0".into()),
            expires_in: None,
        }))?;
    }
    for op in ops {
        h.apply(op)?;
    }
    h.drain()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn invariants_hold_for_random_interleavings(
        config in config(),
        seed in any::<u64>(),
        signed_in in prop::bool::weighted(0.9),
        ops in prop::collection::vec(op(), 0..1500),
    ) {
        run(config, seed, signed_in, ops)?;
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Bursts: many requests, all 401 at once, one refresh outcome.
    #[test]
    fn bursts_of_401s_refresh_once(n in 1usize..1000, fail in 0u8..3, seed in any::<u64>()) {
        let mut h = Harness::new(Config::default(), seed);
        let access = h.token(900);
        h.feed(Input::SetSession(TokenSet { access_token: access, refresh_token: Some("r".into()), expires_in: None }))?;
        for _ in 0..n {
            h.apply(Op::Start { attach: true, replayable: true })?;
        }
        for id in 1..=n as u64 {
            h.reqs.insert(id, Req::Held);
            h.feed(Input::Response { id, status: 401, challenge: Challenge::Absent, renewed_token: None, should_refresh: None })?;
        }
        prop_assert_eq!(h.last_attempt, 1, "exactly one refresh for the burst");
        prop_assert_eq!(h.s.queued_len(), n);
        match fail {
            0 => h.apply(Op::RefreshOk { lifetime_s: 900, rotate: true, stale: false, opaque: false })?,
            1 => h.apply(Op::RefreshFail { rejected: true, retry_after_ms: None, stale: false })?,
            _ => h.apply(Op::RefreshFail { rejected: false, retry_after_ms: None, stale: false })?,
        }
        h.drain()?;
        prop_assert!(h.sends.values().all(|n| *n <= 2));
    }
}
