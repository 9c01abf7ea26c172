//! The manager: owns one core [`Session`] and carries out its outputs.
//!
//! Every entry point follows the same shape: borrow the state, feed one
//! [`Input`] to the core, collect its outputs, release the borrow, then do the
//! I/O (fetch, storage, listeners, navigation). No `RefCell` borrow is ever
//! held across an `.await` or while application code runs, so listeners and
//! the injected `fetch` may call back into the manager.
//!
//! Hook points for the other browser modules (each is ONE function here):
//! - [`save_drafts`]: the session is over; runs before any output of that
//!   input is carried out, so drafts are saved before the tokens are cleared
//!   and before `sessionExpired` listeners (which may unmount the forms) run;
//! - [`drafts_and_redirect`]: after the `sessionExpired` listeners:
//!   `onSessionExpired`, then the login redirect;
//! - [`drafts_signed_in`]: new tokens are in place (`setSession`, a session
//!   resumed at start-up, tokens from another tab): drafts of that user are
//!   restored;
//! - [`broadcast`]: tell the other tabs (cross-tab module);
//! - [`run_refresh`]: the whole refresh path (the cross-tab module wraps it
//!   in a Web Lock).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Response;

use super::control;
use super::drafts::{self, Drafts};
use super::error::{config_error, core_error, token_error};
use super::events::{self, Emitter};
use super::fetch::{self, Captured};
use super::global::{now_ms, object, promise_with_resolvers, prop, random_seed, set};
use super::listen::{listen_all, Listener};
use super::options::{self, Transport, WebOptions};
use super::storage::Store;
use super::timer::Timer;
use super::transport;
use crate::core::idmap::IdMap;
use crate::core::refresh::{self, TokenInputError};
use crate::core::{
    Challenge, Config, Event, Input, Millis, Output, RequestId, Session, SessionEndReason,
    TabMessage,
};

/// The manager's state; `None` once disposed.
pub(crate) type Shared = Rc<RefCell<Option<Inner>>>;

/// Activity is reported to the core at most this often.
const ACTIVITY_THROTTLE_MS: Millis = 1_000;

/// Everything one manager holds.
pub(crate) struct Inner {
    pub(crate) session: Session,
    pub(crate) options: WebOptions,
    pub(crate) store: Store,
    pub(crate) timer: Timer,
    pub(crate) emitter: Emitter,
    /// Boxed: `IdMap` moves entries when it sweeps out removed ones and when
    /// it grows, and a box is 4 bytes.
    requests: IdMap<Box<Pending>>,
    next_request: RequestId,
    refresh_waiters: Vec<(Function, Function)>,
    /// DOM listeners (wake-ups, activity); removed when dropped.
    pub(crate) listeners: Vec<Listener>,
    last_activity: Millis,
    /// `idleTimeoutSeconds` is set: activity is reported to the core.
    idle_tracking: bool,
    /// Set while `logout({ redirect: true })` runs: the app asked for the
    /// login redirect explicitly, so it happens even with `redirect: false`.
    logout_redirect: bool,
    /// Cross-tab channel, lock settings and sleep detection (`tabs` module).
    pub(crate) tabs: Option<super::tabs::Tabs>,
    /// Form drafts; `None` with `drafts: false`. Cloned out of [`with`] and
    /// called after the borrow is released: restoring dispatches DOM events
    /// whose listeners may call back into the manager.
    drafts: Option<Drafts>,
    /// `Bearer <token>` as a JS string for the token it was made from (the
    /// core hands out the same `Rc` until the token changes), so a send does
    /// not copy the token out of wasm memory each time.
    bearer: Option<(Rc<str>, JsValue)>,
    /// What every send needs outside the borrow, shared (cloning an `Rc`
    /// is free; cloning a JS handle is a call into JS).
    sender: Rc<Sender>,
}

/// The injected `fetch` and the two callbacks every attempt's promise
/// settles into, bound to the request id per attempt (one pair per manager,
/// not two closures per request): `(id, value)`.
struct Sender {
    fetch: Function,
    on_response: Function,
    on_failure: Function,
    /// `(id, event)`: request `id`'s signal aborted ([`on_abort`]).
    on_abort: Function,
}

/// One `auth.fetch` call in flight.
struct Pending {
    captured: Captured,
    /// Takes part in refresh handling (not opted out with `tokenwarden`).
    refresh: bool,
    /// Its latest attempt carried the token. With `refresh`: `shouldRefresh`
    /// is asked about its response; a renewed token is only taken from such
    /// responses (whose final URL is allowed).
    carried: bool,
    resolve: Function,
    reject: Function,
    /// The response of the latest attempt, delivered on `Output::Deliver`.
    response: Option<Response>,
    /// Its signal's `abort` listener, removed when the request settles.
    abort: Option<super::abort::Watch>,
}

impl Drop for Inner {
    /// Whatever is still waiting when the manager goes away (dispose, or the
    /// app dropping it) is rejected with `disposed` instead of hanging.
    fn drop(&mut self) {
        let has_waiters = !self.requests.is_empty() || !self.refresh_waiters.is_empty();
        if !has_waiters {
            return;
        }
        let err = token_error("disposed", "the token manager was disposed");
        for pending in self.requests.drain_values() {
            settle(&pending.reject, &err);
        }
        for (_, reject) in self.refresh_waiters.drain(..) {
            settle(&reject, &err);
        }
    }
}

/// Runs `f` on the live state; `None` when disposed (or, defensively, when
/// the state is already borrowed).
pub(crate) fn with<R>(rc: &Shared, f: impl FnOnce(&mut Inner) -> R) -> Option<R> {
    let mut guard = rc.try_borrow_mut().ok()?;
    guard.as_mut().map(f)
}

fn settle(f: &Function, value: &JsValue) {
    let _ = f.call1(&JsValue::UNDEFINED, value);
}

/// Lets go of a response nobody will read (the 401 of a request that is
/// replayed or rejected): cancelling its unread body frees the connection at
/// once instead of whenever the garbage collector gets to it. A body someone
/// already reads (locked) is left alone, so the cancel promise cannot reject.
fn discard(response: Option<Response>) {
    if let Some(body) = response.and_then(|r| r.body()) {
        if !body.locked() {
            let _ = body.cancel();
        }
    }
}

fn disposed_error() -> JsValue {
    token_error("disposed", "the token manager was disposed")
}

/// Creates a manager from the JS options object (validated here, throwing
/// `TokenError` code `config`), resumes a stored session and installs the
/// wake-up and activity listeners.
pub(crate) fn create(options_value: &JsValue) -> Result<Shared, JsValue> {
    let (raw, options) = options::parse(options_value)?;
    let config = Config::from_raw(&raw).map_err(|e| config_error(e.option, e.reason))?;
    let drafts_config =
        drafts::options_from_js(&options.drafts).map_err(|e| config_error(e.option, e.reason))?;
    let idle_tracking = config.idle_timeout_ms > 0;
    let (mut store, open_warning) = Store::open(options.storage, &options.storage_key);
    let (stored, load_warning) = store.load();
    let inner = Inner {
        session: Session::new(config, random_seed()),
        options,
        store,
        timer: Timer::default(),
        emitter: Emitter::default(),
        requests: IdMap::new(),
        next_request: 1,
        refresh_waiters: Vec::new(),
        listeners: Vec::new(),
        last_activity: 0,
        idle_tracking,
        logout_redirect: false,
        tabs: None,
        drafts: None,
        bearer: None,
        sender: Rc::new(Sender {
            fetch: JsValue::UNDEFINED.unchecked_into(),
            on_response: JsValue::UNDEFINED.unchecked_into(),
            on_failure: JsValue::UNDEFINED.unchecked_into(),
            on_abort: JsValue::UNDEFINED.unchecked_into(),
        }),
    };
    let rc: Shared = Rc::new(RefCell::new(Some(inner)));
    let (on_response, on_failure) = attempt_callbacks(&rc);
    let on_abort = super::abort::callback(Rc::downgrade(&rc), on_abort);
    with(&rc, |inner| {
        inner.sender = Rc::new(Sender {
            fetch: inner.options.fetch.clone(),
            on_response,
            on_failure,
            on_abort,
        });
    });

    if let Some(config) = drafts_config {
        // Purges expired drafts and installs the submit/autosave listeners;
        // errors of background saves (autosave) become `error` events.
        let weak = Rc::downgrade(&rc);
        let on_error = move |code: &'static str| {
            if let Some(rc) = weak.upgrade() {
                emit_error(&rc, code);
            }
        };
        let d = Drafts::new(config, Box::new(on_error), now_ms());
        with(&rc, |inner| inner.drafts = Some(d));
    }

    let weak = Rc::downgrade(&rc);
    let wake = move || {
        if let Some(rc) = weak.upgrade() {
            feed(&rc, Input::Wake);
        }
    };
    let mut listeners = listen_all(
        &["pageshow", "focus", "online"],
        &["visibilitychange"],
        wake,
    );
    if idle_tracking {
        let weak = Rc::downgrade(&rc);
        let activity = move || {
            if let Some(rc) = weak.upgrade() {
                note_activity(&rc);
            }
        };
        listeners.extend(listen_all(
            &["pointerdown", "pointermove", "keydown"],
            &[],
            activity,
        ));
    }
    // Cross-tab (BroadcastChannel, `storage` events) installs its listeners here.
    with(&rc, |inner| inner.listeners = listeners);

    for code in [open_warning, load_warning].into_iter().flatten() {
        emit_warning(&rc, code);
    }
    if let Some(stored) = stored {
        // The core resumes it only if it can still be used (else it clears
        // storage); `drafts_signed_in` does nothing without a session.
        feed(&rc, Input::Restore(stored));
        drafts_signed_in(&rc);
    }
    // After the restore: a tab that starts without a session asks the others.
    super::tabs::install(&rc);
    Ok(rc)
}

/// Feeds one input, carries out the resulting outputs and re-arms the timer.
pub(crate) fn feed(rc: &Shared, input: Input) {
    let outputs = with(rc, |inner| {
        inner.session.handle(input, now_ms());
        // Room for the usual one or two outputs up front (growing an empty
        // Vec on the first push showed in the per-request profile).
        let mut outputs = Vec::with_capacity(4);
        while let Some(output) = inner.session.poll_output() {
            outputs.push(output);
        }
        outputs
    });
    let outputs = outputs.unwrap_or_default();
    // The session is over: drafts first, before the tokens are cleared and
    // before `sessionExpired` listeners run (they may unmount the forms).
    for output in &outputs {
        if let Output::SessionOver { reason, .. } = output {
            save_drafts(rc, *reason);
        }
    }
    // Sends go last: the injected `fetch` is application code and may call
    // back into the manager, which must find this input fully carried out.
    let mut sends = Vec::new();
    for output in outputs {
        match output {
            Output::Send { id, token } => sends.push((id, token)),
            other => execute(rc, other),
        }
    }
    settle_stale_waiters(rc);
    sync_timer(rc);
    for (id, token) in sends {
        send_request(rc, id, token);
    }
}

/// `auth.refresh()` callers still waiting while no refresh is under way
/// (none could start, or it ended without new tokens) are rejected, so a
/// manual refresh never hangs.
fn settle_stale_waiters(rc: &Shared) {
    let leftovers = with(rc, |inner| {
        if inner.refresh_waiters.is_empty() || inner.session.refreshing() {
            return None;
        }
        Some((
            std::mem::take(&mut inner.refresh_waiters),
            inner.session.access_token().is_some(),
        ))
    })
    .flatten();
    let Some((waiters, signed_in)) = leftovers else {
        return;
    };
    let error = if signed_in {
        token_error(
            "refresh_failed",
            "the refresh could not run or did not produce new tokens",
        )
    } else {
        token_error("no_session", "there is no session to refresh")
    };
    for (_, reject) in waiters {
        settle(&reject, &error);
    }
}

/// Arms the one timer for the core's next deadline.
fn sync_timer(rc: &Shared) {
    let weak = Rc::downgrade(rc);
    with(rc, |inner| {
        let deadline = inner.session.poll_timeout();
        inner.timer.sync(deadline, move || {
            if let Some(rc) = weak.upgrade() {
                timer_fired(&rc);
            }
        });
    });
}

fn timer_fired(rc: &Shared) {
    if with(rc, |inner| inner.timer.fired(now_ms())).unwrap_or(false) {
        feed(rc, Input::TimerFired);
    } else {
        sync_timer(rc); // a chained long delay, or the clock moved back
    }
}

/// Reports user activity (throttled) for the idle timeout.
pub(crate) fn note_activity(rc: &Shared) {
    let due = with(rc, |inner| {
        // Only the idle timeout reads activity (and `auth.fetch` calls this
        // on every request).
        if !inner.idle_tracking {
            return false;
        }
        let now = now_ms();
        let due = now.saturating_sub(inner.last_activity) >= ACTIVITY_THROTTLE_MS;
        if due {
            inner.last_activity = now;
        }
        due
    });
    if due == Some(true) {
        feed(rc, Input::UserActivity);
    }
}

/// Carries out one core output. Called without any borrow held.
fn execute(rc: &Shared, output: Output) {
    match output {
        Output::Send { id, token } => send_request(rc, id, token),
        Output::Deliver { id } => {
            if let Some(pending) = with(rc, |inner| inner.requests.remove(&id)).flatten() {
                match &pending.response {
                    Some(response) => settle(&pending.resolve, response),
                    None => settle(
                        &pending.reject,
                        &js_sys::TypeError::new("no response to deliver"),
                    ),
                }
            }
        }
        Output::Reject { id, code } => {
            if let Some(mut pending) = with(rc, |inner| inner.requests.remove(&id)).flatten() {
                discard(pending.response.take());
                settle(&pending.reject, &core_error(code));
            }
        }
        Output::StartRefresh {
            attempt,
            refresh_token,
        } => {
            wasm_bindgen_futures::spawn_local(run_refresh(rc.clone(), attempt, refresh_token));
        }
        Output::Persist(session) => {
            if let Some(Some(code)) = with(rc, |inner| inner.store.save(session.as_ref())) {
                emit_warning(rc, code);
            }
        }
        Output::Broadcast(message) => broadcast(rc, &message),
        Output::Emit(event) => {
            settle_refresh_waiters(rc, &event);
            let (name, payload) = events::payload(&event);
            let targets = with(rc, |inner| inner.emitter.targets(name)).unwrap_or_default();
            events::call_all(&targets, &payload);
            if let Event::Refreshed { .. } = event {
                drafts_signed_in(rc);
            }
        }
        Output::SessionOver { reason, redirect } => drafts_and_redirect(rc, reason, redirect),
    }
}

/// The callbacks of [`Sender::on_response`] / [`Sender::on_failure`]. Owned
/// by their JS functions (freed when garbage collected), holding only a weak
/// reference: a response that arrives after `dispose()` is ignored.
fn attempt_callbacks(rc: &Shared) -> (Function, Function) {
    let weak = Rc::downgrade(rc);
    let ok = Closure::<dyn FnMut(f64, JsValue)>::new(move |id: f64, value: JsValue| {
        if let Some(rc) = weak.upgrade() {
            match fetch::as_response(value) {
                Ok(response) => on_response(&rc, id as RequestId, response),
                Err(error) => on_failure(&rc, id as RequestId, error),
            }
        }
    });
    let weak = Rc::downgrade(rc);
    let failed = Closure::<dyn FnMut(f64, JsValue)>::new(move |id: f64, error: JsValue| {
        if let Some(rc) = weak.upgrade() {
            on_failure(&rc, id as RequestId, error);
        }
    });
    (
        ok.into_js_value().unchecked_into(),
        failed.into_js_value().unchecked_into(),
    )
}

/// Sends (or re-sends) request `id`; its promise settles into
/// [`on_response`] or [`on_failure`].
fn send_request(rc: &Shared, id: RequestId, token: Option<Rc<str>>) {
    let prepared = with(rc, |inner| {
        let bearer = match token {
            None => None,
            Some(token) => {
                let cached = matches!(&inner.bearer, Some((t, _)) if Rc::ptr_eq(t, &token));
                if !cached {
                    let mut text = String::with_capacity(token.len() + 7);
                    text.push_str("Bearer ");
                    text.push_str(&token);
                    inner.bearer = Some((token, JsValue::from_str(&text)));
                }
                inner.bearer.as_ref().map(|(_, value)| value)
            }
        };
        let pending = inner.requests.get_mut(&id)?;
        pending.carried = bearer.is_some();
        let args = fetch::prepare(&mut pending.captured, bearer);
        // A replay: the previous attempt's response (a 401) is not needed any more.
        Some((args, Rc::clone(&inner.sender), pending.response.take()))
    })
    .flatten();
    let Some((args, sender, previous)) = prepared else {
        return;
    };
    discard(previous);
    match args.and_then(|args| fetch::call(&sender.fetch, &args)) {
        Ok(promise) => {
            fetch::settle_into(&promise, &sender.on_response, &sender.on_failure, id as f64)
        }
        Err(error) => on_failure(rc, id, error),
    }
}

/// An attempt of request `id` got a response: report it to the core.
fn on_response(rc: &Shared, id: RequestId, response: Response) {
    let status = response.status();
    let challenge = if status == 401 {
        fetch::challenge(&response)
    } else {
        Challenge::Absent
    };
    let known = with(rc, |inner| {
        let pending = inner.requests.get_mut(&id)?;
        // Only a response whose final URL is on an origin that may see
        // tokens can renew one (`core::http::renewal_allowed`).
        let renewed = match &inner.options.renew_header {
            Some(name)
                if fetch::renewal_allowed(
                    &response,
                    pending.carried,
                    &inner.options.allowed_origins,
                ) =>
            {
                fetch::header(&response, name).filter(|t| !t.is_empty())
            }
            _ => None,
        };
        // `shouldRefresh` is asked about responses to requests that carried
        // the token and take part in refresh handling.
        let ask = match &inner.options.should_refresh {
            Some(f) if pending.refresh && pending.carried => {
                Some((f.clone(), JsValue::clone(&response).unchecked_into()))
            }
            _ => None,
        };
        pending.response = Some(response);
        Some((renewed, ask))
    })
    .flatten();
    if let Some((renewed_token, ask)) = known {
        let input = move |should_refresh| Input::Response {
            id,
            status,
            challenge,
            renewed_token,
            should_refresh,
        };
        match ask {
            Some((callback, response)) => control::ask_then_feed(rc, &callback, &response, input),
            None => feed(rc, input(None)),
        }
    }
}

/// An attempt of request `id` failed (a network error, an abort, a throwing
/// or odd `fetch`): the caller gets the error as `fetch` would give it.
fn on_failure(rc: &Shared, id: RequestId, error: JsValue) {
    if let Some(pending) = with(rc, |inner| inner.requests.remove(&id)).flatten() {
        settle(&pending.reject, &error);
        feed(rc, Input::RequestGone { id });
    }
}

/// Request `id`'s signal aborted (it may wait in the refresh queue, where
/// `fetch` cannot see it): reject at once with the signal's reason, as
/// `fetch` does, and tell the core, which drops it from the queue.
fn on_abort(rc: &Shared, id: RequestId) {
    if let Some(mut pending) = with(rc, |inner| inner.requests.remove(&id)).flatten() {
        let reason = pending.abort.take().map(|watch| watch.reason());
        discard(pending.response.take());
        settle(&pending.reject, &reason.unwrap_or(JsValue::UNDEFINED));
        feed(rc, Input::RequestGone { id });
    }
}

/// The whole refresh path for one attempt: under the cross-tab lock (Web
/// Lock / lease), re-check the shared state, then [`refresh_unlocked`].
pub(crate) async fn run_refresh(rc: Shared, attempt: u64, refresh_token: Option<Rc<str>>) {
    super::tabs::refresh_under_lock(rc, attempt, refresh_token).await;
}

/// Runs the transport for one attempt and reports the outcome to the core
/// (the `tabs` module calls it with the lock held).
pub(crate) async fn refresh_unlocked(rc: Shared, attempt: u64, refresh_token: Option<Rc<str>>) {
    let Some((transport, fetch_fn)) = with(&rc, |inner| {
        (inner.options.transport.clone(), inner.options.fetch.clone())
    }) else {
        return;
    };
    let outcome = transport::refresh(&transport, &fetch_fn, refresh_token.as_deref()).await;
    feed(&rc, outcome.into_input(attempt));
}

/// Tells the other tabs. Filled in by the cross-tab module (BroadcastChannel).
pub(crate) fn broadcast(rc: &Shared, message: &TabMessage) {
    super::tabs::broadcast(rc, message);
}

/// The session is over for good (called before its outputs are carried
/// out): save the matching forms as drafts of the user who was signed in.
/// An explicit `logout()` does not save (the user chose to leave; nothing of
/// theirs should stay behind) unless it asked for the login redirect; it
/// only stops autosave.
fn save_drafts(rc: &Shared, reason: SessionEndReason) {
    let Some(Some((d, save))) = with(rc, |inner| {
        let save = reason != SessionEndReason::Logout || inner.logout_redirect;
        inner.drafts.clone().map(|d| (d, save))
    }) else {
        return;
    };
    if !save {
        d.signed_out();
        return;
    }
    for code in d.session_over(now_ms()).errors {
        emit_error(rc, code);
    }
}

/// The session is over for good, drafts are saved and `sessionExpired`
/// listeners have run: call `onSessionExpired` (not for logouts), then, if
/// the core asks for it, the app allows it and the handler did not return
/// `false`, go to `loginUrl?<returnParam>=<current path>`. A `loginUrl` on
/// an origin the redirect may not go to is an `error` event, not a
/// navigation.
pub(crate) fn drafts_and_redirect(rc: &Shared, reason: SessionEndReason, redirect: bool) {
    let plan = with(rc, |inner| {
        let options = &inner.options;
        // The `redirect` option governs session ends (and logouts from other
        // tabs); an explicit `logout({ redirect: true })` always redirects.
        let explicit = reason == SessionEndReason::Logout && inner.logout_redirect;
        let wanted = redirect && (options.redirect || explicit);
        let target = match &options.login_url {
            Some(login_url) if wanted => Some(drafts::login_redirect_url(
                login_url,
                &options.return_param,
                &options.allowed_origins,
            )),
            _ => None,
        };
        let handler = match reason {
            SessionEndReason::Logout => None,
            _ => options.on_session_expired.clone(),
        };
        (target, handler)
    });
    let Some((target, handler)) = plan else {
        return; // disposed by a `sessionExpired` listener
    };
    let url = match target {
        Some(Ok(url)) => Some(url),
        Some(Err(code)) => {
            emit_error(rc, code);
            None
        }
        None => None,
    };
    if let Some(handler) = handler {
        let info = object(&[
            ("reason", JsValue::from_str(reason.as_str())),
            (
                "redirectUrl",
                url.as_deref().map_or(JsValue::NULL, JsValue::from_str),
            ),
        ]);
        match handler.call1(&JsValue::UNDEFINED, &info) {
            Ok(answer) if answer.as_bool() == Some(false) => return,
            Ok(_) => {}
            Err(thrown) => web_sys::console::error_1(&thrown),
        }
    }
    if let Some(url) = url {
        if let Err(code) = drafts::navigate(&url) {
            emit_error(rc, code);
        }
    }
}

/// New tokens are in place (`setSession`, a refresh, a session resumed at
/// start-up, tokens from another tab). The first time for a user (by the
/// access token's `sub`), drafts saved before a forced sign-out are
/// restored (`restore: "auto"`) and `draftsRestored` is emitted; later
/// calls for the same user do nothing, so a refresh never overwrites what
/// the user is typing.
fn drafts_signed_in(rc: &Shared) {
    // The session decoded the token when it arrived: read its `sub` there.
    let Some(Some((d, sub))) = with(rc, |inner| {
        inner.session.access_token()?;
        let sub = inner.session.claims().and_then(|c| c.sub.clone());
        Some((inner.drafts.clone()?, sub))
    }) else {
        return;
    };
    let restored = d.signed_in(sub.as_deref(), now_ms());
    if !restored.is_empty() {
        emit_kept(
            rc,
            "draftsRestored",
            drafts::restored_to_js(&restored).into(),
        );
    }
}

/// Emits an `error` event `{ code, message, error }` for a drafts or
/// redirect error code.
pub(crate) fn emit_error(rc: &Shared, code: &str) {
    let payload = events::error_payload(code, events::error_message(code));
    let targets = with(rc, |inner| inner.emitter.targets("error")).unwrap_or_default();
    events::call_all(&targets, &payload);
}

/// Emits an event that is kept for the first listener when nobody listens
/// yet (`warning`, `draftsRestored`: both can happen while the manager is
/// created, before the app could subscribe).
fn emit_kept(rc: &Shared, name: &'static str, payload: JsValue) {
    let targets = with(rc, |inner| {
        let targets = inner.emitter.targets(name);
        if targets.is_empty() {
            inner.emitter.keep(name, payload.clone());
        }
        targets
    })
    .unwrap_or_default();
    events::call_all(&targets, &payload);
}

/// Emits a `warning` event `{ code, message }` (the message looked up by code).
pub(crate) fn emit_warning(rc: &Shared, code: &str) {
    let message = events::warning_message(code);
    emit_kept(rc, "warning", events::warning_payload(code, message));
}

fn settle_refresh_waiters(rc: &Shared, event: &Event) {
    let outcome: Result<(), JsValue> = match event {
        Event::Refreshed { .. } => Ok(()),
        // A failed attempt that will be retried (backoff) keeps them waiting.
        Event::Error { .. } if with(rc, |inner| inner.session.refreshing()) != Some(false) => {
            return
        }
        Event::Error { code, detail } => Err(token_error(code.as_str(), detail)),
        Event::SessionExpired { .. } => Err(token_error("session_expired", "the session is over")),
        Event::Logout => Err(token_error("logged_out", "the user logged out")),
        Event::Warning {
            code: "refresh_token_rejected",
        } => Err(token_error(
            "refresh_failed",
            "the refresh token was rejected; the session ends when the access token expires",
        )),
        _ => return,
    };
    let waiters = with(rc, |inner| std::mem::take(&mut inner.refresh_waiters)).unwrap_or_default();
    for (resolve, reject) in waiters {
        match &outcome {
            Ok(()) => settle(&resolve, &JsValue::UNDEFINED),
            Err(error) => settle(&reject, error),
        }
    }
}

// ---- JS entry points (called from `super::TokenManager`) ----

/// `auth.setSession({ accessToken, refreshToken?, expiresIn? })`.
pub(crate) fn set_session(rc: &Shared, tokens: &JsValue) -> Result<(), JsValue> {
    let cookie_mode = with(rc, |inner| {
        matches!(
            inner.options.transport,
            Transport::Http {
                format: options::Format::Cookie,
                ..
            }
        )
    })
    .ok_or_else(disposed_error)?;
    // One validation for every token input (the core's): size bound,
    // header-safe characters, types; an opaque token without `expiresIn` is
    // accepted (warning `token_without_exp`). Cookie mode drops the refresh token.
    let raw = tokens.is_object().then(|| transport::raw_tokens(tokens));
    let tokens = raw
        .ok_or(TokenInputError::NotAnObject)
        .and_then(|raw| refresh::validate(raw, refresh::Source::SetSession, cookie_mode))
        .map_err(|e| {
            let err = token_error("invalid_token", e.message());
            set(&err, "reason", &JsValue::from_str(e.reason()));
            err
        })?;
    // Drafts are restored on the `refreshed` this emits (`drafts_signed_in`).
    feed(rc, Input::SetSession(tokens));
    Ok(())
}

/// `auth.fetch(input, init)`.
pub(crate) fn fetch(rc: &Shared, input: &JsValue, init: &JsValue) -> Promise {
    let (promise, resolve, reject) = promise_with_resolvers();
    if with(rc, |_| ()).is_none() {
        settle(&reject, &disposed_error());
        return promise;
    }
    // Outside any borrow: reading `init` may run app getters.
    let (control, init) = match control::take(init) {
        Ok(taken) => taken,
        Err(error) => {
            settle(&reject, &error);
            return promise;
        }
    };
    let mut captured = match fetch::capture(input, &init) {
        Ok(captured) => captured,
        Err(error) => {
            settle(&reject, &error);
            return promise;
        }
    };
    let signal = captured.signal();
    if let Some(reason) = super::abort::aborted(signal.as_ref()) {
        settle(&reject, &reason);
        return promise;
    }
    note_activity(rc);
    let started = with(rc, |inner| {
        // Resolved once, here (whatever the token decision): every attempt
        // goes to that absolute URL.
        let allowed = fetch::resolve(&mut captured, &inner.options.allowed_origins);
        let attach = control.auth && !captured.explicit_auth && allowed;
        let replayable = captured.replayable;
        let id = inner.next_request;
        inner.next_request += 1;
        let abort =
            signal.and_then(|s| super::abort::Watch::new(s, &inner.sender.on_abort, id as f64));
        inner.requests.insert(
            id,
            Box::new(Pending {
                captured,
                refresh: control.refresh,
                carried: false,
                resolve,
                reject: reject.clone(),
                response: None,
                abort,
            }),
        );
        (id, attach, replayable)
    });
    match started {
        Some((id, attach, replayable)) => feed(
            rc,
            Input::RequestStarted {
                id,
                attach,
                replayable,
                refresh: control.refresh,
            },
        ),
        None => settle(&reject, &disposed_error()),
    }
    promise
}

/// `auth.on(name, listener)`: returns the unsubscribe function.
pub(crate) fn on(rc: &Shared, name: &JsValue, listener: &JsValue) -> Result<Function, JsValue> {
    let name = name
        .as_string()
        .and_then(|n| Emitter::known(&n))
        .ok_or_else(|| {
            config_error(
                "event",
                "unknown event name (refreshed, expiring, sessionExpired, logout, error, warning, draftsRestored)",
            )
        })?;
    let listener: Function = listener
        .clone()
        .dyn_into()
        .map_err(|_| config_error("listener", "must be a function"))?;
    let (id, early) = with(rc, |inner| {
        let id = inner.emitter.add(name, listener.clone());
        (id, inner.emitter.take(name))
    })
    .ok_or_else(disposed_error)?;
    if !early.is_empty() {
        // Delivered after `on` returns, like any other event.
        wasm_bindgen_futures::spawn_local(async move {
            let _ =
                wasm_bindgen_futures::JsFuture::from(Promise::resolve(&JsValue::UNDEFINED)).await;
            for payload in &early {
                events::call_all(std::slice::from_ref(&listener), payload);
            }
        });
    }
    let weak = Rc::downgrade(rc);
    // Owned by the JS function (freed when it is garbage collected), so an
    // unsubscribe kept after dispose() is still safe to call.
    let off = Closure::<dyn FnMut()>::new(move || {
        if let Some(rc) = weak.upgrade() {
            with(&rc, |inner| inner.emitter.remove(id));
        }
    });
    Ok(off.into_js_value().unchecked_into())
}

/// `auth.refresh()`: resolves when new tokens are in place; rejects when the
/// refresh gives up (`refresh_failed`, after the retries), ends the session
/// (`session_expired`), cannot run (`no_session`/`refresh_failed`); joins a
/// refresh already in flight.
pub(crate) fn refresh(rc: &Shared) -> Promise {
    let (promise, resolve, reject) = promise_with_resolvers();
    if with(rc, |inner| {
        inner.refresh_waiters.push((resolve, reject.clone()))
    })
    .is_none()
    {
        settle(&reject, &disposed_error());
        return promise;
    }
    feed(rc, Input::RefreshRequested);
    promise
}

/// `auth.logout({ redirect? })`: clears the tokens (memory and storage).
pub(crate) fn logout(rc: &Shared, options: &JsValue) -> Promise {
    if with(rc, |_| ()).is_none() {
        return Promise::reject(&disposed_error());
    }
    let redirect = prop(options, "redirect")
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    with(rc, |inner| inner.logout_redirect = redirect);
    feed(rc, Input::Logout { redirect });
    with(rc, |inner| inner.logout_redirect = false);
    Promise::resolve(&JsValue::UNDEFINED)
}

/// The drafts of a live manager: `Ok(None)` with `drafts: false`.
fn drafts_of(rc: &Shared) -> Result<Option<Drafts>, JsValue> {
    with(rc, |inner| inner.drafts.clone()).ok_or_else(disposed_error)
}

/// `auth.drafts.list()`: the signed-in user's drafts (`[]` with `drafts: false`).
pub(crate) fn drafts_list(rc: &Shared) -> Result<js_sys::Array, JsValue> {
    Ok(drafts_of(rc)?.map_or_else(js_sys::Array::new, |d| d.list_js(now_ms())))
}

/// `auth.drafts.restore(key?)`: restore this page's drafts now.
pub(crate) fn drafts_restore(rc: &Shared, key: &JsValue) -> Result<js_sys::Array, JsValue> {
    let restored = drafts_of(rc)?.map_or_else(js_sys::Array::new, |d| d.restore_js(key, now_ms()));
    Ok(restored)
}

/// `auth.drafts.discard(key | form)`: how many drafts were removed. Anything
/// but a string or a `<form>` throws a `TypeError` (code
/// `drafts_discard_argument`).
pub(crate) fn drafts_discard(rc: &Shared, target: &JsValue) -> Result<u32, JsValue> {
    let Some(d) = drafts_of(rc)? else {
        return Ok(0);
    };
    d.discard(target).map_err(|code| {
        let err: JsValue = js_sys::TypeError::new(
            "auth.drafts.discard expects a draft key (string) or a <form> element",
        )
        .into();
        super::global::set(&err, "code", &JsValue::from_str(code));
        err
    })
}

/// `auth.dispose()`: stops timers and listeners, rejects what is waiting with
/// `disposed`, drops the state.
pub(crate) fn dispose(rc: &Shared) {
    let taken = rc.try_borrow_mut().ok().and_then(|mut guard| guard.take());
    drop(taken); // Inner's Drop rejects what is pending; Timer/Listener drops clear the rest.
}

/// `auth.accessToken`.
pub(crate) fn access_token(rc: &Shared) -> Option<String> {
    with(rc, |inner| inner.session.access_token().map(String::from)).flatten()
}

/// `auth.expiresAt` (epoch ms).
pub(crate) fn expires_at(rc: &Shared) -> Option<f64> {
    with(rc, |inner| inner.session.expires_at().map(|v| v as f64)).flatten()
}

/// `auth.refreshAt` (epoch ms).
pub(crate) fn refresh_at(rc: &Shared) -> Option<f64> {
    with(rc, |inner| inner.session.refresh_at().map(|v| v as f64)).flatten()
}

/// `auth.claims`: the access token's payload object, or `null`.
pub(crate) fn claims(rc: &Shared) -> JsValue {
    // The payload JSON the session kept when the token arrived (no decode);
    // for a JWT whose claims the session does not use (an `exp` in
    // milliseconds, a numeric `sub`), the payload as `decodeJwt` reads it.
    with(rc, |inner| {
        let session = &inner.session;
        let decoded = match session.payload_json() {
            Some(json) => Some(std::borrow::Cow::Borrowed(json)),
            None => session
                .access_token()
                .and_then(|t| crate::core::decode_part(t, crate::core::Part::Payload).ok())
                .map(std::borrow::Cow::Owned),
        };
        decoded.and_then(|json| JSON::parse(&json).ok())
    })
    .flatten()
    .unwrap_or(JsValue::NULL)
}

/// `auth.storage`: the storage mode in effect (`"memory"` after a fallback).
pub(crate) fn storage_mode(rc: &Shared) -> Option<&'static str> {
    with(rc, |inner| inner.store.mode().as_str())
}
