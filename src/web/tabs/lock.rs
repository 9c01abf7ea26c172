//! The cross-tab refresh lock.
//!
//! Preferred: an exclusive Web Lock (`navigator.locks.request`). The browser
//! releases a Web Lock when its holder's tab closes or crashes, so a dead tab
//! never blocks the others. A live but hung holder is handled by a timeout:
//! the request is aborted after `timeout_ms` and made again with
//! `{ steal: true }` (the holder is presumed gone). The timeout is chosen by
//! the caller longer than any legitimate refresh (`refresh.timeoutSeconds`
//! plus a margin), because stealing from a live holder means two refreshes
//! with one refresh token.
//!
//! Fallback when the Locks API is missing (old browsers, some embedded
//! webviews, opaque origins): a lease in `localStorage`,
//! `{"owner":<tab id>,"until":<epoch ms>}`, taken with compare-after-write —
//! write our lease, wait [`LEASE_SETTLE_MS`], read it back and own the lock
//! only if our write survived. A lease that is past `until` is free, so a
//! crashed holder blocks the others for at most `timeout_ms`. `localStorage`
//! is not transactional, so this is a best effort that prevents double
//! refreshes in practice (two tabs would have to write within the settle
//! window and both read back their own value). Without `localStorage` either,
//! there is no coordination: the refresh runs at once.
//!
//! Either way the lock is held by a [`Guard`] and released when it is dropped.
//!
//! A refresh attempt can be superseded while it waits for the lock or holds
//! it before its request (another tab's tokens arrived, a logout): its
//! caller's `auth.refresh()` then settles at once, and the lock must be
//! free by then — another tab may be waiting for it, and a test (or an app)
//! that looks at the lease after the promise settled must find it gone. So
//! the lock is taken into a [`Slot`] that the cross-tab module cancels
//! synchronously when the attempt is superseded ([`Slot::cancel`] drops the
//! guard, i.e. removes the lease at once); a cancelled slot also stops the
//! lease loop before it writes again. Only the attempt that goes on to its
//! refresh request takes the guard out of the slot ([`Slot::take`]): from
//! then on the lock is held until that request has ended, because the
//! request may rotate the refresh token.

use std::cell::RefCell;

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Promise, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::super::global::{
    global, global_get, local_storage, now_ms, object, promise_with_resolvers, prop,
};

#[wasm_bindgen]
extern "C" {
    /// A promise, for `.catch(f)` with a plain function.
    type Catchable;
    #[wasm_bindgen(method, catch, js_name = catch)]
    fn catch_with(this: &Catchable, on_rejected: &Function) -> Result<JsValue, JsValue>;
}

/// How long a lease writer waits before reading its lease back.
pub(crate) const LEASE_SETTLE_MS: u32 = 40;

/// How often a tab waiting for a lease looks again.
const LEASE_POLL_MS: u32 = 100;

/// Which mechanism provided the lock (reported for tests and diagnostics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A Web Lock, granted normally.
    WebLock,
    /// A Web Lock taken over with `steal` after the timeout.
    Stolen,
    /// The `localStorage` lease.
    Lease,
    /// No mechanism available: not coordinated.
    None,
}

/// A held lock; released on drop.
pub(crate) struct Guard {
    #[cfg_attr(not(test), allow(dead_code))]
    kind: Kind,
    release: Release,
}

enum Release {
    /// Resolves the promise the Web Lock callback returned.
    WebLock(Function),
    /// Removes the lease if it is still ours.
    Lease {
        storage: web_sys::Storage,
        key: String,
        owner: String,
    },
    Nothing,
}

impl Guard {
    /// How this lock was obtained.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        match &self.release {
            Release::WebLock(resolve) => {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
            Release::Lease {
                storage,
                key,
                owner,
            } => {
                if read_lease(storage, key).is_some_and(|(o, _)| o == *owner) {
                    let _ = storage.remove_item(key);
                }
            }
            Release::Nothing => {}
        }
    }
}

/// Where the lock of one refresh attempt is kept until the attempt either
/// goes on to its request ([`Slot::take`]) or is superseded
/// ([`Slot::cancel`]).
#[derive(Default)]
pub(crate) struct Slot(RefCell<SlotState>);

#[derive(Default)]
enum SlotState {
    #[default]
    Waiting,
    Held(Guard),
    Cancelled,
}

impl Slot {
    /// The attempt is superseded: stop acquiring, and hand back the guard
    /// if the lock is held (dropping it releases the lock).
    pub(crate) fn cancel(&self) -> Option<Guard> {
        match self.0.replace(SlotState::Cancelled) {
            SlotState::Held(guard) => Some(guard),
            _ => None,
        }
    }

    pub(crate) fn cancelled(&self) -> bool {
        matches!(*self.0.borrow(), SlotState::Cancelled)
    }

    /// The held guard, for the attempt that goes on to its request; `None`
    /// when not held or cancelled.
    pub(crate) fn take(&self) -> Option<Guard> {
        let mut state = self.0.borrow_mut();
        match std::mem::take(&mut *state) {
            SlotState::Held(guard) => Some(guard),
            other => {
                *state = other;
                None
            }
        }
    }

    /// Keeps `guard` here; `false` (and the lock released) when cancelled.
    fn hold(&self, guard: Guard) -> bool {
        let mut state = self.0.borrow_mut();
        if matches!(*state, SlotState::Cancelled) {
            drop(state);
            drop(guard);
            return false;
        }
        *state = SlotState::Held(guard);
        true
    }
}

/// Acquires the lock `name` (Web Lock) or, without the Locks API, the lease
/// under `lease_key` for tab `owner`. Waits up to `timeout_ms` for a holder,
/// then takes the lock over.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) async fn acquire(
    name: &str,
    lease_key: &str,
    owner: &str,
    timeout_ms: u32,
    use_web_locks: bool,
) -> Guard {
    let slot = Slot::default();
    acquire_into(name, lease_key, owner, timeout_ms, use_web_locks, &slot).await;
    slot.take().unwrap_or(Guard {
        kind: Kind::None,
        release: Release::Nothing,
    })
}

/// [`acquire`] into `slot`: `true` when the lock is held there, `false`
/// when the slot was cancelled first (nothing held).
pub(crate) async fn acquire_into(
    name: &str,
    lease_key: &str,
    owner: &str,
    timeout_ms: u32,
    use_web_locks: bool,
    slot: &Slot,
) -> bool {
    if use_web_locks {
        if let Some(locks) = global_get("navigator").and_then(|n| prop(&n, "locks")) {
            if let Some(guard) = web_lock(&locks, name, timeout_ms, false).await {
                return slot.hold(guard);
            }
            if slot.cancelled() {
                return false;
            }
            if let Some(guard) = web_lock(&locks, name, timeout_ms, true).await {
                return slot.hold(guard);
            }
        }
    }
    match local_storage() {
        Some(storage) => lease(storage, lease_key, owner, timeout_ms, slot).await,
        None => slot.hold(Guard {
            kind: Kind::None,
            release: Release::Nothing,
        }),
    }
}

/// Whether `navigator.locks` exists here.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) fn web_locks_available() -> bool {
    global_get("navigator")
        .and_then(|n| prop(&n, "locks"))
        .is_some()
}

/// Waits `ms` milliseconds (a `setTimeout`, so fake clocks apply).
pub(crate) async fn sleep(ms: u32) {
    let (promise, resolve, _) = promise_with_resolvers();
    let _timeout = Timeout::new(ms, move || {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    });
    let _ = JsFuture::from(promise).await;
}

/// Claims the Web Lock `name` if nobody holds it (`ifAvailable`) and keeps
/// it for `hold_ms`: `true` for the one caller (in the whole origin) that
/// got it. Used to elect the one manager that answers a `hello`: every
/// manager that hears it asks, the lock manager grants the first request
/// and refuses the others while it is held. Without the Locks API every
/// caller gets `true` (each answers, as before).
pub(crate) async fn claim(name: &str, hold_ms: u32) -> bool {
    let Some(locks) = global_get("navigator").and_then(|n| prop(&n, "locks")) else {
        return true;
    };
    let Some(request) = prop(&locks, "request").and_then(|f| f.dyn_into::<Function>().ok()) else {
        return true;
    };
    let (decided, decide, _) = promise_with_resolvers();
    let on_refusal = decide.clone();
    // The same closure shape as `web_lock`'s (no new glue in the wasm).
    let callback = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |lock: JsValue| {
        let got = !lock.is_null() && !lock.is_undefined();
        let _ = decide.call1(&JsValue::UNDEFINED, &JsValue::from_bool(got));
        if !got {
            return JsValue::UNDEFINED;
        }
        // Held until this promise resolves. A one-shot callback that frees
        // itself once called (a forgotten `Timeout` would leak its closure
        // for every hello answered).
        let (hold, release, _) = promise_with_resolvers();
        let fire = Closure::once_into_js(move || {
            let _ = release.call0(&JsValue::UNDEFINED);
        });
        let timer = global_get("setTimeout").and_then(|f| f.dyn_into::<Function>().ok());
        let armed = timer.is_some_and(|set_timeout| {
            set_timeout
                .call2(&global(), &fire, &JsValue::from(hold_ms))
                .is_ok()
        });
        if !armed {
            // No timer to end the hold: release at once rather than never.
            if let Some(fire) = fire.dyn_ref::<Function>() {
                let _ = fire.call0(&JsValue::UNDEFINED);
            }
        }
        hold.into()
    })
    .into_js_value();
    let options = object(&[
        ("mode", JsValue::from_str("exclusive")),
        ("ifAvailable", JsValue::TRUE),
    ]);
    let Ok(requested) = request.call3(&locks, &JsValue::from_str(name), &options, &callback) else {
        return true;
    };
    // A request the browser refuses (an opaque origin's `SecurityError`)
    // rejects without calling back: settle `decided` with the error, which
    // counts as "answer" below, as without the Locks API.
    if requested.is_instance_of::<Promise>() {
        let _ = requested
            .unchecked_ref::<Catchable>()
            .catch_with(&on_refusal);
    }
    JsFuture::from(decided)
        .await
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

/// One `navigator.locks.request`: `None` when it was aborted by the timeout
/// (or the API threw), the guard when granted. With `steal`, no timeout.
async fn web_lock(locks: &JsValue, name: &str, timeout_ms: u32, steal: bool) -> Option<Guard> {
    let request = prop(locks, "request")?.dyn_into::<Function>().ok()?;
    // The promise the callback returns: the lock is held until it resolves.
    let (hold, release, _) = promise_with_resolvers();
    let (granted, grant, _) = promise_with_resolvers();
    let hold_value: JsValue = hold.into();
    let callback = Closure::<dyn FnMut(JsValue) -> JsValue>::new(move |_lock: JsValue| {
        let _ = grant.call0(&JsValue::UNDEFINED);
        hold_value.clone()
    });
    let mut members = vec![("mode", JsValue::from_str("exclusive"))];
    let mut abort_timer = None;
    if steal {
        members.push(("steal", JsValue::TRUE));
    } else if let Ok(controller) = web_sys::AbortController::new() {
        members.push(("signal", controller.signal().into()));
        abort_timer = Some(Timeout::new(timeout_ms, move || controller.abort()));
    }
    let options = object(&members);
    let requested = request
        .call3(
            locks,
            &JsValue::from_str(name),
            &options,
            callback.as_ref().unchecked_ref(),
        )
        .ok()?
        .dyn_into::<Promise>()
        .ok()?;
    // `requested` settles only after release, or rejects when aborted first:
    // the race tells "granted" from "timed out" with no extra closure.
    let race = Promise::race(&Array::of2(&granted, &requested));
    let outcome = JsFuture::from(race).await;
    drop(abort_timer);
    match outcome {
        Ok(_) => {
            // Called exactly once by now; JS holds no other reference to it.
            drop(callback);
            Some(Guard {
                kind: if steal { Kind::Stolen } else { Kind::WebLock },
                release: Release::WebLock(release),
            })
        }
        Err(_) => {
            // Aborted before being granted: the callback will never run.
            drop(callback);
            None
        }
    }
}

/// The `localStorage` lease (see the module docs), kept in `slot` from the
/// moment it is written (so that a cancel during the settle wait removes it
/// at once); `false` when the slot was cancelled.
async fn lease(
    storage: web_sys::Storage,
    key: &str,
    owner: &str,
    timeout_ms: u32,
    slot: &Slot,
) -> bool {
    let started = now_ms();
    loop {
        if slot.cancelled() {
            return false;
        }
        let now = now_ms();
        let free = match read_lease(&storage, key) {
            None => true,
            Some((holder, until)) => holder == owner || until <= now,
        };
        let waited_too_long = now.saturating_sub(started) >= u64::from(timeout_ms);
        if free || waited_too_long {
            let until = now.saturating_add(u64::from(timeout_ms));
            if write_lease(&storage, key, owner, until) {
                let guard = Guard {
                    kind: Kind::Lease,
                    release: Release::Lease {
                        storage: storage.clone(),
                        key: key.into(),
                        owner: owner.into(),
                    },
                };
                if !slot.hold(guard) {
                    return false; // cancelled: the lease is already removed
                }
                sleep(LEASE_SETTLE_MS).await;
                if slot.cancelled() {
                    return false; // the cancel removed the lease
                }
                let ours = read_lease(&storage, key).is_some_and(|(o, _)| o == owner);
                if ours || waited_too_long {
                    return true;
                }
                // Another tab's write won: give the slot back without
                // touching its lease (a guard only removes its own).
                drop(slot.take());
            } else {
                // Storage refuses writes (quota, private mode): no coordination.
                return slot.hold(Guard {
                    kind: Kind::None,
                    release: Release::Nothing,
                });
            }
        }
        // Spread the retries so waiting tabs do not write in lockstep.
        let spread = (js_sys::Math::random() * 50.0) as u32;
        sleep(LEASE_POLL_MS + spread).await;
    }
}

/// The lease in storage, `None` when absent or unreadable (treated as free).
fn read_lease(storage: &web_sys::Storage, key: &str) -> Option<(String, u64)> {
    let text = storage.get_item(key).ok()??;
    let value = JSON::parse(&text).ok()?;
    let owner = prop(&value, "owner")?.as_string()?;
    let until = prop(&value, "until")?.as_f64()?;
    (until.is_finite() && until >= 0.0).then_some((owner, until as u64))
}

fn write_lease(storage: &web_sys::Storage, key: &str, owner: &str, until: u64) -> bool {
    let value = object(&[
        ("owner", JsValue::from_str(owner)),
        ("until", JsValue::from_f64(until as f64)),
    ]);
    let Some(text) = JSON::stringify(&value).ok().and_then(|t| t.as_string()) else {
        return false;
    };
    storage.set_item(key, &text).is_ok()
}
