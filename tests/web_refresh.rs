//! Browser tests of the refresh transports and their hardening (issue 12
//! items 4, 6, 7; the `resource` option): `TokenManager` in headless Chrome
//! against a scripted, injected `fetch` (no network).
//!
//! Run: `source scripts/lib.sh; CHROMEDRIVER=/usr/bin/chromedriver \
//!   PATH="$(wasm_path)" wasm-pack test --headless --chrome -- --test web_refresh`
//!
//! Nothing here passes by timing luck: the storm test derives its bound
//! from the time the calls really took. The wasm-memory side of the 50 MB
//! cases is in `web_refresh_memory.rs` (a module instance of its own, so
//! that no other test's allocations hide a growth).
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{get, get_str, obj, set, test_token_error_class};
use js_sys::{Array, Promise};
use tokenwarden::web::{set_error_class, TokenManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const enc = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
let serial = 0;

export function makeJwt(lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: "user-1", iat: now, exp: now + lifetimeSeconds, jti: "r" + (++serial) };
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}

// A scripted auth server + API. The API accepts only tokens it issued (or
// allowed); paths under /always401 reject every token.
export class RefreshServer {
  constructor() {
    this.valid = new Set();
    this.script = [];
    this.refreshBodies = [];
    this.fetch = (input, init) => this.handle(input, init);
  }
  issue(lifetimeSeconds) { const t = makeJwt(lifetimeSeconds); this.valid.add(t); return t; }
  allow(token) { this.valid.add(token); }
  push(status, body) { this.script.push({ status, body }); }
  // A 200 whose access token is `mb` MiB long (built in JS, never in wasm).
  pushHuge(mb) {
    this.script.push({ status: 200, body: '{"access_token":"' + "a".repeat(mb * 1024 * 1024) + '","expires_in":300}' });
  }
  get refreshCount() { return this.refreshBodies.length; }
  async handle(input, init) {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === "/auth/refresh") {
      this.refreshBodies.push(await req.text());
      await new Promise((r) => setTimeout(r, 5));
      const s = this.script.shift();
      if (s) {
        const body = typeof s.body === "string" ? s.body : JSON.stringify(s.body);
        return new Response(body, { status: s.status, headers: { "content-type": "application/json" } });
      }
      const t = this.issue(300);
      return Response.json({ access_token: t, refresh_token: "r-" + this.refreshCount, expires_in: 300 });
    }
    const auth = req.headers.get("authorization");
    if (url.pathname.startsWith("/always401") || !auth || !this.valid.has(auth.slice(7))) {
      return new Response("no", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    }
    return new Response("ok", { status: 200 });
  }
}

export function options(server, extra) {
  return Object.assign({
    refresh: { url: "/auth/refresh" },
    fetch: server.fetch,
    crossTab: false,
    drafts: false,
    redirect: false,
    retryBaseSeconds: 0.01,
  }, extra || {});
}

export function codes() {
  const r = { list: [] };
  r.fn = (e) => { r.list.push(e.code); };
  return r;
}

export function hugeString(mb) { return "a".repeat(mb * 1024 * 1024); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeJwt)]
    fn make_jwt(lifetime_seconds: f64) -> String;

    type RefreshServer;
    #[wasm_bindgen(constructor)]
    fn new() -> RefreshServer;
    #[wasm_bindgen(method)]
    fn issue(this: &RefreshServer, lifetime_seconds: f64) -> String;
    #[wasm_bindgen(method)]
    fn allow(this: &RefreshServer, token: &str);
    #[wasm_bindgen(method)]
    fn push(this: &RefreshServer, status: u16, body: &JsValue);
    #[wasm_bindgen(method, js_name = pushHuge)]
    fn push_huge(this: &RefreshServer, mb: u32);
    #[wasm_bindgen(method, getter, js_name = refreshCount)]
    fn refresh_count(this: &RefreshServer) -> u32;
    #[wasm_bindgen(method, getter, js_name = refreshBodies)]
    fn refresh_bodies(this: &RefreshServer) -> Array;

    fn options(server: &RefreshServer, extra: &JsValue) -> JsValue;

    type Codes;
    fn codes() -> Codes;
    #[wasm_bindgen(method, getter, js_name = fn)]
    fn listener(this: &Codes) -> js_sys::Function;
    #[wasm_bindgen(method, getter)]
    fn list(this: &Codes) -> Array;

    #[wasm_bindgen(js_name = hugeString)]
    fn huge_string(mb: u32) -> JsValue;
}

fn manager(server: &RefreshServer, extra: &str) -> TokenManager {
    set_error_class(test_token_error_class());
    let extra = if extra.is_empty() {
        JsValue::UNDEFINED
    } else {
        obj(extra)
    };
    TokenManager::new(options(server, &extra)).expect("valid options")
}

fn session(access: &str, refresh: Option<&str>) -> JsValue {
    let s = js_sys::Object::new();
    set(&s, "accessToken", &JsValue::from_str(access));
    if let Some(r) = refresh {
        set(&s, "refreshToken", &JsValue::from_str(r));
    }
    s.into()
}

async fn status_of(auth: &TokenManager, url: &str) -> u16 {
    let value = JsFuture::from(auth.fetch(JsValue::from_str(url), JsValue::UNDEFINED))
        .await
        .expect("a response");
    value.unchecked_into::<web_sys::Response>().status()
}

async fn settle(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

fn strings(array: &Array) -> Vec<String> {
    array.iter().filter_map(|v| v.as_string()).collect()
}

// ---- issue 12 item 6 ----

#[wasm_bindgen_test]
async fn an_incomplete_2xx_keeps_its_rotated_refresh_token_and_an_opaque_token_is_used() {
    let server = RefreshServer::new();
    let auth = manager(&server, "");
    let warnings = codes();
    let errors = codes();
    let _w = auth
        .on("warning".into(), warnings.listener().into())
        .unwrap();
    let _e = auth.on("error".into(), errors.listener().into()).unwrap();
    // 1st answer: the server rotated (r2) but sent no access token.
    server.push(200, &obj(r#"{"refresh_token":"r2","token_type":"Bearer"}"#));
    // 2nd: an opaque access token without expires_in (oidc-provider style).
    server.push(
        200,
        &obj(r#"{"access_token":"opaque-2","refresh_token":"r3","token_type":"Bearer"}"#),
    );
    server.allow("opaque-2");
    auth.set_session(session(&make_jwt(300.0), Some("r1")))
        .unwrap();
    assert_eq!(status_of(&auth, "/api/orders").await, 200);
    let bodies = strings(&server.refresh_bodies());
    assert_eq!(bodies.len(), 2, "{bodies:?}");
    assert!(bodies[0].contains("\"r1\""), "{}", bodies[0]);
    assert!(
        bodies[1].contains("\"r2\""),
        "the retry sends the rotated refresh token, never r1 again: {}",
        bodies[1]
    );
    assert_eq!(auth.access_token().as_deref(), Some("opaque-2"));
    assert_eq!(auth.expires_at(), None);
    assert_eq!(auth.refresh_at(), None, "no proactive refresh");
    assert_eq!(strings(&errors.list()), ["refresh_failed"]);
    assert!(strings(&warnings.list()).contains(&"token_without_exp".to_string()));
    // Later requests use it; no other refresh.
    assert_eq!(status_of(&auth, "/api/more").await, 200);
    assert_eq!(server.refresh_count(), 2);
    auth.dispose();
}

#[wasm_bindgen_test]
fn set_session_takes_an_opaque_token_without_expires_in_with_a_warning() {
    let server = RefreshServer::new();
    let auth = manager(&server, "");
    let warnings = codes();
    let _w = auth
        .on("warning".into(), warnings.listener().into())
        .unwrap();
    auth.set_session(obj(r#"{"accessToken":"opaque","refreshToken":"r1"}"#))
        .expect("accepted (it used to say: not three dot-separated parts)");
    assert_eq!(auth.access_token().as_deref(), Some("opaque"));
    assert_eq!(strings(&warnings.list()), ["token_without_exp"]);
    assert_eq!(auth.expires_at(), None);
    assert_eq!(auth.refresh_at(), None);
    auth.dispose();
}

// ---- issue 12 item 4 ----

#[wasm_bindgen_test]
async fn an_api_that_rejects_every_token_does_not_start_a_refresh_storm() {
    let server = RefreshServer::new();
    let auth = manager(&server, "");
    let warnings = codes();
    let _w = auth
        .on("warning".into(), warnings.listener().into())
        .unwrap();
    auth.set_session(session(&server.issue(300.0), Some("r1")))
        .unwrap();
    let started = js_sys::Date::now();
    let calls = 120;
    for _ in 0..calls {
        assert_eq!(
            status_of(&auth, "/always401/orders").await,
            401,
            "the 401 goes to the caller"
        );
    }
    let elapsed_s = (js_sys::Date::now() - started) / 1000.0;
    // The documented schedule: a refresh at 0 s, then one after each
    // cool-down (5, 10, 20, … s): refreshes start at 0, 5, 15, 35, 75, … s.
    let mut allowed = 1;
    let mut at = 0.0;
    let mut pause = 5.0;
    loop {
        at += pause;
        pause = (pause * 2.0_f64).min(300.0);
        if at > elapsed_s + 1.0 {
            break;
        }
        allowed += 1;
    }
    let refreshes = server.refresh_count();
    assert!(
        refreshes >= 1 && refreshes <= allowed,
        "{refreshes} refreshes for {calls} calls in {elapsed_s:.1} s (allowed {allowed}); \
         without the cool-down every call refreshed"
    );
    let fresh = strings(&warnings.list())
        .iter()
        .filter(|c| *c == "fresh_token_rejected")
        .count();
    assert_eq!(
        fresh as u32, refreshes,
        "one warning per rejected fresh token"
    );
    // The session is intact: an endpoint that takes the token still works.
    assert_eq!(status_of(&auth, "/api/orders").await, 200);
    auth.dispose();
}

// ---- issue 12 item 7 ----

#[wasm_bindgen_test]
async fn a_50_mb_token_from_the_refresh_endpoint_fails_the_refresh_and_the_tokens_stay() {
    let server = RefreshServer::new();
    let auth = manager(&server, r#"{"retryAttempts":1}"#);
    let errors = js_sys::Array::new();
    let keep = js_sys::Function::new_with_args("list", "return (e) => list.push(e.message);")
        .call1(&JsValue::UNDEFINED, &errors)
        .unwrap();
    let _e = auth.on("error".into(), keep).unwrap();
    let token = server.issue(300.0);
    auth.set_session(session(&token, Some("r1"))).unwrap();
    // Warm up the paths once (first-use allocations are not the point).
    assert_eq!(status_of(&auth, "/api/warm").await, 200);
    JsFuture::from(auth.refresh()).await.unwrap();
    let token = auth.access_token().unwrap();
    server.push_huge(50);
    let error = settle(auth.refresh()).await.unwrap_err();
    assert_eq!(get_str(&error, "code").as_deref(), Some("refresh_failed"));
    assert_eq!(
        auth.access_token().as_deref(),
        Some(token.as_str()),
        "the tokens in place stay"
    );
    let messages = strings(&errors);
    assert!(
        messages.iter().any(|m| m.contains("larger than 64 KiB")),
        "{messages:?}"
    );
    // Later requests still work, and the next refresh too.
    assert_eq!(status_of(&auth, "/api/orders").await, 200);
    JsFuture::from(auth.refresh()).await.unwrap();
    assert_eq!(status_of(&auth, "/api/orders").await, 200);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn oversized_tokens_from_set_session_or_a_refresh_function_are_refused() {
    let server = RefreshServer::new();
    let auth = manager(&server, "");
    let big = js_sys::Object::new();
    set(&big, "accessToken", &huge_string(50));
    let error = auth.set_session(big.into()).unwrap_err();
    assert_eq!(get_str(&error, "code").as_deref(), Some("invalid_token"));
    assert_eq!(
        get_str(&error, "reason").as_deref(),
        Some("token_too_large")
    );
    assert!(get_str(&error, "message").unwrap().contains("16 KiB"));
    // 16 KiB exactly is fine, one byte more is not.
    let at_bound = "a".repeat(16 * 1024);
    auth.set_session(obj(&format!(
        r#"{{"accessToken":"{at_bound}","expiresIn":60}}"#
    )))
    .unwrap();
    let error = auth
        .set_session(obj(&format!(
            r#"{{"accessToken":"{at_bound}a","expiresIn":60}}"#
        )))
        .unwrap_err();
    assert_eq!(
        get_str(&error, "reason").as_deref(),
        Some("token_too_large")
    );
    let error = auth
        .set_session(obj(
            r#"{"accessToken":"a\r\nX-Injected: 1","expiresIn":60}"#,
        ))
        .unwrap_err();
    assert_eq!(
        get_str(&error, "reason").as_deref(),
        Some("invalid_characters")
    );
    auth.dispose();

    // A refresh function resolving with a 50 MB token.
    let refresh_fn = js_sys::Function::new_with_args(
        "",
        "return async () => ({ accessToken: 'a'.repeat(50 * 1024 * 1024), expiresIn: 300 });",
    )
    .call0(&JsValue::UNDEFINED)
    .unwrap();
    let extra = js_sys::Object::new();
    set(&extra, "refresh", &refresh_fn);
    set(&extra, "retryAttempts", &JsValue::from_f64(1.0));
    set_error_class(test_token_error_class());
    let auth = TokenManager::new(options(&server, &extra.into())).unwrap();
    let token = server.issue(300.0);
    auth.set_session(session(&token, None)).unwrap();
    let error = settle(auth.refresh()).await.unwrap_err();
    assert_eq!(get_str(&error, "code").as_deref(), Some("refresh_failed"));
    assert!(get_str(&error, "message").unwrap().contains("16 KiB"));
    assert_eq!(auth.access_token().as_deref(), Some(token.as_str()));
    auth.dispose();
}

// ---- the `resource` option (RFC 8707) ----

#[wasm_bindgen_test]
async fn oauth2_sends_each_resource_indicator() {
    let server = RefreshServer::new();
    let auth = manager(
        &server,
        r#"{"refresh":{"url":"/auth/refresh","format":"oauth2","clientId":"spa","scope":"a b",
            "resource":["https://api.example.com/","urn:example:orders"]}}"#,
    );
    auth.set_session(session(&server.issue(300.0), Some("r1")))
        .unwrap();
    JsFuture::from(auth.refresh()).await.unwrap();
    let body = strings(&server.refresh_bodies()).remove(0);
    assert_eq!(
        body,
        "grant_type=refresh_token&refresh_token=r1&client_id=spa&scope=a+b\
         &resource=https%3A%2F%2Fapi.example.com%2F&resource=urn%3Aexample%3Aorders"
    );
    auth.dispose();

    let auth = manager(
        &server,
        r#"{"refresh":{"url":"/auth/refresh","format":"oauth2","clientId":"spa","resource":"https://api.example.com"}}"#,
    );
    auth.set_session(session(&server.issue(300.0), Some("r9")))
        .unwrap();
    JsFuture::from(auth.refresh()).await.unwrap();
    let body = strings(&server.refresh_bodies()).remove(1);
    assert!(
        body.ends_with("&resource=https%3A%2F%2Fapi.example.com"),
        "{body}"
    );
    auth.dispose();
}

#[wasm_bindgen_test]
fn resource_option_is_validated() {
    set_error_class(test_token_error_class());
    let server = RefreshServer::new();
    let many: Vec<String> = (0..17).map(|i| format!("\"urn:x:{i}\"")).collect();
    let many = format!("[{}]", many.join(","));
    for resource in [
        r#""/relative""#,
        r#""api.example.com""#,
        r#""https://api.example.com/#frag""#,
        r#""https://api.example.com/a b""#,
        r#""""#,
        "[]",
        "5",
        r#"["https://ok.example", 5]"#,
        many.as_str(),
    ] {
        let text = format!(
            r#"{{"refresh":{{"url":"/r","format":"oauth2","clientId":"c","resource":{resource}}}}}"#
        );
        let error = TokenManager::new(options(&server, &obj(&text)))
            .err()
            .unwrap_or_else(|| panic!("{resource} accepted"));
        assert_eq!(
            get_str(&error, "code").as_deref(),
            Some("config"),
            "{resource}"
        );
        assert_eq!(
            get_str(&error, "option").as_deref(),
            Some("refresh.resource"),
            "{resource}"
        );
    }
    let error = TokenManager::new(options(
        &server,
        &obj(r#"{"refresh":{"url":"/r","resource":"https://api.example.com"}}"#),
    ))
    .err()
    .expect("json format has no resource");
    assert_eq!(
        get(&error, "option").as_string().as_deref(),
        Some("refresh.resource")
    );
}
