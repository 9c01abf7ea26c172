//! Small accessors for the global scope (`globalThis`), the wall clock and
//! randomness.
//!
//! Everything goes through `globalThis` instead of `Window`, so the same code
//! runs in a window, a worker (where `document`/`location` may be missing) and
//! under test runners. Every property read is a `Reflect::get`, which turns a
//! throwing getter (sandboxed iframes throw on `localStorage`) into an `Err`
//! instead of an exception.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::core::Millis;

/// `globalThis`.
pub(crate) fn global() -> Object {
    js_sys::global()
}

/// `globalThis[name]`, or `None` when missing, `undefined`/`null` or when the
/// getter throws.
pub(crate) fn global_get(name: &str) -> Option<JsValue> {
    prop(&global(), name)
}

/// `obj[name]`, or `None` when it is `undefined`/`null` or the read throws.
pub(crate) fn prop(obj: &JsValue, name: &str) -> Option<JsValue> {
    if !obj.is_object() && !obj.is_function() {
        return None;
    }
    match Reflect::get(obj, &JsValue::from_str(name)) {
        Ok(v) if !v.is_undefined() && !v.is_null() => Some(v),
        _ => None,
    }
}

/// `obj[name]` as a string, if it is one.
pub(crate) fn prop_str(obj: &JsValue, name: &str) -> Option<String> {
    prop(obj, name).and_then(|v| v.as_string())
}

/// A string property (a URL's or location's `origin`, `pathname`, …, an
/// input's `type` or `value`), `""` when it is not a string. Read as a plain
/// property: one copy of the string glue instead of one per typed getter.
pub(crate) fn text_prop(obj: &JsValue, name: &str) -> String {
    prop_str(obj, name).unwrap_or_default()
}

/// Sets `obj[name] = value`, ignoring failures (frozen objects): used only on
/// objects this module created.
pub(crate) fn set(obj: &JsValue, name: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(name), value);
}

/// A fresh plain object with the given members.
pub(crate) fn object(members: &[(&str, JsValue)]) -> JsValue {
    let obj: JsValue = Object::new().into();
    for (name, value) in members {
        set(&obj, name, value);
    }
    obj
}

/// `globalThis[name]` as a Web Storage area (`"localStorage"`,
/// `"sessionStorage"`), or `None` where it is missing, disabled or throws on
/// access (sandboxed frames, some private modes).
pub(crate) fn storage_area(name: &str) -> Option<web_sys::Storage> {
    global_get(name).and_then(|s| s.dyn_into::<web_sys::Storage>().ok())
}

/// `globalThis.localStorage` (see [`storage_area`]).
pub(crate) fn local_storage() -> Option<web_sys::Storage> {
    storage_area("localStorage")
}

/// `Date.now()` as epoch milliseconds (clamped to 0 for a nonsensical clock).
pub(crate) fn now_ms() -> Millis {
    let now = js_sys::Date::now();
    if now.is_finite() && now > 0.0 {
        now as Millis
    } else {
        0
    }
}

/// A 64-bit seed for the core's PRNG, from `crypto.getRandomValues` when it
/// exists, else from `Math.random` (jitter and backoff only need spread, not
/// secrecy).
pub(crate) fn random_seed() -> u64 {
    if let Some(crypto) = global_get("crypto") {
        if let Some(get) =
            prop(&crypto, "getRandomValues").and_then(|f| f.dyn_into::<js_sys::Function>().ok())
        {
            let words = js_sys::Uint32Array::new_with_length(2);
            if get.call1(&crypto, &words).is_ok() {
                return (u64::from(words.get_index(0)) << 32) | u64::from(words.get_index(1));
            }
        }
    }
    let hi = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) ^ lo
}

/// The origin of the page (or worker) this code runs in.
pub(crate) fn own_origin() -> Option<String> {
    global_get("location").and_then(|loc| prop_str(&loc, "origin"))
}

/// A promise with its resolve and reject functions (`Promise.withResolvers`,
/// which older browsers lack). The executor runs synchronously, so the slots
/// are always filled; the fallback (calling `undefined` fails quietly) only
/// keeps a panic path out of the wasm.
pub(crate) fn promise_with_resolvers() -> (js_sys::Promise, js_sys::Function, js_sys::Function) {
    let mut slots: Option<(js_sys::Function, js_sys::Function)> = None;
    let promise = js_sys::Promise::new(&mut |resolve, reject| slots = Some((resolve, reject)));
    let (resolve, reject) = slots.unwrap_or_else(|| {
        (
            JsValue::UNDEFINED.unchecked_into(),
            JsValue::UNDEFINED.unchecked_into(),
        )
    });
    (promise, resolve, reject)
}
