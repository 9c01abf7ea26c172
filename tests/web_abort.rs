//! Browser tests of `auth.fetch` with an `AbortSignal` (issue 12 item 5):
//! a request aborted while it waits in the refresh queue rejects at once
//! with the signal's reason and leaves the queue; an already-aborted signal
//! rejects before anything is queued, sent or refreshed; the abort listener
//! goes away when the request settles.
//!
//! Run: `PATH=$(bash -c 'source scripts/lib.sh; wasm_path') CHROMEDRIVER=/usr/bin/chromedriver
//! wasm-pack test --headless --chrome -- --test web_abort`
//!
//! The refresh of the fake server below waits for a gate the test opens, so
//! "while it waits in the queue" is a state the test holds, not a timing.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{obj, test_token_error_class};
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
export function jwt(lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: "u", iat: now, exp: now + lifetimeSeconds, jti: "a" + (++serial) };
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/** The API accepts only tokens it issued after `revoke()`; the refresh
 *  endpoint holds every call until `open()`. Counts every call by path. */
export class GatedServer {
  constructor() {
    this.good = new Set();
    this.calls = {};
    this.gate = null;
    this.release = null;
    this.fetch = (input, init) => this.handle(input, init);
  }
  revoke() { this.good.clear(); this.gate = new Promise((r) => { this.release = r; }); }
  open() { if (this.release) this.release(); this.gate = null; }
  count(path) { return this.calls[path] || 0; }
  async handle(input, init) {
    const req = input instanceof Request ? input : new Request(input, init);
    const path = new URL(req.url).pathname;
    this.calls[path] = (this.calls[path] || 0) + 1;
    if (path === "/auth/refresh") {
      if (this.gate) await this.gate;
      const t = jwt(300);
      this.good.add(t);
      return Response.json({ access_token: t, refresh_token: "r" + (++serial), expires_in: 300 });
    }
    const auth = req.headers.get("authorization") || "";
    if (!this.good.has(auth.slice(7))) {
      return new Response("no", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    }
    return new Response("ok " + path);
  }
}

export function options(server, extra) {
  return Object.assign({
    refresh: { url: "/auth/refresh" },
    fetch: server.fetch,
    crossTab: false,
    drafts: false,
    redirect: false,
    storage: "memory",
  }, extra || {});
}

/** "pending", "fulfilled" or "rejected", as the promise stands after the
 *  microtasks already queued (no timer involved). */
export async function state(p) {
  const marker = {};
  try {
    const v = await Promise.race([p, Promise.resolve(marker)]);
    return v === marker ? "pending" : "fulfilled";
  } catch (e) {
    return "rejected";
  }
}

export async function reason(p) {
  try { await p; return null; } catch (e) { return e; }
}

export function isDomAbort(e) { return e instanceof DOMException && e.name === "AbortError"; }

/** An AbortController whose signal counts its `abort` listeners. */
export function countingController() {
  const c = new AbortController();
  const s = c.signal;
  c.added = 0; c.removed = 0;
  const add = s.addEventListener.bind(s), remove = s.removeEventListener.bind(s);
  s.addEventListener = (type, f, o) => { if (type === "abort") c.added++; return add(type, f, o); };
  s.removeEventListener = (type, f, o) => { if (type === "abort") c.removed++; return remove(type, f, o); };
  return c;
}
export function listeners(c) { return c.added - c.removed; }
export function added(c) { return c.added; }

export function init(signal) { return { signal }; }
export function request(url, signal) { return new Request(url, { signal }); }
export function aborted(why) {
  const c = new AbortController();
  if (why === undefined) c.abort(); else c.abort(why);
  return c.signal;
}
"#)]
extern "C" {
    fn jwt(lifetime_seconds: f64) -> String;
    fn sleep(ms: f64) -> Promise;

    type GatedServer;
    #[wasm_bindgen(constructor)]
    fn new() -> GatedServer;
    #[wasm_bindgen(method)]
    fn revoke(this: &GatedServer);
    #[wasm_bindgen(method)]
    fn open(this: &GatedServer);
    #[wasm_bindgen(method)]
    fn count(this: &GatedServer, path: &str) -> u32;

    fn options(server: &GatedServer, extra: &JsValue) -> JsValue;
    fn state(p: &Promise) -> Promise;
    fn reason(p: &Promise) -> Promise;
    #[wasm_bindgen(js_name = isDomAbort)]
    fn is_dom_abort(e: &JsValue) -> bool;
    #[wasm_bindgen(js_name = countingController)]
    fn counting_controller() -> web_sys::AbortController;
    fn listeners(c: &web_sys::AbortController) -> i32;
    fn added(c: &web_sys::AbortController) -> i32;
    fn init(signal: &web_sys::AbortSignal) -> JsValue;
    fn request(url: &str, signal: &web_sys::AbortSignal) -> JsValue;
    fn aborted(why: &JsValue) -> web_sys::AbortSignal;
}

fn manager(server: &GatedServer, extra: &str) -> TokenManager {
    set_error_class(test_token_error_class());
    let extra = if extra.is_empty() {
        JsValue::UNDEFINED
    } else {
        obj(extra)
    };
    TokenManager::new(options(server, &extra)).expect("valid options")
}

fn sign_in(auth: &TokenManager) {
    let s = obj(r#"{"refreshToken":"r0"}"#);
    common::set(&s, "accessToken", &JsValue::from_str(&jwt(300.0)));
    auth.set_session(s).expect("setSession");
}

async fn pause(ms: f64) {
    JsFuture::from(sleep(ms)).await.unwrap();
}

/// Polls `cond` every 10 ms; fails the test after 10 s instead of hanging.
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1000 {
        if cond() {
            return;
        }
        pause(10.0).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn state_of(p: &Promise) -> String {
    JsFuture::from(state(p)).await.unwrap().as_string().unwrap()
}

async fn error_of(p: &Promise) -> JsValue {
    JsFuture::from(reason(p)).await.unwrap()
}

async fn status_of(p: Promise) -> u16 {
    JsFuture::from(p)
        .await
        .expect("a response")
        .unchecked_into::<web_sys::Response>()
        .status()
}

#[wasm_bindgen_test]
async fn aborting_a_queued_request_rejects_it_at_once_and_frees_its_place() {
    let server = GatedServer::new();
    let auth = manager(&server, r#"{"queueLimit":1}"#);
    sign_in(&auth);
    server.revoke(); // every request gets 401; the refresh waits for the gate
    let controller = counting_controller();
    let first = auth.fetch("/api/first".into(), init(&controller.signal()));
    until("the first request's 401 started the refresh", || {
        server.count("/auth/refresh") == 1
    })
    .await;
    assert_eq!(state_of(&first).await, "pending", "queued for the refresh");

    controller.abort();
    assert_eq!(
        state_of(&first).await,
        "rejected",
        "rejected at once, not when the refresh ends"
    );
    let error = error_of(&first).await;
    assert!(is_dom_abort(&error), "an AbortError DOMException, as fetch");
    assert_eq!(listeners(&controller), 0, "listener removed on settle");

    // The queue (limit 1) has room again: the next request waits for the
    // refresh in flight (a full queue would reject it with queue_full at once).
    let second = auth.fetch("/api/second".into(), JsValue::UNDEFINED);
    assert_eq!(state_of(&second).await, "pending", "queued, not queue_full");
    server.open();
    assert_eq!(status_of(second).await, 200, "sent after the refresh");
    assert_eq!(server.count("/api/second"), 1);
    assert_eq!(
        server.count("/api/first"),
        1,
        "the aborted one is not replayed"
    );
    assert_eq!(server.count("/auth/refresh"), 1);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn the_signal_reason_is_the_rejection_and_a_request_signal_counts_too() {
    let server = GatedServer::new();
    let auth = manager(&server, "");
    sign_in(&auth);
    server.revoke();
    let controller = web_sys::AbortController::new().unwrap();
    let waiting = auth.fetch(request("/api/r", &controller.signal()), JsValue::UNDEFINED);
    until("queued behind the refresh", || {
        server.count("/auth/refresh") == 1
    })
    .await;
    controller.abort_with_reason(&JsValue::from_str("user left the page"));
    assert_eq!(state_of(&waiting).await, "rejected");
    assert_eq!(
        error_of(&waiting).await.as_string().as_deref(),
        Some("user left the page")
    );
    server.open();
    auth.dispose();
}

#[wasm_bindgen_test]
async fn an_already_aborted_signal_rejects_before_anything_happens() {
    let server = GatedServer::new();
    let auth = manager(&server, "");
    sign_in(&auth);
    server.revoke(); // a request that went out would start a refresh
    let refreshed = Array::new();
    let _off = auth
        .on(
            "refreshed".into(),
            Closure::<dyn FnMut(JsValue)>::new({
                let refreshed = refreshed.clone();
                move |e: JsValue| {
                    refreshed.push(&e);
                }
            })
            .into_js_value(),
        )
        .unwrap();

    let plain = auth.fetch("/api/x".into(), init(&aborted(&JsValue::UNDEFINED)));
    assert_eq!(state_of(&plain).await, "rejected");
    assert!(is_dom_abort(&error_of(&plain).await));

    let with_reason = auth.fetch("/api/x".into(), init(&aborted(&"why".into())));
    assert_eq!(
        error_of(&with_reason).await.as_string().as_deref(),
        Some("why")
    );

    let as_request = auth.fetch(
        request("/api/x", &aborted(&JsValue::UNDEFINED)),
        JsValue::UNDEFINED,
    );
    assert!(is_dom_abort(&error_of(&as_request).await));

    pause(30.0).await;
    assert_eq!(server.count("/api/x"), 0, "nothing was sent");
    assert_eq!(server.count("/auth/refresh"), 0, "no refresh started");
    assert_eq!(refreshed.length(), 0);
    server.open();
    auth.dispose();
}

#[wasm_bindgen_test]
async fn one_signal_for_many_requests_keeps_no_listeners() {
    let server = GatedServer::new();
    let auth = manager(&server, "");
    sign_in(&auth);
    // Tokens from before `revoke()` are not good either: make one that is.
    server.revoke();
    server.open();
    JsFuture::from(auth.refresh()).await.expect("refresh");
    let controller = counting_controller();
    let calls = Array::new();
    for _ in 0..50 {
        calls.push(&auth.fetch("/api/many".into(), init(&controller.signal())));
    }
    let responses = JsFuture::from(Promise::all(&calls)).await.unwrap();
    assert_eq!(Array::from(&responses).length(), 50);
    for r in Array::from(&responses).iter() {
        assert_eq!(r.unchecked_into::<web_sys::Response>().status(), 200);
    }
    assert_eq!(added(&controller), 50, "one listener per request");
    assert_eq!(listeners(&controller), 0, "each removed when it settled");
    // A later abort of the shared signal reaches nobody and breaks nothing.
    controller.abort();
    let after = auth.fetch("/api/many".into(), JsValue::UNDEFINED);
    assert_eq!(status_of(after).await, 200);
    auth.dispose();
}
