//! `TokenError`: the one error type the package throws or rejects with.
//!
//! The class itself is defined in `js/index.js` (so that `err instanceof
//! TokenError` works for the application) and registered here once the wasm
//! module is initialised (`__setErrorClass`). Without a registered class (the
//! raw wasm-bindgen glue, tests) errors are plain `Error`s with
//! `name = "TokenError"` and the same fields, so `err.code` is always there.
//!
//! Codes are stable snake_case strings (documented in the README, "Errors"):
//! `config`, `invalid_token`, `session_expired`, `refresh_failed`,
//! `queue_full`, `queue_timeout`, `logged_out`, `disposed`, `no_session`
//! (plus `not_initialized`, thrown by `js/index.js` itself).
//!
//! ```ignore
//! return Err(error::token_error("disposed", "the token manager was disposed"));
//! ```

use std::cell::RefCell;

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

use super::global::set;
use crate::core::{ErrorCode, JwtError};

thread_local! {
    /// The JS `TokenError` class registered by `js/index.js`.
    static ERROR_CLASS: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// Registers the JS `TokenError` class; `new Class(code, message)` must
/// produce an `Error` with `.code`. Called once by `js/index.js` after init.
#[wasm_bindgen(js_name = __setErrorClass)]
pub fn set_error_class(class: Function) {
    ERROR_CLASS.with(|slot| {
        if let Ok(mut slot) = slot.try_borrow_mut() {
            *slot = Some(class);
        }
    });
}

/// A `TokenError` with `code` and `message`.
pub(crate) fn token_error(code: &str, message: &str) -> JsValue {
    let class = ERROR_CLASS.with(|slot| slot.try_borrow().ok().and_then(|c| c.clone()));
    if let Some(class) = class {
        let args = Array::of2(&JsValue::from_str(code), &JsValue::from_str(message));
        if let Ok(err) = Reflect::construct(&class, &args) {
            return err;
        }
    }
    let err = js_sys::Error::new(message);
    err.set_name("TokenError");
    let err: JsValue = err.into();
    set(&err, "code", &JsValue::from_str(code));
    err
}

/// `TokenError` code `config` for option `option` (the JS name, e.g.
/// `leadSeconds` or `refresh.url`); the message is `"<option>: <reason>"` and
/// the error carries `option` as a field.
pub(crate) fn config_error(option: &str, reason: &str) -> JsValue {
    let mut message = String::with_capacity(option.len() + reason.len() + 2);
    message.push_str(option);
    message.push_str(": ");
    message.push_str(reason);
    let err = token_error("config", &message);
    set(&err, "option", &JsValue::from_str(option));
    err
}

/// A human message for a core error code (requests rejected by the core).
pub(crate) fn code_message(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::SessionExpired => {
            "the session ended while the request waited for a token refresh"
        }
        ErrorCode::RefreshFailed => {
            "the token refresh kept failing; the request was not sent again"
        }
        ErrorCode::QueueFull => "too many requests are waiting for a token refresh",
        ErrorCode::QueueTimeout => "the request waited too long for a token refresh",
        ErrorCode::LoggedOut => "the user logged out while the request waited",
    }
}

/// A `TokenError` for a core error code.
pub(crate) fn core_error(code: ErrorCode) -> JsValue {
    token_error(code.as_str(), code_message(code))
}

/// `TokenError` code `invalid_token` for a JWT that does not decode, with
/// `part` (`"header"`, `"payload"`, `"signature"` or `null`), the core's
/// stable `reason` (`wrong_part_count`, `missing_part`, `empty_part`,
/// `invalid_base64`, `invalid_utf8`, `invalid_json`, `not_object`,
/// `bad_claim`, `exp_in_milliseconds`) and, for `bad_claim`, `claim`.
pub(crate) fn jwt_error(error: &JwtError) -> JsValue {
    let mut text = String::from("invalid token: ");
    if let JwtError::BadClaim { claim, .. } = error {
        text.push_str(claim);
        text.push(' ');
    }
    text.push_str(error.message());
    let err = token_error("invalid_token", &text);
    let part = error
        .part()
        .map_or(JsValue::NULL, |p| JsValue::from_str(p.name()));
    set(&err, "part", &part);
    set(&err, "reason", &JsValue::from_str(error.code()));
    if let JwtError::BadClaim { claim, .. } = error {
        set(&err, "claim", &JsValue::from_str(claim));
    }
    err
}

/// `TokenError` code `invalid_token`, `reason` `not_a_string`, `part`
/// `null`: `decodeJwt` was given something other than a string.
pub(crate) fn not_a_string_error() -> JsValue {
    let err = token_error("invalid_token", "invalid token: decodeJwt expects a string");
    set(&err, "part", &JsValue::NULL);
    set(&err, "reason", &JsValue::from_str("not_a_string"));
    err
}
