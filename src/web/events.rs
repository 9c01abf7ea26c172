//! `auth.on(name, listener)`: the event emitter and the payloads of each event.
//!
//! Events and payloads (documented in the README, "Events"):
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
//! `console.error` and does not stop the others. `warning` and
//! `draftsRestored` events emitted before anyone listens for them (storage
//! failures and drafts restored while the manager is created, before the app
//! could call `auth.on`) are kept (a few) and delivered to the first listener
//! of that name.

use js_sys::Function;
use wasm_bindgen::prelude::*;

use super::error::token_error;
use super::global::object;
use crate::core::Event;

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

/// Most events kept while nobody listens.
const MAX_EARLY: usize = 8;

/// Registered listeners of one manager.
#[derive(Default)]
pub(crate) struct Emitter {
    next_id: u32,
    listeners: Vec<(u32, &'static str, Function)>,
    /// Events nobody listened to yet: `(name, payload)`.
    early: Vec<(&'static str, JsValue)>,
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

    /// Keeps an event nobody listens to for the first listener of `name`.
    pub(crate) fn keep(&mut self, name: &'static str, payload: JsValue) {
        if self.early.len() < MAX_EARLY {
            self.early.push((name, payload));
        }
    }

    /// Takes the kept events of `name`, oldest first.
    pub(crate) fn take(&mut self, name: &str) -> Vec<JsValue> {
        let mut taken = Vec::new();
        self.early.retain(|(n, payload)| {
            if *n == name {
                taken.push(payload.clone());
            }
            *n != name
        });
        taken
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

/// A `warning` payload.
pub(crate) fn warning_payload(code: &str, message: &str) -> JsValue {
    object(&[
        ("code", JsValue::from_str(code)),
        ("message", JsValue::from_str(message)),
    ])
}

/// An `error` payload: `{ code, message, error }` (`error` is a `TokenError`).
pub(crate) fn error_payload(code: &str, message: &str) -> JsValue {
    object(&[
        ("code", JsValue::from_str(code)),
        ("message", JsValue::from_str(message)),
        ("error", token_error(code, message)),
    ])
}

/// A human message for the drafts and redirect error codes
/// (`super::drafts::codes`).
pub(crate) fn error_message(code: &str) -> &'static str {
    match code {
        "drafts_storage_unavailable" => "localStorage is unavailable; form drafts were not saved",
        "drafts_quota" => "localStorage is full; a form draft could not be saved",
        "login_url_invalid" => "loginUrl is not a valid URL; no redirect",
        "redirect_not_allowed" => {
            "loginUrl is not http(s) on this origin or an allowed origin; no redirect"
        }
        "return_param_invalid" => "returnParam is not a plain query parameter name; no redirect",
        "redirect_no_location" => "there is no location to redirect",
        "should_refresh_failed" => {
            "shouldRefresh threw or rejected; the response was delivered as it is"
        }
        _ => "see the error code in the documentation",
    }
}

/// A human message for the browser layer's warning codes and the core's.
pub(crate) fn warning_message(code: &str) -> &'static str {
    match code {
        "storage_unavailable" => {
            "web storage is unavailable or full; tokens are kept in memory only"
        }
        "storage_corrupt" => "the stored session could not be read and was removed",
        "tab_message_invalid" => "a message on the tab channel was not valid and was ignored",
        "lead_exceeds_lifetime" => {
            "lead + jitter exceed the token lifetime; refreshing at 62.5-75 % of it"
        }
        "lifetime_below_min_interval" => {
            "the token lives less than the minimum refresh interval; refreshing on demand"
        }
        "token_without_exp" => "the token has no usable expiry; no proactive refresh",
        "exp_in_milliseconds" => "the token's exp is in milliseconds, not seconds; ignored",
        "token_claims_invalid" => "the token's claims are malformed; treated as opaque",
        "invalid_expires_in" => "expiresIn is not a usable number of seconds; ignored",
        "clock_skew_clamped" => "the clock skew estimated from iat exceeded 24 h and was clamped",
        "renewed_token_ignored" => {
            "the renewed token did not decode or did not expire later; ignored"
        }
        "refresh_token_rejected" => {
            "the refresh token was rejected; the session ends when the access token expires"
        }
        "refresh_unavailable" => "there is no session or refresh token to refresh with",
        "fresh_token_rejected" => {
            "the API rejected a token that a refresh had just produced; 401s start no refresh for a while"
        }
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
            object(&[("reason", JsValue::from_str(reason.as_str()))]),
        ),
        Event::Logout => ("logout", object(&[])),
        Event::Error { code, detail } => ("error", error_payload(code.as_str(), detail)),
        Event::Warning { code } => ("warning", warning_payload(code, warning_message(code))),
    }
}

#[cfg(test)]
mod tests {
    use super::warning_message;
    use crate::core::session::warning;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Every warning code the core or the browser layer emits has its own
    /// message (the fallback is for codes a future version might add).
    #[wasm_bindgen_test]
    fn every_known_warning_code_has_a_message() {
        let fallback = warning_message("no_such_code");
        for code in [
            warning::LEAD_EXCEEDS_LIFETIME,
            warning::LIFETIME_BELOW_MIN_INTERVAL,
            warning::TOKEN_WITHOUT_EXP,
            warning::EXP_IN_MILLISECONDS,
            warning::TOKEN_CLAIMS_INVALID,
            warning::INVALID_EXPIRES_IN,
            warning::CLOCK_SKEW_CLAMPED,
            warning::RENEWED_TOKEN_IGNORED,
            warning::REFRESH_TOKEN_REJECTED,
            warning::REFRESH_UNAVAILABLE,
            warning::FRESH_TOKEN_REJECTED,
            "storage_unavailable",
            "storage_corrupt",
            crate::web::tabs::TAB_MESSAGE_INVALID,
        ] {
            assert_ne!(warning_message(code), fallback, "{code}");
        }
    }
}
