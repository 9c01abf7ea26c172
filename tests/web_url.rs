//! Browser tests of issue 12 items 1, 2, 3 and 9 (the URL, redirect and
//! challenge rules of `core::http`) through the public `TokenManager` in
//! headless Chrome, against an injected `fetch` stub (no network).
//!
//! The stub (`Stub` below) behaves like `fetch` where it matters here: it
//! builds a `Request` from `(input, init)` first, so a URL that `fetch`
//! refuses throws the same `TypeError`, and a relative URL resolves against
//! the document's base URL *at the time of the call*, as `fetch` does. It
//! records every call's resolved URL and `Authorization` header.
//!
//! Run: `source scripts/lib.sh; PATH="$(wasm_path)" CHROMEDRIVER=/usr/bin/chromedriver \
//!   wasm-pack test --headless --chrome -- --test web_url`
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{obj, set, test_token_error_class};
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
  const payload = { sub: "u", iat: now, exp: now + lifetimeSeconds, jti: "w" + (++serial) };
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}

export class Stub {
  constructor() {
    this.valid = new Set();
    this.calls = [];
    this.refreshCalls = 0;
    // `respond(req)` may answer an API call instead of the default.
    this.respond = null;
    // When set, refreshes wait until `release()`.
    this.gate = null;
    this.refreshEntered = null;
    this.fetch = (input, init) => {
      // Throws what `fetch` throws for a bad URL or init; resolves a
      // relative URL against the base URL of now.
      const req = input instanceof Request ? input : new Request(input, init);
      return this.handle(req);
    };
  }
  issue(lifetime) { const t = makeJwt(lifetime); this.valid.add(t); return t; }
  hold() {
    this.gate = new Promise((r) => { this.release = r; });
    this.entered = new Promise((r) => { this.refreshEntered = r; });
  }
  async handle(req) {
    const url = new URL(req.url);
    if (url.pathname === "/auth/refresh") {
      this.refreshCalls++;
      if (this.refreshEntered) this.refreshEntered();
      if (this.gate) await this.gate;
      const t = this.issue(300);
      return Response.json({ access_token: t, refresh_token: "r" + serial, expires_in: 300 });
    }
    const auth = req.headers.get("authorization");
    this.calls.push({ url: req.url, origin: url.origin, auth });
    if (this.respond) {
      const answer = this.respond(req);
      if (answer) return answer;
    }
    if (url.origin === location.origin && !(auth && this.valid.has(auth.slice(7)))) {
      return new Response("expired", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    }
    return new Response("ok");
  }
  authsTo(origin) { return this.calls.filter((c) => c.origin === origin && c.auth !== null).length; }
  urlsWithAuth() { return this.calls.filter((c) => c.auth !== null).map((c) => c.url); }
  allUrls() { return this.calls.map((c) => c.url); }
}

/** What the stub `fetch` itself does with `url`: "TypeError", "response:<status>" or another error's name. */
export async function outcome(promiseOrThunk) {
  try {
    const p = typeof promiseOrThunk === "function" ? promiseOrThunk() : promiseOrThunk;
    const r = await p;
    return "response:" + r.status;
  } catch (e) {
    return e && e.name ? e.name : String(e);
  }
}

export function direct(stub, url) { return () => stub.fetch(url); }

export function options(stub, extra) {
  return Object.assign({
    refresh: { url: "/auth/refresh" },
    fetch: stub.fetch,
    crossTab: false,
    drafts: false,
    redirect: false,
    retryBaseSeconds: 0.01,
  }, extra || {});
}

/** A response whose final URL (after a redirect) is `finalUrl`, carrying
 *  `X-Renewed-Token: token`. A synthetic `Response` cannot be made with a
 *  URL, so the `url`/`redirected` getters are shadowed on the instance, which
 *  is what a property read (and the library) sees. */
export function redirectedResponse(finalUrl, token) {
  const res = new Response("landed", { headers: { "X-Renewed-Token": token } });
  if (finalUrl != null) {
    Object.defineProperty(res, "url", { value: finalUrl });
    Object.defineProperty(res, "redirected", { value: true });
  }
  return res;
}

export function insertBase(href) {
  const base = document.createElement("base");
  base.href = href;
  document.head.prepend(base);
  return base;
}

export function unauthorized(challenge) {
  return new Response("no", { status: 401, headers: { "www-authenticate": challenge } });
}
"#)]
extern "C" {
    type Stub;
    #[wasm_bindgen(constructor)]
    fn new() -> Stub;
    #[wasm_bindgen(method)]
    fn issue(this: &Stub, lifetime: f64) -> String;
    #[wasm_bindgen(method)]
    fn hold(this: &Stub);
    #[wasm_bindgen(method, getter)]
    fn entered(this: &Stub) -> Promise;
    #[wasm_bindgen(method, getter)]
    fn release(this: &Stub) -> js_sys::Function;
    #[wasm_bindgen(method, setter)]
    fn set_respond(this: &Stub, f: &JsValue);
    #[wasm_bindgen(method, getter, js_name = refreshCalls)]
    fn refresh_calls(this: &Stub) -> u32;
    #[wasm_bindgen(method, js_name = authsTo)]
    fn auths_to(this: &Stub, origin: &str) -> u32;
    #[wasm_bindgen(method, js_name = urlsWithAuth)]
    fn urls_with_auth(this: &Stub) -> Array;
    #[wasm_bindgen(method, js_name = allUrls)]
    fn all_urls(this: &Stub) -> Array;

    #[wasm_bindgen(js_name = makeJwt)]
    fn make_jwt(lifetime: f64) -> String;
    fn outcome(p: &JsValue) -> Promise;
    fn direct(stub: &Stub, url: &str) -> JsValue;
    fn options(stub: &Stub, extra: &JsValue) -> JsValue;
    #[wasm_bindgen(js_name = redirectedResponse)]
    fn redirected_response(final_url: Option<String>, token: &str) -> JsValue;
    #[wasm_bindgen(js_name = insertBase)]
    fn insert_base(href: &str) -> web_sys::Element;
    fn unauthorized(challenge: &str) -> JsValue;
}

fn manager(stub: &Stub, extra: &str) -> TokenManager {
    set_error_class(test_token_error_class());
    let extra = if extra.is_empty() {
        JsValue::UNDEFINED
    } else {
        obj(extra)
    };
    TokenManager::new(options(stub, &extra)).expect("valid options")
}

fn sign_in(auth: &TokenManager, access: &str) {
    let s = js_sys::Object::new();
    set(&s, "accessToken", &JsValue::from_str(access));
    set(&s, "refreshToken", &JsValue::from_str("r-0"));
    auth.set_session(s.into()).expect("setSession");
}

async fn outcome_of(p: &JsValue) -> String {
    JsFuture::from(outcome(p))
        .await
        .unwrap()
        .as_string()
        .unwrap()
}

fn origin() -> String {
    web_sys::window().unwrap().location().origin().unwrap()
}

fn strings(a: &Array) -> Vec<String> {
    a.iter()
        .map(|v| v.as_string().unwrap_or_default())
        .collect()
}

async fn ok_status(auth: &TokenManager, url: &str) -> u16 {
    let r = JsFuture::from(auth.fetch(url.into(), JsValue::UNDEFINED))
        .await
        .expect("a response");
    r.unchecked_into::<web_sys::Response>().status()
}

// ---- item 1: URLs that trapped the module ----

const TRAPPING: [&str; 3] = ["http://1./x", "http://127.0.0.1./x", "http://127..0.1/x"];

#[wasm_bindgen_test]
async fn urls_that_trapped_the_module_give_what_fetch_gives_and_every_manager_keeps_working() {
    let stub = Stub::new();
    let auth = manager(&stub, "");
    sign_in(&auth, &stub.issue(300.0));
    let other = manager(&stub, r#"{"storageKey":"web-url-other"}"#);
    sign_in(&other, &stub.issue(300.0));
    for url in TRAPPING {
        let ours = outcome_of(&auth.fetch(url.into(), JsValue::UNDEFINED).into()).await;
        let theirs = outcome_of(&direct(&stub, url)).await;
        assert_eq!(ours, theirs, "{url}: auth.fetch gives what fetch gives");
    }
    // `127..0.1` is no URL (TypeError); the other two are other origins.
    assert_eq!(
        outcome_of(&direct(&stub, "http://127..0.1/x")).await,
        "TypeError"
    );
    assert!(
        stub.urls_with_auth().length() == 0,
        "no token went anywhere: {:?}",
        strings(&stub.urls_with_auth())
    );
    // Sent to the URL the parser resolved, once per call (ours and the direct one).
    let urls = strings(&stub.all_urls());
    assert_eq!(
        urls,
        [
            "http://0.0.0.1/x",
            "http://0.0.0.1/x",
            "http://127.0.0.1/x",
            "http://127.0.0.1/x"
        ]
    );
    // Both managers on the page still work (token attached, 200).
    assert_eq!(ok_status(&auth, "/api/after").await, 200);
    assert_eq!(ok_status(&other, "/api/after-other").await, 200);
    // And a manager created afterwards too.
    let third = manager(&stub, r#"{"storageKey":"web-url-third"}"#);
    sign_in(&third, &stub.issue(300.0));
    assert_eq!(ok_status(&third, "/api/after-third").await, 200);
    assert_eq!(stub.auths_to(&origin()), 3);
    for m in [auth, other, third] {
        m.dispose();
    }
}

#[wasm_bindgen_test]
async fn a_listed_origin_written_with_a_trailing_dot_gets_the_token_at_its_parsed_url() {
    let stub = Stub::new();
    let auth = manager(&stub, r#"{"allowedOrigins":["http://127.0.0.1"]}"#);
    let token = stub.issue(300.0);
    sign_in(&auth, &token);
    assert_eq!(ok_status(&auth, "http://127.0.0.1./x").await, 200);
    assert_eq!(
        strings(&stub.urls_with_auth()),
        ["http://127.0.0.1/x"],
        "the parser's URL, with the token, because its origin is listed"
    );
    auth.dispose();
}

// ---- item 2: renewHeader after a redirect ----

#[wasm_bindgen_test]
async fn renew_header_is_not_adopted_from_a_response_a_redirect_brought_from_a_foreign_origin() {
    let stub = Stub::new();
    let auth = manager(&stub, r#"{"renewHeader":"X-Renewed-Token"}"#);
    let first = stub.issue(300.0);
    sign_in(&auth, &first);
    let planted = stub.issue(900.0);
    // Same-origin request; a 30x took it to evil.example, which sends the header.
    let respond = {
        let planted = planted.clone();
        Closure::<dyn Fn(JsValue) -> JsValue>::new(move |_req: JsValue| {
            redirected_response(Some("https://evil.example/landing".into()), &planted)
        })
    };
    stub.set_respond(respond.as_ref());
    assert_eq!(ok_status(&auth, "/api/redirects").await, 200);
    assert_eq!(
        auth.access_token().as_deref(),
        Some(first.as_str()),
        "the planted token is not adopted"
    );
    // The same header from a response whose final URL is our origin is
    // adopted (so the check above can fail), and so is one from a
    // synthetic response without a URL (the request's own).
    let own = stub.issue(900.0);
    let respond_own = {
        let own = own.clone();
        let url = format!("{}/api/landing", origin());
        Closure::<dyn Fn(JsValue) -> JsValue>::new(move |_req: JsValue| {
            redirected_response(Some(url.clone()), &own)
        })
    };
    stub.set_respond(respond_own.as_ref());
    assert_eq!(ok_status(&auth, "/api/redirects-home").await, 200);
    assert_eq!(auth.access_token().as_deref(), Some(own.as_str()));
    let synthetic = stub.issue(1200.0);
    let respond_synthetic = {
        let synthetic = synthetic.clone();
        Closure::<dyn Fn(JsValue) -> JsValue>::new(move |_req: JsValue| {
            redirected_response(None, &synthetic)
        })
    };
    stub.set_respond(respond_synthetic.as_ref());
    assert_eq!(ok_status(&auth, "/api/synthetic").await, 200);
    assert_eq!(auth.access_token().as_deref(), Some(synthetic.as_str()));
    auth.dispose();
}

// ---- item 3: a <base> inserted while a request waits ----

#[wasm_bindgen_test]
async fn a_base_inserted_while_a_request_waits_for_a_refresh_does_not_redirect_its_replay() {
    let stub = Stub::new();
    let auth = manager(&stub, "");
    // A token the stub does not accept: 401, refresh (held), replay.
    sign_in(&auth, &make_jwt(300.0));
    stub.hold();
    let path_absolute = auth.fetch("/api/orders".into(), JsValue::UNDEFINED);
    let relative = auth.fetch("api/items?x=1".into(), JsValue::UNDEFINED);
    JsFuture::from(stub.entered()).await.unwrap();
    // Both sent once with the old token, both waiting for the refresh.
    assert_eq!(stub.all_urls().length(), 2);
    let base = insert_base("https://evil.example/");
    // Started after the insertion: resolves against the new base, as fetch
    // would, and goes without a token.
    let late = auth.fetch("/api/late".into(), JsValue::UNDEFINED);
    stub.release().call0(&JsValue::UNDEFINED).unwrap();
    let results = JsFuture::from(Promise::all(&Array::of3(&path_absolute, &relative, &late))).await;
    base.remove();
    let results: Array = results.expect("all settle").unchecked_into();
    for r in results.iter() {
        assert_eq!(r.unchecked_into::<web_sys::Response>().status(), 200);
    }
    assert_eq!(stub.refresh_calls(), 1);
    assert_eq!(
        stub.auths_to("https://evil.example"),
        0,
        "no token reached the foreign origin"
    );
    let here = origin();
    let with_auth = strings(&stub.urls_with_auth());
    let page_dir = {
        let path = web_sys::window().unwrap().location().pathname().unwrap();
        let dir = path.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        format!("{here}{dir}/")
    };
    for expected in [
        format!("{here}/api/orders"),
        format!("{page_dir}api/items?x=1"),
    ] {
        assert_eq!(
            with_auth.iter().filter(|u| **u == expected).count(),
            2,
            "first send and replay of {expected} went to the original origin: {with_auth:?}"
        );
    }
    assert!(strings(&stub.all_urls()).contains(&"https://evil.example/api/late".to_owned()));
    auth.dispose();
}

// ---- item 9: non-Bearer challenges ----

#[wasm_bindgen_test]
async fn a_basic_challenge_goes_to_the_caller_without_a_refresh() {
    for challenge in [
        r#"Basic realm="x""#,
        "Negotiate",
        r#"DPoP algs="ES256", error="invalid_token""#,
    ] {
        let stub = Stub::new();
        let auth = manager(&stub, "");
        sign_in(&auth, &stub.issue(300.0));
        let answer = unauthorized(challenge);
        let respond =
            Closure::<dyn Fn(JsValue) -> JsValue>::new(move |_req: JsValue| answer.clone());
        stub.set_respond(respond.as_ref());
        let r = JsFuture::from(auth.fetch("/api/basic".into(), JsValue::UNDEFINED))
            .await
            .expect("the 401 is delivered")
            .unchecked_into::<web_sys::Response>();
        assert_eq!(r.status(), 401, "{challenge}");
        assert_eq!(
            r.headers().get("www-authenticate").unwrap().as_deref(),
            Some(challenge)
        );
        assert_eq!(stub.refresh_calls(), 0, "{challenge}: no refresh");
        assert_eq!(stub.all_urls().length(), 1, "{challenge}: no replay");
        auth.dispose();
    }
    // A Bearer challenge does refresh and replay (the control).
    let stub = Stub::new();
    let auth = manager(&stub, "");
    sign_in(&auth, &make_jwt(300.0));
    assert_eq!(ok_status(&auth, "/api/bearer").await, 200);
    assert_eq!(stub.refresh_calls(), 1);
    auth.dispose();
}
