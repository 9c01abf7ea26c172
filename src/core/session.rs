//! The session state machine: tokens, the proactive refresh timer, the
//! single-flight refresh, the queue of requests waiting for it, backoff,
//! idle and absolute session limits, and cross-tab messages.
//!
//! CONTRACT (shared with `crate::web`): the types in this file are the
//! interface between the pure core and the browser layer. Change them only
//! together with the browser layer.

use std::rc::Rc;

use super::Millis;

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

/// The `error` parameter of a `WWW-Authenticate: Bearer` challenge that
/// matters to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerError {
    /// `invalid_token` or no error parameter: the token is expired/revoked.
    InvalidToken,
    /// `insufficient_scope`: a refresh will not help.
    InsufficientScope,
    /// Any other value (`invalid_request`, …): a refresh will not help.
    Other,
}

/// Inputs to [`Session::handle`]. Each comes with `now_ms`.
#[derive(Clone, Debug)]
pub enum Input {
    /// The app signed in (`auth.setSession`). Starts a new session.
    SetSession(TokenSet),
    /// Resume a session read from storage at start-up.
    Restore(StoredSession),
    /// `auth.fetch` was called. `attach`: the target origin may see the token.
    /// `replayable`: the body could be captured, so the request can be resent.
    RequestStarted {
        id: RequestId,
        attach: bool,
        replayable: bool,
    },
    /// A request sent by an [`Output::Send`] completed with an HTTP status.
    /// `bearer_error` is parsed from `WWW-Authenticate` on 401.
    /// `renewed_token` is the value of the configured renew header, if any.
    Response {
        id: RequestId,
        status: u16,
        bearer_error: Option<BearerError>,
        renewed_token: Option<String>,
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
    /// The deadline from [`Session::poll_timeout`] passed (or a timer fired early/late).
    TimerFired,
    /// Pointer/keyboard activity or an `auth.fetch` call (for the idle timeout).
    UserActivity,
    /// The tab became visible, came online, regained focus, or the wall clock
    /// jumped: re-check every deadline now.
    Wake,
    /// Another tab (or the shared state re-read under the refresh lock)
    /// carries tokens. Adopted only if they are newer than ours.
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

/// The state machine. See the module docs for the rules.
#[derive(Debug)]
pub struct Session {
    // Fields are private to the core; the implementation owns them.
    #[allow(dead_code)]
    config: super::Config,
    #[allow(dead_code)]
    rng: u64,
}

impl Session {
    /// A signed-out session. `seed` feeds the jitter/backoff PRNG (the browser
    /// layer seeds it from `crypto.getRandomValues`; tests pick a constant).
    pub fn new(config: super::Config, seed: u64) -> Self {
        Session { config, rng: seed }
    }

    /// Feed one input at `now_ms`.
    pub fn handle(&mut self, input: Input, now_ms: Millis) {
        let _ = (input, now_ms);
        unimplemented!("core engine: issue 8")
    }

    /// Next output, or `None` when drained.
    pub fn poll_output(&mut self) -> Option<Output> {
        None
    }

    /// When `Input::TimerFired` is next due (epoch ms), if anything is armed.
    pub fn poll_timeout(&self) -> Option<Millis> {
        None
    }

    /// The current access token, if signed in.
    pub fn access_token(&self) -> Option<&str> {
        None
    }

    /// Local expiry of the access token (epoch ms), if signed in.
    pub fn expires_at(&self) -> Option<Millis> {
        None
    }

    /// When the proactive refresh is scheduled (epoch ms), if it is.
    pub fn refresh_at(&self) -> Option<Millis> {
        None
    }

    /// The current session as it would be persisted / broadcast.
    pub fn stored(&self) -> Option<StoredSession> {
        None
    }

    /// Whether a refresh is in flight.
    pub fn refreshing(&self) -> bool {
        false
    }
}
