//! Browser tests of the drafts ↔ token manager wiring (issue 4's
//! integration): real forms, real `localStorage` (read back directly), a
//! `TokenManager` whose session ends through a rejected refresh (`400
//! invalid_grant` from an injected `fetch`; no network).
//!
//! What is proven here, end to end through the public `TokenManager`:
//! - on session end, drafts are in `localStorage` and the tokens are cleared
//!   *before* the `sessionExpired` listeners run (the listener removes the
//!   form), then `onSessionExpired` gets the login URL with `returnTo`;
//! - drafts come back after sign-in only for the same `sub`, once per user;
//! - a hostile `loginUrl` is an `error` event and no redirect URL;
//! - `draftsList` / `draftsRestore` / `draftsDiscard` (`auth.drafts.*`);
//! - `drafts: false` writes nothing; plain `logout()` saves nothing.
//!
//! The pure URL rules are unit-tested in `src/web/drafts/tests.rs`
//! (`login_redirect_*`); the actual navigation (`location.assign`) cannot
//! run without taking the test page away, so it is observed through
//! `onSessionExpired` returning `false`.
//!
//! Run: `PATH=$(bash -c 'source scripts/lib.sh; wasm_path') CHROMEDRIVER=/usr/bin/chromedriver
//! wasm-pack test --headless --chrome -- --test web_integration`

#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{get, get_str, local_storage, obj, set, strings, test_token_error_class};
use js_sys::{Array, Function, Promise};
use tokenwarden::web::{return_to, set_error_class, TokenManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r##"
const enc = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
let serial = 0;

export function jwt(sub, lifetimeSeconds) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { sub, iat: now, exp: now + lifetimeSeconds, jti: "j" + (++serial) };
  return enc(JSON.stringify({ alg: "HS256", typ: "JWT" })) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}


/** `reject()`: the API answers 401 (the token was revoked) and the next
 *  refresh is a 400 invalid_grant, so the session is over. Otherwise the
 *  API answers 200 and refreshes give new tokens for `sub`. */
export class Server {
  constructor() {
    this.sub = "alice";
    this.rejects = 0;
    this.fetch = async (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      if (new URL(req.url).pathname === "/auth/refresh") {
        if (this.rejects > 0) {
          this.rejects--;
          return Response.json({ error: "invalid_grant" }, { status: 400 });
        }
        return Response.json({ access_token: jwt(this.sub, 300), refresh_token: "r" + (++serial), expires_in: 300 });
      }
      if (this.rejects > 0) {
        return new Response("revoked", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } });
      }
      return new Response("ok");
    };
  }
  reject() { this.rejects++; }
}

export function options(server, extra) {
  return Object.assign({
    refresh: { url: "/auth/refresh" },
    fetch: server.fetch,
    crossTab: false,
    retryBaseSeconds: 0.01,
  }, extra);
}

export function mount(html) {
  for (const old of document.querySelectorAll(".integration-fixture")) old.remove();
  localStorage.clear();
  sessionStorage.clear();
  const root = document.createElement("div");
  root.className = "integration-fixture";
  root.innerHTML = html;
  document.body.appendChild(root);
  return root;
}

export function unmount() {
  for (const old of document.querySelectorAll(".integration-fixture")) old.remove();
  localStorage.clear();
  sessionStorage.clear();
}

export function draftKeys() {
  const keys = [];
  for (let i = 0; i < localStorage.length; i++) {
    const k = localStorage.key(i);
    if (k.startsWith("tokenwarden:draft:")) keys.push(k);
  }
  return keys.sort();
}

/** The stored drafts: [{ key, sub, fields: { name: text|checked } }]. */
export function drafts() {
  return draftKeys().map((key) => {
    const d = JSON.parse(localStorage.getItem(key));
    const fields = {};
    for (const f of d.fields) fields[f.n] = "t" in f ? f.t : "c" in f ? f.c : f.m;
    return { key, sub: d.sub, url: d.url, fields };
  });
}

/** The event log, in order: [name, payload, snapshot?]. */
export function makeLog() { return []; }
export function logger(log, name) { return (payload) => { log.push([name, payload]); }; }

/** A `sessionExpired` listener that snapshots storage, then unmounts the
 *  forms (as an SPA switching to its login view would). */
export function expiredProbe(log, storageKey) {
  return (payload) => {
    log.push(["sessionExpired", payload, {
      drafts: drafts(),
      session: sessionStorage.getItem(storageKey + ":session"),
    }]);
    for (const old of document.querySelectorAll(".integration-fixture")) old.remove();
  };
}

export function handlerProbe(log, answer) {
  return (info) => { log.push(["onSessionExpired", info]); return answer; };
}

export function names(log) { return log.map((e) => e[0]); }

export function fill(root, values) {
  for (const [name, value] of Object.entries(values)) {
    const el = root.querySelector(`[name="${name}"]`);
    if (typeof value === "boolean") el.checked = value; else el.value = value;
  }
}

export function read(root, name) {
  const el = root.querySelector(`[name="${name}"]`);
  return el.type === "checkbox" ? el.checked : el.value;
}

export function resetForms(root) { for (const f of root.querySelectorAll("form")) f.reset(); }

/** The return path the login redirect must carry for this page. */
export function herePath() { return location.pathname + location.search + location.hash; }

export function seedDraft(formId, sub, fields) {
  const now = Date.now();
  const key = "tokenwarden:draft:v1:" + location.origin + location.pathname + "#id:" + formId;
  localStorage.setItem(key, JSON.stringify({
    v: 1, url: location.pathname, savedAt: now, expiresAt: now + 3600000, sub,
    fields: Object.entries(fields).map(([n, t]) => ({ n, i: 0, t })),
  }));
  return key;
}

export function setSearch(search) { history.replaceState(null, "", location.pathname + search); }

export function nextTask() { return new Promise((r) => setTimeout(r, 0)); }
"##)]
extern "C" {
    fn jwt(sub: &str, lifetime_seconds: f64) -> String;

    type Server;
    #[wasm_bindgen(constructor)]
    fn new() -> Server;
    #[wasm_bindgen(method)]
    fn reject(this: &Server);

    fn options(server: &Server, extra: &JsValue) -> JsValue;
    fn mount(html: &str) -> web_sys::Element;
    fn unmount();
    #[wasm_bindgen(js_name = draftKeys)]
    fn draft_keys() -> Array;
    fn drafts() -> Array;
    #[wasm_bindgen(js_name = makeLog)]
    fn make_log() -> Array;
    fn logger(log: &Array, name: &str) -> Function;
    #[wasm_bindgen(js_name = expiredProbe)]
    fn expired_probe(log: &Array, storage_key: &str) -> Function;
    #[wasm_bindgen(js_name = handlerProbe)]
    fn handler_probe(log: &Array, answer: &JsValue) -> Function;
    fn names(log: &Array) -> Array;
    fn fill(root: &web_sys::Element, values: &JsValue);
    fn read(root: &web_sys::Element, name: &str) -> JsValue;
    #[wasm_bindgen(js_name = resetForms)]
    fn reset_forms(root: &web_sys::Element);
    #[wasm_bindgen(js_name = herePath)]
    fn here_path() -> String;
    #[wasm_bindgen(js_name = seedDraft)]
    fn seed_draft(form_id: &str, sub: &str, fields: &JsValue) -> String;
    #[wasm_bindgen(js_name = setSearch)]
    fn set_search(search: &str);
    #[wasm_bindgen(js_name = nextTask)]
    fn next_task() -> Promise;
}

// ---- helpers ----

const FORM: &str = r#"
<form id="order" data-draft>
  <input name="title">
  <textarea name="notes"></textarea>
  <input name="urgent" type="checkbox">
  <input name="pw" type="password">
</form>"#;

fn manager(server: &Server, extra: JsValue) -> TokenManager {
    set_error_class(test_token_error_class());
    TokenManager::new(options(server, &extra)).expect("valid options")
}

fn sign_in(auth: &TokenManager, sub: &str) {
    let s = js_sys::Object::new();
    set(&s, "accessToken", &JsValue::from_str(&jwt(sub, 300.0)));
    set(&s, "refreshToken", &JsValue::from_str("r-initial"));
    auth.set_session(s.into()).expect("setSession");
}

/// Ends the session: an API call gets 401 and the refresh it triggers is
/// rejected (400 invalid_grant); the waiting request gets `session_expired`.
async fn end_session(server: &Server, auth: &TokenManager) {
    server.reject();
    let error = JsFuture::from(auth.fetch("/api/orders".into(), JsValue::UNDEFINED))
        .await
        .expect_err("a rejected refresh ends the session");
    assert_eq!(get_str(&error, "code").unwrap(), "session_expired");
}

/// The stored drafts' `fields` objects.
fn stored() -> Vec<JsValue> {
    drafts().iter().collect()
}

// ---- (a) session end: save, clear, sessionExpired, onSessionExpired ----

#[wasm_bindgen_test]
async fn session_end_saves_drafts_before_session_expired_listeners_then_offers_the_login_url() {
    let root = mount(FORM);
    let server = Server::new();
    let log = make_log();
    let extra =
        obj(r#"{"storage":"session","storageKey":"it-a","loginUrl":"/login","redirect":true}"#);
    set(
        &extra,
        "onSessionExpired",
        &handler_probe(&log, &JsValue::FALSE),
    );
    let auth = manager(&server, extra);
    let _a = auth
        .on("sessionExpired".into(), expired_probe(&log, "it-a").into())
        .unwrap();
    let _b = auth
        .on("error".into(), logger(&log, "error").into())
        .unwrap();
    sign_in(&auth, "alice");
    fill(
        &root,
        &obj(
            r#"{"title":"Quarterly report","notes":"line 1\nline 2","urgent":true,"pw":"hunter2"}"#,
        ),
    );
    assert!(draft_keys().length() == 0, "nothing saved while signed in");

    end_session(&server, &auth).await;

    assert_eq!(
        strings(&names(&log)),
        ["sessionExpired", "onSessionExpired"],
        "no error events; the handler runs after the listeners"
    );
    // What the sessionExpired listener saw: the draft already stored, the
    // tokens already cleared.
    let entry: Array = log.get(0).unchecked_into();
    assert_eq!(
        get_str(&entry.get(1), "reason").unwrap(),
        "refresh_rejected"
    );
    let snapshot = entry.get(2);
    assert!(get(&snapshot, "session").is_null(), "tokens cleared first");
    let seen: Array = get(&snapshot, "drafts").unchecked_into();
    assert_eq!(
        seen.length(),
        1,
        "the draft was stored before the listener ran"
    );
    let draft = seen.get(0);
    assert_eq!(get_str(&draft, "sub").unwrap(), "alice");
    assert!(get_str(&draft, "key").unwrap().ends_with("#id:order"));
    let fields = get(&draft, "fields");
    assert_eq!(get_str(&fields, "title").unwrap(), "Quarterly report");
    assert_eq!(get_str(&fields, "notes").unwrap(), "line 1\nline 2");
    assert_eq!(get(&fields, "urgent").as_bool(), Some(true));
    assert!(
        get(&fields, "pw").is_undefined(),
        "passwords are never saved"
    );
    // The listener removed the form, and the draft is still there.
    assert_eq!(stored().len(), 1);

    // onSessionExpired: the reason and the validated login URL.
    let entry: Array = log.get(1).unchecked_into();
    let info = entry.get(1);
    assert_eq!(get_str(&info, "reason").unwrap(), "refresh_rejected");
    let url = web_sys::Url::new(&get_str(&info, "redirectUrl").expect("a login URL")).unwrap();
    let here = web_sys::window().unwrap().location();
    assert_eq!(url.origin(), here.origin().unwrap());
    assert_eq!(url.pathname(), "/login");
    assert_eq!(
        url.search_params().get("returnTo").unwrap(),
        here_path(),
        "returnTo is this page's path+query+hash"
    );
    auth.dispose();
    unmount();
}

#[wasm_bindgen_test]
async fn on_session_expired_gets_no_url_without_redirect_and_is_not_called_for_logout() {
    mount(FORM);
    let server = Server::new();
    let log = make_log();
    // redirect: false — the app shows its own login dialog.
    let extra = obj(r#"{"loginUrl":"/login","redirect":false}"#);
    set(
        &extra,
        "onSessionExpired",
        &handler_probe(&log, &JsValue::UNDEFINED),
    );
    let auth = manager(&server, extra);
    sign_in(&auth, "alice");
    end_session(&server, &auth).await;
    assert_eq!(strings(&names(&log)), ["onSessionExpired"]);
    let info = Array::from(&log.get(0)).get(1);
    assert!(get(&info, "redirectUrl").is_null());

    // A logout is not a session expiry: the handler is not called.
    sign_in(&auth, "alice");
    JsFuture::from(auth.logout(JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(log.length(), 1);
    auth.dispose();
    unmount();

    // A handler that is not a function is a config error.
    set_error_class(test_token_error_class());
    let bad = options(&server, &obj(r#"{"onSessionExpired":"no"}"#));
    let error = TokenManager::new(bad).err().expect("rejected");
    assert_eq!(get_str(&error, "code").unwrap(), "config");
    assert_eq!(get_str(&error, "option").unwrap(), "onSessionExpired");
}

// ---- (b) restore after sign-in: same sub only, once per user ----

#[wasm_bindgen_test]
async fn drafts_come_back_for_the_same_sub_only_and_once_per_user() {
    let root = mount(FORM);
    let server = Server::new();
    let log = make_log();
    let extra = obj(r#"{"redirect":false}"#);
    let auth = manager(&server, extra);
    let _a = auth
        .on(
            "draftsRestored".into(),
            logger(&log, "draftsRestored").into(),
        )
        .unwrap();
    sign_in(&auth, "alice");
    fill(&root, &obj(r#"{"title":"Alice's draft","urgent":true}"#));
    end_session(&server, &auth).await;
    assert_eq!(stored().len(), 1);
    // A reload would show an empty form.
    reset_forms(&root);

    // Someone else signs in: nothing restored, nothing deleted.
    sign_in(&auth, "bob");
    assert_eq!(log.length(), 0, "no draftsRestored for another user");
    assert_eq!(read(&root, "title").as_string().unwrap(), "");
    assert_eq!(read(&root, "urgent").as_bool(), Some(false));
    assert_eq!(stored().len(), 1, "alice's draft stays");

    // Tokens with alice's sub (a different user than the current one): restored.
    sign_in(&auth, "alice");
    assert_eq!(strings(&names(&log)), ["draftsRestored"]);
    let restored: Array = Array::from(&log.get(0)).get(1).unchecked_into();
    assert_eq!(restored.length(), 1);
    let first = restored.get(0);
    assert!(get_str(&first, "key").unwrap().ends_with("#id:order"));
    assert_eq!(
        get(&first, "fields").as_f64(),
        Some(2.0),
        "fields changed: title and urgent"
    );
    let form = root.query_selector("#order").unwrap().unwrap();
    assert_eq!(
        get(&first, "form"),
        JsValue::from(form),
        "the payload names the form"
    );
    assert_eq!(read(&root, "title").as_string().unwrap(), "Alice's draft");
    assert_eq!(read(&root, "urgent").as_bool(), Some(true));

    // A refresh for the same user never restores again (the user may be typing).
    fill(&root, &obj(r#"{"title":"typed since"}"#));
    JsFuture::from(auth.refresh()).await.expect("refresh");
    assert_eq!(log.length(), 1);
    assert_eq!(read(&root, "title").as_string().unwrap(), "typed since");
    auth.dispose();
    unmount();
}

#[wasm_bindgen_test]
async fn drafts_restored_while_the_manager_is_created_reach_the_first_listener() {
    let root = mount(FORM);
    let server = Server::new();
    // A session stored by an earlier page, and a draft of the same user.
    let first = manager(&server, obj(r#"{"storage":"local","storageKey":"it-b"}"#));
    sign_in(&first, "carol");
    first.dispose(); // keeps the stored session
    seed_draft(
        "order",
        "carol",
        &obj(r#"{"title":"from before the reload"}"#),
    );

    let auth = manager(&server, obj(r#"{"storage":"local","storageKey":"it-b"}"#));
    // Restored while the constructor ran, before anyone could listen.
    assert_eq!(
        read(&root, "title").as_string().unwrap(),
        "from before the reload"
    );
    let log = make_log();
    let _a = auth
        .on(
            "draftsRestored".into(),
            logger(&log, "draftsRestored").into(),
        )
        .unwrap();
    JsFuture::from(next_task()).await.unwrap();
    assert_eq!(strings(&names(&log)), ["draftsRestored"]);
    let restored: Array = Array::from(&log.get(0)).get(1).unchecked_into();
    assert_eq!(restored.length(), 1);
    // Delivered once: a second listener does not get it again.
    let again = make_log();
    let _b = auth
        .on(
            "draftsRestored".into(),
            logger(&again, "draftsRestored").into(),
        )
        .unwrap();
    JsFuture::from(next_task()).await.unwrap();
    assert_eq!(again.length(), 0);
    auth.dispose();
    unmount();
}

// ---- (c) hostile loginUrl: no navigation, an error event ----

#[wasm_bindgen_test]
async fn hostile_login_urls_are_refused_with_an_error_event() {
    for hostile in [
        "https://evil.example/login",
        "//evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
    ] {
        mount(FORM);
        let server = Server::new();
        let log = make_log();
        let extra = obj(r#"{"redirect":true}"#);
        set(&extra, "loginUrl", &JsValue::from_str(hostile));
        // Not cancelling: had a URL come out, the test page would navigate away.
        set(
            &extra,
            "onSessionExpired",
            &handler_probe(&log, &JsValue::TRUE),
        );
        let auth = manager(&server, extra);
        let _a = auth
            .on("error".into(), logger(&log, "error").into())
            .unwrap();
        sign_in(&auth, "alice");
        end_session(&server, &auth).await;
        assert_eq!(
            strings(&names(&log)),
            ["error", "onSessionExpired"],
            "{hostile}"
        );
        let error = Array::from(&log.get(0)).get(1);
        assert_eq!(
            get_str(&error, "code").unwrap(),
            "redirect_not_allowed",
            "{hostile}"
        );
        assert_eq!(
            get_str(&get(&error, "error"), "code").unwrap(),
            "redirect_not_allowed"
        );
        assert!(get_str(&error, "message").is_some_and(|m| !m.is_empty()));
        let info = Array::from(&log.get(1)).get(1);
        assert!(get(&info, "redirectUrl").is_null(), "{hostile}");
        auth.dispose();
        unmount();
    }
}

#[wasm_bindgen_test]
async fn an_allowed_origin_may_host_the_login_page() {
    mount(FORM);
    let server = Server::new();
    let log = make_log();
    let extra = obj(
        r#"{"redirect":true,"loginUrl":"https://sso.example.com/login?app=1","allowedOrigins":["https://sso.example.com"],"returnParam":"next"}"#,
    );
    set(
        &extra,
        "onSessionExpired",
        &handler_probe(&log, &JsValue::FALSE),
    );
    let auth = manager(&server, extra);
    sign_in(&auth, "alice");
    end_session(&server, &auth).await;
    let info = Array::from(&log.get(0)).get(1);
    let url = web_sys::Url::new(&get_str(&info, "redirectUrl").unwrap()).unwrap();
    assert_eq!(url.origin(), "https://sso.example.com");
    assert_eq!(url.search_params().get("app").unwrap(), "1");
    assert_eq!(url.search_params().get("next").unwrap(), here_path());
    auth.dispose();
    unmount();
}

// ---- (d) auth.drafts.list / restore / discard ----

#[wasm_bindgen_test]
async fn drafts_api_lists_restores_and_discards() {
    let root = mount(FORM);
    let server = Server::new();
    let log = make_log();
    let auth = manager(
        &server,
        obj(r#"{"redirect":false,"drafts":{"restore":"manual"}}"#),
    );
    let _a = auth
        .on(
            "draftsRestored".into(),
            logger(&log, "draftsRestored").into(),
        )
        .unwrap();
    sign_in(&auth, "alice");
    assert_eq!(auth.drafts_list().unwrap().length(), 0);
    fill(&root, &obj(r#"{"title":"manual mode"}"#));
    end_session(&server, &auth).await;
    assert_eq!(
        auth.drafts_list().unwrap().length(),
        0,
        "signed out: nobody's drafts are listed"
    );
    reset_forms(&root);

    sign_in(&auth, "alice");
    assert_eq!(log.length(), 0, "manual: nothing restored on sign-in");
    assert_eq!(read(&root, "title").as_string().unwrap(), "");
    let list = auth.drafts_list().unwrap();
    assert_eq!(list.length(), 1);
    let key = get_str(&list.get(0), "key").unwrap();
    assert!(key.ends_with("#id:order"));
    assert_eq!(get_str(&list.get(0), "url").unwrap(), here_path());
    assert_eq!(
        get(&list.get(0), "fields").as_f64(),
        Some(3.0),
        "title, notes, urgent (never pw)"
    );

    // restore(): returns what it put back (no event: the app asked).
    let restored = auth.drafts_restore(JsValue::UNDEFINED).unwrap();
    assert_eq!(restored.length(), 1);
    assert_eq!(get_str(&restored.get(0), "key").unwrap(), key);
    assert_eq!(read(&root, "title").as_string().unwrap(), "manual mode");
    // restore(key) for a key that is not there restores nothing.
    assert_eq!(
        auth.drafts_restore(JsValue::from_str("tokenwarden:draft:v1:nope"))
            .unwrap()
            .length(),
        0
    );

    // discard(form), then discard(key) finds nothing left.
    let form = root.query_selector("#order").unwrap().unwrap();
    assert_eq!(auth.drafts_discard(form.into()).unwrap(), 1);
    assert_eq!(auth.drafts_discard(JsValue::from_str(&key)).unwrap(), 0);
    assert_eq!(auth.drafts_list().unwrap().length(), 0);
    assert_eq!(draft_keys().length(), 0);

    // discard(key) removes a stored draft; foreign keys are never touched.
    let seeded = seed_draft("order", "alice", &obj(r#"{"title":"x"}"#));
    local_storage().set_item("app:data", "keep").unwrap();
    assert_eq!(auth.drafts_discard(JsValue::from_str(&seeded)).unwrap(), 1);
    assert_eq!(
        auth.drafts_discard(JsValue::from_str("app:data")).unwrap(),
        0
    );
    assert_eq!(draft_keys().length(), 0);

    // Anything else is a TypeError with a code.
    let error = auth.drafts_discard(JsValue::from_f64(42.0)).unwrap_err();
    assert!(error.is_instance_of::<js_sys::TypeError>());
    assert_eq!(get_str(&error, "code").unwrap(), "drafts_discard_argument");

    // Once disposed: `disposed`.
    auth.dispose();
    let error = auth.drafts_list().unwrap_err();
    assert_eq!(get_str(&error, "code").unwrap(), "disposed");
    unmount();
}

// ---- (e) drafts: false, and logout ----

#[wasm_bindgen_test]
async fn drafts_false_writes_nothing() {
    let root = mount(FORM);
    let server = Server::new();
    let extra = obj(r#"{"redirect":false,"drafts":false,"storage":"memory"}"#);
    let auth = manager(&server, extra);
    sign_in(&auth, "alice");
    fill(&root, &obj(r#"{"title":"not kept","urgent":true}"#));
    end_session(&server, &auth).await;
    let storage = local_storage();
    assert_eq!(
        storage.length().unwrap(),
        0,
        "no localStorage writes at all"
    );
    assert_eq!(auth.drafts_list().unwrap().length(), 0);
    assert_eq!(auth.drafts_restore(JsValue::UNDEFINED).unwrap().length(), 0);
    assert_eq!(auth.drafts_discard(JsValue::from_str("x")).unwrap(), 0);
    auth.dispose();
    unmount();
}

#[wasm_bindgen_test]
async fn logout_saves_drafts_only_when_it_asks_for_the_login_page() {
    let root = mount(FORM);
    let server = Server::new();
    // No loginUrl: `logout({ redirect: true })` has nowhere to go, but it is
    // still the "send me to the login page" kind of logout.
    let auth = manager(
        &server,
        obj(r#"{"drafts":{"autosave":true,"autosaveDelaySeconds":0}}"#),
    );
    sign_in(&auth, "alice");
    fill(&root, &obj(r#"{"title":"left behind?"}"#));
    JsFuture::from(auth.logout(JsValue::UNDEFINED))
        .await
        .unwrap();
    assert_eq!(draft_keys().length(), 0, "plain logout keeps nothing");
    // Typing after logout is not autosaved for the user who left.
    let input: web_sys::HtmlInputElement = root
        .query_selector("[name=title]")
        .unwrap()
        .unwrap()
        .unchecked_into();
    input.set_value("typed after logout");
    input
        .dispatch_event(
            &web_sys::Event::new_with_event_init_dict("input", &{
                let init = web_sys::EventInit::new();
                init.set_bubbles(true);
                init
            })
            .unwrap(),
        )
        .unwrap();
    JsFuture::from(next_task()).await.unwrap();
    JsFuture::from(next_task()).await.unwrap();
    assert_eq!(draft_keys().length(), 0, "no autosave after logout");

    sign_in(&auth, "alice");
    let options = obj(r#"{"redirect":true}"#);
    JsFuture::from(auth.logout(options)).await.unwrap();
    let saved = stored();
    assert_eq!(saved.len(), 1, "logout({{ redirect: true }}) saves");
    assert_eq!(
        get_str(&get(&saved[0], "fields"), "title").unwrap(),
        "typed after logout"
    );
    auth.dispose();
    unmount();
}

/// Issue 12 item 8: fields whose name or id says they hold a secret are
/// never stored, whatever their `type` (a show-password toggle makes a
/// password field `type="text"`); `data-draft="on"` keeps one that the
/// heuristics would drop; look-alike names (`spinner`, `shipping`) are kept.
#[wasm_bindgen_test]
async fn secret_sounding_fields_are_not_stored_at_session_end() {
    let root = mount(
        r#"<form id="pay" data-draft>
          <input name="title">
          <input name="password" type="text">
          <input name="cvv">
          <input name="card_cvv">
          <input name="ssn">
          <input name="iban">
          <input name="pin">
          <input name="userPin">
          <input name="pin-code">
          <input name="cardNumber" type="tel">
          <input name="otp" inputmode="numeric">
          <input name="verification_code">
          <input name="api_key">
          <input name="tax_id">
          <input name="q" id="secret_token">
          <textarea name="recovery_codes"></textarea>
          <input name="spinner">
          <input name="opinion">
          <input name="shipping">
          <input name="pinned" type="checkbox">
          <input name="map_pin" data-draft="on">
          <input name="kept_off" data-draft="off">
        </form>"#,
    );
    let server = Server::new();
    let auth = manager(
        &server,
        obj(r#"{"storage":"memory","storageKey":"it-secret","redirect":false}"#),
    );
    sign_in(&auth, "alice");
    fill(
        &root,
        &obj(
            r#"{"title":"keep","password":"SECRET-1","cvv":"SECRET-2","card_cvv":"SECRET-3",
            "ssn":"SECRET-4","iban":"SECRET-5","pin":"SECRET-6","userPin":"SECRET-7",
            "pin-code":"SECRET-8","cardNumber":"SECRET-9","otp":"SECRET-10",
            "verification_code":"SECRET-11","api_key":"SECRET-12","tax_id":"SECRET-13",
            "q":"SECRET-14","recovery_codes":"SECRET-15","spinner":"spin","opinion":"yes",
            "shipping":"fast","pinned":true,"map_pin":"52.5,13.4","kept_off":"SECRET-16"}"#,
        ),
    );
    end_session(&server, &auth).await;

    let saved = stored();
    assert_eq!(saved.len(), 1, "one draft for the form");
    for i in 0..local_storage().length().unwrap() {
        let key = local_storage().key(i).unwrap().unwrap();
        let value = local_storage().get_item(&key).unwrap().unwrap_or_default();
        assert!(
            !value.contains("SECRET"),
            "a secret reached storage: {value}"
        );
    }
    let fields = get(&saved[0], "fields");
    let names: Vec<String> = js_sys::Object::keys(fields.unchecked_ref::<js_sys::Object>())
        .iter()
        .filter_map(|k| k.as_string())
        .collect();
    assert_eq!(
        names,
        ["title", "spinner", "opinion", "shipping", "pinned", "map_pin"],
        "only the harmless fields and the data-draft=\"on\" one"
    );
    assert_eq!(get_str(&fields, "map_pin").unwrap(), "52.5,13.4");
    auth.dispose();
    unmount();
}

// ---- config errors and the login-page helper ----

#[wasm_bindgen_test]
fn drafts_option_errors_are_config_errors() {
    set_error_class(test_token_error_class());
    let server = Server::new();
    for (extra, option) in [
        (r#"{"drafts":{"ttlSeconds":-1}}"#, "drafts.ttlSeconds"),
        (r#"{"drafts":{"selector":"form[["}}"#, "drafts.selector"),
        (r#"{"drafts":{"restore":"later"}}"#, "drafts.restore"),
        (r#"{"drafts":"yes"}"#, "drafts"),
    ] {
        let error = TokenManager::new(options(&server, &obj(extra)))
            .err()
            .unwrap_or_else(|| panic!("{extra} should be rejected"));
        assert_eq!(get_str(&error, "code").unwrap(), "config", "{extra}");
        assert_eq!(get_str(&error, "option").unwrap(), option, "{extra}");
    }
}

#[wasm_bindgen_test]
fn return_to_reads_only_safe_same_origin_paths() {
    let path = web_sys::window().unwrap().location().pathname().unwrap();
    let original = web_sys::window().unwrap().location().search().unwrap();
    set_search("?returnTo=%2Forders%2F7%3Fstep%3D2%23notes&next=%2F%2Fevil.example");
    assert_eq!(return_to(None).as_deref(), Some("/orders/7?step=2#notes"));
    assert_eq!(return_to(Some("next".into())), None, "protocol-relative");
    assert_eq!(return_to(Some("missing".into())), None);
    set_search("?returnTo=javascript%3Aalert(1)");
    assert_eq!(return_to(None), None);
    set_search(&original);
    assert_eq!(
        web_sys::window().unwrap().location().pathname().unwrap(),
        path
    );
}
