//! Browser tests of `decodeJwt` as a decoder (issue 14 item 7) and of
//! `auth.claims` for tokens the session treats as opaque. jwt-decode's own
//! suite runs against the built package in `tests/e2e/decode.test.mjs`;
//! the decoder's rules are host-tested in `tests/core_jwt_port.rs`.
//!
//! Run: `PATH=$(bash -c 'source scripts/lib.sh; wasm_path') CHROMEDRIVER=/usr/bin/chromedriver
//! wasm-pack test --headless --chrome -- --test web_decode`

#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

mod common;

use common::{get, get_str, obj, set, test_token_error_class};
use tokenwarden::web::{decode_jwt, set_error_class, TokenManager};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen(inline_js = r##"
const enc = (s) => btoa(String.fromCharCode(...new TextEncoder().encode(s)))
  .replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
export function token(header, payload) {
  return enc(JSON.stringify(header)) + "." + enc(JSON.stringify(payload)) + ".c2ln";
}
export function nowSeconds() { return Math.floor(Date.now() / 1000); }
export function stubFetch() { return async () => new Response("ok"); }
"##)]
extern "C" {
    fn token(header: &JsValue, payload: &JsValue) -> String;
    #[wasm_bindgen(js_name = nowSeconds)]
    fn now_seconds() -> f64;
    #[wasm_bindgen(js_name = stubFetch)]
    fn stub_fetch() -> JsValue;
}

fn header_true() -> JsValue {
    obj(r#"{"header":true}"#)
}

#[wasm_bindgen_test]
fn decodes_claims_the_session_would_refuse() {
    set_error_class(test_token_error_class());
    let t = token(
        &obj(r#"{"alg":"none","kid":7}"#),
        &obj(r#"{"sub":12345,"exp":1700000000000,"iat":"x","aud":["a"]}"#),
    );
    let payload = decode_jwt(JsValue::from_str(&t), JsValue::UNDEFINED).expect("decodes");
    assert_eq!(get(&payload, "sub").as_f64(), Some(12345.0));
    assert_eq!(get(&payload, "exp").as_f64(), Some(1_700_000_000_000.0));
    assert_eq!(get_str(&payload, "iat").as_deref(), Some("x"));
    let header = decode_jwt(JsValue::from_str(&t), header_true()).expect("header");
    assert_eq!(get_str(&header, "alg").as_deref(), Some("none"));
    assert_eq!(get(&header, "kid").as_f64(), Some(7.0));
    // `header` must be exactly `true`, as in jwt-decode.
    let not_header = decode_jwt(JsValue::from_str(&t), obj(r#"{"header":1}"#)).expect("payload");
    assert_eq!(get(&not_header, "sub").as_f64(), Some(12345.0));
}

#[wasm_bindgen_test]
fn errors_carry_reason_and_part() {
    set_error_class(test_token_error_class());
    for (input, options, reason, part) in [
        ("abc", JsValue::UNDEFINED, "missing_part", "payload"),
        ("TOKEN", header_true(), "invalid_base64", "header"),
        (".x", header_true(), "empty_part", "header"),
        ("e30.WzFd.", JsValue::UNDEFINED, "not_object", "payload"),
    ] {
        let error = decode_jwt(JsValue::from_str(input), options).unwrap_err();
        assert_eq!(get_str(&error, "code").as_deref(), Some("invalid_token"));
        assert_eq!(
            get_str(&error, "reason").as_deref(),
            Some(reason),
            "{input}"
        );
        assert_eq!(get_str(&error, "part").as_deref(), Some(part), "{input}");
    }
    for bad in [
        JsValue::NULL,
        JsValue::UNDEFINED,
        JsValue::from_f64(1.0),
        obj("{}"),
    ] {
        for options in [JsValue::UNDEFINED, header_true()] {
            let error = decode_jwt(bad.clone(), options).unwrap_err();
            assert_eq!(get_str(&error, "code").as_deref(), Some("invalid_token"));
            assert_eq!(get_str(&error, "reason").as_deref(), Some("not_a_string"));
            assert!(get(&error, "part").is_null());
        }
    }
}

#[wasm_bindgen_test]
fn auth_claims_shows_the_payload_of_a_token_the_session_treats_as_opaque() {
    set_error_class(test_token_error_class());
    let options = obj(r#"{"refresh":{"url":"/auth/refresh"},"crossTab":false}"#);
    set(&options, "fetch", &stub_fetch());
    let auth = TokenManager::new(options).expect("manager");
    // A numeric `sub`: the session does not use the claims (warning
    // `token_claims_invalid`) and schedules from `expiresIn`.
    let exp = now_seconds() + 600.0;
    let t = token(
        &obj(r#"{"alg":"HS256"}"#),
        &obj(&format!(r#"{{"sub":12345,"exp":{exp}}}"#)),
    );
    let session = obj(r#"{"expiresIn":300}"#);
    set(&session, "accessToken", &JsValue::from_str(&t));
    auth.set_session(session).expect("accepted with expiresIn");
    let claims = auth.claims();
    assert_eq!(get(&claims, "sub").as_f64(), Some(12345.0));
    assert_eq!(get(&claims, "exp").as_f64(), Some(exp));
    // An opaque token: no claims.
    auth.set_session(obj(r#"{"accessToken":"opaque","expiresIn":300}"#))
        .expect("opaque");
    assert!(auth.claims().is_null());
    auth.dispose();
}
