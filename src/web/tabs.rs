//! Across tabs and across sleep (issue 5): one refresh for all tabs of an
//! origin, shared tokens, logout sync, and wake-up after sleep.
//!
//! With refresh-token rotation and reuse detection (RFC 9700 §4.14), two tabs
//! refreshing with the same refresh token sign the user out everywhere. So,
//! with `crossTab: true` (the default):
//!
//! - **One refresh.** Every refresh runs under the exclusive lock
//!   `tokenwarden:refresh:<storageKey>` ([`lock`]: a Web Lock, or a
//!   `localStorage` lease where the Locks API is missing). Once the lock is
//!   held the shared state is read again: if another tab rotated the tokens
//!   while this one waited, those tokens are adopted and no request is made.
//! - **Shared tokens.** New tokens (refresh, sign-in, renew header) go to the
//!   other tabs on the `BroadcastChannel` `tokenwarden:<storageKey>`, rotated
//!   refresh token included (the channel is same-origin), so every tab can
//!   refresh next time and each reschedules from them ([`message`]).
//! - **Memory mode across tabs.** A tab that starts without a session posts
//!   `hello`; one tab with a session answers with `session` (elected with a
//!   Web Lock, [`answer_hello`]), so the traffic grows linearly with the
//!   tabs. Tokens adopted from a message are never posted again.
//! - **Logout sync.** A session that ends in one tab (logout, rejection,
//!   expiry) ends in all of them; each saves its own drafts.
//! - **Sleep.** Besides the `visibilitychange`/`pageshow`/`online`/`focus`
//!   listeners of the manager, a periodic check compares wall-clock and
//!   monotonic time and feeds `Wake` when the clock jumped or the tab slept,
//!   so an overdue refresh runs at once — under the lock, like any other.
//!
//! "The shared state" re-read under the lock is the storage entry in `local`
//! mode. In `memory`/`session` mode there is no shared copy of the tokens,
//! so the tab that produces new tokens also writes a non-secret *rotation
//! marker* to `localStorage` (`<storageKey>:rotation`, a 64-bit fingerprint
//! of the newest access *and* refresh token, never the tokens). A tab that
//! holds the lock but finds that its tokens are not the newest ones does
//! not refresh: it asks the other tabs (`hello`) and waits briefly for the
//! tokens, which are normally already on their way. Both checks cover a
//! refresh token rotated alone (a 2xx without a usable access token): the
//! tab adopts it and its refresh sends that one, never its used-up one.
//!
//! ```js
//! // Two tabs of one origin, same options:
//! const auth = createTokenManager({ refresh: { url: "/auth/refresh" }, crossTab: true });
//! // tab 1 refreshes → tab 2 gets `refreshed` with { fromTab: true }
//! // tab 1 auth.logout() → tab 2 gets `logout`
//! ```

mod lock;
mod message;
#[cfg(test)]
mod tests;

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Interval;
use js_sys::Function;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BroadcastChannel, MessageEvent};

use super::global::{global_get, local_storage, now_ms, prop, random_seed};
use super::manager::{self, with, Shared};
use super::options::{StorageMode, Transport};
use crate::core::session::fingerprint;
use crate::core::{Input, StoredSession, TabMessage};
use message::Message;

/// Warning code: something on the channel was not a valid tokenwarden message.
pub(crate) const TAB_MESSAGE_INVALID: &str = "tab_message_invalid";

/// Wall clock vs monotonic clock is compared this often.
const CLOCK_CHECK_MS: u32 = 5_000;

/// A difference (or a late tick) beyond this counts as a jump or a sleep.
const CLOCK_JUMP_MS: f64 = 2_000.0;

/// Lock timeout when the refresh itself has none (custom function, or
/// `refresh.timeoutSeconds: 0`).
const LOCK_TIMEOUT_NO_REFRESH_TIMEOUT_MS: u32 = 60_000;

/// Added to `refresh.timeoutSeconds` for the lock timeout: a live holder's
/// refresh always ends (aborted at its own timeout) before the lock is stolen.
const LOCK_TIMEOUT_MARGIN_MS: u32 = 5_000;

/// How long a tab whose tokens are not the newest waits for them (see the
/// module docs) before refreshing anyway.
const STALE_WAIT_MS: u32 = 2_000;

/// How often that wait looks at the core.
const STALE_POLL_MS: u32 = 25;

/// How long the manager elected to answer a `hello` keeps the election lock:
/// every manager hears the `hello` within this time (a repeated `hello` of
/// the same tab within it gets no answer: a joining tab then starts signed
/// out, a tab with stale tokens refreshes after its wait).
const HELLO_CLAIM_MS: u32 = 2_000;

/// The cross-tab state of one manager; everything is released on drop.
pub(crate) struct Tabs {
    /// This manager's id on the channel (random, per manager).
    id: String,
    channel: Option<BroadcastChannel>,
    /// Keeps the `onmessage` handler alive while the channel is open.
    _on_message: Option<Closure<dyn FnMut(MessageEvent)>>,
    /// Detects clock jumps and sleep; stopped on drop.
    _clock_watch: Interval,
    lock_name: String,
    lease_key: String,
    marker_key: String,
    /// `tokenwarden:hello:<storageKey>:`, to which a `hello`'s sender id is
    /// appended for the answer election ([`answer_hello`]).
    hello_lock_prefix: String,
    lock_timeout_ms: u32,
    /// The refresh attempt waiting for the lock (or holding it before its
    /// request), with the slot its lock goes into: cancelled at once when
    /// the attempt is superseded ([`release_superseded`]).
    acquiring: Option<(u64, Rc<lock::Slot>)>,
}

impl Drop for Tabs {
    fn drop(&mut self) {
        if let Some(channel) = &self.channel {
            channel.set_onmessage(None);
            channel.close();
        }
    }
}

/// `a` + `b`, without `format!`.
fn join(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    s
}

/// Lower-case hex of a `u64`, 16 digits.
fn hex(mut n: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'0'; 16];
    for slot in out.iter_mut().rev() {
        *slot = DIGITS.get((n & 0xf) as usize).copied().unwrap_or(b'0');
        n >>= 4;
    }
    out.iter().map(|&b| b as char).collect()
}

/// Sets up cross-tab coordination and sleep detection for a new manager
/// (called once from `manager::create`, after a stored session was restored).
pub(crate) fn install(rc: &Shared) {
    let Some((key, cross_tab, timeout)) = with(rc, |inner| {
        let timeout = match &inner.options.transport {
            Transport::Http { timeout_ms, .. } if *timeout_ms > 0 => {
                timeout_ms.saturating_add(LOCK_TIMEOUT_MARGIN_MS)
            }
            _ => LOCK_TIMEOUT_NO_REFRESH_TIMEOUT_MS,
        };
        (
            inner.options.storage_key.clone(),
            inner.options.cross_tab,
            timeout,
        )
    }) else {
        return;
    };
    let weak = Rc::downgrade(rc);
    let mut tabs = Tabs {
        id: hex(random_seed()),
        channel: None,
        _on_message: None,
        _clock_watch: clock_watch(weak.clone()),
        lock_name: join("tokenwarden:refresh:", &key),
        lease_key: join(&key, ":refresh-lease"),
        marker_key: join(&key, ":rotation"),
        hello_lock_prefix: join(&join("tokenwarden:hello:", &key), ":"),
        lock_timeout_ms: timeout,
        acquiring: None,
    };
    if cross_tab {
        if let Ok(channel) = BroadcastChannel::new(&join("tokenwarden:", &key)) {
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                if let Some(rc) = weak.upgrade() {
                    received(&rc, &event.data());
                }
            });
            channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            tabs.channel = Some(channel);
            tabs._on_message = Some(on_message);
        }
    }
    let hello = with(rc, |inner| {
        let signed_in = inner.session.is_signed_in();
        let hello = cross_tab && !signed_in;
        let id = tabs.id.clone();
        inner.tabs = Some(tabs);
        hello.then_some(id)
    })
    .flatten();
    if let Some(from) = hello {
        post(rc, &Message::Hello { from });
    }
}

/// `Output::Broadcast`: tell the other tabs (and keep the rotation marker).
pub(crate) fn broadcast(rc: &Shared, message: &TabMessage) {
    let Some(Some((id, marker_key, mode))) = with(rc, |inner| {
        let t = inner.tabs.as_ref().filter(|_| inner.options.cross_tab)?;
        Some((t.id.clone(), t.marker_key.clone(), inner.store.mode()))
    }) else {
        return;
    };
    let message = match message {
        TabMessage::Tokens(session) => {
            if mode != StorageMode::Local {
                write_marker(&marker_key, session);
            }
            Message::Tokens {
                from: id,
                session: session.clone(),
            }
        }
        TabMessage::LoggedOut { reason } => {
            if let Some(storage) = local_storage() {
                let _ = storage.remove_item(&marker_key);
            }
            Message::Logout {
                from: id,
                reason: *reason,
            }
        }
    };
    post(rc, &message);
    // New tokens or a session end here supersede a refresh waiting for the
    // lock: release it before the `refreshed`/`logout` that follows
    // settles the waiting `auth.refresh()` calls.
    release_superseded(rc);
}

/// A refresh attempt that waits for the lock, or holds it without having
/// sent its request, and is no longer the core's refresh (tokens from
/// another tab, a logout): its lock is released now, synchronously — before
/// the promises that the superseding input settles can run their callbacks.
fn release_superseded(rc: &Shared) {
    let superseded = with(rc, |inner| {
        let current = inner.session.refresh_attempt();
        let tabs = inner.tabs.as_mut()?;
        match &tabs.acquiring {
            Some((attempt, _)) if Some(*attempt) != current => {
                tabs.acquiring.take().map(|(_, slot)| slot)
            }
            _ => None,
        }
    })
    .flatten();
    if let Some(slot) = superseded {
        drop(slot.cancel());
    }
}

/// Runs the refresh for `attempt` under the cross-tab lock (or directly when
/// `crossTab` is off), skipping the network when another tab already did it.
pub(crate) async fn refresh_under_lock(rc: Shared, attempt: u64, refresh_token: Option<Rc<str>>) {
    let plan = with(&rc, |inner| {
        let t = inner.tabs.as_ref().filter(|_| inner.options.cross_tab)?;
        Some((
            t.lock_name.clone(),
            t.lease_key.clone(),
            t.id.clone(),
            t.lock_timeout_ms,
        ))
    })
    .flatten();
    let Some((name, lease_key, id, timeout)) = plan else {
        manager::refresh_unlocked(rc, attempt, refresh_token).await;
        return;
    };
    let slot = Rc::new(lock::Slot::default());
    with(&rc, |inner| {
        if let Some(tabs) = inner.tabs.as_mut() {
            tabs.acquiring = Some((attempt, Rc::clone(&slot)));
        }
    });
    // Web Locks when the browser has them (the lock tests choose the lease).
    let held = lock::acquire_into(&name, &lease_key, &id, timeout, true, &slot).await;
    let guard = if held {
        // Let channel messages that are already queued (a broadcast from the
        // previous holder) run before looking at the state.
        lock::sleep(0).await;
        let needed = still_needed(&rc, attempt).await;
        // Superseded meanwhile: the slot was cancelled and the lock released.
        slot.take().filter(|_| needed)
    } else {
        None
    };
    with(&rc, |inner| {
        if let Some(tabs) = inner.tabs.as_mut() {
            if tabs.acquiring.as_ref().is_some_and(|(a, _)| *a == attempt) {
                tabs.acquiring = None;
            }
        }
    });
    // Not needed after all (another tab's tokens were adopted): release now.
    drop(slot.cancel());
    if let Some(guard) = guard {
        // The refresh token is the core's current one, not the one named at
        // `StartRefresh`: another tab may have rotated it meanwhile (a 2xx
        // there without a usable access token) and the old one is used up.
        let refresh_token =
            with(&rc, |inner| inner.session.refresh_token_for(attempt)).unwrap_or(refresh_token);
        manager::refresh_unlocked(rc, attempt, refresh_token).await;
        // New tokens were persisted and broadcast inside `refresh_unlocked`
        // (rotation first), so the next holder finds them.
        drop(guard);
    }
}

/// Under the lock: is this attempt still the core's refresh, and are our
/// tokens still the newest? Adopts newer shared tokens when it finds them —
/// the core decides what is newer ([`crate::core::Session::adopts`],
/// [`crate::core::Session::behind_marker`]): a new access token, or ours
/// with a refresh token rotated elsewhere.
async fn still_needed(rc: &Shared, attempt: u64) -> bool {
    let current = || with(rc, |i| i.session.refresh_attempt() == Some(attempt)).unwrap_or(false);
    if !current() {
        return false; // superseded while waiting (tokens or logout from a tab)
    }
    enum SharedState {
        Stored(StoredSession),
        /// Our id and the marker key.
        Stale(String, String),
        Fine,
    }
    let found = with(rc, |inner| {
        let Some(tabs) = inner.tabs.as_ref() else {
            return SharedState::Fine;
        };
        if inner.store.mode() == StorageMode::Local {
            let (stored, _) = inner.store.load();
            return match stored {
                Some(s) if inner.session.adopts(&s) => SharedState::Stored(s),
                _ => SharedState::Fine,
            };
        }
        if inner.session.behind_marker(read_marker(&tabs.marker_key)) {
            SharedState::Stale(tabs.id.clone(), tabs.marker_key.clone())
        } else {
            SharedState::Fine
        }
    })
    .unwrap_or(SharedState::Fine);
    match found {
        SharedState::Fine => {}
        SharedState::Stored(session) => adopt(rc, session),
        SharedState::Stale(from, marker_key) => {
            // Another tab rotated; its broadcast is normally already here or
            // on its way. Ask explicitly too, in case it was lost. Waits
            // until the newest tokens are here: new access tokens supersede
            // this attempt, a refresh token rotated alone makes us current
            // (the attempt then runs with it).
            post(rc, &Message::Hello { from });
            let behind =
                || with(rc, |i| i.session.behind_marker(read_marker(&marker_key))).unwrap_or(false);
            let mut waited = 0;
            while current() && behind() && waited < STALE_WAIT_MS {
                lock::sleep(STALE_POLL_MS).await;
                waited += STALE_POLL_MS;
            }
        }
    }
    current()
}

/// A message arrived on the channel.
fn received(rc: &Shared, data: &JsValue) {
    let message = match Message::decode(data) {
        Ok(m) => m,
        Err(_) => {
            manager::emit_warning(rc, TAB_MESSAGE_INVALID);
            return;
        }
    };
    let Some(Some(id)) = with(rc, |inner| Some(inner.tabs.as_ref()?.id.clone())) else {
        return;
    };
    if message.from() == id {
        return;
    }
    match message {
        // The core refuses tokens of a session that ended (logout race).
        Message::Tokens { session, .. } => adopt(rc, session),
        Message::Session { to, session, .. } if to == id => adopt(rc, session),
        Message::Session { .. } => {}
        Message::Logout { reason, .. } => {
            manager::feed(rc, Input::FromTab(TabMessage::LoggedOut { reason }));
            release_superseded(rc);
        }
        Message::Hello { from } => answer_hello(rc, id, from),
    }
}

/// A `hello` from tab `to`: one signed-in manager answers with the session,
/// not all of them (with `n` managers on a key, `n` answers to each of `n`
/// joining managers made the traffic grow with `n²`). The one that answers
/// is the one that claims the Web Lock `tokenwarden:hello:<storageKey>:<to>`
/// first ([`lock::claim`], held [`HELLO_CLAIM_MS`]); without Web Locks every
/// signed-in manager answers, as before.
fn answer_hello(rc: &Shared, id: String, to: String) {
    let claim = with(rc, |inner| {
        if !inner.session.is_signed_in() {
            return None;
        }
        let tabs = inner.tabs.as_ref()?;
        let mut name = join(&tabs.hello_lock_prefix, &to);
        name.shrink_to_fit();
        Some(name)
    })
    .flatten();
    let Some(name) = claim else { return };
    let weak = Rc::downgrade(rc);
    wasm_bindgen_futures::spawn_local(async move {
        if !lock::claim(&name, HELLO_CLAIM_MS).await {
            return; // another manager answers
        }
        let Some(rc) = weak.upgrade() else { return };
        // Read now: the session may have changed while the claim was made.
        if let Some(session) = with(&rc, |inner| inner.session.stored()).flatten() {
            post(
                &rc,
                &Message::Session {
                    from: id,
                    to,
                    session,
                },
            );
        }
    });
}

/// Feeds tokens from another tab (or the shared state); the core adopts
/// them only if they are newer and not of a session that ended.
fn adopt(rc: &Shared, session: StoredSession) {
    manager::feed(rc, Input::FromTab(TabMessage::Tokens(session)));
    release_superseded(rc);
}

/// Posts a message on this manager's channel (no-op without one).
fn post(rc: &Shared, message: &Message) {
    let channel = with(rc, |inner| inner.tabs.as_ref()?.channel.clone()).flatten();
    if let Some(channel) = channel {
        // Throws only when the channel is closed (disposed meanwhile).
        let _ = channel.post_message(&message.encode());
    }
}

/// Records that the origin's newest tokens are `session`'s (a fingerprint
/// of both tokens, never the tokens).
fn write_marker(key: &str, session: &StoredSession) {
    if let Some(storage) = local_storage() {
        let fp = fingerprint(&session.access_token, session.refresh_token.as_deref());
        let _ = storage.set_item(key, &hex(fp));
    }
}

/// The fingerprint of the origin's newest tokens, if a tab recorded one.
fn read_marker(key: &str) -> Option<u64> {
    let value = local_storage()?.get_item(key).ok().flatten()?;
    if value.len() != 16 {
        return None;
    }
    u64::from_str_radix(&value, 16).ok()
}

/// The periodic wall-clock check: feeds `Wake` when `Date.now()` moved
/// differently from `performance.now()` (sleep, clock change) or when the
/// tick itself came late (a throttled or frozen tab).
fn clock_watch(weak: Weak<RefCell<Option<manager::Inner>>>) -> Interval {
    let performance = global_get("performance");
    let now_fn = performance
        .as_ref()
        .and_then(|p| prop(p, "now"))
        .and_then(|f| f.dyn_into::<Function>().ok());
    let mono = move || -> Option<f64> {
        let v = now_fn
            .as_ref()?
            .call0(performance.as_ref()?)
            .ok()?
            .as_f64()?;
        v.is_finite().then_some(v)
    };
    let last_wall = Cell::new(now_ms());
    let last_mono = Cell::new(mono());
    Interval::new(CLOCK_CHECK_MS, move || {
        let wall = now_ms();
        let wall_delta = wall as f64 - last_wall.replace(wall) as f64;
        let mono_now = mono();
        let jumped = match (mono_now, last_mono.replace(mono_now)) {
            (Some(m), Some(before)) => (wall_delta - (m - before)).abs() > CLOCK_JUMP_MS,
            _ => false,
        };
        let late = wall_delta > f64::from(CLOCK_CHECK_MS) + CLOCK_JUMP_MS;
        if jumped || late {
            if let Some(rc) = weak.upgrade() {
                manager::feed(&rc, Input::Wake);
            }
        }
    })
}
