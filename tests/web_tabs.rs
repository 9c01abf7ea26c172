//! Browser tests of cross-tab coordination (issue 5): several `TokenManager`s
//! with the same `storageKey` in one page behave like tabs of one origin —
//! `BroadcastChannel` delivers to every other channel object of the same
//! name (in this page too) and Web Locks are shared by the whole origin.
//!
//! Run: `PATH=/usr/bin:$PATH CHROMEDRIVER=/usr/bin/chromedriver \
//!   wasm-pack test --headless --chrome -- --test web_tabs`
//!
//! The fake server below rotates refresh tokens and detects reuse like a
//! real one (a used refresh token revokes everything), so "two refreshes
//! with one token" shows up as `reuse > 0`. Each test uses its own storage
//! key, so tests do not hear each other. Waits poll with a generous safety
//! limit; nothing asserts on elapsed time.
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{get, local_storage, obj, set};
use js_sys::{Array, Promise, Reflect};
use tokenwarden::web::TokenManager;
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
export function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

export class RotatingServer {
  constructor() {
    this.delayMs = 30;
    this.refreshCalls = 0;
    this.reuse = 0;
    this.apiOk = 0;
    this.api401 = 0;
    this.valid = new Set();
    this.live = new Set();
    this.used = new Set();
    this.serial = 0;
    // Refresh tokens presented, in order; `rotateOnly` next refreshes answer
    // a 2xx with a rotated refresh token and no access token.
    this.presented = [];
    this.rotateOnly = 0;
    this.fetch = (input, init) => this.handle(input, init);
  }
  issue() { const t = makeJwt(300); this.valid.add(t); return t; }
  newRefresh() { const r = "r" + (++this.serial) + "-" + Math.random().toString(36).slice(2); this.live.add(r); return r; }
  login() { return { accessToken: this.issue(), refreshToken: this.newRefresh() }; }
  expireAccessTokens() { this.valid.clear(); }
  async handle(input, init) {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === "/auth/refresh") {
      this.refreshCalls++;
      const body = await req.json().catch(() => ({}));
      const presented = body.refreshToken;
      this.presented.push(presented);
      await sleep(this.delayMs);
      if (this.used.has(presented)) {
        // Reuse detection: revoke the whole family.
        this.reuse++;
        this.live.clear();
        this.valid.clear();
        return Response.json({ error: "invalid_grant" }, { status: 401 });
      }
      if (!this.live.has(presented)) return Response.json({ error: "invalid_grant" }, { status: 401 });
      this.live.delete(presented);
      this.used.add(presented);
      if (this.rotateOnly > 0) {
        this.rotateOnly--;
        return Response.json({ refresh_token: this.newRefresh(), token_type: "Bearer" });
      }
      return Response.json({ access_token: this.issue(), refresh_token: this.newRefresh(), expires_in: 300 });
    }
    await sleep(5);
    const auth = req.headers.get("authorization");
    if (!auth || !this.valid.has(auth.slice(7))) {
      this.api401++;
      return new Response("expired", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    }
    this.apiOk++;
    return new Response("ok", { status: 200 });
  }
}

export function options(server, key, extra) {
  return Object.assign({
    refresh: { url: "/auth/refresh" },
    fetch: server.fetch,
    storageKey: key,
    drafts: false,
    redirect: false,
    retryBaseSeconds: 0.01,
  }, extra || {});
}

/** Collects the payloads of one event type. */
export class Recorder {
  constructor() { this.events = []; this.listener = (e) => { this.events.push(e); }; }
  get count() { return this.events.length; }
  fromTabCount() { return this.events.filter((e) => e.fromTab === true).length; }
  codes() { return this.events.map((e) => e.code); }
}

/** A raw channel on the manager's channel name, as another (foreign) tab would open it. */
export class RawTab {
  constructor(key) {
    this.channel = new BroadcastChannel("tokenwarden:" + key);
    this.received = [];
    this.answer = null;
    this.channel.onmessage = (e) => {
      this.received.push(e.data);
      if (this.answer && e.data && e.data.type === "hello") {
        this.channel.postMessage(Object.assign({ v: 1, type: "session", from: "raw", to: e.data.from }, this.answer));
      }
    };
  }
  post(value) { this.channel.postMessage(value); }
  answerHelloWith(session) { this.answer = session; }
  hellos() { return this.received.filter((m) => m && m.type === "hello").length; }
  types() { return this.received.map((m) => m && m.type); }
  close() { this.channel.close(); }
}

export function garbageMessages() {
  const tokens = { v: 1, type: "tokens", from: "x", accessToken: "a.b.c", refreshToken: null, expiresAt: 1, startedAt: 1 };
  return [
    "just a string",
    42,
    null,
    [1, 2],
    {},
    Object.assign({}, tokens, { v: 2 }),
    Object.assign({}, tokens, { type: "nope" }),
    { v: 1, type: "tokens", from: "x" },
    Object.assign({}, tokens, { extra: true }),
    Object.assign({}, tokens, { expiresAt: -1 }),
    Object.assign({}, tokens, { expiresAt: 1.5 }),
    Object.assign({}, tokens, { accessToken: "" }),
    Object.assign({}, tokens, { refreshToken: 7 }),
    Object.assign({}, tokens, { from: "" }),
    Object.assign({}, tokens, { accessToken: "x".repeat(70000) }),
    { v: 1, type: "logout", from: "x", reason: "because" },
    { v: 1, type: "session", from: "x", accessToken: "a", refreshToken: null, expiresAt: 1, startedAt: 1 },
    { v: "1", type: "hello", from: "x" },
  ];
}

/** Drops every BroadcastChannel message posted until `unmuteChannels` (a lost broadcast). */
const realPost = BroadcastChannel.prototype.postMessage;
export function muteChannels() { BroadcastChannel.prototype.postMessage = function () {}; }
export function unmuteChannels() { BroadcastChannel.prototype.postMessage = realPost; }

/** Resolves once no manager holds a `hello` answer claim on `key` (a tab's
 *  repeated `hello` gets no answer while the claim for its first is held). */
export async function helloClaimsReleased(key) {
  const prefix = "tokenwarden:hello:" + key + ":";
  for (let i = 0; i < 1000; i++) {
    const { held } = await navigator.locks.query();
    if (!held.some((l) => l.name.startsWith(prefix))) return;
    await sleep(10);
  }
  throw new Error("hello claims still held");
}

export function hideLocks() {
  Object.defineProperty(navigator, "locks", { value: undefined, configurable: true });
}
export function restoreLocks() { delete navigator.locks; }
export function hasLocks() { return !!navigator.locks; }
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeJwt)]
    fn make_jwt(lifetime_seconds: f64) -> String;
    fn sleep(ms: f64) -> Promise;

    type RotatingServer;
    #[wasm_bindgen(constructor)]
    fn new() -> RotatingServer;
    #[wasm_bindgen(method)]
    fn login(this: &RotatingServer) -> JsValue;
    #[wasm_bindgen(method, js_name = expireAccessTokens)]
    fn expire_access_tokens(this: &RotatingServer);
    #[wasm_bindgen(method, getter, js_name = refreshCalls)]
    fn refresh_calls(this: &RotatingServer) -> u32;
    #[wasm_bindgen(method, getter)]
    fn reuse(this: &RotatingServer) -> u32;
    #[wasm_bindgen(method, getter, js_name = delayMs)]
    fn delay_ms(this: &RotatingServer) -> f64;
    #[wasm_bindgen(method, setter, js_name = delayMs)]
    fn set_delay_ms(this: &RotatingServer, ms: f64);
    #[wasm_bindgen(method, setter, js_name = rotateOnly)]
    fn set_rotate_only(this: &RotatingServer, n: u32);
    #[wasm_bindgen(method, getter)]
    fn presented(this: &RotatingServer) -> Array;

    fn options(server: &RotatingServer, key: &str, extra: &JsValue) -> JsValue;

    type Recorder;
    #[wasm_bindgen(constructor)]
    fn new() -> Recorder;
    #[wasm_bindgen(method, getter)]
    fn listener(this: &Recorder) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn count(this: &Recorder) -> u32;
    #[wasm_bindgen(method, js_name = fromTabCount)]
    fn from_tab_count(this: &Recorder) -> u32;
    #[wasm_bindgen(method)]
    fn codes(this: &Recorder) -> Array;

    type RawTab;
    #[wasm_bindgen(constructor)]
    fn new(key: &str) -> RawTab;
    #[wasm_bindgen(method)]
    fn post(this: &RawTab, value: &JsValue);
    #[wasm_bindgen(method, js_name = answerHelloWith)]
    fn answer_hello_with(this: &RawTab, session: &JsValue);
    #[wasm_bindgen(method)]
    fn hellos(this: &RawTab) -> u32;
    #[wasm_bindgen(method)]
    fn types(this: &RawTab) -> Array;
    #[wasm_bindgen(method)]
    fn close(this: &RawTab);

    #[wasm_bindgen(js_name = garbageMessages)]
    fn garbage_messages() -> Array;
    #[wasm_bindgen(js_name = helloClaimsReleased)]
    fn hello_claims_released(key: &str) -> Promise;
    #[wasm_bindgen(js_name = muteChannels)]
    fn mute_channels();
    #[wasm_bindgen(js_name = unmuteChannels)]
    fn unmute_channels();
    #[wasm_bindgen(js_name = hideLocks)]
    fn hide_locks();
    #[wasm_bindgen(js_name = restoreLocks)]
    fn restore_locks();
    #[wasm_bindgen(js_name = hasLocks)]
    fn has_locks() -> bool;
}

// ---- helpers ----

/// A unique storage key per test (tests share one page).
fn key(name: &str) -> String {
    let mut k = String::from("tw-tabs-");
    k.push_str(name);
    k.push('-');
    k.push_str(&(js_sys::Math::random() * 1e9).floor().to_string());
    k
}

fn tab(server: &RotatingServer, key: &str, extra: &str) -> TokenManager {
    let extra = if extra.is_empty() {
        JsValue::UNDEFINED
    } else {
        obj(extra)
    };
    TokenManager::new(options(server, key, &extra)).expect("valid options")
}

fn record(auth: &TokenManager, event: &str) -> Recorder {
    let r = Recorder::new();
    let _off = auth.on(event.into(), r.listener()).expect("known event");
    r
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

async fn refresh(auth: &TokenManager) -> Result<JsValue, JsValue> {
    JsFuture::from(auth.refresh()).await
}

async fn status_of(auth: &TokenManager, path: &str) -> u16 {
    match JsFuture::from(auth.fetch(JsValue::from_str(path), JsValue::UNDEFINED)).await {
        Ok(r) => r.unchecked_into::<web_sys::Response>().status(),
        Err(_) => 0,
    }
}

fn local_get(key: &str) -> Option<String> {
    local_storage().get_item(key).unwrap()
}

fn local_set(key: &str, value: &str) {
    local_storage().set_item(key, value).unwrap();
}

fn join(a: &str, b: &str) -> String {
    let mut s = String::from(a);
    s.push_str(b);
    s
}

// ---- one refresh for all tabs ----

#[wasm_bindgen_test]
async fn two_tabs_refreshing_at_once_make_one_refresh() {
    let server = RotatingServer::new();
    server.set_delay_ms(80.0);
    let k = key("one");
    let a = tab(&server, &k, "");
    let b = tab(&server, &k, "");
    let login = server.login();
    a.set_session(login.clone()).unwrap();
    b.set_session(login).unwrap();
    let old = a.access_token();
    let (ra, rb) = (record(&a, "refreshed"), record(&b, "refreshed"));
    // Both start a refresh before either can finish.
    let (pa, pb) = (a.refresh(), b.refresh());
    JsFuture::from(pa).await.expect("tab A's refresh resolves");
    JsFuture::from(pb).await.expect("tab B's refresh resolves");
    assert_eq!(server.refresh_calls(), 1, "exactly one refresh request");
    assert_eq!(server.reuse(), 0, "no refresh token was used twice");
    assert!(a.access_token().is_some());
    assert_ne!(a.access_token(), old);
    assert_eq!(
        a.access_token(),
        b.access_token(),
        "both tabs hold the new token"
    );
    assert_eq!(a.expires_at(), b.expires_at());
    // One tab refreshed itself, the other adopted its tokens.
    assert_eq!(ra.from_tab_count() + rb.from_tab_count(), 1);
    // Both can keep refreshing with the rotated refresh token.
    refresh(&b)
        .await
        .expect("B refreshes with the shared rotated token");
    until("A adopts B's tokens", || {
        a.access_token() == b.access_token()
    })
    .await;
    refresh(&a)
        .await
        .expect("A refreshes with B's rotated token");
    assert_eq!(server.refresh_calls(), 3);
    assert_eq!(server.reuse(), 0);
    a.dispose();
    b.dispose();
}

#[wasm_bindgen_test]
async fn requests_in_flight_in_three_tabs_share_one_refresh() {
    let server = RotatingServer::new();
    server.set_delay_ms(50.0);
    let k = key("burst");
    let tabs: Vec<TokenManager> = (0..3).map(|_| tab(&server, &k, "")).collect();
    let login = server.login();
    for t in &tabs {
        t.set_session(login.clone()).unwrap();
    }
    server.expire_access_tokens();
    let calls = Array::new();
    for t in &tabs {
        for _ in 0..10 {
            calls.push(&t.fetch(JsValue::from_str("/api/orders"), JsValue::UNDEFINED));
        }
    }
    let responses = JsFuture::from(Promise::all(&calls))
        .await
        .expect("all settle");
    for r in Array::from(&responses).iter() {
        assert_eq!(r.unchecked_into::<web_sys::Response>().status(), 200);
    }
    assert_eq!(
        server.refresh_calls(),
        1,
        "one refresh for 30 requests in 3 tabs"
    );
    assert_eq!(server.reuse(), 0);
    let token = tabs[0].access_token();
    assert!(tabs.iter().all(|t| t.access_token() == token));
    for t in &tabs {
        t.dispose();
    }
}

#[wasm_bindgen_test]
async fn lease_fallback_without_web_locks_still_makes_one_refresh() {
    hide_locks();
    assert!(!has_locks());
    let server = RotatingServer::new();
    server.set_delay_ms(80.0);
    let k = key("lease");
    let a = tab(&server, &k, "");
    let b = tab(&server, &k, "");
    let login = server.login();
    a.set_session(login.clone()).unwrap();
    b.set_session(login).unwrap();
    let (pa, pb) = (a.refresh(), b.refresh());
    let outcome_a = JsFuture::from(pa).await;
    let outcome_b = JsFuture::from(pb).await;
    restore_locks();
    assert!(has_locks());
    outcome_a.expect("A resolves");
    outcome_b.expect("B resolves");
    assert_eq!(server.refresh_calls(), 1);
    assert_eq!(server.reuse(), 0);
    assert_eq!(a.access_token(), b.access_token());
    // Both promises settled: A's refresh released the lease before its
    // tokens went out; B's attempt, superseded by them, released (or never
    // wrote) its own before B's promise settled.
    assert_eq!(
        local_get(&join(&k, ":refresh-lease")),
        None,
        "lease released"
    );
    a.dispose();
    b.dispose();
}

/// Issue 12 item 11: a refresh that is superseded while it holds the lease
/// (here: waiting for the tokens of the tab that rotated last) releases the
/// lease before its `auth.refresh()` promise settles — not at its next poll.
#[wasm_bindgen_test]
async fn a_superseded_refresh_releases_the_lease_before_its_promise_settles() {
    hide_locks();
    let server = RotatingServer::new();
    let k = key("lease-superseded");
    let b = tab(&server, &k, "");
    b.set_session(server.login()).unwrap();
    // The rotation marker names tokens this tab does not have: under the
    // lease it asks the others (hello) and waits for their tokens.
    local_set(&join(&k, ":rotation"), "0123456789abcdef");
    let raw = RawTab::new(&k);
    let answer = js_sys::Object::new();
    set(&answer, "accessToken", &JsValue::from_str(&make_jwt(600.0)));
    set(&answer, "refreshToken", &JsValue::from_str("r-elsewhere"));
    set(
        &answer,
        "expiresAt",
        &JsValue::from_f64(b.expires_at().unwrap() + 300_000.0),
    );
    set(&answer, "startedAt", &JsValue::from_f64(1.0));
    raw.answer_hello_with(&answer);
    let outcome = refresh(&b).await;
    // Checked before anything else can run: no poll, no timer in between.
    let lease = local_get(&join(&k, ":refresh-lease"));
    restore_locks();
    outcome.expect("resolves with the tokens from the other tab");
    assert_eq!(raw.hellos(), 1, "it held the lease and asked");
    assert_eq!(lease, None, "lease released before the promise settled");
    assert_eq!(server.refresh_calls(), 0);
    raw.close();
    b.dispose();
}

// ---- the shared state re-read under the lock ----

#[wasm_bindgen_test]
async fn local_mode_adopts_tokens_rotated_elsewhere_instead_of_refreshing() {
    let server = RotatingServer::new();
    let k = key("local");
    let b = tab(&server, &k, r#"{"storage":"local"}"#);
    b.set_session(server.login()).unwrap();
    // Another tab refreshed and persisted, but its broadcast never came.
    let newer = make_jwt(600.0);
    let expires = b.expires_at().unwrap() + 300_000.0;
    let stored = js_sys::JSON::stringify(&obj(&{
        let mut s = String::from(r#"{"v":1,"accessToken":""#);
        s.push_str(&newer);
        s.push_str(r#"","refreshToken":"r-elsewhere","expiresAt":"#);
        s.push_str(&expires.to_string());
        s.push_str(r#","startedAt":1}"#);
        s
    }))
    .unwrap()
    .as_string()
    .unwrap();
    local_set(&join(&k, ":session"), &stored);
    let refreshed = record(&b, "refreshed");
    refresh(&b).await.expect("resolves with the adopted tokens");
    assert_eq!(server.refresh_calls(), 0, "no network refresh");
    assert_eq!(b.access_token().as_deref(), Some(newer.as_str()));
    assert_eq!(b.expires_at(), Some(expires));
    assert_eq!(refreshed.from_tab_count(), 1);
    b.dispose();
}

#[wasm_bindgen_test]
async fn memory_mode_tab_with_stale_tokens_asks_the_others_before_refreshing() {
    let server = RotatingServer::new();
    let k = key("stale");
    let b = tab(&server, &k, "");
    b.set_session(server.login()).unwrap();
    // The rotation marker names tokens this tab does not have.
    local_set(&join(&k, ":rotation"), "0123456789abcdef");
    let raw = RawTab::new(&k);
    let newer = make_jwt(600.0);
    let expires = b.expires_at().unwrap() + 300_000.0;
    let answer = js_sys::Object::new();
    set(&answer, "accessToken", &JsValue::from_str(&newer));
    set(&answer, "refreshToken", &JsValue::from_str("r-elsewhere"));
    set(&answer, "expiresAt", &JsValue::from_f64(expires));
    set(&answer, "startedAt", &JsValue::from_f64(1.0));
    raw.answer_hello_with(&answer);
    refresh(&b)
        .await
        .expect("resolves with the tokens from the other tab");
    assert_eq!(server.refresh_calls(), 0, "no network refresh");
    assert_eq!(raw.hellos(), 1, "asked once");
    assert_eq!(b.access_token().as_deref(), Some(newer.as_str()));
    raw.close();
    b.dispose();
}

/// Tab A's refresh gets a 2xx with a rotated refresh token but no access
/// token (A keeps the new refresh token); A's broadcast is lost. Tab B, on
/// the same storage key with A's old tokens, then refreshes: under the lock
/// it must find the rotation (the storage entry in `local` mode, the
/// rotation marker of both tokens in `memory`/`session` mode) and send A's
/// rotated refresh token — its own was used up, and sending it again would
/// make the server revoke the whole grant (reuse detection).
async fn a_refresh_token_rotated_alone_in_a_tab_whose_broadcast_was_lost(storage: &str) {
    let server = RotatingServer::new();
    let k = key(&join("rotated-alone-", storage));
    let mut b_opts = String::from(r#"{"storage":""#);
    b_opts.push_str(storage);
    b_opts.push('"');
    let mut a_opts = b_opts.clone();
    a_opts.push_str(r#","retryAttempts":1}"#);
    b_opts.push('}');
    let a = tab(&server, &k, &a_opts);
    let b = tab(&server, &k, &b_opts);
    a.set_session(server.login()).unwrap();
    until("B gets A's session", || {
        b.access_token().is_some() && b.access_token() == a.access_token()
    })
    .await;
    let access = a.access_token();
    // B's `hello` at start-up was answered (A was signed in by then); the
    // claim for it would keep B's next `hello` unanswered for 2 s.
    JsFuture::from(hello_claims_released(&k)).await.unwrap();
    // A's refresh: the server rotates (r1 used up, r2 issued) but sends no
    // access token. The broadcast of r2 never reaches B.
    server.set_rotate_only(1);
    mute_channels();
    let outcome = refresh(&a).await;
    unmute_channels();
    assert!(outcome.is_err(), "no access token: A's refresh failed");
    let presented: Vec<String> = server
        .presented()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert_eq!(presented.len(), 1, "{presented:?}");
    assert_eq!(a.access_token(), access, "A keeps its access token");
    assert_eq!(b.access_token(), access);
    let outcome = refresh(&b).await;
    let presented: Vec<String> = server
        .presented()
        .iter()
        .filter_map(|v| v.as_string())
        .collect();
    assert!(
        outcome.is_ok(),
        "B refreshes: {outcome:?}, sent {presented:?}"
    );
    assert_eq!(presented.len(), 2, "{presented:?}");
    assert_ne!(
        presented[1], presented[0],
        "B sent A's rotated refresh token, not the used-up one"
    );
    assert_eq!(server.reuse(), 0, "no refresh token was used twice");
    assert_ne!(b.access_token(), access, "B has a new access token");
    until("A adopts B's tokens", || {
        a.access_token() == b.access_token()
    })
    .await;
    a.dispose();
    b.dispose();
}

#[wasm_bindgen_test]
async fn local_mode_sends_a_refresh_token_rotated_alone_in_another_tab() {
    a_refresh_token_rotated_alone_in_a_tab_whose_broadcast_was_lost("local").await;
}

#[wasm_bindgen_test]
async fn memory_mode_sends_a_refresh_token_rotated_alone_in_another_tab() {
    a_refresh_token_rotated_alone_in_a_tab_whose_broadcast_was_lost("memory").await;
}

#[wasm_bindgen_test]
async fn session_mode_sends_a_refresh_token_rotated_alone_in_another_tab() {
    a_refresh_token_rotated_alone_in_a_tab_whose_broadcast_was_lost("session").await;
}

// ---- shared session, logout ----

#[wasm_bindgen_test]
async fn a_new_tab_gets_the_session_from_an_open_one() {
    let server = RotatingServer::new();
    let k = key("hello");
    let a = tab(&server, &k, "");
    a.set_session(server.login()).unwrap();
    let raw = RawTab::new(&k);
    let b = tab(&server, &k, "");
    let refreshed = record(&b, "refreshed");
    until("B has A's session", || b.access_token().is_some()).await;
    assert_eq!(b.access_token(), a.access_token());
    assert_eq!(b.expires_at(), a.expires_at());
    assert_eq!(refreshed.from_tab_count(), 1);
    until("the raw tab saw hello and session", || {
        raw.types().length() >= 2
    })
    .await;
    let types: Vec<String> = raw.types().iter().filter_map(|t| t.as_string()).collect();
    assert_eq!(types, ["hello", "session"]);
    // B got the refresh token too: it can refresh, and A follows.
    refresh(&b)
        .await
        .expect("B refreshes with the shared refresh token");
    until("A adopts B's refresh", || {
        a.access_token() == b.access_token()
    })
    .await;
    assert_eq!(server.refresh_calls(), 1);
    assert_eq!(server.reuse(), 0);
    raw.close();
    a.dispose();
    b.dispose();
}

#[wasm_bindgen_test]
async fn logout_in_one_tab_signs_out_the_others() {
    let server = RotatingServer::new();
    let k = key("logout");
    let a = tab(&server, &k, r#"{"storage":"local"}"#);
    let b = tab(&server, &k, r#"{"storage":"local"}"#);
    let c = tab(&server, &k, "");
    let login = server.login();
    a.set_session(login.clone()).unwrap();
    until("B and C have the session", || {
        b.access_token().is_some() && c.access_token() == a.access_token()
    })
    .await;
    let (lb, lc) = (record(&b, "logout"), record(&c, "logout"));
    JsFuture::from(a.logout(JsValue::UNDEFINED)).await.unwrap();
    until("B and C are signed out", || {
        b.access_token().is_none() && c.access_token().is_none()
    })
    .await;
    assert_eq!(lb.count(), 1);
    assert_eq!(lc.count(), 1);
    assert_eq!(local_get(&join(&k, ":session")), None);
    // A request in B now goes out without a token, and the server says 401.
    assert_eq!(status_of(&b, "/api/orders").await, 401);
    a.dispose();
    b.dispose();
    c.dispose();
}

#[wasm_bindgen_test]
async fn tokens_of_a_logged_out_session_do_not_sign_a_tab_back_in() {
    // A refresh in another tab raced the logout: its tokens arrive after the
    // logout. They belong to the session that ended and are not adopted; a
    // new sign-in (a new startedAt) is.
    let server = RotatingServer::new();
    let k = key("race");
    let a = tab(&server, &k, "");
    let raw = RawTab::new(&k);
    a.set_session(server.login()).unwrap();
    until("the raw tab saw the sign-in", || raw.types().length() >= 1).await;
    let received = Array::from(&Reflect::get(&raw, &"received".into()).unwrap());
    let tokens = received
        .iter()
        .find(|m| get(m, "type").as_string().as_deref() == Some("tokens"))
        .expect("tokens message");
    let started = get(&tokens, "startedAt");
    assert!(started.as_f64().is_some());
    JsFuture::from(a.logout(JsValue::UNDEFINED)).await.unwrap();
    assert_eq!(a.access_token(), None);
    let late = obj(
        r#"{"v":1,"type":"tokens","from":"raw","refreshToken":"r-late","expiresAt":9000000000000}"#,
    );
    set(&late, "accessToken", &JsValue::from_str(&make_jwt(600.0)));
    set(&late, "startedAt", &started);
    raw.post(&late);
    pause(50.0).await;
    assert_eq!(a.access_token(), None, "the ended session stays ended");
    let fresh = obj(
        r#"{"v":1,"type":"tokens","from":"raw","refreshToken":"r-new","expiresAt":9000000000000}"#,
    );
    let token = make_jwt(600.0);
    set(&fresh, "accessToken", &JsValue::from_str(&token));
    set(
        &fresh,
        "startedAt",
        &JsValue::from_f64(started.as_f64().unwrap() + 1.0),
    );
    raw.post(&fresh);
    until("a new sign-in elsewhere is adopted", || {
        a.access_token().as_deref() == Some(token.as_str())
    })
    .await;
    raw.close();
    a.dispose();
}

// ---- what is on the channel ----

/// `n` managers on one storage key join one after the other (each gets the
/// session from the others), one refreshes, one logs out. Returns the
/// messages posted on the channel, by type, once every manager followed.
async fn channel_traffic(n: usize) -> Vec<String> {
    let server = RotatingServer::new();
    let k = key("traffic");
    let raw = RawTab::new(&k);
    let first = tab(&server, &k, "");
    first.set_session(server.login()).unwrap();
    let mut tabs = vec![first];
    for _ in 1..n {
        let t = tab(&server, &k, "");
        until("the new tab has the session", || t.access_token().is_some()).await;
        tabs.push(t);
    }
    let last = tabs.last().expect("n >= 1");
    refresh(last).await.expect("refresh");
    let token = last.access_token();
    until("every tab has the refreshed token", || {
        tabs.iter().all(|t| t.access_token() == token)
    })
    .await;
    JsFuture::from(tabs[0].logout(JsValue::UNDEFINED))
        .await
        .unwrap();
    until("every tab is signed out", || {
        tabs.iter().all(|t| t.access_token().is_none())
    })
    .await;
    // Late answers would come within a few tasks: give them time to show.
    pause(100.0).await;
    let types: Vec<String> = raw.types().iter().filter_map(|t| t.as_string()).collect();
    assert_eq!(server.refresh_calls(), 1);
    raw.close();
    for t in &tabs {
        t.dispose();
    }
    types
}

fn count(types: &[String], kind: &str) -> usize {
    types.iter().filter(|t| *t == kind).count()
}

/// Issue 12 item 10: the channel traffic grows linearly with the managers
/// on one storage key (it grew with their square: every manager answered
/// every `hello`).
#[wasm_bindgen_test]
async fn channel_messages_grow_linearly_with_the_managers() {
    for n in [5usize, 25] {
        let types = channel_traffic(n).await;
        web_sys::console::log_1(&JsValue::from_str(&format!(
            "{n} managers: {} messages: hello {}, session {}, tokens {}, logout {}",
            types.len(),
            count(&types, "hello"),
            count(&types, "session"),
            count(&types, "tokens"),
            count(&types, "logout")
        )));
        // One hello per manager (the first asks too, before its sign-in),
        // one answer per joining manager, one tokens
        // message for the sign-in and one for the refresh, one logout.
        assert_eq!(count(&types, "hello"), n, "{types:?}");
        assert_eq!(count(&types, "session"), n - 1, "{types:?}");
        assert_eq!(count(&types, "tokens"), 2, "{types:?}");
        assert_eq!(count(&types, "logout"), 1, "{types:?}");
        assert_eq!(types.len(), 2 * n + 2);
    }
}

#[wasm_bindgen_test]
async fn garbage_on_the_channel_is_ignored_with_a_warning() {
    let server = RotatingServer::new();
    let k = key("garbage");
    let b = tab(&server, &k, "");
    b.set_session(server.login()).unwrap();
    let before = (b.access_token(), b.expires_at());
    let warnings = record(&b, "warning");
    let raw = RawTab::new(&k);
    let garbage = garbage_messages();
    for m in garbage.iter() {
        raw.post(&m);
    }
    until("one warning per bad message", || {
        warnings.count() == garbage.length()
    })
    .await;
    for code in warnings.codes().iter() {
        assert_eq!(code.as_string().as_deref(), Some("tab_message_invalid"));
    }
    assert_eq!(
        (b.access_token(), b.expires_at()),
        before,
        "nothing adopted"
    );
    // A valid message in the documented format is adopted.
    let newer = make_jwt(900.0);
    let expires = before.1.unwrap() + 600_000.0;
    let message = obj(r#"{"v":1,"type":"tokens","from":"raw","refreshToken":null,"startedAt":5}"#);
    set(&message, "accessToken", &JsValue::from_str(&newer));
    set(&message, "expiresAt", &JsValue::from_f64(expires));
    raw.post(&message);
    until("the valid message is adopted", || {
        b.access_token().as_deref() == Some(newer.as_str())
    })
    .await;
    assert_eq!(b.expires_at(), Some(expires));
    assert_eq!(warnings.count(), garbage.length(), "no warning for it");
    // An older token from the channel is not adopted.
    let older = obj(
        r#"{"v":1,"type":"tokens","from":"raw","accessToken":"x.y.z","refreshToken":null,"expiresAt":1000,"startedAt":5}"#,
    );
    raw.post(&older);
    pause(50.0).await;
    assert_eq!(b.access_token().as_deref(), Some(newer.as_str()));
    raw.close();
    b.dispose();
}

#[wasm_bindgen_test]
async fn tokens_and_logout_are_broadcast_in_the_documented_format() {
    let server = RotatingServer::new();
    let k = key("format");
    let raw = RawTab::new(&k);
    let a = tab(&server, &k, "");
    a.set_session(server.login()).unwrap();
    JsFuture::from(a.logout(JsValue::UNDEFINED)).await.unwrap();
    until("hello, tokens and logout seen", || {
        raw.types().length() >= 3
    })
    .await;
    let messages: Vec<JsValue> = {
        let r = Reflect::get(&raw, &"received".into()).unwrap();
        Array::from(&r).iter().collect()
    };
    let kind = |m: &JsValue| get(m, "type").as_string().unwrap_or_default();
    assert_eq!(kind(&messages[0]), "hello");
    assert_eq!(kind(&messages[1]), "tokens");
    assert_eq!(kind(&messages[2]), "logout");
    let tokens = &messages[1];
    assert_eq!(get(tokens, "v").as_f64(), Some(1.0));
    assert!(get(tokens, "from")
        .as_string()
        .is_some_and(|s| !s.is_empty()));
    assert_eq!(
        get(tokens, "from"),
        get(&messages[0], "from"),
        "one id per tab"
    );
    assert!(get(tokens, "refreshToken").as_string().is_some());
    assert_eq!(
        get(&messages[2], "reason").as_string().as_deref(),
        Some("logout")
    );
    raw.close();
    a.dispose();
}

#[wasm_bindgen_test]
async fn cross_tab_off_neither_listens_nor_posts() {
    let server = RotatingServer::new();
    let k = key("off");
    let raw = RawTab::new(&k);
    let a = tab(&server, &k, r#"{"crossTab":false}"#);
    a.set_session(server.login()).unwrap();
    let warnings = record(&a, "warning");
    raw.post(&JsValue::from_str("garbage"));
    raw.post(&obj(
        r#"{"v":1,"type":"logout","from":"raw","reason":"logout"}"#,
    ));
    refresh(&a).await.expect("refreshes on its own");
    pause(50.0).await;
    assert!(
        a.access_token().is_some(),
        "the logout message was not heard"
    );
    assert_eq!(warnings.count(), 0);
    assert_eq!(raw.types().length(), 0, "nothing posted");
    assert_eq!(server.refresh_calls(), 1);
    raw.close();
    a.dispose();
}
