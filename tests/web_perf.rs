//! Browser tests of `auth.fetch`'s fast paths (issue 7, per-request
//! overhead): a URL string with a plain `init` is sent as `fetch(url, copy)`
//! without building a `Request`, and the origin check reads simple URLs
//! without the URL parser. These tests pin what must not change with them:
//! the token only goes where it may, the caller's objects are never
//! modified, an explicit `Authorization` header wins, and a replay sends
//! what the first attempt sent.
//!
//! Run: `CHROMEDRIVER=/usr/bin/chromedriver wasm-pack test --headless --chrome -- --test web_perf`
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{get, get_str, test_token_error_class};
use js_sys::{Array, Reflect};
use tokenwarden::web::{set_error_class, TokenManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r#"
const enc = (s) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
let serial = 0;
export function makeJwt(lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." +
    enc(JSON.stringify({ sub: "u", iat: now, exp: now + lifetimeSeconds, jti: "p" + (++serial) })) + ".c2ln";
}

// Records every call as the network would see it (through a Request built
// from whatever the manager passed), plus the raw arguments.
export class Server {
  constructor() {
    this.valid = new Set();
    this.calls = [];
    this.refreshes = 0;
    this.fetch = (input, init) => this.handle(input, init);
  }
  issue(lifetime) { const t = makeJwt(lifetime); this.valid.add(t); return t; }
  async handle(input, init) {
    const req = input instanceof Request ? input : new Request(input, init);
    const url = new URL(req.url);
    if (url.pathname === "/auth/refresh") {
      this.refreshes++;
      const t = this.issue(300);
      return Response.json({ access_token: t, refresh_token: "r" + t.length, expires_in: 300 });
    }
    const auth = req.headers.get("authorization");
    this.calls.push({
      url: req.url, origin: url.origin, path: url.pathname, method: req.method, auth,
      body: await req.text(), type: req.headers.get("content-type"), custom: req.headers.get("x-custom"),
      inputIsString: typeof input === "string",
    });
    const mine = url.origin === location.origin || url.origin === "https://api.example.com";
    if (mine && (!auth || !this.valid.has(auth.slice(7)))) {
      return new Response("expired", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    }
    return new Response("ok");
  }
  auths(path) { return this.calls.filter((c) => c.path === path).map((c) => c.auth); }
}

export function options(server) {
  return {
    refresh: { url: "/auth/refresh" }, fetch: server.fetch, allowedOrigins: ["https://api.example.com"],
    crossTab: false, drafts: false, redirect: false, storage: "memory",
  };
}

export function setBase(href) {
  for (const b of document.querySelectorAll("base")) b.remove();
  if (href) { const b = document.createElement("base"); b.href = href; document.head.append(b); }
}

// init objects of every kind, and a snapshot to compare them with after the call.
export function initCases() {
  const headers = new Headers({ "X-Custom": "h" });
  return [
    { name: "record", init: { method: "POST", body: "a", headers: { "X-Custom": "r", "Content-Type": "text/x-a" } } },
    { name: "headers", init: { method: "PUT", body: "b", headers } },
    { name: "pairs", init: { method: "PATCH", body: "c", headers: [["X-Custom", "p"]] } },
    { name: "nullproto", init: Object.assign(Object.create(null), { method: "POST", body: "d" }) },
    { name: "classy", init: new (class { get method() { return "POST"; } get body() { return "e"; } })() },
    { name: "buffer", init: { method: "POST", body: new TextEncoder().encode("f") } },
  ];
}
export function snapshot(init) {
  const h = init.headers;
  return JSON.stringify({
    keys: Object.keys(init),
    headers: h instanceof Headers ? [...h] : h,
  });
}
export function explicitCases() {
  return [
    { headers: { authorization: "Basic a" } },
    { headers: new Headers({ Authorization: "Basic b" }) },
    { headers: [["AUTHORIZATION", "Basic c"]] },
  ];
}
export function getterInit(counter) {
  return { get method() { counter.n++; return "POST"; }, body: "g" };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = makeJwt)]
    fn make_jwt(lifetime_seconds: f64) -> String;

    type Server;
    #[wasm_bindgen(constructor)]
    fn new() -> Server;
    #[wasm_bindgen(method)]
    fn issue(this: &Server, lifetime: f64) -> String;
    #[wasm_bindgen(method, getter)]
    fn calls(this: &Server) -> Array;
    #[wasm_bindgen(method, getter)]
    fn refreshes(this: &Server) -> u32;
    #[wasm_bindgen(method)]
    fn auths(this: &Server, path: &str) -> Array;

    fn options(server: &Server) -> JsValue;
    #[wasm_bindgen(js_name = setBase)]
    fn set_base(href: Option<&str>);
    #[wasm_bindgen(js_name = initCases)]
    fn init_cases() -> Array;
    fn snapshot(init: &JsValue) -> String;
    #[wasm_bindgen(js_name = explicitCases)]
    fn explicit_cases() -> Array;
    #[wasm_bindgen(js_name = getterInit)]
    fn getter_init(counter: &JsValue) -> JsValue;
}

/// A manager signed in with a token the server accepts (`valid`) or one it
/// rejects (a 401 first, then one refresh and a replay).
fn signed_in(server: &Server, valid: bool) -> (TokenManager, String) {
    set_error_class(test_token_error_class());
    let auth = TokenManager::new(options(server)).expect("valid options");
    let token = if valid {
        server.issue(300.0)
    } else {
        make_jwt(300.0)
    };
    let tokens = js_sys::Object::new();
    Reflect::set(&tokens, &"accessToken".into(), &token.as_str().into()).unwrap();
    Reflect::set(&tokens, &"refreshToken".into(), &"r0".into()).unwrap();
    auth.set_session(tokens.into()).unwrap();
    (auth, format!("Bearer {token}"))
}

async fn fetch(auth: &TokenManager, input: JsValue, init: JsValue) -> Result<u16, JsValue> {
    let response: web_sys::Response = JsFuture::from(auth.fetch(input, init))
        .await?
        .unchecked_into();
    Ok(response.status())
}

async fn fetch_url(auth: &TokenManager, url: &str) -> u16 {
    fetch(auth, url.into(), JsValue::UNDEFINED)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e:?}"))
}

#[wasm_bindgen_test]
async fn tokens_only_go_to_allowed_origins_on_every_path() {
    let server = Server::new();
    let (auth, bearer) = signed_in(&server, true);
    let own = web_sys::window().unwrap().location().origin().unwrap();
    let with_token = [
        "/same",
        "same-relative",
        "?q=1",
        "https://api.example.com/a",
        "https://api.example.com?b",
        "https://API.EXAMPLE.COM:443/c",
        "HTTPS://api.example.com/d",
        "https://api.example.com:443/e",
        // A backslash ends the host: this is api.example.com's path `/@evil.example/h`.
        "https://api.example.com\\@evil.example/h",
    ];
    for url in with_token {
        assert_eq!(fetch_url(&auth, url).await, 200, "{url}");
    }
    let absolute_own = format!("{own}/own-absolute");
    assert_eq!(fetch_url(&auth, &absolute_own).await, 200);

    let without_token = [
        "https://api.example.com.evil.example/f",
        // Userinfo: fetch refuses it (TypeError), so it is never sent.
        "https://api.example.com@evil.example/g",
        "https://api.example.com:8443/i",
        "http://api.example.com/j",
        "https:///evil.example/k",
        "//evil.example/l",
        "/\\evil.example/m",
        "/\t/evil.example/n",
        "https:evil.example/o",
        "https://evil.example#https://api.example.com/",
    ];
    for url in without_token {
        let _ = fetch(&auth, url.into(), JsValue::UNDEFINED).await;
    }
    let calls = server.calls();
    let own_or_api = |c: &JsValue| {
        let origin = get_str(c, "origin").unwrap();
        origin == own || origin == "https://api.example.com"
    };
    let mut foreign = 0;
    for call in calls.iter() {
        let auth_header = get(&call, "auth");
        if own_or_api(&call) {
            assert_eq!(
                auth_header.as_string().as_deref(),
                Some(bearer.as_str()),
                "{:?} gets the token",
                get_str(&call, "url")
            );
        } else {
            foreign += 1;
            assert!(
                auth_header.is_null(),
                "{:?} must not see the token",
                get_str(&call, "url")
            );
        }
    }
    assert_eq!(
        foreign,
        without_token.len() - 1,
        "the look-alike URLs were sent"
    );
    assert_eq!(calls.length() as usize, with_token.len() + 1 + foreign);

    // `<base href>` moves relative URLs to another origin: no token there.
    set_base(Some("https://evil.example/app/"));
    let _ = fetch(&auth, "/based".into(), JsValue::UNDEFINED).await;
    let _ = fetch(&auth, "based-relative".into(), JsValue::UNDEFINED).await;
    set_base(Some("https://api.example.com/v2/"));
    assert_eq!(fetch_url(&auth, "based-allowed").await, 200);
    set_base(None);
    assert_eq!(fetch_url(&auth, "/unbased").await, 200);
    let by_path = |path: &str| {
        let c = server
            .calls()
            .iter()
            .find(|c| get_str(c, "path").as_deref() == Some(path));
        c.unwrap_or_else(|| panic!("{path} was called"))
    };
    for path in ["/based", "/app/based-relative"] {
        let c = by_path(path);
        assert_eq!(get_str(&c, "origin").unwrap(), "https://evil.example");
        assert!(get(&c, "auth").is_null(), "{path} must not see the token");
    }
    let c = by_path("/v2/based-allowed");
    assert_eq!(get_str(&c, "auth").unwrap(), bearer);
    assert_eq!(get_str(&by_path("/unbased"), "origin").unwrap(), own);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn the_callers_init_is_never_modified_and_replays_match() {
    let server = Server::new();
    for case in init_cases().iter() {
        // A rejected token: first attempt, refresh, replay.
        let (auth, _) = signed_in(&server, false);
        let name = get_str(&case, "name").unwrap();
        let init = get(&case, "init");
        let before = snapshot(&init);
        let path = format!("/init/{name}");
        let status = fetch(&auth, path.as_str().into(), init.clone())
            .await
            .unwrap();
        assert_eq!(status, 200, "{name}");
        assert_eq!(snapshot(&init), before, "{name}: init untouched");
        let calls: Vec<JsValue> = server
            .calls()
            .iter()
            .filter(|c| get_str(c, "path").as_deref() == Some(path.as_str()))
            .collect();
        assert_eq!(calls.len(), 2, "{name}: first attempt and one replay");
        for key in ["method", "body", "type", "custom"] {
            assert_eq!(
                get(&calls[0], key),
                get(&calls[1], key),
                "{name}: same {key}"
            );
        }
        assert!(
            !get_str(&calls[0], "body").unwrap().is_empty(),
            "{name}: body sent"
        );
        assert_ne!(
            get(&calls[0], "auth"),
            get(&calls[1], "auth"),
            "{name}: new token"
        );
        auth.dispose();
    }
    // The Headers instance the caller passed has no Authorization afterwards.
    let headers = get(&get(&init_cases().get(1), "init"), "headers");
    let headers: web_sys::Headers = headers.unchecked_into();
    assert!(!headers.has("authorization").unwrap());
}

#[wasm_bindgen_test]
async fn a_change_to_init_after_the_call_does_not_reach_the_replay() {
    let server = Server::new();
    let (auth, _) = signed_in(&server, false);
    let init =
        js_sys::JSON::parse(r#"{"method":"POST","body":"first","headers":{"X-Custom":"1"}}"#)
            .unwrap();
    let pending = auth.fetch("/mutated".into(), init.clone());
    Reflect::set(&init, &"body".into(), &"changed".into()).unwrap();
    Reflect::set(&get(&init, "headers"), &"X-Custom".into(), &"2".into()).unwrap();
    let response: web_sys::Response = JsFuture::from(pending).await.unwrap().unchecked_into();
    assert_eq!(response.status(), 200);
    let calls: Vec<JsValue> = server.calls().iter().collect();
    assert_eq!(calls.len(), 2);
    for call in &calls {
        assert_eq!(get_str(call, "body").unwrap(), "first");
        assert_eq!(get_str(call, "custom").unwrap(), "1");
    }
    auth.dispose();
}

#[wasm_bindgen_test]
async fn explicit_authorization_wins_in_every_header_form() {
    let server = Server::new();
    let (auth, _) = signed_in(&server, true);
    for (i, init) in explicit_cases().iter().enumerate() {
        let path = format!("/explicit/{i}");
        let status = fetch(&auth, path.as_str().into(), init).await.unwrap();
        assert_eq!(status, 401, "never replaced, never retried");
        let auths = server.auths(&path);
        assert_eq!(auths.length(), 1);
        let sent = auths.get(0).as_string().unwrap();
        assert!(sent.starts_with("Basic "), "{sent}");
    }
    assert_eq!(server.refreshes(), 0);
    auth.dispose();
}

#[wasm_bindgen_test]
async fn init_getters_run_once_and_errors_are_fetchs_own() {
    let server = Server::new();
    let (auth, bearer) = signed_in(&server, true);
    let counter = js_sys::Object::new();
    Reflect::set(&counter, &"n".into(), &0.into()).unwrap();
    let status = fetch(&auth, "/getter".into(), getter_init(&counter))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(get(&counter, "n").as_f64(), Some(1.0));
    assert_eq!(server.auths("/getter").get(0).as_string().unwrap(), bearer);

    // Bad headers reject with fetch's TypeError; nothing is sent.
    let bad = js_sys::JSON::parse(r#"{"headers":{"bad name":"x"}}"#).unwrap();
    let error = fetch(&auth, "/bad".into(), bad).await.unwrap_err();
    assert!(error.is_instance_of::<js_sys::TypeError>());
    assert_eq!(server.auths("/bad").length(), 0);

    // Inputs that are not strings still work: a URL object and a Request.
    let url = web_sys::Url::new_with_base(
        "/url-object",
        &web_sys::window().unwrap().location().href().unwrap(),
    )
    .unwrap();
    assert_eq!(
        fetch(&auth, url.into(), JsValue::UNDEFINED).await.unwrap(),
        200
    );
    let request = web_sys::Request::new_with_str("/request-object").unwrap();
    assert_eq!(
        fetch(&auth, request.into(), JsValue::UNDEFINED)
            .await
            .unwrap(),
        200
    );
    for path in ["/url-object", "/request-object"] {
        assert_eq!(
            server.auths(path).get(0).as_string().unwrap(),
            bearer,
            "{path}"
        );
    }
    auth.dispose();
}
