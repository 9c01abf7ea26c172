//! Fuzz the JWT decoder and the JSON reader: no input may panic, and
//! whatever decodes must be internally consistent (the reader's entry points
//! agree on what is JSON).
//!
//! Inputs starting with `{` are also wrapped as the payload of a token with
//! a fixed header, so the fuzzer reaches claim validation and the JSON
//! reader's depths instead of stopping at base64.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use tokenwarden::core::{json, jwt};

fn check(token: &str) {
    if let Ok(d) = jwt::decode(token) {
        // The payload we hand to JS is itself a valid JSON object.
        assert!(json::top_level(&d.payload_json).is_ok());
        for v in [d.claims.exp, d.claims.iat, d.claims.nbf].into_iter().flatten() {
            assert!(v.is_finite() && (0.0..=jwt::MAX_NUMERIC_DATE).contains(&v));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&b'{') {
        // Arbitrary bytes (UTF-8 or not) as the payload of a token.
        check(&format!("eyJhbGciOiJub25lIn0.{}.", URL_SAFE_NO_PAD.encode(data)));
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    check(text);
    // The JSON reader on its own (token responses and drafts go through it
    // too). Its entry points agree on what is JSON: `parse` accepts exactly
    // what `validate` does, strict mode only refuses more, and a top-level
    // object is JSON.
    let valid = json::validate(text).is_ok();
    assert_eq!(json::parse(text, false).is_ok(), valid);
    if json::parse(text, true).is_ok() {
        assert!(valid);
    }
    if json::top_level(text).is_ok() {
        assert!(valid);
    }
});
