//! The session state machine: tokens, the proactive refresh timer, the
//! single-flight refresh, the queue of requests waiting for it, backoff,
//! idle and absolute session limits, and cross-tab messages.
//!
//! CONTRACT (shared with `crate::web`): the types in this file are the
//! interface between the pure core and the browser layer. Change them only
//! together with the browser layer.
//!
//! # Rules (each covered by `tests/core_session.rs` / `tests/core_props.rs`)
//!
//! - **Single flight.** At most one refresh attempt is in flight. A 401 on
//!   a request sent with the *current* token starts a refresh (or joins the
//!   one running) and parks the request in the queue; a 401 on a request
//!   sent with an *older* token is re-sent with the current one, no refresh.
//! - **Exactly one outcome.** Every queued request leaves the queue through
//!   exactly one `Send` (release) or one `Reject` (`queue_full`,
//!   `queue_timeout`, `refresh_failed`, `session_expired`, `logged_out`) —
//!   or silently when the browser layer reports it gone (`RequestGone`).
//! - **One retry.** A request is re-sent at most once; its next 401 is
//!   delivered to the caller as it is.
//! - **Refresh first.** A request about to leave with an expired token (or
//!   one within `expiry_margin`) waits for a refresh instead.
//! - **No refresh for** 403, nor for a 401 whose `WWW-Authenticate` says
//!   `insufficient_scope` (or any error other than `invalid_token`), nor for
//!   a 401 that challenges other schemes only (`Basic`, `Negotiate`,
//!   `DPoP`, …: [`Challenge::Other`]); those go to the caller untouched.
//! - **Non-replayable requests** (body could not be captured) are sent once;
//!   their 401 goes to the caller, but still starts a refresh so that the
//!   next requests get a good token.
//! - **Requests without a token** (`attach: false`, other origins) are sent
//!   at once, never queued, and their responses always delivered.
//! - **Opted out of refresh handling** (`refresh: false`): sent at once
//!   with the current token (even an expired one), never queued; they never
//!   start, join or wait for a refresh, and their responses (a 401
//!   included) are delivered as they are.
//! - **The app's verdict** (`should_refresh`, from `shouldRefresh(response)`)
//!   replaces the built-in "401 with no error or `invalid_token`" test:
//!   `Some(true)` is a rejected token whatever the status (refresh once,
//!   replay, with every rule above), `Some(false)` is delivered as it is,
//!   even a 401.
//! - **Failures.** `Rejected` ends the session — except when a *proactive*
//!   refresh (nobody waiting) is rejected while the access token is still
//!   valid: then no more refreshes are tried, the token is used until it
//!   expires, and the session ends then (warning `refresh_token_rejected`);
//!   new tokens from another tab revive it. `Transient` failures are retried
//!   `retry_attempts` times per burst with backoff (queued requests keep
//!   waiting, up to `queue_timeout`), then queued requests are rejected with
//!   `refresh_failed` and a cooldown starts (401s are delivered meanwhile);
//!   the next proactive attempt comes after the cooldown. Transient failures
//!   never end the session, even once the access token has expired: the
//!   refresh token may be fine and the server merely down.
//! - **A 2xx always hands over its refresh token** (`RefreshRotated`): a
//!   refresh response that rotated the refresh token but brought no usable
//!   access token makes the new refresh token the current one (persisted and
//!   broadcast at once); the access token in place stays and the failure is
//!   handled as `Transient` — the retry sends the new refresh token.
//! - **Never a used-up refresh token across tabs.** Tokens from another tab
//!   or the shared state (re-read under the refresh lock) are newer when
//!   their access token differs and expires later, *or* when the access
//!   token is ours but the refresh token differs (rotated there alone):
//!   [`Session::adopts`]. A rotated refresh token alone replaces ours
//!   without touching the rest — the refresh under way stays and sends it
//!   ([`Session::refresh_token_for`]), waiting requests keep waiting; new
//!   access tokens supersede the refresh under way. The rotation marker
//!   covers both tokens ([`fingerprint`], [`Session::behind_marker`]).
//! - **No storm on fresh tokens.** A token from a refresh made by this
//!   session (not from another tab: that may be a sign-in) is unproven until a response to a request sent with it is
//!   anything but 401. The first refreshable 401 on an unproven token does
//!   not refresh: it is delivered, warning `fresh_token_rejected`, and 401s
//!   start no refresh for a cool-down of [`FRESH_COOLDOWN_BASE_MS`], doubled
//!   per rejected fresh token in a row up to [`FRESH_COOLDOWN_MAX_MS`]
//!   (reset after [`FRESH_COOLDOWN_RESET_MS`] without one, and on sign-in).
//!   Proactive refreshes, `RefreshRequested` and expired tokens are not
//!   affected. Always-401 API, sequential calls for 60 s: 4 refreshes.
//! - **Bounded tokens.** Stored or tab sessions whose tokens exceed
//!   [`super::refresh::MAX_TOKEN_BYTES`] are not adopted (token input from
//!   the app and refresh responses is validated by `core::refresh`).
//! - **Idle** (`idle_timeout`, off by default): after that long without
//!   `UserActivity` no refresh starts; the session ends (`Idle`) when the
//!   access token expires; activity before that resumes refreshing.
//! - **Max session** (`max_session`, off by default): the session ends at
//!   `started_at + max_session` whatever the refreshes did.
//! - **Restore only what is usable.** A stored session is resumed only
//!   within `max_session` and with an unexpired access token or a way to
//!   refresh it; otherwise storage is cleared (`Persist(None)`) and nothing
//!   else happens (no event, no redirect).
//! - **Ended stays ended.** Tokens from another tab (or the shared state)
//!   of a session that ended — here or in another tab — are not adopted
//!   (matched by `started_at`): a refresh that raced the logout elsewhere
//!   cannot sign the user back in. A new sign-in starts a new session.
//! - **Rotation first.** On new tokens the first outputs are `Persist`,
//!   then `Broadcast` (not for tokens that came from another tab), then
//!   `Emit(Refreshed)`, and only then are queued requests released.
//! - **Timers.** Many logical timers (proactive refresh, backoff, cooldown,
//!   queue timeouts, idle, expiry, max session) share one deadline,
//!   [`Session::poll_timeout`]. It is an absolute time that can lie far
//!   beyond 2^31−1 ms: the browser layer chains `setTimeout`s (see
//!   [`schedule::timer_delay_ms`]). Every input first processes whatever is
//!   due at its `now_ms`, so late timers (background tabs, sleep) are caught
//!   up by any input, and `Wake` exists just for that.

use std::collections::VecDeque;
use std::rc::Rc;

pub use super::http::{BearerError, Challenge};
use super::idmap::IdMap;
use super::jwt::{self, Claims, DecodedJwt, JwtError};
use super::schedule;
use super::{Config, Millis};

/// Identifies one `auth.fetch` call for its whole life (first send, queueing,
/// retry). Chosen by the browser layer; unique among live requests.
pub type RequestId = u64;

/// Tokens as a login or refresh response delivers them.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenSet {
    /// The access token (a JWT, or an opaque string when `expires_in` is given).
    pub access_token: String,
    /// The refresh token, if the transport keeps one in JS (`None` in cookie
    /// mode, or when the server did not rotate it: then the old one is kept).
    pub refresh_token: Option<String>,
    /// Lifetime in seconds from the moment the response was received.
    pub expires_in: Option<f64>,
}

impl TokenSet {
    /// An access token alone, with an optional `expires_in`.
    pub fn bearer(access_token: &str, expires_in: Option<f64>) -> Self {
        TokenSet {
            access_token: access_token.into(),
            refresh_token: None,
            expires_in,
        }
    }
}

/// What persistent storage (session/local) and other tabs hold: enough to
/// resume without decoding anything again.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredSession {
    pub access_token: String,
    pub refresh_token: Option<String>,
    /// Local expiry of the access token, epoch ms (already skew-corrected).
    pub expires_at: Millis,
    /// When the user signed in (for `max_session`), epoch ms.
    pub started_at: Millis,
}

/// Why a refresh failed, as classified by the transport.
#[derive(Clone, Debug, PartialEq)]
pub enum RefreshFailure {
    /// The server said the refresh token is no good (`invalid_grant`, 400,
    /// 401 from the refresh endpoint, reuse detected): the session is over.
    Rejected { status: u16, error: Option<String> },
    /// Network error, 5xx, 429, or an unusable response (not JSON, no access
    /// token, token that does not decode): worth retrying with backoff.
    /// `retry_after_ms` comes from a `Retry-After` header when present.
    Transient {
        status: u16,
        retry_after_ms: Option<Millis>,
        detail: Rc<str>,
    },
}

/// Inputs to [`Session::handle`]. Each comes with `now_ms`.
#[derive(Clone, Debug)]
pub enum Input {
    /// The app signed in (`auth.setSession`). Starts a new session.
    SetSession(TokenSet),
    /// Resume a session read from storage at start-up. A session that can no
    /// longer be used (past `max_session`, or its access token expired with
    /// no way to refresh it) is not adopted: the only output is
    /// `Persist(None)`, which clears storage.
    Restore(StoredSession),
    /// `auth.fetch` was called. `attach`: the target origin may see the token.
    /// `replayable`: the body could be captured, so the request can be resent.
    /// `refresh`: `false` when the app opted the request out of refresh
    /// handling (sent at once with the token, response delivered as it is).
    RequestStarted {
        id: RequestId,
        attach: bool,
        replayable: bool,
        refresh: bool,
    },
    /// A request sent by an [`Output::Send`] completed with an HTTP status.
    /// `challenge` is read from `WWW-Authenticate` on 401 (`Absent` otherwise).
    /// `renewed_token` is the value of the configured renew header, if any.
    /// `should_refresh`: the app's `shouldRefresh(response)` verdict (`None`
    /// when the option is not set or gave no boolean): `Some(true)` = the
    /// token was rejected, `Some(false)` = deliver as it is.
    Response {
        id: RequestId,
        status: u16,
        challenge: Challenge,
        renewed_token: Option<String>,
        should_refresh: Option<bool>,
    },
    /// A request sent by an [`Output::Send`] failed at the network level (the
    /// browser layer rejects the caller with the network error itself) or the
    /// caller aborted it. Forget the request.
    RequestGone { id: RequestId },
    /// `auth.refresh()`: refresh now, or join the refresh in flight.
    RefreshRequested,
    /// The refresh started by [`Output::StartRefresh`] with this `attempt` succeeded.
    RefreshSucceeded { attempt: u64, tokens: TokenSet },
    /// The refresh started by [`Output::StartRefresh`] with this `attempt` failed.
    RefreshFailed {
        attempt: u64,
        failure: RefreshFailure,
    },
    /// The refresh started by [`Output::StartRefresh`] with this `attempt`
    /// got a 2xx whose access token is unusable but which carried a new
    /// refresh token: the server rotated, so `refresh_token` is the current
    /// one from now on (persisted and shared before anything else), and the
    /// attempt failed with `failure` (retried with the new refresh token).
    RefreshRotated {
        attempt: u64,
        refresh_token: String,
        failure: RefreshFailure,
    },
    /// The deadline from [`Session::poll_timeout`] passed (or a timer fired early/late).
    TimerFired,
    /// Pointer/keyboard activity or an `auth.fetch` call (for the idle timeout).
    UserActivity,
    /// The tab became visible, came online, regained focus, or the wall clock
    /// jumped: re-check every deadline now.
    Wake,
    /// Another tab (or the shared state re-read under the refresh lock)
    /// carries tokens. Adopted only if they are newer than ours and not of
    /// a session that ended (same `started_at`).
    FromTab(TabMessage),
    /// `auth.logout()`. `redirect`: whether the app asked for the login redirect.
    Logout { redirect: bool },
}

/// Messages between tabs of one origin (BroadcastChannel payloads, after the
/// browser layer has validated them).
#[derive(Clone, Debug, PartialEq)]
pub enum TabMessage {
    /// A tab refreshed (or signed in): here are the current tokens.
    Tokens(StoredSession),
    /// A tab signed out or its session ended: sign out too.
    LoggedOut { reason: SessionEndReason },
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEndReason {
    /// The refresh endpoint rejected the refresh token (incl. reuse detection).
    RefreshRejected,
    /// No user activity for `idle_timeout` and the access token expired.
    Idle,
    /// `max_session` reached.
    MaxSession,
    /// The access token expired and there is no way to refresh it.
    Expired,
    /// `auth.logout()` in this or another tab.
    Logout,
}

/// Stable error codes, shown to JS as `TokenError.code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// The session ended while the request waited (`session_expired`).
    SessionExpired,
    /// The refresh kept failing (network/5xx) and the request could not wait longer (`refresh_failed`).
    RefreshFailed,
    /// Too many requests waiting for a refresh (`queue_full`).
    QueueFull,
    /// The request waited for a refresh longer than `queue_timeout` (`queue_timeout`).
    QueueTimeout,
    /// The user logged out while the request waited (`logged_out`).
    LoggedOut,
}

/// Events for `auth.on(...)`.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// New tokens are in place (refresh, renew header, or another tab).
    Refreshed {
        expires_at: Millis,
        refresh_at: Option<Millis>,
        from_tab: bool,
    },
    /// The access token will expire soon and a refresh is starting (or, when
    /// idle, will not happen).
    Expiring { expires_at: Millis },
    /// The session is over; `SessionOver` output follows.
    SessionExpired { reason: SessionEndReason },
    /// `auth.logout()` or logout in another tab.
    Logout,
    /// A refresh attempt failed (it may be retried).
    Error { code: ErrorCode, detail: Rc<str> },
    /// Something odd but handled (lead+jitter longer than the token lifetime,
    /// ms-valued `exp`, …). `code` is a stable snake_case string.
    Warning { code: &'static str },
}

/// Outputs drained with [`Session::poll_output`].
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// Send (or re-send) request `id`; with `Authorization: Bearer token` when `token` is `Some`.
    Send {
        id: RequestId,
        token: Option<Rc<str>>,
    },
    /// Hand the last response of request `id` to the caller as it is.
    Deliver { id: RequestId },
    /// Reject request `id` with this error.
    Reject { id: RequestId, code: ErrorCode },
    /// Start a refresh with this refresh token (`None`: cookie mode / custom function).
    /// Report back with `RefreshSucceeded`/`RefreshFailed` and the same `attempt`.
    StartRefresh {
        attempt: u64,
        refresh_token: Option<Rc<str>>,
    },
    /// Write the session to storage (`None`: clear it).
    Persist(Option<StoredSession>),
    /// Tell the other tabs.
    Broadcast(TabMessage),
    /// Something for `auth.on` listeners.
    Emit(Event),
    /// The session is over for good: save drafts, then (if `redirect`) go to the login page.
    SessionOver {
        reason: SessionEndReason,
        redirect: bool,
    },
}

/// Warning codes carried by [`Event::Warning`] (documented in docs/architecture.md, "Warning codes").
pub mod warning {
    /// `lead + jitter` ≥ token lifetime: refreshing at 62.5–75 % of the lifetime.
    pub const LEAD_EXCEEDS_LIFETIME: &str = "lead_exceeds_lifetime";
    /// Lifetime shorter than the minimum refresh interval: the proactive
    /// refresh comes after expiry; requests refresh on demand meanwhile.
    pub const LIFETIME_BELOW_MIN_INTERVAL: &str = "lifetime_below_min_interval";
    /// No `expires_in` and no usable `exp`: no proactive refresh (401s still refresh).
    pub const TOKEN_WITHOUT_EXP: &str = "token_without_exp";
    /// The access token's `exp` looks like milliseconds: ignored.
    pub const EXP_IN_MILLISECONDS: &str = "exp_in_milliseconds";
    /// The access token is a JWT with a malformed registered claim: treated as opaque.
    pub const TOKEN_CLAIMS_INVALID: &str = "token_claims_invalid";
    /// `expires_in` negative, not finite or over 10 years: ignored.
    pub const INVALID_EXPIRES_IN: &str = "invalid_expires_in";
    /// Clock skew estimated from `iat` exceeded the bound (24 h) and was clamped.
    pub const CLOCK_SKEW_CLAMPED: &str = "clock_skew_clamped";
    /// A renewed token from a response header did not decode or did not
    /// expire later than the current one: ignored.
    pub const RENEWED_TOKEN_IGNORED: &str = "renewed_token_ignored";
    /// A proactive refresh was rejected while the access token is valid: no
    /// more refreshes; the session ends when the access token expires.
    pub const REFRESH_TOKEN_REJECTED: &str = "refresh_token_rejected";
    /// `auth.refresh()` was called with no way to refresh (no session, no
    /// refresh token and no `refresh_without_token`).
    pub const REFRESH_UNAVAILABLE: &str = "refresh_unavailable";
    /// The API answered 401 to an access token that a refresh had just
    /// produced: 401s do not start refreshes for a growing cool-down
    /// ([`super::FRESH_COOLDOWN_BASE_MS`] doubling up to
    /// [`super::FRESH_COOLDOWN_MAX_MS`]); they go to the caller.
    pub const FRESH_TOKEN_REJECTED: &str = "fresh_token_rejected";
}

/// First cool-down after the API rejected a fresh token (5 s); each further
/// rejection of a fresh token doubles it.
pub const FRESH_COOLDOWN_BASE_MS: Millis = 5_000;
/// Longest cool-down after rejected fresh tokens (5 min).
pub const FRESH_COOLDOWN_MAX_MS: Millis = 300_000;
/// The cool-down starts from [`FRESH_COOLDOWN_BASE_MS`] again when no fresh
/// token was rejected for this long (10 min).
pub const FRESH_COOLDOWN_RESET_MS: Millis = 600_000;

impl ErrorCode {
    /// Stable snake_case code, as shown to JS.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::SessionExpired => "session_expired",
            ErrorCode::RefreshFailed => "refresh_failed",
            ErrorCode::QueueFull => "queue_full",
            ErrorCode::QueueTimeout => "queue_timeout",
            ErrorCode::LoggedOut => "logged_out",
        }
    }
}

impl SessionEndReason {
    /// Stable snake_case name (`refresh_rejected`, `idle`, `max_session`, `expired`, `logout`).
    pub fn as_str(self) -> &'static str {
        match self {
            SessionEndReason::RefreshRejected => "refresh_rejected",
            SessionEndReason::Idle => "idle",
            SessionEndReason::MaxSession => "max_session",
            SessionEndReason::Expired => "expired",
            SessionEndReason::Logout => "logout",
        }
    }
}

/// The tokens in force.
#[derive(Debug)]
struct Current {
    access: Rc<str>,
    refresh: Option<Rc<str>>,
    /// Local expiry, `None` when unknown (opaque token without `expires_in`).
    expires_at: Option<Millis>,
    /// When we got them (start of the lifetime for the schedule).
    received_at: Millis,
    started_at: Millis,
    decoded: Option<DecodedJwt>,
    /// The refresh endpoint rejected a proactive refresh: no more attempts.
    refresh_dead: bool,
    /// Came from a refresh made here, and no response to a request sent
    /// with it has shown that the API accepts it yet.
    unproven: bool,
    /// A 401 on it while unproven started the fresh-token cool-down already.
    struck: bool,
}

/// The refresh operation (one burst of attempts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flight {
    Idle,
    /// `StartRefresh { attempt }` is out, waiting for its result.
    Running(u64),
    /// The last attempt failed transiently; the next one starts at this time.
    Backoff(Millis),
}

/// A tracked request (`attach: true`).
#[derive(Debug)]
struct Request {
    replayable: bool,
    /// Token generation it was last sent with.
    sent_gen: u64,
    /// It has used its one retry (or is queued for it).
    retried: bool,
    /// Waiting in the queue (its deadline is kept there).
    queued: bool,
}

/// The state machine. See the module docs for the rules.
#[derive(Debug)]
pub struct Session {
    config: Config,
    rng: u64,
    cur: Option<Current>,
    /// Bumped on every change of tokens (including sign-out), so a request
    /// knows whether it was sent with the current token.
    generation: u64,
    /// The session ended (logout, rejection, …): in `refresh_without_token`
    /// mode, no tokenless refresh until a new session starts.
    ended: bool,
    /// `started_at` of the last session that ended (here or in another
    /// tab). Tokens of that session still on their way from another tab — a
    /// refresh there that raced the logout — are not adopted, so a logout
    /// cannot be undone by them; a new sign-in has a new `started_at`.
    ended_started: Option<Millis>,
    flight: Flight,
    /// The refresh running was asked for by requests (not just the timer):
    /// new requests wait for it instead of going out with the old token.
    reactive: bool,
    attempt: u64,
    /// Transient failures in the current burst.
    failures: u32,
    cooldown_until: Option<Millis>,
    refresh_at: Option<Millis>,
    last_activity: Millis,
    idle: bool,
    requests: IdMap<Request>,
    /// Fresh tokens the API rejected in a row (see `fresh_rejected`).
    fresh_strikes: u32,
    /// When the last fresh token was rejected.
    fresh_last: Option<Millis>,
    /// Until then, 401s start no refresh (the API rejects fresh tokens).
    fresh_until: Option<Millis>,
    /// Waiting requests with their deadlines, in arrival order. The timeout
    /// is one constant, so deadlines never decrease along the queue: expiry
    /// and `poll_timeout` only look at the front (O(1) per input, not O(n)).
    queue: VecDeque<(RequestId, Millis)>,
    out: VecDeque<Output>,
}

impl Session {
    /// A signed-out session. `seed` feeds the jitter/backoff PRNG (the browser
    /// layer seeds it from `crypto.getRandomValues`; tests pick a constant).
    pub fn new(config: Config, seed: u64) -> Self {
        Session {
            config,
            rng: seed,
            cur: None,
            generation: 0,
            ended: false,
            ended_started: None,
            flight: Flight::Idle,
            reactive: false,
            attempt: 0,
            failures: 0,
            cooldown_until: None,
            refresh_at: None,
            last_activity: 0,
            idle: false,
            requests: IdMap::new(),
            fresh_strikes: 0,
            fresh_last: None,
            fresh_until: None,
            queue: VecDeque::new(),
            out: VecDeque::new(),
        }
    }

    /// Feed one input at `now_ms`. Whatever was due at `now_ms` is processed
    /// first (and again after the input, for what the input made due).
    pub fn handle(&mut self, input: Input, now_ms: Millis) {
        let now = now_ms;
        self.process_due(now);
        match input {
            Input::SetSession(tokens) => self.set_session(tokens, now),
            Input::Restore(stored) => {
                if self.resumable(&stored, now) {
                    self.adopt(stored, now, false);
                } else {
                    // Not a session any more: clear storage quietly (no
                    // events, no redirect: nobody was signed in on this page).
                    self.out.push_back(Output::Persist(None));
                }
            }
            Input::RequestStarted {
                id,
                attach,
                replayable,
                refresh,
            } => self.request_started(id, attach && refresh, attach, replayable, now),
            Input::Response {
                id,
                status,
                challenge,
                renewed_token,
                should_refresh,
            } => self.response(id, status, challenge, renewed_token, should_refresh, now),
            Input::RequestGone { id } => self.forget(id),
            Input::RefreshRequested => self.refresh_requested(),
            Input::RefreshSucceeded { attempt, tokens } => {
                if self.flight == Flight::Running(attempt) {
                    self.refresh_succeeded(tokens, now);
                }
            }
            Input::RefreshFailed { attempt, failure } => {
                if self.flight == Flight::Running(attempt) {
                    self.refresh_failed(failure, now);
                }
            }
            Input::RefreshRotated {
                attempt,
                refresh_token,
                failure,
            } => {
                if self.flight == Flight::Running(attempt) {
                    self.adopt_rotated(refresh_token);
                    self.refresh_failed(failure, now);
                }
            }
            Input::TimerFired | Input::Wake => {}
            Input::UserActivity => {
                self.last_activity = now;
                if self.idle {
                    self.idle = false;
                    self.refresh_at = self.plan(now).0;
                }
            }
            Input::FromTab(TabMessage::Tokens(stored)) if self.adopts(&stored) => {
                if self.rotates_refresh_only(&stored) {
                    self.adopt_refresh_from_tab(stored.refresh_token, now);
                } else {
                    self.adopt(stored, now, true);
                }
            }
            Input::FromTab(TabMessage::Tokens(_)) => {}
            Input::FromTab(TabMessage::LoggedOut { reason }) => {
                if self.cur.is_some() || !self.queue.is_empty() || self.flight != Flight::Idle {
                    self.end_session(reason, true, false);
                }
                self.ended = true;
            }
            Input::Logout { redirect } => {
                self.end_session(SessionEndReason::Logout, redirect, true)
            }
        }
        self.process_due(now);
    }

    /// Next output, or `None` when drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `Input::TimerFired` is next due (epoch ms), if anything is armed:
    /// the earliest of all logical timers.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let mut next: Option<Millis> = None;
        let mut arm = |t: Option<Millis>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        arm(self.queue.front().map(|q| q.1));
        arm(self.cooldown_until);
        match self.flight {
            Flight::Backoff(at) => arm(Some(at)),
            Flight::Idle => {
                // A proactive refresh that fell due during a cooldown waits for
                // its end (reporting the past time would spin the timer).
                arm(self
                    .refresh_at
                    .map(|t| self.cooldown_until.map_or(t, |c| t.max(c))));
                arm(self.expiry_end_at());
            }
            Flight::Running(_) => {}
        }
        if let Some(c) = &self.cur {
            arm(self.max_session_end(c));
            arm(self.idle_at());
        }
        next
    }

    /// The current access token, if signed in.
    pub fn access_token(&self) -> Option<&str> {
        self.cur.as_ref().map(|c| &*c.access)
    }

    /// Local expiry of the access token (epoch ms), if signed in and known.
    pub fn expires_at(&self) -> Option<Millis> {
        self.cur.as_ref().and_then(|c| c.expires_at)
    }

    /// When the proactive refresh is scheduled (epoch ms), if it is.
    pub fn refresh_at(&self) -> Option<Millis> {
        self.refresh_at
    }

    /// The current session as it would be persisted / broadcast
    /// (`expires_at` is 0 when the expiry is unknown).
    pub fn stored(&self) -> Option<StoredSession> {
        self.cur.as_ref().map(|c| StoredSession {
            access_token: c.access.as_ref().into(),
            refresh_token: c.refresh.as_ref().map(|r| r.as_ref().into()),
            expires_at: c.expires_at.unwrap_or(0),
            started_at: c.started_at,
        })
    }

    /// Whether a refresh is under way: an attempt in flight, or a failed
    /// attempt waiting for its backoff to retry.
    pub fn refreshing(&self) -> bool {
        self.flight != Flight::Idle
    }

    /// The attempt id of the refresh in flight, if one is. After feeding
    /// `FromTab(Tokens)` (e.g. state re-read under the refresh lock), a
    /// changed or absent id means the attempt is superseded: do not fetch.
    pub fn refresh_attempt(&self) -> Option<u64> {
        match self.flight {
            Flight::Running(a) => Some(a),
            _ => None,
        }
    }

    /// Whether `FromTab(Tokens(s))` would be adopted: `s` is newer than our
    /// tokens (a new access token, or ours with a rotated refresh token),
    /// within the size bounds and not of a session that ended. The browser
    /// layer asks this of the shared state it re-reads under the refresh
    /// lock: when `true`, it feeds `s` before any refresh request is sent.
    pub fn adopts(&self, s: &StoredSession) -> bool {
        self.ended_started != Some(s.started_at) && within_bounds(s) && self.is_newer(s)
    }

    /// Non-secret fingerprint of the current tokens, access *and* refresh
    /// ([`fingerprint`]), for the rotation marker; `None` when signed out.
    pub fn fingerprint(&self) -> Option<u64> {
        self.cur
            .as_ref()
            .map(|c| fingerprint(&c.access, c.refresh.as_deref()))
    }

    /// Whether a rotation marker (the [`fingerprint`] of the origin's newest
    /// tokens, written by the tab that produced them) names tokens other
    /// than ours — a new access token or only a rotated refresh token: then
    /// our refresh token may be used up and must not be sent before the
    /// newest tokens are here. No marker: nothing is known to be newer.
    pub fn behind_marker(&self, marker: Option<u64>) -> bool {
        marker.is_some_and(|m| self.fingerprint() != Some(m))
    }

    /// The refresh token that attempt `attempt` must send now: the current
    /// one (it may have been rotated by another tab since
    /// [`Output::StartRefresh`] named one), `None` when the attempt is not
    /// the running one or there is none (cookie mode, custom function).
    pub fn refresh_token_for(&self, attempt: u64) -> Option<Rc<str>> {
        if self.flight != Flight::Running(attempt) {
            return None;
        }
        self.cur.as_ref().and_then(|c| c.refresh.clone())
    }

    /// Whether a session is active (there is an access token).
    pub fn is_signed_in(&self) -> bool {
        self.cur.is_some()
    }

    /// Claims of the access token when it is a JWT (for `auth.claims`).
    pub fn claims(&self) -> Option<&Claims> {
        self.cur
            .as_ref()
            .and_then(|c| c.decoded.as_ref())
            .map(|d| &d.claims)
    }

    /// The access token's payload JSON when it is a JWT (for `auth.claims`).
    pub fn payload_json(&self) -> Option<&str> {
        self.cur
            .as_ref()
            .and_then(|c| c.decoded.as_ref())
            .map(|d| d.payload_json.as_str())
    }

    /// Requests waiting for a refresh.
    pub fn queued_len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no refresh will start before this time because a burst of
    /// attempts failed (`Some(end)` during the cooldown).
    pub fn cooldown_until(&self) -> Option<Millis> {
        self.cooldown_until
    }

    /// The validated configuration in use.
    pub fn config(&self) -> &Config {
        &self.config
    }

    // ----- inputs -------------------------------------------------------

    fn set_session(&mut self, tokens: TokenSet, now: Millis) {
        self.ended = false;
        self.idle = false;
        self.last_activity = now;
        self.reset_refresh();
        self.reset_fresh();
        let (cur, warnings) = self.install(tokens, None, now, now);
        self.cur = Some(cur);
        self.tokens_changed(now, false, warnings);
    }

    /// Take tokens from storage (`Restore`) or another tab.
    fn adopt(&mut self, s: StoredSession, now: Millis, from_tab: bool) {
        self.ended = false;
        if !from_tab {
            self.idle = false;
            self.last_activity = now;
        }
        self.reset_refresh();
        let decoded = jwt::decode(&s.access_token).ok();
        self.cur = Some(Current {
            access: s.access_token.into(),
            refresh: s.refresh_token.map(Into::into),
            expires_at: (s.expires_at > 0).then_some(s.expires_at),
            received_at: now,
            started_at: s.started_at,
            decoded,
            refresh_dead: false,
            // Not ours: another tab's sign-in as likely as its refresh (that
            // tab's own rule bounds its refreshes).
            unproven: false,
            struck: false,
        });
        self.generation += 1;
        if from_tab {
            self.tokens_changed(now, true, Vec::new());
        } else {
            // Restoring at start-up: storage already has it, no one to tell.
            // No schedule warnings: the true lifetime is unknown here.
            self.refresh_at = self.plan(now).0;
            self.release_queue();
        }
    }

    /// Whether a session read from storage can still be used: within
    /// `max_session`, and its access token unexpired or refreshable (a
    /// refresh token, or `refresh_without_token`). An unknown expiry (stored
    /// as 0) counts as expired.
    fn resumable(&self, s: &StoredSession, now: Millis) -> bool {
        let max = self.config.max_session_ms;
        let within_max = max == 0 || s.started_at.saturating_add(max) > now;
        let refreshable = s.refresh_token.is_some() || self.config.refresh_without_token;
        within_max && within_bounds(s) && (s.expires_at > now || refreshable)
    }

    /// Whether tokens from another tab (or the shared state) are newer than ours.
    fn is_newer(&self, s: &StoredSession) -> bool {
        let Some(c) = &self.cur else { return true };
        if *c.access == *s.access_token {
            // An echo of what we have — unless the refresh token differs: a
            // 2xx there rotated it without a usable access token
            // (`RefreshRotated`), and the old one must not be sent again.
            return s.refresh_token.is_some() && s.refresh_token.as_deref() != c.refresh.as_deref();
        }
        match c.expires_at {
            Some(ours) => s.expires_at > ours,
            // Ours unknown: the only signal is that they differ.
            None => true,
        }
    }

    /// Tokens from another tab (or the shared state) that are ours with
    /// only the refresh token rotated (a 2xx there without a usable access
    /// token, `RefreshRotated`).
    fn rotates_refresh_only(&self, s: &StoredSession) -> bool {
        self.cur
            .as_ref()
            .is_some_and(|c| *c.access == *s.access_token)
            && s.refresh_token.is_some()
    }

    /// Another tab rotated only the refresh token: it replaces ours (and is
    /// persisted), and nothing else changes — the access token, its
    /// schedule and a refresh under way stay; that refresh sends the new
    /// refresh token ([`Session::refresh_token_for`]), requests waiting for
    /// it keep waiting (a new access token is still needed).
    fn adopt_refresh_from_tab(&mut self, refresh_token: Option<String>, now: Millis) {
        let Some(c) = &mut self.cur else { return };
        let Some(r) = refresh_token else { return };
        c.refresh = Some(r.into());
        let revived = std::mem::take(&mut c.refresh_dead);
        if revived && self.flight == Flight::Idle {
            self.refresh_at = self.plan(now).0;
        }
        if let Some(stored) = self.stored() {
            self.out.push_back(Output::Persist(Some(stored)));
        }
    }

    /// Drops request `id`, and its place in the queue if it waits there.
    fn forget(&mut self, id: RequestId) {
        if self.requests.remove(&id).is_some_and(|r| r.queued) {
            self.queue.retain(|q| q.0 != id);
        }
    }

    /// `tracked`: the request takes part in refresh handling; `attach`: it
    /// carries the token (untracked, it is sent with the token as it is).
    fn request_started(
        &mut self,
        id: RequestId,
        tracked: bool,
        attach: bool,
        replayable: bool,
        now: Millis,
    ) {
        self.forget(id);
        if !tracked {
            let token = attach.then(|| self.cur.as_ref().map(|c| c.access.clone()));
            self.out.push_back(Output::Send {
                id,
                token: token.flatten(),
            });
            return;
        }
        let req = Request {
            replayable,
            sent_gen: self.generation,
            retried: false,
            queued: false,
        };
        self.requests.insert(id, req);
        self.route(id, now);
    }

    /// Send `id` now with the current token, or park it until a refresh.
    fn route(&mut self, id: RequestId, now: Millis) {
        let must_wait = self.flight != Flight::Idle && (self.reactive || !self.token_usable(now));
        if must_wait || (self.cur.is_some() && !self.token_usable(now) && self.ensure_refresh(now))
        {
            self.enqueue(id, now);
        } else {
            self.send(id);
        }
    }

    fn response(
        &mut self,
        id: RequestId,
        status: u16,
        challenge: Challenge,
        renewed_token: Option<String>,
        should_refresh: Option<bool>,
        now: Millis,
    ) {
        if let Some(t) = renewed_token {
            self.accept_renewed(&t, now);
        }
        let Some(r) = self.requests.get_mut(&id) else {
            self.out.push_back(Output::Deliver { id });
            return;
        };
        if r.queued {
            return; // not sent: a confused caller; the queue decides its fate
        }
        let refreshable_401 = status == 401
            && matches!(
                challenge,
                Challenge::Absent | Challenge::Bearer(BearerError::InvalidToken)
            );
        // The app's `shouldRefresh(response)` verdict, when it gave one, decides.
        let refreshable_401 = should_refresh.unwrap_or(refreshable_401);
        let older = r.sent_gen < self.generation;
        if self.fresh_token_rule(id, status, refreshable_401, older, now) {
            return;
        }
        let Some(r) = self.requests.get_mut(&id) else {
            return;
        };
        if !refreshable_401 || r.retried || !r.replayable {
            let fresh_failure = refreshable_401 && !r.retried && !older;
            self.requests.remove(&id);
            self.out.push_back(Output::Deliver { id });
            if fresh_failure {
                // A non-replayable request proved the token bad: refresh for
                // the requests that follow.
                self.ensure_refresh(now);
            }
            return;
        }
        r.retried = true;
        if older {
            if self.cur.is_none() && self.flight == Flight::Idle {
                // Signed out since it left: resending without a token is pointless.
                self.requests.remove(&id);
                self.out.push_back(Output::Deliver { id });
            } else {
                self.route(id, now);
            }
        } else if self.ensure_refresh(now) {
            self.enqueue(id, now);
        } else {
            self.requests.remove(&id);
            self.out.push_back(Output::Deliver { id });
        }
    }

    /// The fresh-token part of a response to request `id` (sent with an
    /// `older` token or the current one): any status but 401 (and but one
    /// the app's `shouldRefresh` calls expired) proves the current token; a refreshable 401 that [`Self::fresh_rejected`] stops
    /// is delivered (`true`: nothing more to do).
    fn fresh_token_rule(
        &mut self,
        id: RequestId,
        status: u16,
        refreshable_401: bool,
        older: bool,
        now: Millis,
    ) -> bool {
        if !older && status != 401 && !refreshable_401 {
            // (`refreshable_401` may be the app's verdict on another status.)
            if let Some(c) = &mut self.cur {
                c.unproven = false;
            }
        }
        if refreshable_401 && !older && self.fresh_rejected(now) {
            // The API rejects tokens that a refresh just produced: no
            // refresh storm; the 401 goes to the caller.
            self.requests.remove(&id);
            self.out.push_back(Output::Deliver { id });
            return true;
        }
        false
    }

    /// A refreshable 401 on a request sent with the current token: whether
    /// it must not start a refresh because the API rejects fresh tokens.
    /// The first 401 on a token that a refresh produced (and that no
    /// response has proven yet) starts a cool-down — 5 s, doubling with each
    /// such token in a row up to 5 min, back to 5 s after 10 min without one
    /// — with warning `fresh_token_rejected`; during it, 401s start no
    /// refresh. Proactive refreshes, `auth.refresh()` and refreshes for
    /// expired tokens are not affected.
    fn fresh_rejected(&mut self, now: Millis) -> bool {
        let Some(c) = &mut self.cur else { return false };
        if c.unproven && !c.struck {
            c.struck = true;
            let recent = self
                .fresh_last
                .is_some_and(|t| now.saturating_sub(t) < FRESH_COOLDOWN_RESET_MS);
            self.fresh_strikes = if recent {
                self.fresh_strikes.saturating_add(1)
            } else {
                1
            };
            self.fresh_last = Some(now);
            let doublings = self.fresh_strikes.saturating_sub(1).min(16);
            let pause = FRESH_COOLDOWN_BASE_MS
                .saturating_mul(1 << doublings)
                .min(FRESH_COOLDOWN_MAX_MS);
            self.fresh_until = Some(now.saturating_add(pause));
            self.warn(warning::FRESH_TOKEN_REJECTED);
            return true;
        }
        self.fresh_until.is_some_and(|t| now < t)
    }

    /// Forget rejected fresh tokens (a new sign-in, the session's end).
    fn reset_fresh(&mut self) {
        self.fresh_strikes = 0;
        self.fresh_last = None;
        self.fresh_until = None;
    }

    /// A 2xx rotated the refresh token without a usable access token: the
    /// new refresh token is the current one (persisted and shared first).
    /// Without a session to attach it to (a tokenless refresh function) it
    /// cannot be kept.
    fn adopt_rotated(&mut self, refresh_token: String) {
        let Some(c) = &mut self.cur else { return };
        if c.refresh.as_deref() == Some(refresh_token.as_str()) {
            return;
        }
        c.refresh = Some(refresh_token.into());
        c.refresh_dead = false;
        if let Some(stored) = self.stored() {
            self.out.push_back(Output::Persist(Some(stored.clone())));
            self.out
                .push_back(Output::Broadcast(TabMessage::Tokens(stored)));
        }
    }

    fn refresh_requested(&mut self) {
        if self.flight != Flight::Idle {
            return; // joins the refresh under way
        }
        if self.capable() {
            // Explicit: overrides the cooldown and the idle state.
            self.cooldown_until = None;
            self.failures = 0;
            self.start_refresh();
        } else {
            self.warn(warning::REFRESH_UNAVAILABLE);
        }
    }

    fn refresh_succeeded(&mut self, tokens: TokenSet, now: Millis) {
        let (keep_refresh, started) = match &self.cur {
            Some(c) => (c.refresh.clone(), c.started_at),
            None => (None, now),
        };
        self.ended = false;
        self.reset_refresh();
        let (mut cur, warnings) = self.install(tokens, keep_refresh, now, started);
        cur.unproven = true;
        self.cur = Some(cur);
        self.tokens_changed(now, false, warnings);
    }

    fn refresh_failed(&mut self, failure: RefreshFailure, now: Millis) {
        self.flight = Flight::Idle;
        match failure {
            RefreshFailure::Rejected { .. } => {
                let nobody_waits = self.queue.is_empty() && !self.reactive;
                if nobody_waits && self.token_usable(now) {
                    if let Some(c) = &mut self.cur {
                        c.refresh_dead = true;
                    }
                    self.reset_refresh();
                    self.refresh_at = None;
                    self.warn(warning::REFRESH_TOKEN_REJECTED);
                } else {
                    self.end_session(SessionEndReason::RefreshRejected, true, true);
                }
            }
            RefreshFailure::Transient {
                retry_after_ms,
                detail,
                ..
            } => {
                self.failures += 1;
                self.out.push_back(Output::Emit(Event::Error {
                    code: ErrorCode::RefreshFailed,
                    detail,
                }));
                if self.failures < self.config.retry_attempts {
                    let r = self.random();
                    let c = &self.config;
                    let delay = schedule::retry_delay(
                        self.failures,
                        c.retry_base_ms,
                        c.retry_max_ms,
                        c.retry_cooldown_ms,
                        retry_after_ms,
                        r,
                    );
                    self.flight = Flight::Backoff(now.saturating_add(delay));
                } else {
                    self.give_up(now);
                }
            }
        }
    }

    // ----- timers ---------------------------------------------------------

    /// Everything due at `now`, in a fixed order.
    fn process_due(&mut self, now: Millis) {
        if let Some(end) = self.cur.as_ref().and_then(|c| self.max_session_end(c)) {
            if now >= end {
                self.end_session(SessionEndReason::MaxSession, true, true);
            }
        }
        self.expire_queue(now);
        if self.cooldown_until.is_some_and(|t| now >= t) {
            self.cooldown_until = None;
        }
        if self.cur.is_some() && self.idle_at().is_some_and(|at| now >= at) {
            self.idle = true;
            if let Flight::Backoff(_) = self.flight {
                // No more attempts while idle.
                self.flight = Flight::Idle;
                self.reactive = false;
                self.failures = 0;
                self.reject_queue(ErrorCode::RefreshFailed);
            }
        }
        if let Flight::Backoff(at) = self.flight {
            if now >= at {
                if self.capable() {
                    self.start_refresh();
                } else {
                    self.flight = Flight::Idle;
                    self.reactive = false;
                    self.reject_queue(ErrorCode::RefreshFailed);
                }
            }
        }
        if let Some(end) = self.expiry_end_at() {
            if now >= end && self.flight == Flight::Idle {
                let reason = match &self.cur {
                    _ if self.idle => SessionEndReason::Idle,
                    Some(c) if c.refresh_dead => SessionEndReason::RefreshRejected,
                    _ => SessionEndReason::Expired,
                };
                self.end_session(reason, true, true);
            }
        }
        let refresh_due = self.refresh_at.is_some_and(|at| now >= at);
        if refresh_due && self.flight == Flight::Idle && self.cooldown_until.is_none() {
            self.refresh_at = None;
            if let Some(expires_at) = self.expires_at() {
                self.out
                    .push_back(Output::Emit(Event::Expiring { expires_at }));
            }
            if !self.idle && self.capable() {
                self.reactive = !self.token_usable(now);
                self.start_refresh();
            }
        }
    }

    fn expire_queue(&mut self, now: Millis) {
        while let Some(&(id, deadline)) = self.queue.front() {
            if now < deadline {
                break;
            }
            self.queue.pop_front();
            self.requests.remove(&id);
            self.out.push_back(Output::Reject {
                id,
                code: ErrorCode::QueueTimeout,
            });
        }
    }

    /// When the session ends because the token expires and cannot be
    /// refreshed (idle, no refresh token, refresh token rejected).
    fn expiry_end_at(&self) -> Option<Millis> {
        let c = self.cur.as_ref()?;
        if self.idle || !self.capable() {
            c.expires_at
        } else {
            None
        }
    }

    /// When the user counts as idle (no activity for `idle_timeout`), if the
    /// idle timeout is on and they are not idle already.
    fn idle_at(&self) -> Option<Millis> {
        (self.config.idle_timeout_ms > 0 && !self.idle).then(|| {
            self.last_activity
                .saturating_add(self.config.idle_timeout_ms)
        })
    }

    fn max_session_end(&self, c: &Current) -> Option<Millis> {
        (self.config.max_session_ms > 0)
            .then(|| c.started_at.saturating_add(self.config.max_session_ms))
    }

    // ----- helpers --------------------------------------------------------

    /// Whether a refresh could run at all (cooldown and idle aside).
    fn capable(&self) -> bool {
        match &self.cur {
            Some(c) => {
                !c.refresh_dead && (c.refresh.is_some() || self.config.refresh_without_token)
            }
            None => self.config.refresh_without_token && !self.ended,
        }
    }

    /// The access token exists and is not expired or about to be.
    fn token_usable(&self, now: Millis) -> bool {
        match &self.cur {
            Some(c) => c.expires_at.map_or(true, |e| {
                now.saturating_add(self.config.expiry_margin_ms) < e
            }),
            None => false,
        }
    }

    /// Make sure a refresh is under way for waiting requests: join the one
    /// running, or start one. `false` when none can run now.
    fn ensure_refresh(&mut self, now: Millis) -> bool {
        if self.flight != Flight::Idle {
            self.reactive = true;
            return true;
        }
        let blocked = self.idle || self.cooldown_until.is_some_and(|t| now < t);
        if blocked || !self.capable() {
            return false;
        }
        self.reactive = true;
        self.start_refresh();
        true
    }

    fn start_refresh(&mut self) {
        self.attempt += 1;
        self.flight = Flight::Running(self.attempt);
        self.refresh_at = None;
        let refresh_token = self.cur.as_ref().and_then(|c| c.refresh.clone());
        self.out.push_back(Output::StartRefresh {
            attempt: self.attempt,
            refresh_token,
        });
    }

    /// Forget any refresh under way (its result will be ignored as stale).
    fn reset_refresh(&mut self) {
        self.flight = Flight::Idle;
        self.reactive = false;
        self.failures = 0;
        self.cooldown_until = None;
    }

    /// A burst of attempts failed: reject the waiting, cool down.
    fn give_up(&mut self, now: Millis) {
        self.failures = 0;
        self.reactive = false;
        self.reject_queue(ErrorCode::RefreshFailed);
        let until = now.saturating_add(self.config.retry_cooldown_ms);
        self.cooldown_until = Some(until);
        self.refresh_at = if self.cur.is_some() && self.capable() {
            Some(until.max(now.saturating_add(self.config.min_refresh_interval_ms)))
        } else {
            None
        };
    }

    fn enqueue(&mut self, id: RequestId, now: Millis) {
        if self.queue.len() >= self.config.queue_limit {
            self.requests.remove(&id);
            self.out.push_back(Output::Reject {
                id,
                code: ErrorCode::QueueFull,
            });
            return;
        }
        if let Some(r) = self.requests.get_mut(&id) {
            let deadline = now.saturating_add(self.config.queue_timeout_ms);
            r.queued = true;
            self.queue.push_back((id, deadline));
        }
    }

    fn send(&mut self, id: RequestId) {
        if let Some(r) = self.requests.get_mut(&id) {
            r.sent_gen = self.generation;
            r.queued = false;
        }
        let token = self.cur.as_ref().map(|c| c.access.clone());
        self.out.push_back(Output::Send { id, token });
    }

    fn release_queue(&mut self) {
        while let Some((id, _)) = self.queue.pop_front() {
            self.send(id);
        }
    }

    fn reject_queue(&mut self, code: ErrorCode) {
        while let Some((id, _)) = self.queue.pop_front() {
            self.requests.remove(&id);
            self.out.push_back(Output::Reject { id, code });
        }
    }

    /// Build the token state from a login/refresh response.
    fn install(
        &mut self,
        t: TokenSet,
        keep_refresh: Option<Rc<str>>,
        now: Millis,
        started_at: Millis,
    ) -> (Current, Vec<&'static str>) {
        let mut warnings = Vec::new();
        let decoded = match jwt::decode(&t.access_token) {
            Ok(d) => Some(d),
            Err(JwtError::ExpInMilliseconds) => {
                warnings.push(warning::EXP_IN_MILLISECONDS);
                None
            }
            Err(JwtError::BadClaim { .. }) => {
                warnings.push(warning::TOKEN_CLAIMS_INVALID);
                None
            }
            Err(_) => None, // opaque token
        };
        let expiry = schedule::local_expiry(
            now,
            t.expires_in,
            decoded.as_ref().map(|d| &d.claims),
            self.config.max_skew_ms,
        );
        warnings.extend_from_slice(&expiry.warnings);
        self.generation += 1;
        let cur = Current {
            access: t.access_token.into(),
            // Rotation: a new refresh token replaces the old one; none given keeps it.
            refresh: t.refresh_token.map(Into::into).or(keep_refresh),
            expires_at: expiry.expires_at,
            received_at: now,
            started_at,
            decoded,
            refresh_dead: false,
            unproven: false,
            struck: false,
        };
        (cur, warnings)
    }

    /// After new tokens: persist (rotation first), tell the tabs, schedule,
    /// emit, then release the queue.
    fn tokens_changed(&mut self, now: Millis, from_tab: bool, mut warnings: Vec<&'static str>) {
        let (at, plan_warnings) = self.plan(now);
        if !from_tab {
            // From a tab only the remaining lifetime is known: no warnings.
            warnings.extend_from_slice(&plan_warnings);
        }
        self.refresh_at = at;
        let Some(stored) = self.stored() else { return };
        let expires_at = stored.expires_at;
        self.out.push_back(Output::Persist(Some(stored.clone())));
        if !from_tab {
            self.out
                .push_back(Output::Broadcast(TabMessage::Tokens(stored)));
        }
        self.warn_all(&warnings);
        self.out.push_back(Output::Emit(Event::Refreshed {
            expires_at,
            refresh_at: at,
            from_tab,
        }));
        self.release_queue();
    }

    /// The proactive refresh time for the current tokens, and warnings.
    fn plan(&mut self, now: Millis) -> (Option<Millis>, Vec<&'static str>) {
        let mut warnings = Vec::new();
        let Some((received_at, expires_at)) = self
            .cur
            .as_ref()
            .and_then(|c| Some((c.received_at, c.expires_at?)))
        else {
            return (None, warnings);
        };
        if !self.capable() {
            return (None, warnings);
        }
        let r = self.random();
        let c = &self.config;
        let p = schedule::plan_refresh(
            now,
            received_at,
            expires_at,
            c.lead_ms,
            c.jitter_ms,
            c.min_refresh_interval_ms,
            r,
        );
        if p.short_lifetime {
            warnings.push(warning::LEAD_EXCEEDS_LIFETIME);
        }
        if p.below_min_interval {
            warnings.push(warning::LIFETIME_BELOW_MIN_INTERVAL);
        }
        let beyond_max = self
            .cur
            .as_ref()
            .and_then(|c| self.max_session_end(c))
            .is_some_and(|end| p.refresh_at >= end);
        (if beyond_max { None } else { Some(p.refresh_at) }, warnings)
    }

    /// A token from the renew header: adopted only if it decodes and expires
    /// later than the current one.
    fn accept_renewed(&mut self, token: &str, now: Millis) {
        let Some(c) = &self.cur else { return };
        let Some(current) = c.expires_at else {
            self.warn(warning::RENEWED_TOKEN_IGNORED);
            return;
        };
        if *c.access == *token {
            return; // the same token echoed back
        }
        let decoded = jwt::decode(token).ok();
        let expiry = schedule::local_expiry(
            now,
            None,
            decoded.as_ref().map(|d| &d.claims),
            self.config.max_skew_ms,
        );
        match expiry.expires_at {
            Some(e) if e > current => {
                let (refresh, started_at, dead) = (c.refresh.clone(), c.started_at, c.refresh_dead);
                self.generation += 1;
                self.cur = Some(Current {
                    access: token.into(),
                    refresh,
                    expires_at: Some(e),
                    received_at: now,
                    started_at,
                    decoded,
                    refresh_dead: dead,
                    unproven: false,
                    struck: false,
                });
                self.tokens_changed(now, false, Vec::new());
            }
            _ => self.warn(warning::RENEWED_TOKEN_IGNORED),
        }
    }

    fn end_session(&mut self, reason: SessionEndReason, redirect: bool, broadcast: bool) {
        let code = if reason == SessionEndReason::Logout {
            ErrorCode::LoggedOut
        } else {
            ErrorCode::SessionExpired
        };
        self.reject_queue(code);
        if let Some(c) = self.cur.take() {
            self.ended_started = Some(c.started_at);
        }
        self.generation += 1;
        self.reset_refresh();
        self.reset_fresh();
        self.refresh_at = None;
        self.idle = false;
        self.ended = true;
        self.out.push_back(Output::Persist(None));
        if broadcast {
            self.out
                .push_back(Output::Broadcast(TabMessage::LoggedOut { reason }));
        }
        let event = if reason == SessionEndReason::Logout {
            Event::Logout
        } else {
            Event::SessionExpired { reason }
        };
        self.out.push_back(Output::Emit(event));
        self.out.push_back(Output::SessionOver { reason, redirect });
    }

    fn warn(&mut self, code: &'static str) {
        self.out.push_back(Output::Emit(Event::Warning { code }));
    }

    fn warn_all(&mut self, codes: &[&'static str]) {
        for code in codes {
            self.warn(code);
        }
    }

    /// splitmix64 → uniform in [0, 1).
    fn random(&mut self) -> f64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// FNV-1a 64 of both tokens (access, then refresh, each length-prefixed so
/// that no split of the bytes collides with another): identifies "which
/// tokens" for the cross-tab rotation marker without revealing them. A
/// rotation of the refresh token alone changes it.
pub fn fingerprint(access_token: &str, refresh_token: Option<&str>) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    eat(&(access_token.len() as u64).to_le_bytes());
    eat(access_token.as_bytes());
    match refresh_token {
        Some(r) => {
            eat(&[1]);
            eat(&(r.len() as u64).to_le_bytes());
            eat(r.as_bytes());
        }
        None => eat(&[0]),
    }
    h
}

/// Tokens read from storage or another tab within the size bound
/// ([`super::refresh::MAX_TOKEN_BYTES`]); larger ones are not adopted.
fn within_bounds(s: &StoredSession) -> bool {
    let max = super::refresh::MAX_TOKEN_BYTES;
    s.access_token.len() <= max && s.refresh_token.as_ref().map_or(true, |r| r.len() <= max)
}
