//! Fuzz the JWT decoder and the JSON reader with arbitrary bytes: no input
//! may panic, and whatever decodes must be internally consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwarden::core::{json, jwt};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(d) = jwt::decode(text) {
        // The payload we hand to JS is itself a valid JSON object.
        assert!(json::top_level(&d.payload_json).is_ok());
        for v in [d.claims.exp, d.claims.iat, d.claims.nbf].into_iter().flatten() {
            assert!(v.is_finite() && v >= 0.0 && v <= jwt::MAX_NUMERIC_DATE);
        }
    }
    // The JSON reader on its own (token responses go through it too).
    let _ = json::top_level(text);
    let _ = json::validate(text);
});
