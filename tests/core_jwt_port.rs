//! jwt-decode 4.0.0's own test suite (auth0/jwt-decode, `lib/index.test.ts`
//! at tag v4.0.0), ported case by case to `core::jwt::decode_part`, the
//! decoder behind `decodeJwt`; then the "decoder, not a validator" cases
//! (claims the session's rules refuse, which still decode).
//!
//! Agreement: the same decoded JSON, or both refuse the token naming the
//! same part. The two non-string cases of the suite (`null`) cannot be
//! written in Rust: they are in the browser port
//! (`tests/e2e/decode.test.mjs`), which runs all 15 against the built
//! package next to the real jwt-decode.
//!
//! | # | jwt-decode case                                   | here                          |
//! |---|---------------------------------------------------|-------------------------------|
//! | 1 | default and custom claims                         | agrees                        |
//! | 2 | header information (`{ header: true }`)           | agrees                        |
//! | 3 | utf8 tokens                                       | agrees                        |
//! | 4 | binary (Latin-1) tokens                           | DIVERGES: `invalid_utf8`      |
//! | 5 | double padding                                    | agrees                        |
//! | 6 | single padding                                    | agrees                        |
//! | 7 | non-string                                        | browser port only             |
//! | 8 | string that is not a token (`fubar`)              | agrees (`missing_part`)       |
//! | 9 | `null` with `{ header: true }`                    | browser port only             |
//! |10 | missing part #1 (`.FAKE_TOKEN`)                   | agrees (`empty_part` header)  |
//! |11 | part #1 not base64 (`TOKEN`)                      | agrees (`invalid_base64`)     |
//! |12 | part #1 not JSON (`FAKE.TOKEN`)                   | agrees on the part; `invalid_utf8` |
//! |13 | missing part #2 (`FAKE_TOKEN`)                    | agrees (`missing_part`)       |
//! |14 | part #2 not base64 (`FAKE.TOKEN`)                 | agrees (`invalid_base64`)     |
//! |15 | part #2 not JSON (`FAKE.TOKEN2`)                  | agrees on the part; `invalid_utf8` |
//!
//! Case 4 diverges because RFC 7519 §7.2 (steps 4 and 8) requires the
//! header and the claims to be UTF-8 JSON: jwt-decode falls back to reading
//! the bytes as Latin-1 (`atob`) when they are not UTF-8. For the same
//! reason cases 12 and 15, whose bytes are not UTF-8 either, are refused as
//! `invalid_utf8` where jwt-decode (after its Latin-1 fallback) says
//! "invalid json": same part, different reason.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use proptest::prelude::*;
use tokenwarden::core::json;
use tokenwarden::core::jwt::{decode, decode_part, JwtError, Part};

/// The suite's main token: `{"typ":"JWT","alg":"HS256"}` /
/// `{"foo":"bar","exp":1393286893,"iat":1393268893}`.
const TOKEN: &str = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJmb28iOiJiYXIiLCJleHAiOjEzOTMyODY4OTMsImlhdCI6MTM5MzI2ODg5M30.4-iaDojEVl0pJQMjrbM1EzUIfAZgsbK_kgnVyVxFSVo";

fn payload(token: &str) -> Result<String, JwtError> {
    decode_part(token, Part::Payload)
}

fn header(token: &str) -> Result<String, JwtError> {
    decode_part(token, Part::Header)
}

/// Member `key` of a decoded JSON object, as a string or a number.
fn member(json_text: &str, key: &str) -> json::Value {
    json::top_level(json_text)
        .unwrap()
        .get(key)
        .cloned()
        .unwrap_or(json::Value::Null)
}

fn s(v: &str) -> json::Value {
    json::Value::Str(v.into())
}

#[test]
fn case_01_should_return_default_and_custom_claims() {
    let p = payload(TOKEN).unwrap();
    assert_eq!(member(&p, "exp"), json::Value::Num(1393286893.0));
    assert_eq!(member(&p, "iat"), json::Value::Num(1393268893.0));
    assert_eq!(member(&p, "foo"), s("bar"));
}

#[test]
fn case_02_should_return_header_information() {
    let h = header(TOKEN).unwrap();
    assert_eq!(member(&h, "typ"), s("JWT"));
    assert_eq!(member(&h, "alg"), s("HS256"));
}

#[test]
fn case_03_should_work_with_utf8_tokens() {
    let t = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiSm9zw6kiLCJpYXQiOjE0MjU2NDQ5NjZ9.1CfFtdGUPs6q8kT3OGQSVlhEMdbuX0HfNSqum0023a0";
    assert_eq!(member(&payload(t).unwrap(), "name"), s("José"));
}

#[test]
fn case_04_binary_tokens_diverge_rfc7519_requires_utf8() {
    // The payload is `{"name":"Jos\xe9",…}`: Latin-1, not UTF-8. jwt-decode
    // returns "José"; RFC 7519 §7.2 step 8 requires UTF-8.
    let t = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiSm9z6SIsImlhdCI6MTQyNTY0NDk2Nn0.cpnplCBxiw7Xqz5thkqs4Mo_dymvztnI0CI4BN0d1t8";
    assert_eq!(payload(t), Err(JwtError::Utf8(Part::Payload)));
    // The bytes are what jwt-decode read as Latin-1.
    let bytes = URL_SAFE_NO_PAD
        .decode("eyJuYW1lIjoiSm9z6SIsImlhdCI6MTQyNTY0NDk2Nn0")
        .unwrap();
    let latin1: String = bytes.iter().map(|&b| char::from(b)).collect();
    assert_eq!(latin1, r#"{"name":"José","iat":1425644966}"#);
}

#[test]
fn case_05_should_work_with_double_padding() {
    let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpvc8OpIiwiaWF0IjoxNTE2MjM5MDIyfQ.7A3F5SUH2gbBSYVon5mas_Y-KCrWojorKQg7UKGVEIA";
    assert_eq!(member(&payload(t).unwrap(), "name"), s("José"));
}

#[test]
fn case_06_should_work_with_single_padding() {
    let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpvc8OpZSIsImlhdCI6MTUxNjIzOTAyMn0.tbjJzDAylkKSV0_YGR5xBJBlFK01C82nZPLIcA3JX1g";
    assert_eq!(member(&payload(t).unwrap(), "name"), s("Josée"));
}

// Cases 7 and 9 (non-string input): browser port only.

#[test]
fn case_08_should_throw_on_string_that_is_not_a_token() {
    assert_eq!(payload("fubar"), Err(JwtError::MissingPart(Part::Payload)));
}

#[test]
fn case_10_missing_part_1() {
    assert_eq!(
        header(".FAKE_TOKEN"),
        Err(JwtError::EmptyPart(Part::Header))
    );
}

#[test]
fn case_11_part_1_not_valid_base64() {
    assert_eq!(header("TOKEN"), Err(JwtError::Base64(Part::Header)));
}

#[test]
fn case_12_part_1_not_valid_json() {
    // Same part as jwt-decode ("invalid json for part #1"); the bytes
    // (14 02 84) are not UTF-8, which is checked first.
    assert_eq!(header("FAKE.TOKEN"), Err(JwtError::Utf8(Part::Header)));
}

#[test]
fn case_13_missing_part_2() {
    assert_eq!(
        payload("FAKE_TOKEN"),
        Err(JwtError::MissingPart(Part::Payload))
    );
}

#[test]
fn case_14_part_2_not_valid_base64() {
    assert_eq!(payload("FAKE.TOKEN"), Err(JwtError::Base64(Part::Payload)));
}

#[test]
fn case_15_part_2_not_valid_json() {
    // Same part as jwt-decode ("invalid json for part #2"); the bytes
    // (4c e2 84 37) are not UTF-8, which is checked first.
    assert_eq!(payload("FAKE.TOKEN2"), Err(JwtError::Utf8(Part::Payload)));
}

// ----- a decoder, not a validator ----------------------------------------

fn b64(s: &str) -> String {
    URL_SAFE_NO_PAD.encode(s)
}

fn tok(payload_json: &str) -> String {
    format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(payload_json))
}

#[test]
fn claims_the_session_refuses_still_decode() {
    for p in [
        r#"{"sub":12345,"exp":1700000000}"#,
        r#"{"exp":1700000000000}"#,
        r#"{"exp":"1700000000"}"#,
        r#"{"iat":-5,"nbf":1e300,"exp":null}"#,
        r#"{"jti":{"a":1},"aud":["a","b"],"exp":1.5}"#,
        r#"{"exp":1e400}"#,
    ] {
        let t = tok(p);
        assert!(
            matches!(
                decode(&t),
                Err(JwtError::BadClaim { .. } | JwtError::ExpInMilliseconds)
            ),
            "the session refuses {p}"
        );
        assert_eq!(payload(&t).as_deref(), Ok(p), "decodeJwt decodes {p}");
    }
}

#[test]
fn only_the_part_asked_for_is_read() {
    let p = b64(r#"{"sub":"a"}"#);
    // A bad header, signature or part count does not stop the payload …
    for t in [
        format!("!!.{p}.sig"),
        format!("{p}.{p}.a+b/"),
        format!("{p}.{p}"),
        format!("{p}.{p}.x.y"),
        format!(".{p}."),
    ] {
        assert_eq!(payload(&t).as_deref(), Ok(r#"{"sub":"a"}"#), "{t}");
    }
    // … nor a bad payload the header.
    assert_eq!(
        header(&format!("{}.!!", b64(r#"{"alg":"none"}"#))).as_deref(),
        Ok(r#"{"alg":"none"}"#)
    );
}

#[test]
fn rfc7519_requirements_still_apply_to_the_part_read() {
    let ok = b64("{}");
    for (p, e) in [
        ("[1]", JwtError::NotObject(Part::Payload)),
        ("\"s\"", JwtError::NotObject(Part::Payload)),
        ("null", JwtError::NotObject(Part::Payload)),
        ("{\"a\":1,}", JwtError::Json(Part::Payload)),
    ] {
        assert_eq!(payload(&format!("{ok}.{}.", b64(p))), Err(e), "{p}");
    }
    // base64url only: no standard-base64 `+`/`/`, no whitespace.
    assert_eq!(payload("e30.e3+/."), Err(JwtError::Base64(Part::Payload)));
    assert_eq!(payload("e30.e30 ."), Err(JwtError::Base64(Part::Payload)));
    assert_eq!(payload("e30..x"), Err(JwtError::EmptyPart(Part::Payload)));
    assert_eq!(
        decode_part("e30.e30.e30", Part::Signature),
        Ok("{}".into()),
        "a third part that is JSON reads as JSON"
    );
    assert_eq!(
        decode_part("e30.e30", Part::Signature),
        Err(JwtError::MissingPart(Part::Signature))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3_000))]

    /// Any bytes as the payload: decodes exactly when they are a UTF-8 JSON
    /// object, to exactly those bytes; never panics.
    #[test]
    fn payload_decodes_iff_utf8_json_object(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
        let t = format!("x.{}", URL_SAFE_NO_PAD.encode(&bytes));
        let expected = std::str::from_utf8(&bytes).ok().filter(|text| json::top_level(text).is_ok());
        match payload(&t) {
            Ok(text) => prop_assert_eq!(Some(text.as_str()), expected),
            Err(_) => prop_assert_eq!(expected, None),
        }
    }

    /// Whatever the session's reading accepts, the decoder gives the same payload.
    #[test]
    fn the_decoder_accepts_whatever_the_session_does(s in "[A-Za-z0-9_\\-=.]{0,80}") {
        if let Ok(d) = decode(&s) {
            prop_assert_eq!(payload(&s), Ok(d.payload_json));
        }
        let _ = header(&s);
    }

    /// Arbitrary strings never panic.
    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,200}") {
        let _ = payload(&s);
        let _ = header(&s);
    }
}
