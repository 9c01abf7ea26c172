//! `auth.on(name, listener)`: the event emitter and the payloads of each event.
//!
//! Events and payloads (documented in the README):
//! - `refreshed` `{ expiresAt, refreshAt, fromTab }`
//! - `expiring` `{ expiresAt }`
//! - `sessionExpired` `{ reason }` (`refresh_rejected`, `idle`, `max_session`, `expired`, `logout`)
//! - `logout` `{}`
//! - `error` `{ code, message, error }` (`error` is a `TokenError`)
//! - `warning` `{ code, message }`
//! - `draftsRestored` `[{ key, url, savedAt, expiresAt, fields, form }]` (drafts module)
//!
//! Listeners are called without any borrow of the manager held, so they may
//! call back into it. A listener that throws is reported with
//! `console.error` and does not stop the others. Warnings emitted before
//! anyone listens for `warning` (storage failures at start-up) are kept (a
//! few) and delivered to the first `warning` listener.

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::error::{code_str, token_error};
use super::global::object;
use crate::core::{Event, SessionEndReason};

/// The event names `auth.on` accepts.
pub(crate) const EVENT_NAMES: &[&str] = &[
    "refreshed",
    "expiring",
    "sessionExpired",
    "logout",
    "error",
    "warning",
    // Emitted by the drafts module after sign-in.
    "draftsRestored",
];

/// Most warnings kept while nobody listens.
const MAX_EARLY_WARNINGS: usize = 8;

/// Registered listeners of one manager.
#[derive(Default)]
pub(crate) struct Emitter {
    next_id: u32,
    listeners: Vec<(u32, &'static str, Function)>,
    early_warnings: Vec<JsValue>,
}

impl Emitter {
    /// The `&'static` name for a user-given event name, if it is one.
    pub(crate) fn known(name: &str) -> Option<&'static str> {
        EVENT_NAMES.iter().copied().find(|n| *n == name)
    }

    /// Adds a listener; returns its id for [`Emitter::remove`].
    pub(crate) fn add(&mut self, name: &'static str, listener: Function) -> u32 {
        self.next_id = self.next_id.wrapping_add(1);
        self.listeners.push((self.next_id, name, listener));
        self.next_id
    }

    /// Removes a listener (no-op when already removed).
    pub(crate) fn remove(&mut self, id: u32) {
        self.listeners.retain(|(i, _, _)| *i != id);
    }

    /// The listeners for `name`, to be called after the borrow is released.
    pub(crate) fn targets(&self, name: &str) -> Vec<Function> {
        self.listeners
            .iter()
            .filter(|(_, n, _)| *n == name)
            .map(|(_, _, f)| f.clone())
            .collect()
    }

    /// Keeps a warning for the first `warning` listener.
    pub(crate) fn keep_warning(&mut self, payload: JsValue) {
        if self.early_warnings.len() < MAX_EARLY_WARNINGS {
            self.early_warnings.push(payload);
        }
    }

    /// Takes the kept warnings.
    pub(crate) fn take_warnings(&mut self) -> Vec<JsValue> {
        std::mem::take(&mut self.early_warnings)
    }
}

/// Calls each listener with `payload`; exceptions go to `console.error`.
pub(crate) fn call_all(listeners: &[Function], payload: &JsValue) {
    for listener in listeners {
        if let Err(thrown) = listener.call1(&JsValue::UNDEFINED, payload) {
            web_sys::console::error_1(&thrown);
        }
    }
}

/// The stable string for a session end reason.
pub(crate) fn reason_str(reason: SessionEndReason) -> &'static str {
    match reason {
        SessionEndReason::RefreshRejected => "refresh_rejected",
        SessionEndReason::Idle => "idle",
        SessionEndReason::MaxSession => "max_session",
        SessionEndReason::Expired => "expired",
        SessionEndReason::Logout => "logout",
    }
}

/// A `warning` payload.
pub(crate) fn warning_payload(code: &str, message: &str) -> JsValue {
    object(&[
        ("code", JsValue::from_str(code)),
        ("message", JsValue::from_str(message)),
    ])
}

/// A human message for the browser layer's warning codes and the core's.
pub(crate) fn warning_message(code: &str) -> &'static str {
    match code {
        "storage_unavailable" => {
            "web storage is unavailable or full; tokens are kept in memory only"
        }
        "storage_corrupt" => "the stored session could not be read and was removed",
        _ => "see the warning code in the documentation",
    }
}

/// The event name and payload for a core event.
pub(crate) fn payload(event: &Event) -> (&'static str, JsValue) {
    let ms = |v: u64| JsValue::from_f64(v as f64);
    match event {
        Event::Refreshed {
            expires_at,
            refresh_at,
            from_tab,
        } => (
            "refreshed",
            object(&[
                ("expiresAt", ms(*expires_at)),
                ("refreshAt", refresh_at.map_or(JsValue::NULL, ms)),
                ("fromTab", JsValue::from_bool(*from_tab)),
            ]),
        ),
        Event::Expiring { expires_at } => ("expiring", object(&[("expiresAt", ms(*expires_at))])),
        Event::SessionExpired { reason } => (
            "sessionExpired",
            object(&[("reason", JsValue::from_str(reason_str(*reason)))]),
        ),
        Event::Logout => ("logout", object(&[])),
        Event::Error { code, detail } => (
            "error",
            object(&[
                ("code", JsValue::from_str(code_str(*code))),
                ("message", JsValue::from_str(detail)),
                ("error", token_error(code_str(*code), detail)),
            ]),
        ),
        Event::Warning { code } => ("warning", warning_payload(code, warning_message(code))),
    }
}
