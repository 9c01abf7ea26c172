//! Browser tests of the cross-tab internals (wasm-bindgen-test, headless
//! Chromium): message validation and the lock (Web Lock, steal, lease).
//! Behaviour through the public API is in `tests/web_tabs.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

use super::hex;
use super::lock::{self, Kind};
use super::message::Message;
use crate::core::{SessionEndReason, StoredSession};

fn session(refresh: Option<&str>) -> StoredSession {
    StoredSession {
        access_token: "a.b.c".into(),
        refresh_token: refresh.map(Into::into),
        expires_at: 1_700_000_300_000,
        started_at: 1_700_000_000_000,
    }
}

fn unique(name: &str) -> String {
    let mut s = String::from("tw-tabs-unit-");
    s.push_str(name);
    s.push_str(&hex(crate::web::global::random_seed()));
    s
}

#[wasm_bindgen_test]
fn every_message_round_trips() {
    let messages = [
        Message::Tokens {
            from: "t1".into(),
            session: session(Some("r1")),
        },
        Message::Tokens {
            from: "t1".into(),
            session: session(None),
        },
        Message::Session {
            from: "t1".into(),
            to: "t2".into(),
            session: session(Some("r1")),
        },
        Message::Logout {
            from: "t1".into(),
            reason: SessionEndReason::RefreshRejected,
        },
        Message::Hello { from: "t1".into() },
    ];
    for m in messages {
        assert_eq!(Message::decode(&m.encode()), Ok(m.clone()));
    }
}

#[wasm_bindgen_test]
fn malformed_messages_are_rejected() {
    let good = Message::Tokens {
        from: "t1".into(),
        session: session(Some("r1")),
    }
    .encode();
    assert!(Message::decode(&good).is_ok());
    let with = |key: &str, value: JsValue| {
        let copy = js_sys::Object::assign(&js_sys::Object::new(), good.unchecked_ref());
        js_sys::Reflect::set(&copy, &key.into(), &value).unwrap();
        JsValue::from(copy)
    };
    let without = |key: &str| {
        let copy = js_sys::Object::assign(&js_sys::Object::new(), good.unchecked_ref());
        js_sys::Reflect::delete_property(&copy, &key.into()).unwrap();
        JsValue::from(copy)
    };
    let bad = [
        JsValue::NULL,
        JsValue::UNDEFINED,
        JsValue::from_str("{\"v\":1}"),
        JsValue::from_f64(1.0),
        js_sys::Array::new().into(),
        js_sys::Function::new_no_args("").into(),
        with("v", JsValue::from_f64(2.0)),
        with("v", JsValue::from_str("1")),
        with("type", JsValue::from_str("tokenz")),
        with("from", JsValue::from_str("")),
        with("from", JsValue::from_str(&"x".repeat(65))),
        with("accessToken", JsValue::from_str("")),
        with("accessToken", JsValue::from_f64(3.0)),
        with("refreshToken", JsValue::from_str("")),
        with("refreshToken", JsValue::UNDEFINED),
        with("expiresAt", JsValue::from_f64(-1.0)),
        with("expiresAt", JsValue::from_f64(f64::NAN)),
        with("expiresAt", JsValue::from_f64(1e300)),
        with("startedAt", JsValue::from_f64(0.5)),
        with("unexpected", JsValue::TRUE),
        with("to", JsValue::from_str("t2")), // `to` belongs to "session" only
        without("refreshToken"),
        without("startedAt"),
        without("from"),
    ];
    for (i, value) in bad.iter().enumerate() {
        assert!(Message::decode(value).is_err(), "case {i} was accepted");
    }
    let logout = Message::Logout {
        from: "t1".into(),
        reason: SessionEndReason::Logout,
    }
    .encode();
    js_sys::Reflect::set(&logout, &"reason".into(), &"bored".into()).unwrap();
    assert!(Message::decode(&logout).is_err());
}

#[wasm_bindgen_test]
fn marker_fingerprints_are_written_as_16_hex_digits() {
    // The fingerprint itself (both tokens) is tested on the host (tests/core_tabs.rs).
    assert_eq!(hex(0), "0000000000000000");
    assert_eq!(hex(u64::MAX), "ffffffffffffffff");
    assert_eq!(hex(0x0123_4567_89ab_cdef), "0123456789abcdef");
}

/// Runs two acquisitions of one lock concurrently and returns the order in
/// which they acquired and released it.
async fn contend(use_web_locks: bool, name: &str) -> (Vec<&'static str>, Kind) {
    let log = Rc::new(RefCell::new(Vec::new()));
    let (first_in, release_first) = futures_channel();
    let name_a = name.to_string();
    let log_a = log.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let guard = lock::acquire(&name_a, &name_a, "owner-a", 5_000, use_web_locks).await;
        log_a.borrow_mut().push("a in");
        let _ = first_in.call0(&JsValue::UNDEFINED);
        // Hold the lock while B is trying to get it.
        lock::sleep(150).await;
        log_a.borrow_mut().push("a out");
        drop(guard);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(release_first).await;
    let guard = lock::acquire(name, name, "owner-b", 5_000, use_web_locks).await;
    log.borrow_mut().push("b in");
    let kind = guard.kind();
    drop(guard);
    let order = log.borrow().clone();
    (order, kind)
}

/// A promise and the function that resolves it.
fn futures_channel() -> (js_sys::Function, js_sys::Promise) {
    let (promise, resolve, _) = crate::web::global::promise_with_resolvers();
    (resolve, promise)
}

#[wasm_bindgen_test]
async fn the_web_lock_is_exclusive() {
    assert!(lock::web_locks_available());
    let (order, kind) = contend(true, &unique("weblock")).await;
    assert_eq!(order, ["a in", "a out", "b in"]);
    assert_eq!(kind, Kind::WebLock);
}

#[wasm_bindgen_test]
async fn a_hung_holder_is_stolen_from_after_the_timeout() {
    let name = unique("steal");
    let held = lock::acquire(&name, &name, "hung", 5_000, true).await;
    assert_eq!(held.kind(), Kind::WebLock);
    let taken = lock::acquire(&name, &name, "waiter", 100, true).await;
    assert_eq!(taken.kind(), Kind::Stolen);
    drop(taken);
    drop(held); // releasing a stolen lock is harmless
    let again = lock::acquire(&name, &name, "later", 1_000, true).await;
    assert_eq!(again.kind(), Kind::WebLock);
}

#[wasm_bindgen_test]
async fn the_lease_fallback_is_exclusive_and_released() {
    let name = unique("lease");
    let (order, kind) = contend(false, &name).await;
    assert_eq!(order, ["a in", "a out", "b in"]);
    assert_eq!(kind, Kind::Lease);
    let storage = crate::web::global::local_storage().unwrap();
    assert_eq!(storage.get_item(&name).unwrap(), None, "released on drop");
}

#[wasm_bindgen_test]
async fn an_expired_lease_of_a_dead_tab_is_taken_over() {
    let key = unique("dead-lease");
    let storage = crate::web::global::local_storage().unwrap();
    let until = crate::web::global::now_ms() + 200;
    let mut value = String::from(r#"{"owner":"dead-tab","until":"#);
    value.push_str(&until.to_string());
    value.push('}');
    storage.set_item(&key, &value).unwrap();
    let guard = lock::acquire(&key, &key, "alive", 10_000, false).await;
    assert_eq!(guard.kind(), Kind::Lease);
    assert!(
        crate::web::global::now_ms() >= until,
        "waited for the expiry"
    );
    drop(guard);
    assert_eq!(storage.get_item(&key).unwrap(), None);
}
