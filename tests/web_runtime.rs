//! Browser tests of the runtime (issue 3): `TokenManager` in headless Chrome
//! against a scripted, injected `fetch` (no network).
//!
//! Run: `PATH=/usr/bin:$PATH CHROMEDRIVER=/usr/bin/chromedriver \
//!   wasm-pack test --headless --chrome -- --test web_runtime`
//!
//! The fake server (`FakeServer` below) issues real JWTs (unsigned; the
//! client never verifies signatures), accepts only the access tokens it
//! issued, records every request (method, headers, body bytes) and plays
//! scripted refresh responses. Nothing here asserts on elapsed time; waits
//! have a generous safety limit so a broken build fails instead of hanging.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{
    get, get_str, is_test_token_error, local_storage, obj, session_storage, set,
    test_token_error_class,
};
use js_sys::{Array, Function, Promise};
use tokenwarden::web::{decode_jwt, set_error_class, TokenManager};
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
  const payload = { sub: "user-1", iat: now, exp: now + lifetimeSeconds, jti: "t" + (++serial) };
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}


const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
const API = "https://api.example.com";

export class FakeServer {
  constructor() {
    this.valid = new Set();
    this.refreshScript = [];
    this.refreshCalls = [];
    this.apiCalls = [];
    this.refreshDelayMs = 20;
    this.cancelled401 = 0;
    this.fetch = (input, init) => this.handle(input, init);
  }
  // A 401 whose body is only produced when read (highWaterMark 0), so a
  // cancel() by the client reaches `cancel` here and is counted.
  unauthorized(text) {
    const server = this;
    const body = new ReadableStream({
      pull(c) { c.enqueue(new TextEncoder().encode(text)); c.close(); },
      cancel() { server.cancelled401 += 1; },
    }, { highWaterMark: 0 });
    return new Response(body, { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
  }
  issue(lifetimeSeconds) { const t = makeJwt(lifetimeSeconds); this.valid.add(t); return t; }
  script(status, body, headers) { this.refreshScript.push({ status, body, headers }); }
  scriptNetworkError() { this.refreshScript.push({ networkError: true }); }
  get refreshCount() { return this.refreshCalls.length; }
  lastRefresh() { return this.refreshCalls[this.refreshCalls.length - 1] || null; }
  calls(path) { return this.apiCalls.filter((c) => c.path === path); }
  hexBodies(path) { return this.calls(path).map((c) => c.hex); }
  authsFor(origin) { return this.apiCalls.filter((c) => c.origin === origin).map((c) => c.auth); }
  async handle(input, init) {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === "/auth/refresh") {
      this.refreshCalls.push({
        at: Date.now(), method: req.method, body: await req.text(), credentials: req.credentials,
        contentType: req.headers.get("content-type"), custom: req.headers.get("x-custom"),
        auth: req.headers.get("authorization"),
      });
      await new Promise((r) => setTimeout(r, this.refreshDelayMs));
      const s = this.refreshScript.shift();
      if (s && s.networkError) throw new TypeError("Failed to fetch");
      if (s) {
        const body = typeof s.body === "string" ? s.body : JSON.stringify(s.body);
        return new Response(body, { status: s.status, headers: s.headers || { "content-type": "application/json" } });
      }
      const t = this.issue(300);
      return Response.json({ access_token: t, refresh_token: "r-" + t.length, expires_in: 300 });
    }
    const bytes = new Uint8Array(await req.arrayBuffer());
    const auth = req.headers.get("authorization");
    this.apiCalls.push({
      origin: url.origin, path: url.pathname, method: req.method, auth, hex: hex(bytes),
      contentType: req.headers.get("content-type"), custom: req.headers.get("x-custom"),
    });
    if (url.pathname.startsWith("/always401")) return this.unauthorized("nope");
    if (url.origin !== location.origin && url.origin !== API) return new Response("public", { status: 200 });
    if (!auth || !this.valid.has(auth.slice(7))) return this.unauthorized("expired");
    return new Response("ok " + url.pathname, { status: 200 });
  }
}

export function options(server, extra) {
  return Object.assign({
    refresh: { url: "/auth/refresh" },
    fetch: server.fetch,
    allowedOrigins: [API],
    crossTab: false,
    drafts: false,
    redirect: false,
    retryBaseSeconds: 0.01,
  }, extra || {});
}

export function recorder() {
  const r = { events: [], waiters: [] };
  r.fn = (e) => { r.events.push(e); r.waiters = r.waiters.filter((w) => !w()); };
  r.waitFor = (n) => new Promise((resolve, reject) => {
    const check = () => { if (r.events.length >= n) { resolve(r.events); return true; } return false; };
    if (check()) return;
    r.waiters.push(check);
    setTimeout(() => reject(new Error("timed out waiting for events")), 30000);
  });
  return r;
}

export function bodyCases() {
  const bytes = new Uint8Array([0, 1, 2, 250, 255, 10]);
  const form = new FormData();
  form.append("name", "Zoë");
  form.append("file", new Blob(["file-bytes"], { type: "text/plain" }), "a.txt");
  return [
    ["string", "plain text ✓", "text/plain;charset=UTF-8"],
    ["json", JSON.stringify({ a: 1, b: [true, null] }), "text/plain;charset=UTF-8"],
    ["form", form, null],
    ["params", new URLSearchParams({ q: "a b&c", n: "1" }), "application/x-www-form-urlencoded;charset=UTF-8"],
    ["blob", new Blob(["blob ", "parts"], { type: "application/octet-stream" }), "application/octet-stream"],
    ["buffer", bytes.buffer.slice(0), null],
    ["typed", bytes, null],
  ].map(([name, body, type]) => ({ name, path: "/echo/" + name, init: { method: "POST", body, headers: { "X-Custom": "c-" + name } }, type }));
}

export function requestInput(path) {
  return new Request(path, { method: "PUT", body: "from a Request", headers: { "X-Custom": "req" } });
}

export function streamInit() {
  const stream = new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("streamed")); c.close(); } });
  return { method: "POST", body: stream, duplex: "half" };
}

export function breakStorageWrites() {
  const proto = Storage.prototype;
  const original = proto.setItem;
  proto.setItem = function () { throw new DOMException("quota", "QuotaExceededError"); };
  return () => { proto.setItem = original; };
}

const hidden = {};
export function hideStorage(name) {
  hidden[name] = Object.getOwnPropertyDescriptor(window, name);
  Object.defineProperty(window, name, { configurable: true, get() { throw new DOMException("denied", "SecurityError"); } });
}
export function restoreStorage(name) { Object.defineProperty(window, name, hidden[name]); }
export function clearStorage() { sessionStorage.clear(); localStorage.clear(); }
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeJwt)]
    fn make_jwt(lifetime_seconds: f64) -> String;

    type FakeServer;
    #[wasm_bindgen(constructor)]
    fn new() -> FakeServer;
    #[wasm_bindgen(method)]
    fn issue(this: &FakeServer, lifetime_seconds: f64) -> String;
    #[wasm_bindgen(method)]
    fn script(this: &FakeServer, status: u16, body: &JsValue, headers: &JsValue);
    #[wasm_bindgen(method, js_name = scriptNetworkError)]
    fn script_network_error(this: &FakeServer);
    #[wasm_bindgen(method, getter, js_name = refreshCount)]
    fn refresh_count(this: &FakeServer) -> u32;
    #[wasm_bindgen(method, js_name = lastRefresh)]
    fn last_refresh(this: &FakeServer) -> JsValue;
    #[wasm_bindgen(method)]
    fn calls(this: &FakeServer, path: &str) -> Array;
    #[wasm_bindgen(method, js_name = hexBodies)]
    fn hex_bodies(this: &FakeServer, path: &str) -> Array;
    #[wasm_bindgen(method, js_name = authsFor)]
    fn auths_for(this: &FakeServer, origin: &str) -> Array;
    #[wasm_bindgen(method, setter, js_name = refreshDelayMs)]
    fn set_refresh_delay_ms(this: &FakeServer, ms: f64);
    #[wasm_bindgen(method, getter, js_name = cancelled401)]
    fn cancelled_401(this: &FakeServer) -> u32;

    fn options(server: &FakeServer, extra: &JsValue) -> JsValue;

    type Recorder;
    fn recorder() -> Recorder;
    #[wasm_bindgen(method, getter, js_name = fn)]
    fn listener(this: &Recorder) -> Function;
    #[wasm_bindgen(method, getter)]
    fn events(this: &Recorder) -> Array;
    #[wasm_bindgen(method, js_name = waitFor)]
    fn wait_for(this: &Recorder, n: u32) -> Promise;

    #[wasm_bindgen(js_name = bodyCases)]
    fn body_cases() -> Array;
    #[wasm_bindgen(js_name = requestInput)]
    fn request_input(path: &str) -> JsValue;
    #[wasm_bindgen(js_name = streamInit)]
    fn stream_init() -> JsValue;
    #[wasm_bindgen(js_name = breakStorageWrites)]
    fn break_storage_writes() -> Function;
    #[wasm_bindgen(js_name = hideStorage)]
    fn hide_storage(name: &str);
    #[wasm_bindgen(js_name = restoreStorage)]
    fn restore_storage(name: &str);
    #[wasm_bindgen(js_name = clearStorage)]
    fn clear_storage();
    fn sleep(ms: f64) -> Promise;
}

// ---- helpers ----

fn manager(server: &FakeServer, extra: &str) -> TokenManager {
    set_error_class(test_token_error_class());
    let extra = if extra.is_empty() {
        JsValue::UNDEFINED
    } else {
        obj(extra)
    };
    TokenManager::new(options(server, &extra)).expect("valid options")
}

fn manager_with(server: &FakeServer, extra: JsValue) -> TokenManager {
    set_error_class(test_token_error_class());
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

async fn fetch(
    auth: &TokenManager,
    url: &str,
    init: JsValue,
) -> Result<web_sys::Response, JsValue> {
    let value = JsFuture::from(auth.fetch(JsValue::from_str(url), init)).await?;
    Ok(value.unchecked_into())
}

async fn text(response: &web_sys::Response) -> String {
    JsFuture::from(response.text().unwrap())
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

fn code_of(error: &JsValue) -> String {
    get_str(error, "code").unwrap_or_default()
}

async fn settle(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

// ---- single flight ----

#[wasm_bindgen_test]
async fn two_hundred_concurrent_401s_share_one_refresh() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    // A token the server does not accept (revoked early), but not expired locally.
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let refreshed = recorder();
    let _off = auth
        .on("refreshed".into(), refreshed.listener().into())
        .unwrap();

    let pending = Array::new();
    for i in 0..200 {
        let path = if i % 2 == 0 {
            "/api/orders"
        } else {
            "https://api.example.com/items"
        };
        pending.push(&auth.fetch(JsValue::from_str(path), JsValue::UNDEFINED));
    }
    let responses: Array = JsFuture::from(Promise::all(&pending))
        .await
        .unwrap()
        .unchecked_into();
    assert_eq!(responses.length(), 200);
    for response in responses.iter() {
        let response: web_sys::Response = response.unchecked_into();
        assert_eq!(
            response.status(),
            200,
            "each caller sees the retried response, not the 401"
        );
    }
    assert_eq!(
        server.refresh_count(),
        1,
        "exactly one refresh for 200 concurrent 401s"
    );
    assert_eq!(
        server.calls("/api/orders").length() + server.calls("/items").length(),
        400
    );
    let refresh = server.last_refresh();
    assert_eq!(
        get_str(&refresh, "body").unwrap(),
        r#"{"refreshToken":"r-0"}"#
    );
    assert_eq!(
        get_str(&refresh, "contentType").unwrap(),
        "application/json"
    );
    assert!(
        get(&refresh, "auth").is_null(),
        "the refresh request never carries the access token"
    );
    assert_eq!(refreshed.events().length(), 1);
    assert_eq!(get(&refreshed.events().get(0), "fromTab"), JsValue::FALSE);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn second_401_after_the_retry_goes_to_the_caller() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    auth.set_session(session(&server.issue(300.0), Some("r-0")))
        .unwrap();
    let response = fetch(&auth, "/always401", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        text(&response).await,
        "nope",
        "the caller gets the real second response"
    );
    assert_eq!(
        server.calls("/always401").length(),
        2,
        "sent once, retried once, never looped"
    );
    assert_eq!(server.refresh_count(), 1);
    // The manager still works afterwards.
    let ok = fetch(&auth, "/api/after", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn discarded_401_bodies_are_cancelled_and_delivered_ones_are_not() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    // A token the server does not accept: 401, refresh, replay.
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let ok = fetch(&auth, "/api/x", JsValue::UNDEFINED).await.unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(
        server.cancelled_401(),
        1,
        "the 401 that was replayed had its body cancelled"
    );
    // Sent, refreshed, replayed, 401 again: the first 401 is let go, the
    // second is the caller's and stays readable.
    let delivered = fetch(&auth, "/always401", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(delivered.status(), 401);
    assert_eq!(text(&delivered).await, "nope");
    assert_eq!(server.cancelled_401(), 2, "only the replayed one");
    auth.dispose();
}

// ---- replay ----

#[wasm_bindgen_test]
async fn post_bodies_are_replayed_byte_identical() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    let cases = body_cases();
    for case in cases.iter() {
        // A fresh rejected token for each case, so that each POST gets a 401 first.
        auth.set_session(session(&make_jwt(300.0), Some("r-0")))
            .unwrap();
        let path = get_str(&case, "path").unwrap();
        let response = fetch(&auth, &path, get(&case, "init")).await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
        let calls = server.calls(&path);
        assert_eq!(calls.length(), 2, "{path}: first send and one retry");
        let (first, retry) = (calls.get(0), calls.get(1));
        assert!(
            !get_str(&first, "hex").unwrap().is_empty(),
            "{path}: body was sent"
        );
        assert_eq!(get(&first, "hex"), get(&retry, "hex"), "{path}: same bytes");
        assert_eq!(
            get(&first, "contentType"),
            get(&retry, "contentType"),
            "{path}: same content type"
        );
        assert_eq!(get_str(&retry, "method").unwrap(), "POST");
        assert_eq!(
            get(&retry, "custom"),
            get(&get(&get(&case, "init"), "headers"), "X-Custom")
        );
        if let Some(expected) = get_str(&case, "type") {
            assert_eq!(get_str(&retry, "contentType").unwrap(), expected, "{path}");
        }
        assert!(
            get_str(&first, "auth").unwrap() != get_str(&retry, "auth").unwrap(),
            "{path}: new token on retry"
        );
    }
    assert_eq!(server.refresh_count(), cases.length());

    // A Request object with a body.
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let value = JsFuture::from(auth.fetch(request_input("/echo/request"), JsValue::UNDEFINED))
        .await
        .unwrap();
    let response: web_sys::Response = value.unchecked_into();
    assert_eq!(response.status(), 200);
    let bodies = server.hex_bodies("/echo/request");
    assert_eq!(bodies.length(), 2);
    assert_eq!(bodies.get(0), bodies.get(1));
    assert_eq!(bodies.get(0).as_string().unwrap(), hex(b"from a Request"));
    let calls = server.calls("/echo/request");
    assert_eq!(get_str(&calls.get(1), "method").unwrap(), "PUT");
    assert_eq!(get_str(&calls.get(1), "custom").unwrap(), "req");
    auth.dispose();
}

#[wasm_bindgen_test]
async fn stream_bodies_are_sent_once_and_the_401_returned() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let response = fetch(&auth, "/echo/stream", stream_init()).await.unwrap();
    assert_eq!(
        response.status(),
        401,
        "a stream cannot be replayed: the caller gets the 401"
    );
    let bodies = server.hex_bodies("/echo/stream");
    assert_eq!(bodies.length(), 1);
    assert_eq!(bodies.get(0).as_string().unwrap(), hex(b"streamed"));
    auth.dispose();
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|b| {
            [
                DIGITS[(b >> 4) as usize] as char,
                DIGITS[(b & 15) as usize] as char,
            ]
        })
        .collect()
}

// ---- origins ----

#[wasm_bindgen_test]
async fn tokens_never_reach_origins_that_are_not_allowed() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    let token = server.issue(300.0);
    auth.set_session(session(&token, Some("r-0"))).unwrap();
    let bearer = format!("Bearer {token}");
    let own = web_sys::window().unwrap().location().origin().unwrap();

    for url in [
        "https://evil.example/steal",
        "https://api.example.com.evil.example/x",
        "http://api.example.com/x",
        "https://api.example.com:8443/x",
        "//evil.example/protocol-relative",
    ] {
        let response = fetch(&auth, url, JsValue::UNDEFINED).await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
    }
    let _ = fetch(
        &auth,
        "https://API.example.com:443/allowed",
        JsValue::UNDEFINED,
    )
    .await
    .unwrap();
    let _ = fetch(&auth, "/same-origin", JsValue::UNDEFINED)
        .await
        .unwrap();

    let protocol_relative = format!(
        "{}//evil.example",
        web_sys::window().unwrap().location().protocol().unwrap()
    );
    for origin in [
        "https://evil.example",
        "https://api.example.com.evil.example",
        "http://api.example.com",
        "https://api.example.com:8443",
        protocol_relative.as_str(),
    ] {
        let auths = server.auths_for(origin);
        assert!(auths.length() >= 1, "{origin} was called");
        for a in auths.iter() {
            assert!(a.is_null(), "{origin} must not see a token");
        }
    }
    assert_eq!(
        server
            .auths_for("https://api.example.com")
            .get(0)
            .as_string()
            .unwrap(),
        bearer
    );
    assert_eq!(server.auths_for(&own).get(0).as_string().unwrap(), bearer);

    // A 401 from a foreign origin is delivered, with no refresh.
    let response = fetch(&auth, "https://evil.example/always401", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(server.refresh_count(), 0);

    // An explicit Authorization header is never overwritten (nor retried).
    let init = obj(r#"{"headers":{"Authorization":"Basic abc"}}"#);
    let response = fetch(&auth, "/api/basic", init).await.unwrap();
    assert_eq!(response.status(), 401);
    let calls = server.calls("/api/basic");
    assert_eq!(calls.length(), 1);
    assert_eq!(get_str(&calls.get(0), "auth").unwrap(), "Basic abc");
    assert_eq!(server.refresh_count(), 0);
    auth.dispose();
}

// ---- timers ----

#[wasm_bindgen_test]
async fn proactive_refresh_fires_inside_its_jitter_window() {
    let server = FakeServer::new();
    // Lifetime 9 s, lead 3 s, jitter 1 s: refresh in [exp - 4 s, exp - 3 s]
    // (after the 5 s minimum interval).
    let auth = manager(&server, r#"{"leadSeconds":3,"jitterSeconds":1}"#);
    auth.set_session(session(&server.issue(9.0), Some("r-0")))
        .unwrap();
    let refreshed = recorder();
    let _off = auth
        .on("refreshed".into(), refreshed.listener().into())
        .unwrap();
    let expires_at = auth.expires_at().unwrap();
    let refresh_at = auth.refresh_at().unwrap();
    assert!(
        refresh_at >= expires_at - 4_000.0 && refresh_at <= expires_at - 3_000.0,
        "{refresh_at} vs {expires_at}"
    );
    assert_eq!(server.refresh_count(), 0);

    JsFuture::from(refreshed.wait_for(1)).await.unwrap();
    assert_eq!(
        server.refresh_count(),
        1,
        "the timer refreshed without any request"
    );
    let at = get(&server.last_refresh(), "at").as_f64().unwrap();
    assert!(at >= refresh_at, "never before the planned time");
    assert!(
        auth.expires_at().unwrap() > expires_at,
        "new token in place"
    );
    assert!(
        auth.refresh_at().unwrap() > refresh_at,
        "next refresh planned"
    );
    auth.dispose();
}

// ---- refresh failures ----

#[wasm_bindgen_test]
async fn refresh_500_then_200_backs_off_and_succeeds() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    let errors = recorder();
    let _off = auth.on("error".into(), errors.listener().into()).unwrap();
    server.script(500, &JsValue::from_str("oops"), &JsValue::UNDEFINED);
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let response = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        server.refresh_count(),
        2,
        "one failed attempt, one retry after backoff"
    );
    assert_eq!(errors.events().length(), 1);
    assert_eq!(
        get_str(&errors.events().get(0), "code").unwrap(),
        "refresh_failed"
    );
    assert!(is_test_token_error(&get(&errors.events().get(0), "error")));
    auth.dispose();
}

#[wasm_bindgen_test]
async fn invalid_grant_ends_the_session() {
    let server = FakeServer::new();
    let auth = manager_with(
        &server,
        obj(
            r#"{"refresh":{"url":"/auth/refresh","format":"oauth2","clientId":"spa","scope":"api read","headers":{"X-Custom":"yes"}}}"#,
        ),
    );
    let expired = recorder();
    let _off = auth
        .on("sessionExpired".into(), expired.listener().into())
        .unwrap();
    server.script(
        400,
        &obj(r#"{"error":"invalid_grant","error_description":"reused"}"#),
        &JsValue::UNDEFINED,
    );
    auth.set_session(session(&make_jwt(300.0), Some("r/0+x")))
        .unwrap();

    let error = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "session_expired");
    assert!(
        is_test_token_error(&error),
        "rejections are TokenError instances"
    );
    assert_eq!(expired.events().length(), 1);
    assert_eq!(
        get_str(&expired.events().get(0), "reason").unwrap(),
        "refresh_rejected"
    );
    assert_eq!(auth.access_token(), None);
    assert!(auth.claims().is_null());

    let refresh = server.last_refresh();
    assert_eq!(
        get_str(&refresh, "contentType").unwrap(),
        "application/x-www-form-urlencoded;charset=UTF-8"
    );
    assert_eq!(
        get_str(&refresh, "body").unwrap(),
        "grant_type=refresh_token&refresh_token=r%2F0%2Bx&client_id=spa&scope=api+read"
    );
    assert_eq!(get_str(&refresh, "custom").unwrap(), "yes");
    assert_eq!(
        server.refresh_count(),
        1,
        "a rejected refresh is not retried"
    );
    auth.dispose();
}

#[wasm_bindgen_test]
async fn unusable_refresh_responses_are_transient_failures() {
    let server = FakeServer::new();
    let auth = manager(&server, r#"{"retryAttempts":5}"#);
    let errors = recorder();
    let _off = auth.on("error".into(), errors.listener().into()).unwrap();
    server.script(
        200,
        &JsValue::from_str("<html>not json</html>"),
        &obj(r#"{"content-type":"text/html"}"#),
    );
    server.script(200, &obj(r#"{"token_type":"bearer"}"#), &JsValue::UNDEFINED);
    server.script(
        200,
        &obj(r#"{"access_token":"not a header value"}"#),
        &JsValue::UNDEFINED,
    );
    server.script_network_error();
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let response = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the fifth attempt succeeds");
    assert_eq!(server.refresh_count(), 5);
    let messages: Vec<String> = errors
        .events()
        .iter()
        .map(|e| get_str(&e, "message").unwrap())
        .collect();
    assert_eq!(messages.len(), 4);
    assert!(messages[0].contains("not a JSON object"), "{}", messages[0]);
    assert!(messages[1].contains("no access token"), "{}", messages[1]);
    assert!(
        messages[2].contains("cannot be sent in a header"),
        "{}",
        messages[2]
    );
    assert!(messages[3].contains("network"), "{}", messages[3]);
}

#[wasm_bindgen_test]
async fn cookie_and_function_transports() {
    // Cookie: no refresh token in JS, credentials included; a refresh token
    // in the response body is ignored; a string `expires_in` is accepted.
    clear_storage();
    let server = FakeServer::new();
    let auth = manager(
        &server,
        r#"{"refresh":{"url":"/auth/refresh","format":"cookie"},"storage":"session","storageKey":"tw-cookie"}"#,
    );
    let issued = server.issue(300.0);
    let body = js_sys::Object::new();
    set(&body, "access_token", &JsValue::from_str(&issued));
    set(&body, "refresh_token", &JsValue::from_str("leaked"));
    set(&body, "expires_in", &JsValue::from_str("3600"));
    server.script(200, &body, &JsValue::UNDEFINED);
    auth.set_session(session(&make_jwt(300.0), Some("must-be-dropped")))
        .unwrap();
    let response = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let refresh = server.last_refresh();
    assert_eq!(get_str(&refresh, "credentials").unwrap(), "include");
    assert_eq!(
        get_str(&refresh, "body").unwrap(),
        "",
        "no refresh token is ever sent from JS"
    );
    assert_eq!(auth.access_token().unwrap(), issued);
    assert!(
        auth.expires_at().unwrap() > js_sys::Date::now() + 3_000_000.0,
        "expires_in \"3600\""
    );
    let stored = session_storage()
        .get_item("tw-cookie:session")
        .unwrap()
        .unwrap();
    assert!(get(&obj(&stored), "refreshToken").is_null(), "{stored}");
    assert!(!stored.contains("must-be-dropped") && !stored.contains("leaked"));
    auth.dispose();
    clear_storage();

    // A custom async function.
    let server = FakeServer::new();
    let calls = Array::new();
    let issued = server.issue(300.0);
    let refresh_fn = js_sys::Function::new_with_args(
        "calls, token",
        "return async (rt) => { calls.push(rt); return { accessToken: token, expiresIn: 300 }; };",
    )
    .call2(&JsValue::UNDEFINED, &calls, &JsValue::from_str(&issued))
    .unwrap();
    let extra = js_sys::Object::new();
    set(&extra, "refresh", &refresh_fn);
    let auth = manager_with(&server, extra.into());
    auth.set_session(session(&make_jwt(300.0), Some("r-fn")))
        .unwrap();
    JsFuture::from(auth.refresh()).await.unwrap();
    assert_eq!(calls.length(), 1);
    assert_eq!(calls.get(0).as_string().unwrap(), "r-fn");
    assert_eq!(auth.access_token().unwrap(), issued);
    let response = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(server.refresh_count(), 0);
    auth.dispose();

    // A function that throws { status: 401 } ends the session when a request
    // needs the refresh (401 from the API)…
    let server = FakeServer::new();
    let refresh_fn =
        js_sys::Function::new_with_args("", "return async () => { throw { status: 401 }; };")
            .call0(&JsValue::UNDEFINED)
            .unwrap();
    let extra = js_sys::Object::new();
    set(&extra, "refresh", &refresh_fn);
    let auth = manager_with(&server, extra.into());
    auth.set_session(session(&make_jwt(300.0), None)).unwrap();
    let error = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap_err();
    assert_eq!(code_of(&error), "session_expired");
    assert_eq!(auth.access_token(), None);
    auth.dispose();

    // …while a rejected manual refresh with a still-valid access token keeps
    // the session until that token expires (core rule), and says so.
    let extra = js_sys::Object::new();
    set(&extra, "refresh", &refresh_fn);
    let auth = manager_with(&server, extra.into());
    let token = server.issue(300.0);
    auth.set_session(session(&token, None)).unwrap();
    let error = settle(auth.refresh()).await.unwrap_err();
    assert_eq!(code_of(&error), "refresh_failed");
    assert!(get_str(&error, "message").unwrap().contains("rejected"));
    assert_eq!(auth.access_token().unwrap(), token);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn manual_refresh_joins_the_one_in_flight() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    auth.set_session(session(&server.issue(300.0), Some("r-0")))
        .unwrap();
    let a = auth.refresh();
    let b = auth.refresh();
    settle(a).await.unwrap();
    settle(b).await.unwrap();
    assert_eq!(server.refresh_count(), 1);
    auth.dispose();

    // Nothing to refresh: rejects at once instead of hanging.
    let auth = manager(&server, "");
    let error = settle(auth.refresh()).await.unwrap_err();
    assert_eq!(code_of(&error), "no_session");
    auth.dispose();
}

// ---- storage ----

#[wasm_bindgen_test]
async fn session_storage_restores_a_usable_session() {
    clear_storage();
    let server = FakeServer::new();
    let token = server.issue(300.0);
    let first = manager(&server, r#"{"storage":"session","storageKey":"tw-test"}"#);
    first.set_session(session(&token, Some("r-0"))).unwrap();
    assert_eq!(first.storage().unwrap(), "session");
    first.dispose();
    let stored = session_storage().get_item("tw-test:session").unwrap();
    assert!(stored.unwrap().contains(&token));

    let second = manager(&server, r#"{"storage":"session","storageKey":"tw-test"}"#);
    assert_eq!(
        second.access_token().unwrap(),
        token,
        "started with the stored session"
    );
    assert_eq!(get_str(&second.claims(), "sub").unwrap(), "user-1");
    JsFuture::from(second.logout(JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(second.access_token(), None);
    let stored = session_storage().get_item("tw-test:session").unwrap();
    assert_eq!(stored, None, "logout clears storage");
    second.dispose();

    // Garbage in storage is ignored and removed, with a warning.
    local_storage()
        .set_item("tw-bad:session", "{not json")
        .unwrap();
    let third = manager(&server, r#"{"storage":"local","storageKey":"tw-bad"}"#);
    assert_eq!(third.access_token(), None);
    let warnings = recorder();
    let _off = third
        .on("warning".into(), warnings.listener().into())
        .unwrap();
    JsFuture::from(warnings.wait_for(1)).await.unwrap();
    assert_eq!(
        get_str(&warnings.events().get(0), "code").unwrap(),
        "storage_corrupt"
    );
    third.dispose();
    clear_storage();
}

/// A stored session as `storage.rs` writes it.
fn stored_json(access: &str, refresh: Option<&str>, expires_at: f64, started_at: f64) -> String {
    let value = js_sys::Object::new();
    set(&value, "v", &JsValue::from_f64(1.0));
    set(&value, "accessToken", &JsValue::from_str(access));
    let refresh = refresh.map_or(JsValue::NULL, JsValue::from_str);
    set(&value, "refreshToken", &refresh);
    set(&value, "expiresAt", &JsValue::from_f64(expires_at));
    set(&value, "startedAt", &JsValue::from_f64(started_at));
    js_sys::JSON::stringify(&value)
        .unwrap()
        .as_string()
        .unwrap()
}

#[wasm_bindgen_test]
async fn an_unusable_stored_session_is_cleared_and_a_refreshable_one_resumed() {
    clear_storage();
    let server = FakeServer::new();
    let storage = local_storage();
    let token = server.issue(300.0);
    let now = js_sys::Date::now();
    let opts = r#"{"storage":"local","storageKey":"tw-resume","maxSessionSeconds":3600}"#;
    // Expired, no refresh token; refreshable but past maxSessionSeconds.
    for (refresh, expires_at, started_at) in [
        (None, now - 1_000.0, now - 60_000.0),
        (Some("r-0"), now + 300_000.0, now - 3_601_000.0),
    ] {
        let text = stored_json(&token, refresh, expires_at, started_at);
        storage.set_item("tw-resume:session", &text).unwrap();
        let auth = manager(&server, opts);
        assert_eq!(auth.access_token(), None, "not resumed ({refresh:?})");
        assert_eq!(
            storage.get_item("tw-resume:session").unwrap(),
            None,
            "storage cleared ({refresh:?})"
        );
        auth.dispose();
    }
    // Expired but with a refresh token, within the limit: resumed.
    let text = stored_json(&token, Some("r-0"), now - 1_000.0, now - 60_000.0);
    storage.set_item("tw-resume:session", &text).unwrap();
    let auth = manager(&server, opts);
    assert_eq!(auth.access_token().unwrap(), token, "resumed");
    assert!(storage.get_item("tw-resume:session").unwrap().is_some());
    auth.dispose();
    clear_storage();
}

#[wasm_bindgen_test]
async fn storage_that_throws_falls_back_to_memory() {
    clear_storage();
    let server = FakeServer::new();

    // Writes throw (quota, private mode).
    let auth = manager(&server, r#"{"storage":"local"}"#);
    let warnings = recorder();
    let _off = auth
        .on("warning".into(), warnings.listener().into())
        .unwrap();
    let token = server.issue(300.0);
    let restore = break_storage_writes();
    let result = auth.set_session(session(&token, Some("r-0")));
    restore.call0(&JsValue::UNDEFINED).unwrap();
    result.expect("a storage failure never throws into the app");
    assert_eq!(
        get_str(&warnings.events().get(0), "code").unwrap(),
        "storage_unavailable"
    );
    assert_eq!(auth.storage().unwrap(), "memory");
    assert_eq!(
        auth.access_token().unwrap(),
        token,
        "the session lives on in memory"
    );
    let response = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    auth.dispose();

    // The storage getter itself throws (sandboxed frame): reported to the first warning listener.
    hide_storage("sessionStorage");
    let auth = manager(&server, r#"{"storage":"session"}"#);
    restore_storage("sessionStorage");
    assert_eq!(auth.storage().unwrap(), "memory");
    let warnings = recorder();
    let _off = auth
        .on("warning".into(), warnings.listener().into())
        .unwrap();
    JsFuture::from(warnings.wait_for(1)).await.unwrap();
    assert_eq!(
        get_str(&warnings.events().get(0), "code").unwrap(),
        "storage_unavailable"
    );
    auth.set_session(session(&token, Some("r-0"))).unwrap();
    assert_eq!(auth.access_token().unwrap(), token);
    auth.dispose();
    clear_storage();
}

// ---- options, errors, lifecycle ----

#[wasm_bindgen_test]
fn options_are_validated() {
    let server = FakeServer::new();
    set_error_class(test_token_error_class());
    let cases: &[(&str, &str)] = &[
        (r#"{"leadSecond":1}"#, "leadSecond"),
        (r#"{"leadSeconds":-1}"#, "leadSeconds"),
        (r#"{"jitterSeconds":"30"}"#, "jitterSeconds"),
        (r#"{"storage":"disk"}"#, "storage"),
        (
            r#"{"allowedOrigins":["https://api.example.com/v1"]}"#,
            "allowedOrigins",
        ),
        (
            r#"{"allowedOrigins":"https://api.example.com"}"#,
            "allowedOrigins",
        ),
        (
            r#"{"refresh":{"url":"/r","format":"xml"}}"#,
            "refresh.format",
        ),
        (
            r#"{"refresh":{"url":"/r","format":"oauth2"}}"#,
            "refresh.clientId",
        ),
        (r#"{"refresh":{"url":"/r","extra":1}}"#, "refresh.extra"),
        (r#"{"refresh":{"format":"json"}}"#, "refresh.url"),
        (r#"{"refresh":null}"#, "refresh"),
        (r#"{"renewHeader":"bad header"}"#, "renewHeader"),
        (r#"{"crossTab":"yes"}"#, "crossTab"),
        (r#"{"drafts":"on"}"#, "drafts"),
        (r#"{"returnParam":""}"#, "returnParam"),
        (r#"{"fetch":42}"#, "fetch"),
        (r#"{"queueLimit":1.5}"#, "queueLimit"),
        (r#"{"retryAttempts":0}"#, "retryAttempts"),
    ];
    for (extra, option) in cases {
        let error = match TokenManager::new(options(&server, &obj(extra))) {
            Ok(_) => panic!("{extra} should be rejected"),
            Err(e) => e,
        };
        assert_eq!(code_of(&error), "config", "{extra}");
        assert_eq!(get_str(&error, "option").unwrap(), *option, "{extra}");
        assert!(is_test_token_error(&error), "{extra}");
    }
    assert_eq!(
        code_of(&TokenManager::new(JsValue::UNDEFINED).err().unwrap()),
        "config"
    );

    // Every documented option is accepted.
    let all = obj(
        r#"{"refresh":{"url":"/r","format":"oauth2","clientId":"c","scope":"s","headers":{"X-A":"1"},"credentials":"include","timeoutSeconds":10},
            "leadSeconds":60,"jitterSeconds":30,"allowedOrigins":["https://api.example.com"],"storage":"memory","storageKey":"k",
            "loginUrl":"/login","idleTimeoutSeconds":0,"maxSessionSeconds":0,"renewHeader":"X-Renewed-Token","crossTab":true,
            "drafts":{"selector":"form[data-draft]","ttlSeconds":86400},"redirect":true,"returnParam":"returnTo",
            "queueLimit":100,"queueTimeoutSeconds":10,"expiryMarginSeconds":5,"retryAttempts":3,"retryBaseSeconds":1,"retryCooldownSeconds":30}"#,
    );
    set(
        &all,
        "fetch",
        &get(&options(&server, &JsValue::UNDEFINED), "fetch"),
    );
    TokenManager::new(all)
        .expect("all documented options")
        .dispose();
}

#[wasm_bindgen_test]
fn decode_jwt_and_set_session_errors() {
    set_error_class(test_token_error_class());
    let token = make_jwt(60.0);
    let payload = decode_jwt(JsValue::from_str(&token), JsValue::UNDEFINED).unwrap();
    assert_eq!(get_str(&payload, "sub").unwrap(), "user-1");

    for (input, reason, part) in [
        ("abc", "missing_part", JsValue::from_str("payload")),
        (
            "e30.!!!.c2ln",
            "invalid_base64",
            JsValue::from_str("payload"),
        ),
        ("e30.WzFd.c2ln", "not_object", JsValue::from_str("payload")),
    ] {
        let error = decode_jwt(JsValue::from_str(input), JsValue::UNDEFINED).unwrap_err();
        assert_eq!(code_of(&error), "invalid_token", "{input}");
        assert_eq!(get_str(&error, "reason").unwrap(), reason, "{input}");
        assert_eq!(get(&error, "part"), part, "{input}");
        assert!(is_test_token_error(&error));
    }
    let error = decode_jwt(JsValue::from_f64(1.0), JsValue::UNDEFINED).unwrap_err();
    assert_eq!(code_of(&error), "invalid_token");
    assert_eq!(get_str(&error, "reason").unwrap(), "not_a_string");
    assert_eq!(get(&error, "part"), JsValue::NULL);

    let server = FakeServer::new();
    let auth = manager(&server, "");
    for bad in [
        JsValue::NULL,
        obj("{}"),
        obj(r#"{"accessToken":""}"#),
        obj(r#"{"accessToken":"opaque","expiresIn":-1}"#),
        obj(r#"{"accessToken":"x.y.z","refreshToken":5}"#),
    ] {
        let error = auth.set_session(bad).unwrap_err();
        assert_eq!(code_of(&error), "invalid_token");
    }
    // An opaque token is fine with expiresIn.
    auth.set_session(obj(r#"{"accessToken":"opaque","expiresIn":60}"#))
        .unwrap();
    assert_eq!(auth.access_token().unwrap(), "opaque");
    assert!(auth.claims().is_null());
    assert!(auth.expires_at().unwrap() > js_sys::Date::now());
    auth.dispose();
}

#[wasm_bindgen_test]
async fn dispose_rejects_waiting_requests_and_stops_everything() {
    let server = FakeServer::new();
    server.set_refresh_delay_ms(200.0);
    let auth = manager(&server, "");
    auth.set_session(session(&make_jwt(300.0), Some("r-0")))
        .unwrap();
    let refreshed = recorder();
    let off = auth
        .on("refreshed".into(), refreshed.listener().into())
        .unwrap();
    let waiting = auth.fetch(JsValue::from_str("/api/orders"), JsValue::UNDEFINED);
    let manual = auth.refresh();
    // Let the first send get its 401 and park the request behind the refresh.
    JsFuture::from(sleep(50.0)).await.unwrap();
    auth.dispose();
    assert_eq!(code_of(&settle(waiting).await.unwrap_err()), "disposed");
    assert_eq!(code_of(&settle(manual).await.unwrap_err()), "disposed");
    assert_eq!(
        code_of(
            &settle(auth.fetch("/x".into(), JsValue::UNDEFINED))
                .await
                .unwrap_err()
        ),
        "disposed"
    );
    assert_eq!(
        code_of(
            &auth
                .on("refreshed".into(), refreshed.listener().into())
                .unwrap_err()
        ),
        "disposed"
    );
    assert_eq!(auth.access_token(), None);
    off.call0(&JsValue::UNDEFINED).unwrap(); // an old unsubscribe stays safe to call
    JsFuture::from(sleep(300.0)).await.unwrap(); // the refresh completes after dispose
    assert_eq!(
        refreshed.events().length(),
        0,
        "nothing is emitted after dispose"
    );

    // Unknown event names and non-function listeners are config errors.
    let auth = manager(&server, "");
    assert_eq!(
        code_of(
            &auth
                .on("refreshd".into(), refreshed.listener().into())
                .unwrap_err()
        ),
        "config"
    );
    assert_eq!(
        code_of(
            &auth
                .on("refreshed".into(), JsValue::from_f64(1.0))
                .unwrap_err()
        ),
        "config"
    );
    auth.dispose();
}

#[wasm_bindgen_test]
async fn unsubscribe_stops_events() {
    let server = FakeServer::new();
    let auth = manager(&server, "");
    auth.set_session(session(&server.issue(300.0), Some("r-0")))
        .unwrap();
    let a = recorder();
    let b = recorder();
    let off_a = auth.on("refreshed".into(), a.listener().into()).unwrap();
    let _off_b = auth.on("refreshed".into(), b.listener().into()).unwrap();
    settle(auth.refresh()).await.unwrap();
    off_a.call0(&JsValue::UNDEFINED).unwrap();
    settle(auth.refresh()).await.unwrap();
    assert_eq!(a.events().length(), 1);
    assert_eq!(b.events().length(), 2);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn renew_header_is_adopted_only_from_allowed_origins() {
    let server = FakeServer::new();
    let renewed = server.issue(600.0);
    let stub = js_sys::Function::new_with_args(
        "server, renewed",
        "return async (input, init) => { const req = new Request(input, init); const res = await server.fetch(req); \
         const h = new Headers(res.headers); h.set('X-Renewed-Token', renewed); \
         return new Response(await res.text(), { status: res.status, headers: h }); };",
    )
    .call2(&JsValue::UNDEFINED, &server, &JsValue::from_str(&renewed))
    .unwrap();
    let extra = obj(r#"{"renewHeader":"X-Renewed-Token"}"#);
    set(&extra, "fetch", &stub);
    let auth = manager_with(&server, extra);
    let first = server.issue(300.0);
    auth.set_session(session(&first, Some("r-0"))).unwrap();
    let _ = fetch(&auth, "https://evil.example/x", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(
        auth.access_token().unwrap(),
        first,
        "a foreign origin cannot plant a token"
    );
    let _ = fetch(&auth, "/api/orders", JsValue::UNDEFINED)
        .await
        .unwrap();
    assert_eq!(
        auth.access_token().unwrap(),
        renewed,
        "the renewed token from our API is adopted"
    );
    auth.dispose();
}
