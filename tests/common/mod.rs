//! Helpers shared by the browser test files (`tests/web_*.rs`): reading and
//! building JS objects, Web Storage. Each file includes it with `mod common;`
//! (a subdirectory `mod.rs` is not a test target of its own).
//!
//! Test code: panicking on a broken test setup is the point here.
// Each test file uses only some of these helpers.
#![allow(dead_code)]

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(inline_js = r#"
export class TestTokenError extends Error {
  constructor(code, message) { super(message); this.name = "TokenError"; this.code = code; }
}
export function testTokenErrorClass() { return TestTokenError; }
export function isTestTokenError(e) { return e instanceof TestTokenError; }
"#)]
extern "C" {
    /// A stand-in for js/index.js's `TokenError` (the tests load the crate
    /// without the package entry), for `set_error_class`.
    #[wasm_bindgen(js_name = testTokenErrorClass)]
    pub fn test_token_error_class() -> Function;
    /// Whether `e` is an instance of [`test_token_error_class`].
    #[wasm_bindgen(js_name = isTestTokenError)]
    pub fn is_test_token_error(e: &JsValue) -> bool;
}

/// Parses a JSON literal written in the test.
pub fn obj(json: &str) -> JsValue {
    js_sys::JSON::parse(json).expect("test JSON")
}

/// `value[key]` (`undefined` when missing or unreadable).
pub fn get(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// `value[key]` when it is a string.
pub fn get_str(value: &JsValue, key: &str) -> Option<String> {
    get(value, key).as_string()
}

/// `value[key] = v`.
pub fn set(value: &JsValue, key: &str, v: &JsValue) {
    Reflect::set(value, &JsValue::from_str(key), v).expect("set");
}

/// The elements of a JS array as strings (`""` for non-strings).
pub fn strings(array: &Array) -> Vec<String> {
    array
        .iter()
        .map(|v| v.as_string().unwrap_or_default())
        .collect()
}

/// The page's `localStorage`.
pub fn local_storage() -> web_sys::Storage {
    web_sys::window()
        .expect("window")
        .local_storage()
        .expect("localStorage access")
        .expect("localStorage")
}

/// The page's `sessionStorage`.
pub fn session_storage() -> web_sys::Storage {
    web_sys::window()
        .expect("window")
        .session_storage()
        .expect("sessionStorage access")
        .expect("sessionStorage")
}
