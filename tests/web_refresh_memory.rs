//! Issue 12 item 7 in the browser: 50 MB tokens — from the refresh endpoint,
//! from `setSession`, from a refresh function — are refused without being
//! copied into wasm memory. Alone in its file (a module instance of its
//! own): the heap reuses freed blocks, so an earlier test's 50 MB block
//! would hide a growth here.
//!
//! Run: `source scripts/lib.sh; CHROMEDRIVER=/usr/bin/chromedriver \
//!   PATH="$(wasm_path)" wasm-pack test --headless --chrome -- --test web_refresh_memory`
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{get_str, obj, set, test_token_error_class};
use tokenwarden::web::{set_error_class, TokenManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const MB50 = 50 * 1024 * 1024;
export function hugeFetch() {
  const f = async (input, init) => {
    const req = input instanceof Request ? input : new Request(input, init);
    if (new URL(req.url).pathname === "/auth/refresh") {
      f.refreshes += 1;
      // The first refresh succeeds; the next answers with a 50 MB token.
      if (f.refreshes === 1) return Response.json({ access_token: "good-1", expires_in: 300 });
      return new Response('{"access_token":"' + "a".repeat(MB50) + '","expires_in":300}', { status: 200 });
    }
    return new Response("ok", { status: req.headers.get("authorization") ? 200 : 401 });
  };
  f.refreshes = 0;
  return f;
}
export function hugeFunction() {
  return async () => ({ accessToken: "a".repeat(MB50), expiresIn: 300 });
}
export function hugeString() { return "a".repeat(MB50); }
export function memoryBytes(memory) { return memory.buffer.byteLength; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = hugeFetch)]
    fn huge_fetch() -> JsValue;
    #[wasm_bindgen(js_name = hugeFunction)]
    fn huge_function() -> JsValue;
    #[wasm_bindgen(js_name = hugeString)]
    fn huge_string() -> JsValue;
    #[wasm_bindgen(js_name = memoryBytes)]
    fn memory_bytes_of(memory: &JsValue) -> f64;
}

fn memory_bytes() -> f64 {
    memory_bytes_of(&wasm_bindgen::memory())
}

/// "A page or so": two 64 KiB pages.
const SLACK: f64 = 128.0 * 1024.0;

fn manager(refresh: &JsValue, fetch: &JsValue) -> TokenManager {
    set_error_class(test_token_error_class());
    let options = obj(r#"{"crossTab":false,"drafts":false,"redirect":false,"retryAttempts":1}"#);
    set(&options, "refresh", refresh);
    set(&options, "fetch", fetch);
    TokenManager::new(options).expect("valid options")
}

#[wasm_bindgen_test]
async fn fifty_megabyte_tokens_never_grow_wasm_memory() {
    // 1. From the refresh endpoint.
    let fetch = huge_fetch();
    let auth = manager(&obj(r#"{"url":"/auth/refresh"}"#), &fetch);
    auth.set_session(obj(
        r#"{"accessToken":"good-0","refreshToken":"r","expiresIn":300}"#,
    ))
    .unwrap();
    // Warm up every path once (first-use allocations are not the point).
    JsFuture::from(auth.refresh()).await.unwrap();
    let ok = JsFuture::from(auth.fetch("/api".into(), JsValue::UNDEFINED)).await;
    assert!(ok.is_ok());
    let before = memory_bytes();
    let error = JsFuture::from(auth.refresh()).await.unwrap_err();
    assert_eq!(get_str(&error, "code").as_deref(), Some("refresh_failed"));
    let grown = memory_bytes() - before;
    assert!(
        grown <= SLACK,
        "refresh body: wasm memory grew by {grown} bytes"
    );
    assert_eq!(
        auth.access_token().as_deref(),
        Some("good-1"),
        "the tokens in place stay"
    );
    let ok = JsFuture::from(auth.fetch("/api".into(), JsValue::UNDEFINED)).await;
    assert!(ok.is_ok(), "later requests still work");

    // 2. From setSession.
    let big = js_sys::Object::new();
    set(&big, "accessToken", &huge_string());
    let error = auth.set_session(big.into()).unwrap_err();
    assert_eq!(
        get_str(&error, "reason").as_deref(),
        Some("token_too_large")
    );
    let grown = memory_bytes() - before;
    assert!(
        grown <= SLACK,
        "setSession: wasm memory grew by {grown} bytes"
    );
    auth.dispose();

    // 3. From a refresh function.
    let auth = manager(&huge_function(), &fetch);
    auth.set_session(obj(r#"{"accessToken":"good-2","expiresIn":300}"#))
        .unwrap();
    let error = JsFuture::from(auth.refresh()).await.unwrap_err();
    assert_eq!(get_str(&error, "code").as_deref(), Some("refresh_failed"));
    let grown = memory_bytes() - before;
    assert!(
        grown <= SLACK,
        "refresh function: wasm memory grew by {grown} bytes"
    );
    assert_eq!(auth.access_token().as_deref(), Some("good-2"));
    auth.dispose();
}
