//! Decode vectors for `tokenwarden::core::jwt`: the RFC 7519 §3.1 example,
//! well-formed variants, every error variant, and a proptest that no input
//! panics and well-formed tokens round-trip.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use proptest::prelude::*;
use tokenwarden::core::json;
use tokenwarden::core::jwt::{decode, Claims, JwtError, Part};

const RFC_HEADER: &str = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9";
const RFC_PAYLOAD: &str =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
const RFC_SIG: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn token(header: &str, payload: &str) -> String {
    format!("{}.{}.c2ln", b64(header), b64(payload))
}

fn payload(p: &str) -> Result<Claims, JwtError> {
    decode(&token(r#"{"alg":"RS256","typ":"JWT"}"#, p)).map(|d| d.claims)
}

#[test]
fn rfc7519_section_3_1_example() {
    let d = decode(&format!("{RFC_HEADER}.{RFC_PAYLOAD}.{RFC_SIG}")).unwrap();
    assert_eq!(
        d.claims,
        Claims {
            exp: Some(1300819380.0),
            ..Claims::default()
        }
    );
    assert_eq!(
        d.payload_json,
        "{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}"
    );
}

#[test]
fn all_claims_fractional_dates_and_escapes() {
    let c = payload(r#"{"exp":1700000900.5,"iat":1700000000,"nbf":0,"sub":"u\u00e9\ud83d\ude00","jti":"j-1","extra":{"a":[1]}}"#)
        .unwrap();
    assert_eq!(c.exp, Some(1700000900.5));
    assert_eq!(c.iat, Some(1700000000.0));
    assert_eq!(c.nbf, Some(0.0));
    assert_eq!(c.sub.as_deref(), Some("ué😀"));
    assert_eq!(c.jti.as_deref(), Some("j-1"));
}

#[test]
fn padding_optional_and_empty_signature_allowed() {
    let h = URL_SAFE.encode(r#"{"alg":"none"}"#); // padded
    let p = URL_SAFE.encode(r#"{"exp":1}"#);
    assert!(h.ends_with('=') || p.ends_with('='), "test needs padding");
    assert_eq!(decode(&format!("{h}.{p}.")).unwrap().claims.exp, Some(1.0));
    let h = b64(r#"{"alg":"none"}"#);
    let p = b64(r#"{"exp":1}"#);
    assert_eq!(decode(&format!("{h}.{p}.")).unwrap().claims.exp, Some(1.0));
}

#[test]
fn no_claims_is_fine() {
    assert_eq!(payload("{}").unwrap(), Claims::default());
}

#[test]
fn wrong_part_counts() {
    for (t, n) in [("", 1), ("abc", 1), ("a.b", 2), ("a.b.c.d", 4), ("....", 5)] {
        assert_eq!(
            decode(t),
            Err(JwtError::WrongPartCount { found: n }),
            "{t:?}"
        );
    }
}

#[test]
fn empty_parts() {
    let p = b64("{}");
    assert_eq!(
        decode(&format!(".{p}.x")),
        Err(JwtError::EmptyPart(Part::Header))
    );
    assert_eq!(
        decode(&format!("{p}..x")),
        Err(JwtError::EmptyPart(Part::Payload))
    );
    assert_eq!(decode(".."), Err(JwtError::EmptyPart(Part::Header)));
}

#[test]
fn standard_base64_and_garbage_rejected() {
    // Bytes whose standard encoding contains '+' and '/'.
    let json = "{\"a\":\"\u{3ff}\u{fbff}?>\"}";
    let std = STANDARD.encode(json);
    assert!(std.contains('+') || std.contains('/'), "{std}");
    let ok = b64("{}");
    assert_eq!(
        decode(&format!("{std}.{ok}.")),
        Err(JwtError::Base64(Part::Header))
    );
    assert_eq!(
        decode(&format!("{ok}.{std}.")),
        Err(JwtError::Base64(Part::Payload))
    );
    assert_eq!(
        decode(&format!("{ok}.{ok}.a+b/")),
        Err(JwtError::Base64(Part::Signature))
    );
    assert_eq!(
        decode(&format!("{ok}.{ok} .")),
        Err(JwtError::Base64(Part::Payload))
    );
    assert_eq!(
        decode(&format!("{ok}.a.")),
        Err(JwtError::Base64(Part::Payload)),
        "1 char is never base64"
    );
    assert_eq!(
        decode(&format!("{ok}.{ok}.a")),
        Err(JwtError::Base64(Part::Signature))
    );
}

#[test]
fn invalid_utf8() {
    let bad = URL_SAFE_NO_PAD.encode([b'{', 0xff, b'}']);
    let ok = b64("{}");
    assert_eq!(
        decode(&format!("{bad}.{ok}.")),
        Err(JwtError::Utf8(Part::Header))
    );
    assert_eq!(
        decode(&format!("{ok}.{bad}.")),
        Err(JwtError::Utf8(Part::Payload))
    );
}

#[test]
fn invalid_json_and_non_objects() {
    let ok = b64("{}");
    assert_eq!(
        decode(&format!("{}.{ok}.", b64("{alg}"))),
        Err(JwtError::Json(Part::Header))
    );
    assert_eq!(
        decode(&format!("{ok}.{}.", b64("{\"exp\":1,}"))),
        Err(JwtError::Json(Part::Payload))
    );
    assert_eq!(
        decode(&format!("{}.{ok}.", b64("[1]"))),
        Err(JwtError::NotObject(Part::Header))
    );
    for p in ["[]", "\"s\"", "1", "null", "true"] {
        assert_eq!(
            decode(&format!("{ok}.{}.", b64(p))),
            Err(JwtError::NotObject(Part::Payload)),
            "{p}"
        );
    }
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(100), "]".repeat(100));
    assert_eq!(
        decode(&format!("{ok}.{}.", b64(&deep))),
        Err(JwtError::Json(Part::Payload))
    );
}

#[test]
fn bad_numeric_dates() {
    let cases = [
        (
            r#"{"exp":"1700000000"}"#,
            "exp",
            "NumericDate is not a number",
        ),
        (r#"{"exp":null}"#, "exp", "NumericDate is not a number"),
        (r#"{"iat":true}"#, "iat", "NumericDate is not a number"),
        (r#"{"nbf":[1]}"#, "nbf", "NumericDate is not a number"),
        (r#"{"exp":-1}"#, "exp", "NumericDate is negative"),
        (r#"{"iat":-0.5}"#, "iat", "NumericDate is negative"),
        (r#"{"exp":1e400}"#, "exp", "NumericDate is not finite"),
        (r#"{"nbf":1e300}"#, "nbf", "NumericDate is too large"),
        (r#"{"exp":1e15}"#, "exp", "NumericDate is too large"),
        (r#"{"sub":5}"#, "sub", "claim is not a string"),
        (r#"{"jti":{}}"#, "jti", "claim is not a string"),
    ];
    for (p, claim, why) in cases {
        assert_eq!(payload(p), Err(JwtError::BadClaim { claim, why }), "{p}");
    }
}

#[test]
fn exp_in_milliseconds_is_its_own_error() {
    assert_eq!(
        payload(r#"{"exp":1700000000000}"#),
        Err(JwtError::ExpInMilliseconds)
    );
    assert_eq!(
        payload(r#"{"exp":100000000001}"#),
        Err(JwtError::ExpInMilliseconds)
    );
    // Just under the threshold is still seconds (year 5138).
    assert_eq!(
        payload(r#"{"exp":99999999999}"#).unwrap().exp,
        Some(99999999999.0)
    );
}

#[test]
fn error_codes_are_stable() {
    let codes = [
        (JwtError::WrongPartCount { found: 2 }, "wrong_part_count"),
        (JwtError::MissingPart(Part::Payload), "missing_part"),
        (JwtError::EmptyPart(Part::Header), "empty_part"),
        (JwtError::Base64(Part::Payload), "invalid_base64"),
        (JwtError::Utf8(Part::Header), "invalid_utf8"),
        (JwtError::Json(Part::Header), "invalid_json"),
        (JwtError::NotObject(Part::Payload), "not_object"),
        (
            JwtError::BadClaim {
                claim: "exp",
                why: "x",
            },
            "bad_claim",
        ),
        (JwtError::ExpInMilliseconds, "exp_in_milliseconds"),
    ];
    for (e, code) in codes {
        assert_eq!(e.code(), code);
        assert!(!e.message().is_empty());
    }
    assert_eq!(
        JwtError::Base64(Part::Signature).message(),
        "signature is not base64url"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5_000))]

    /// Arbitrary strings never panic the decoder.
    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,200}") {
        let _ = decode(&s);
    }

    /// Strings made of token characters (dots and base64url) never panic.
    #[test]
    fn token_shaped_strings_never_panic(s in "[A-Za-z0-9_\\-=.+/]{0,120}") {
        let _ = decode(&s);
    }

    /// Arbitrary bytes base64url-encoded as the payload: never panics, and
    /// decodes exactly when the bytes are a UTF-8 JSON object.
    #[test]
    fn encoded_bytes_payload(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let t = format!("{}.{}.", b64("{}"), URL_SAFE_NO_PAD.encode(&bytes));
        match decode(&t) {
            Ok(d) => prop_assert_eq!(d.payload_json.as_bytes(), &bytes[..]),
            Err(e) => prop_assert!(e.part().is_some()),
        }
    }

    /// The JSON reader's own number conversion equals `str::parse` in the
    /// range tokens use (≤ 15 significant digits, small exponents)...
    #[test]
    fn json_numbers_exact_in_token_range(int in 0u64..1_000_000_000_000, frac in 0u32..1000, neg in any::<bool>(), e in -7i32..=7) {
        let text = format!("{}{int}.{frac:03}e{e}", if neg { "-" } else { "" });
        let o = json::top_level(&format!(r#"{{"n":{text}}}"#)).unwrap();
        prop_assert_eq!(o.get_num("n"), Some(text.parse::<f64>().unwrap()), "{}", text);
    }

    /// ...and stays within a relative 1e-12 of it for any JSON number.
    #[test]
    fn json_numbers_close_everywhere(text in "-?(0|[1-9][0-9]{0,30})(\\.[0-9]{1,30})?([eE][+-]?[0-9]{1,3})?") {
        let o = json::top_level(&format!(r#"{{"n":{text}}}"#)).unwrap();
        let ours = o.get_num("n").unwrap();
        let std = text.parse::<f64>().unwrap();
        if std.is_finite() && std.abs() > 1e-290 && std.abs() < 1e290 {
            prop_assert!(((ours - std) / std).abs() < 1e-12, "{} -> {} vs {}", text, ours, std);
        }
    }

    /// Well-formed tokens with integer dates round-trip.
    #[test]
    fn well_formed_round_trip(exp in 0u64..100_000_000_000, iat in 0u64..100_000_000_000, sub in "[a-z0-9]{0,12}") {
        let p = format!(r#"{{"exp":{exp},"iat":{iat},"sub":"{sub}"}}"#);
        let c = payload(&p).unwrap();
        prop_assert_eq!(c.exp, Some(exp as f64));
        prop_assert_eq!(c.iat, Some(iat as f64));
        prop_assert_eq!(c.sub, Some(sub));
    }
}
