//! Browser tests of request-level control (issue 14 item 8), through the
//! public `TokenManager` with an injected `fetch` (no network):
//!
//! - `shouldRefresh(response)` for APIs that signal an expired token their
//!   own way: a 419, a 400 with `{"code":"token_expired"}`; one refresh for a
//!   burst, every request replayed; the callback reads the body of its clone
//!   and the caller still gets the whole body; `false` delivers even a 401;
//!   no boolean leaves the built-in rule; a throw or a rejection delivers the
//!   response as it is with an `error` event `should_refresh_failed`.
//! - `init.tokenwarden`: `{ auth: false }` sends no `Authorization` and
//!   delivers its 401 without a refresh; `{ refresh: false }` carries the
//!   token and delivers its 401 without a refresh; a `Request` input opts out
//!   through the `init` beside it; the member never reaches the `fetch`; a
//!   bad member is a `TypeError`.
//!
//! The rules themselves are host-tested in `tests/core_request_control.rs`.
//!
//! Run: `PATH=$(bash -c 'source scripts/lib.sh; wasm_path') CHROMEDRIVER=/usr/bin/chromedriver
//! wasm-pack test --headless --chrome -- --test web_request_control`

#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use std::rc::Rc;

use common::{get, get_str, set, test_token_error_class};
use js_sys::{Array, Function, Promise};
use tokenwarden::web::{set_error_class, TokenManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r##"
const enc = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
let serial = 0;

function jwt(lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub: "alice", iat: now, exp: now + lifetimeSeconds, jti: "j" + (++serial) };
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}

/** An API that rejects a stale token its own way (`mode`: "401", "419" or
 *  "json400"), and a refresh endpoint. Records what each call received. */
export class Api {
  constructor(mode) {
    this.mode = mode;
    this.current = null;
    this.refreshes = 0;
    this.seen = [];
    this.fetch = async (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      const path = new URL(req.url).pathname;
      if (path === "/auth/refresh") {
        this.refreshes++;
        this.current = jwt(300);
        return Response.json({ access_token: this.current, refresh_token: "r" + (++serial), expires_in: 300 });
      }
      const authorization = req.headers.get("authorization");
      this.seen.push({
        path,
        authorization,
        fresh: authorization === "Bearer " + this.current,
        // What the injected fetch itself was handed, besides the request.
        initKeys: init && typeof init === "object" ? Object.keys(init) : [],
      });
      if (path === "/api/bad-input") return Response.json({ code: "bad_input" }, { status: 400 });
      if (authorization === "Bearer " + this.current) return new Response("ok " + path + " " + "x".repeat(5000));
      if (this.mode === "419") return new Response("session expired", { status: 419 });
      if (this.mode === "json400") return Response.json({ code: "token_expired" }, { status: 400 });
      return new Response("unauthorized", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
    };
  }
  signIn() {
    this.current = jwt(300);
    return { accessToken: this.current, refreshToken: "r0" };
  }
  /** The server forgets the client's token: the next calls are rejected. */
  revoke() { this.current = "revoked-" + (++serial); }
  get seenJson() { return JSON.stringify(this.seen); }
}

/** Options with `shouldRefresh` of kind `kind`; `log` records its calls. */
export function optionsFor(api, kind, log) {
  const verdicts = {
    none: undefined,
    on419: (r) => { log.push(r.status); return r.status === 419; },
    jsonCode: async (r) => {
      if (r.status !== 400) return false;
      const body = await r.json(); // the clone's body: the caller's stays unread
      log.push(body.code);
      return body.code === "token_expired";
    },
    alwaysFalse: (r) => { log.push(r.status); return false; },
    noBoolean: (r) => { log.push(r.status); return undefined; },
    throws: (r) => { log.push(r.status); throw new Error("verdict bug"); },
    rejects: async (r) => { log.push(r.status); throw new Error("async verdict bug"); },
  };
  const options = { refresh: { url: "/auth/refresh" }, fetch: api.fetch, crossTab: false, retryBaseSeconds: 0.01 };
  if (verdicts[kind]) options.shouldRefresh = verdicts[kind];
  return options;
}

/** Runs `calls` ([input, init]) at once through `fetch`; each settles to
 *  `{ status, body }` or `{ error }`. */
export async function all(fetch, calls) {
  return Promise.all(calls.map(([input, init]) => fetch(input, init).then(
    async (r) => ({ status: r.status, body: await r.text() }),
    (e) => ({ error: e.name + ": " + e.message }))));
}

export function requestTo(path) { return new Request(path); }

export function recorder() {
  const events = [];
  return { events, fn: (e) => events.push(e) };
}
"##)]
extern "C" {
    type Api;
    #[wasm_bindgen(constructor)]
    fn new(mode: &str) -> Api;
    #[wasm_bindgen(method, js_name = signIn)]
    fn sign_in(this: &Api) -> JsValue;
    #[wasm_bindgen(method)]
    fn revoke(this: &Api);
    #[wasm_bindgen(method, getter)]
    fn refreshes(this: &Api) -> u32;
    #[wasm_bindgen(method, getter)]
    fn seen(this: &Api) -> Array;
    #[wasm_bindgen(method, getter, js_name = seenJson)]
    fn seen_json(this: &Api) -> String;

    #[wasm_bindgen(js_name = optionsFor)]
    fn options_for(api: &Api, kind: &str, log: &Array) -> JsValue;
    fn all(fetch: &Function, calls: &Array) -> Promise;
    #[wasm_bindgen(js_name = requestTo)]
    fn request_to(path: &str) -> JsValue;
    fn recorder() -> JsValue;
}

struct Setup {
    api: Api,
    auth: Rc<TokenManager>,
    /// What `shouldRefresh` was called with / found.
    log: Array,
    fetch: Function,
}

/// A signed-in manager over `Api(mode)` with `shouldRefresh` of `kind`.
fn setup(mode: &str, kind: &str) -> Setup {
    set_error_class(test_token_error_class());
    let api = Api::new(mode);
    let log = Array::new();
    let auth = Rc::new(TokenManager::new(options_for(&api, kind, &log)).expect("valid options"));
    auth.set_session(api.sign_in()).expect("session");
    let for_js = Rc::clone(&auth);
    let fetch = Closure::<dyn FnMut(JsValue, JsValue) -> Promise>::new(
        move |input: JsValue, init: JsValue| for_js.fetch(input, init),
    )
    .into_js_value()
    .unchecked_into();
    Setup {
        api,
        auth,
        log,
        fetch,
    }
}

/// `[input, init]` pairs; `init` is JSON (or `None`).
fn calls(list: &[(&str, Option<&str>)]) -> Array {
    list.iter()
        .map(|(path, init)| {
            let init = init.map_or(JsValue::UNDEFINED, common::obj);
            Array::of2(&JsValue::from_str(path), &init)
        })
        .collect()
}

async fn run(s: &Setup, list: &Array) -> Vec<(u32, String)> {
    let results: Array = JsFuture::from(all(&s.fetch, list))
        .await
        .expect("all")
        .unchecked_into();
    results
        .iter()
        .map(|r| {
            if let Some(e) = get_str(&r, "error") {
                return (0, e);
            }
            let status = get(&r, "status").as_f64().unwrap_or(0.0) as u32;
            (status, get_str(&r, "body").unwrap_or_default())
        })
        .collect()
}

fn log_strings(log: &Array) -> Vec<String> {
    log.iter()
        .map(|v| {
            v.as_string()
                .unwrap_or_else(|| format!("{}", v.as_f64().unwrap_or(-1.0)))
        })
        .collect()
}

/// Polls the microtask/macrotask queue until `done()` (no fixed sleeps).
async fn until(mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        let p = Promise::new(&mut |resolve, _| {
            let _ = web_sys::window()
                .expect("window")
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 5);
        });
        let _ = JsFuture::from(p).await;
    }
    panic!("condition not reached");
}

#[wasm_bindgen_test]
async fn a_419_api_with_should_refresh_refreshes_once_and_replays_every_request() {
    let s = setup("419", "on419");
    s.api.revoke();
    let burst: Vec<(&str, Option<&str>)> = (0..5).map(|_| ("/api/orders", None)).collect();
    let results = run(&s, &calls(&burst)).await;
    for (status, body) in &results {
        assert_eq!(*status, 200, "{body}");
        assert!(body.starts_with("ok /api/orders") && body.len() > 5000);
    }
    assert_eq!(s.api.refreshes(), 1, "one refresh for the burst");
    // 5 first attempts (419) + 5 replays (200), each asked about.
    let seen = s.api.seen();
    assert_eq!(seen.length(), 10, "{}", s.api.seen_json());
    let log = log_strings(&s.log);
    assert_eq!(log.iter().filter(|v| *v == "419").count(), 5, "{log:?}");
    assert_eq!(log.iter().filter(|v| *v == "200").count(), 5, "{log:?}");
    // Without the option, a 419 is delivered as it is.
    let plain = setup("419", "none");
    plain.api.revoke();
    let results = run(&plain, &calls(&[("/api/orders", None)])).await;
    assert_eq!(results[0].0, 419);
    assert_eq!(plain.api.refreshes(), 0);
    s.auth.dispose();
    plain.auth.dispose();
}

#[wasm_bindgen_test]
async fn a_json_token_expired_400_body_refreshes_and_the_caller_still_reads_its_body() {
    let s = setup("json400", "jsonCode");
    s.api.revoke();
    let results = run(
        &s,
        &calls(&[
            ("/api/a", None),
            ("/api/b", Some(r#"{"method":"POST","body":"payload"}"#)),
        ]),
    )
    .await;
    assert_eq!(results[0].0, 200, "{:?}", results[0]);
    assert_eq!(results[1].0, 200, "{:?}", results[1]);
    assert_eq!(s.api.refreshes(), 1);
    assert_eq!(
        log_strings(&s.log),
        ["token_expired", "token_expired"],
        "the callback read each 400's JSON body from its clone"
    );
    // Another 400 code is delivered as it is, its body intact for the caller.
    let results = run(&s, &calls(&[("/api/bad-input", None)])).await;
    assert_eq!(results[0], (400, r#"{"code":"bad_input"}"#.to_string()));
    assert_eq!(s.api.refreshes(), 1);
    s.auth.dispose();
}

#[wasm_bindgen_test]
async fn false_delivers_even_a_401_and_no_boolean_keeps_the_built_in_rule() {
    let s = setup("401", "alwaysFalse");
    s.api.revoke();
    let results = run(&s, &calls(&[("/api/me", None)])).await;
    assert_eq!(results[0].0, 401);
    assert_eq!(s.api.refreshes(), 0);
    s.auth.dispose();

    let s = setup("401", "noBoolean");
    s.api.revoke();
    let results = run(&s, &calls(&[("/api/me", None)])).await;
    assert_eq!(results[0].0, 200, "undefined: the 401 rule applies");
    assert_eq!(s.api.refreshes(), 1);
    s.auth.dispose();
}

#[wasm_bindgen_test]
async fn a_throwing_or_rejecting_should_refresh_delivers_as_is_with_an_error_event() {
    for kind in ["throws", "rejects"] {
        let s = setup("401", kind);
        let events = recorder();
        s.auth
            .on(JsValue::from_str("error"), get(&events, "fn"))
            .expect("on");
        s.api.revoke();
        let results = run(&s, &calls(&[("/api/me", None)])).await;
        assert_eq!(results[0].0, 401, "{kind}");
        assert_eq!(s.api.refreshes(), 0, "{kind}");
        let events: Array = get(&events, "events").unchecked_into();
        until(|| events.length() == 1).await;
        let event = events.get(0);
        assert_eq!(
            get_str(&event, "code").as_deref(),
            Some("should_refresh_failed")
        );
        let cause = get(&get(&event, "error"), "cause");
        assert!(get_str(&cause, "message")
            .unwrap_or_default()
            .contains("verdict bug"));
        s.auth.dispose();
    }
}

#[wasm_bindgen_test]
async fn an_opted_out_request_gets_no_authorization_and_its_401_is_delivered_without_a_refresh() {
    let s = setup("401", "none");
    s.api.revoke();
    let results = run(
        &s,
        &calls(&[("/api/public", Some(r#"{"tokenwarden":{"auth":false}}"#))]),
    )
    .await;
    assert_eq!(results[0].0, 401);
    assert_eq!(s.api.refreshes(), 0);
    let seen = s.api.seen().get(0);
    assert!(
        get(&seen, "authorization").is_null(),
        "{}",
        s.api.seen_json()
    );
    s.auth.dispose();
}

#[wasm_bindgen_test]
async fn refresh_false_carries_the_token_and_delivers_its_401() {
    let s = setup("401", "on419");
    let token = s.auth.access_token().expect("token");
    s.api.revoke();
    let results = run(
        &s,
        &calls(&[("/api/logout", Some(r#"{"tokenwarden":{"refresh":false}}"#))]),
    )
    .await;
    assert_eq!(results[0].0, 401);
    assert_eq!(s.api.refreshes(), 0);
    let seen = s.api.seen().get(0);
    assert_eq!(
        get_str(&seen, "authorization"),
        Some(format!("Bearer {token}"))
    );
    assert_eq!(s.log.length(), 0, "shouldRefresh is not asked for it");
    s.auth.dispose();
}

#[wasm_bindgen_test]
async fn a_request_input_opts_out_through_the_init_beside_it_and_the_member_never_leaks() {
    let s = setup("401", "none");
    let list = Array::new();
    // ky / ofetch / axios's fetch adapter: fetch(request, { …unknown options }).
    list.push(&Array::of2(
        &request_to("/api/r1"),
        &common::obj(r#"{"tokenwarden":{"auth":false}}"#),
    ));
    list.push(&Array::of2(
        &JsValue::from_str("/api/r2"),
        &common::obj(r#"{"tokenwarden":{"refresh":false},"method":"PUT","body":"x"}"#),
    ));
    list.push(&Array::of2(
        &JsValue::from_str("/api/r3"),
        &common::obj(r#"{"tokenwarden":{}}"#),
    ));
    list.push(&Array::of2(
        &JsValue::from_str("/api/r4"),
        &common::obj(r#"{"tokenwarden":null}"#),
    ));
    let results = run(&s, &list).await;
    assert!(
        results.iter().all(|r| r.0 == 401 || r.0 == 200),
        "{results:?}"
    );
    let seen: Vec<JsValue> = s.api.seen().iter().collect();
    assert_eq!(seen.len(), 4);
    for entry in &seen {
        let keys: Array = get(entry, "initKeys").unchecked_into();
        assert!(
            !keys.includes(&JsValue::from_str("tokenwarden"), 0),
            "{}",
            s.api.seen_json()
        );
        let path = get_str(entry, "path").unwrap_or_default();
        let authorization = get(entry, "authorization");
        assert_eq!(authorization.is_null(), path == "/api/r1", "{path}");
    }
    s.auth.dispose();
}

#[wasm_bindgen_test]
async fn a_bad_tokenwarden_member_is_a_type_error() {
    let s = setup("401", "none");
    for bad in [
        r#"{"tokenwarden":{"refesh":false}}"#,
        r#"{"tokenwarden":{"auth":"no"}}"#,
        r#"{"tokenwarden":false}"#,
    ] {
        let results = run(&s, &calls(&[("/api/x", Some(bad))])).await;
        assert_eq!(results[0].0, 0, "{bad}");
        assert!(
            results[0].1.starts_with("TypeError"),
            "{bad}: {:?}",
            results[0]
        );
    }
    assert_eq!(s.api.seen().length(), 0, "nothing was sent");
    s.auth.dispose();
}

#[wasm_bindgen_test]
fn should_refresh_must_be_a_function() {
    set_error_class(test_token_error_class());
    let api = Api::new("401");
    let options = options_for(&api, "none", &Array::new());
    set(&options, "shouldRefresh", &JsValue::from_f64(1.0));
    let error = TokenManager::new(options).err().expect("a config error");
    assert_eq!(get_str(&error, "code").as_deref(), Some("config"));
    assert_eq!(get_str(&error, "option").as_deref(), Some("shouldRefresh"));
}
