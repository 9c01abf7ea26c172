//! Browser layer (issue 3): the JS API of tokenwarden, compiled to wasm.
//!
//! A thin shell around the pure core: [`TokenManager`] feeds browser events
//! (calls, fetch results, timers, wake-ups, activity) into
//! `core::Session` and carries out its outputs. One concern per module:
//!
//! - `options`: the options object → `RawConfig` + browser options;
//! - `error`: `TokenError` and its stable codes;
//! - `fetch`: request capture, replay and response reading; `abort`: a
//!   request's `AbortSignal` while it waits;
//! - `control`: per-request `init.tokenwarden` and `shouldRefresh(response)`;
//! - `transport`: refresh transports and failure classification;
//! - `storage`: memory / `sessionStorage` / `localStorage` with fallback;
//! - `timer`: the one re-armed timeout; `listen`: RAII DOM listeners;
//! - `events`: `auth.on` and event payloads; `manager`: the glue;
//! - `drafts`: form drafts and the login redirect; `tabs`: cross-tab.
//!
//! ```js
//! const auth = new TokenManager({ refresh: { url: "/auth/refresh" } });
//! auth.setSession({ accessToken, refreshToken });
//! const res = await auth.fetch("/api/orders");
//! ```

mod abort;
mod control;
pub(crate) mod drafts;
mod error;
mod events;
mod fetch;
mod global;
mod listen;
mod manager;
mod options;
mod storage;
mod tabs;
mod timer;
mod transport;
// `drafts` (form drafts) and `tabs` (cross-tab) plug into the hook
// functions in `manager`.

pub use error::set_error_class;

use js_sys::{Array, Function, Promise, JSON};
use wasm_bindgen::prelude::*;

/// A token manager: keeps the session's tokens fresh and authenticates
/// `fetch` calls. Created by `createTokenManager(options)` in `js/index.js`.
#[wasm_bindgen]
pub struct TokenManager {
    shared: manager::Shared,
}

#[wasm_bindgen]
impl TokenManager {
    /// Validates `options` (throws `TokenError` code `config`), resumes a
    /// stored session when storage is `session`/`local`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: JsValue) -> Result<TokenManager, JsValue> {
        Ok(TokenManager {
            shared: manager::create(&options)?,
        })
    }

    /// Starts a session after sign-in: `{ accessToken, refreshToken?, expiresIn? }`.
    /// Throws `TokenError` code `invalid_token` for an unusable token.
    #[wasm_bindgen(js_name = setSession)]
    pub fn set_session(&self, tokens: JsValue) -> Result<(), JsValue> {
        manager::set_session(&self.shared, &tokens)
    }

    /// `fetch` with the access token attached (for allowed origins), one
    /// shared refresh on 401 and an exact replay. Resolves to the `Response`.
    pub fn fetch(&self, input: JsValue, init: JsValue) -> Promise {
        manager::fetch(&self.shared, &input, &init)
    }

    /// Subscribes to an event; returns the function that unsubscribes.
    pub fn on(&self, event: JsValue, listener: JsValue) -> Result<Function, JsValue> {
        manager::on(&self.shared, &event, &listener)
    }

    /// Refreshes now, or joins the refresh in flight.
    pub fn refresh(&self) -> Promise {
        manager::refresh(&self.shared)
    }

    /// Signs out: clears the tokens in memory and storage. `{ redirect: true }`
    /// also goes to `loginUrl`.
    pub fn logout(&self, options: JsValue) -> Promise {
        manager::logout(&self.shared, &options)
    }

    /// Stops timers and listeners, rejects waiting requests with `disposed`
    /// and frees the state. The manager is unusable afterwards.
    pub fn dispose(&self) {
        manager::dispose(&self.shared);
    }

    /// The current access token, or `null` when signed out.
    #[wasm_bindgen(getter, js_name = accessToken)]
    pub fn access_token(&self) -> Option<String> {
        manager::access_token(&self.shared)
    }

    /// When the access token expires (epoch ms, skew-corrected), or `null`.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        manager::expires_at(&self.shared)
    }

    /// When the next proactive refresh is planned (epoch ms), or `null`.
    #[wasm_bindgen(getter, js_name = refreshAt)]
    pub fn refresh_at(&self) -> Option<f64> {
        manager::refresh_at(&self.shared)
    }

    /// The access token's payload, or `null`.
    #[wasm_bindgen(getter)]
    pub fn claims(&self) -> JsValue {
        manager::claims(&self.shared)
    }

    /// The storage in effect: `"memory"`, `"session"` or `"local"` (after a
    /// storage failure, `"memory"`); `null` once disposed.
    #[wasm_bindgen(getter)]
    pub fn storage(&self) -> Option<String> {
        manager::storage_mode(&self.shared).map(String::from)
    }

    /// `auth.drafts.list()` (`js/index.js` exposes the three drafts methods
    /// as `auth.drafts`): the signed-in user's unexpired drafts on any page
    /// of this origin, oldest first; `[]` with `drafts: false`.
    #[wasm_bindgen(js_name = draftsList)]
    pub fn drafts_list(&self) -> Result<Array, JsValue> {
        manager::drafts_list(&self.shared)
    }

    /// `auth.drafts.restore(key?)`: restore this page's drafts of the
    /// signed-in user now (only `key` when given); returns what was restored.
    #[wasm_bindgen(js_name = draftsRestore)]
    pub fn drafts_restore(&self, key: JsValue) -> Result<Array, JsValue> {
        manager::drafts_restore(&self.shared, &key)
    }

    /// `auth.drafts.discard(key | form)`: how many drafts were removed (0 or
    /// 1). Throws a `TypeError` for anything but a string or a `<form>`.
    #[wasm_bindgen(js_name = draftsDiscard)]
    pub fn drafts_discard(&self, target: JsValue) -> Result<u32, JsValue> {
        manager::drafts_discard(&self.shared, &target)
    }
}

/// On the login page: the page to go back to after sign-in, read from the
/// current URL's `param` query parameter (default `"returnTo"`), or `null`
/// when it is missing or not a safe same-origin path (`//evil.example`,
/// `javascript:…`, …).
#[wasm_bindgen(js_name = returnTo)]
pub fn return_to(param: Option<String>) -> Option<String> {
    drafts::return_to_from_location(param.as_deref().unwrap_or("returnTo"))
}

/// `decodeJwt(token, options?)`: a JWT's payload — or its header with
/// `{ header: true }` — as an object (no signature check, no claim checks:
/// see `core::jwt::decode_part`). Throws `TokenError` code `invalid_token`
/// with `part` and `reason` when that part does not decode, and with
/// `reason` `not_a_string` (`part` `null`) when `token` is not a string.
#[wasm_bindgen(js_name = decodeJwt)]
pub fn decode_jwt(token: JsValue, options: JsValue) -> Result<JsValue, JsValue> {
    let Some(token) = token.as_string() else {
        return Err(error::not_a_string_error());
    };
    // As jwt-decode reads it: `options.header === true`.
    let part = match global::prop(&options, "header") {
        Some(v) if v == JsValue::TRUE => crate::core::Part::Header,
        _ => crate::core::Part::Payload,
    };
    let text = crate::core::decode_part(&token, part).map_err(|e| error::jwt_error(&e))?;
    JSON::parse(&text).map_err(|_| {
        error::token_error(
            "invalid_token",
            "invalid token: the payload is not valid JSON",
        )
    })
}

#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
