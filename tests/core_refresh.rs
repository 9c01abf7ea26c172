//! Refresh responses and token input (`core::refresh`), and the session
//! rules that depend on them (issue 12 items 4, 6 and 7): table-driven
//! classifier cases (statuses, bodies, hostile JSON, `Retry-After`), the one
//! token validation, the rotated refresh token of an incomplete 2xx, the
//! refresh-storm cool-down, token size bounds; property tests that nothing
//! panics and that a rotated refresh token is never dropped.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

mod support;

use std::rc::Rc;

use proptest::prelude::*;
use support::{errors, jwt, persisted_refresh, starts, warnings, H, T0};
use tokenwarden::core::refresh::{
    self, classify, parse_retry_after, validate, Body, Field, Outcome, RawTokens, Source,
    TokenInputError, TokenKind, MAX_BODY_BYTES, MAX_TOKEN_BYTES,
};
use tokenwarden::core::session::{
    warning, FRESH_COOLDOWN_BASE_MS, FRESH_COOLDOWN_MAX_MS, FRESH_COOLDOWN_RESET_MS,
};
use tokenwarden::core::{
    Config, Event, Input, Output, RefreshFailure, Session, StoredSession, TabMessage, TokenSet,
};

fn ok200(body: &str) -> Outcome {
    classify(200, None, Body::Text(body), false, T0)
}

fn tokens_of(outcome: Outcome) -> TokenSet {
    match outcome {
        Outcome::Tokens(t) => t,
        other => panic!("expected tokens, got {other:?}"),
    }
}

/// The failure and the rotated refresh token of a failed outcome.
fn failed(outcome: Outcome) -> (RefreshFailure, Option<String>) {
    match outcome {
        Outcome::Failed {
            failure,
            rotated_refresh_token,
        } => (failure, rotated_refresh_token),
        other => panic!("expected a failure, got {other:?}"),
    }
}

fn detail(failure: &RefreshFailure) -> String {
    match failure {
        RefreshFailure::Transient { detail, .. } => detail.to_string(),
        other => panic!("expected transient, got {other:?}"),
    }
}

fn raw(access: Field, refresh: Field, expires_in: Field) -> RawTokens {
    RawTokens {
        access_token: access,
        refresh_token: refresh,
        expires_in,
    }
}

fn s(text: &str) -> Field {
    Field::Str(text.into())
}

// ----- classifier: 2xx ------------------------------------------------------

#[test]
fn a_2xx_json_object_with_an_access_token_is_new_tokens() {
    let a = jwt(T0 + 300_000, T0);
    for body in [
        format!(r#"{{"access_token":"{a}","refresh_token":"r2","expires_in":300}}"#),
        format!(r#"{{"accessToken":"{a}","refreshToken":"r2","expiresIn":300}}"#),
        format!(
            r#" {{"accessToken":"{a}","refreshToken":"r2","expiresIn":"300","x":[1,{{"y":null}}]}} "#
        ),
        format!(
            r#"{{"access_token":"old","access_token":"{a}","refresh_token":"r2","expires_in":3e2}}"#
        ),
    ] {
        for status in [200, 201, 204, 299] {
            let t = tokens_of(classify(status, None, Body::Text(&body), false, T0));
            assert_eq!(t.access_token, a, "{body}");
            assert_eq!(t.refresh_token.as_deref(), Some("r2"), "{body}");
            assert_eq!(t.expires_in, Some(300.0), "{body}");
        }
    }
}

#[test]
fn an_opaque_access_token_without_expires_in_is_used_not_retried() {
    // Issue 12 item 6: oidc-provider answered like this; it used to be a
    // transient failure, retried with the old (already rotated) refresh token.
    let t = tokens_of(ok200(
        r#"{"access_token":"opaque-abc","refresh_token":"r2","token_type":"Bearer"}"#,
    ));
    assert_eq!(t.access_token, "opaque-abc");
    assert_eq!(t.refresh_token.as_deref(), Some("r2"));
    assert_eq!(t.expires_in, None);
}

#[test]
fn an_unusable_expires_in_from_a_server_is_passed_on_to_be_ignored_with_a_warning() {
    for (value, expect_nan, expect) in [
        (r#""soon""#, true, 0.0),
        (r#"true"#, true, 0.0),
        (r#"{}"#, true, 0.0),
        (r#"-5"#, false, -5.0),
        (r#"1e999"#, false, f64::INFINITY),
    ] {
        let t = tokens_of(ok200(&format!(
            r#"{{"access_token":"opaque","expires_in":{value}}}"#
        )));
        let got = t.expires_in.expect("kept for the warning");
        if expect_nan {
            assert!(got.is_nan(), "{value}");
        } else {
            assert_eq!(got, expect, "{value}");
        }
    }
    // `null` is absent.
    let t = tokens_of(ok200(r#"{"access_token":"opaque","expires_in":null}"#));
    assert_eq!(t.expires_in, None);
    // The session ignores such a value with `invalid_expires_in`.
    let mut s = Session::new(Config::default(), 1);
    s.handle(
        Input::SetSession(TokenSet {
            access_token: "opaque".into(),
            refresh_token: Some("r".into()),
            expires_in: Some(f64::NAN),
        }),
        T0,
    );
    let out: Vec<Output> = std::iter::from_fn(|| s.poll_output()).collect();
    let codes = warnings(&out);
    assert!(codes.contains(&warning::INVALID_EXPIRES_IN), "{codes:?}");
    assert!(codes.contains(&warning::TOKEN_WITHOUT_EXP), "{codes:?}");
}

#[test]
fn unusable_2xx_bodies_are_transient_failures_with_a_clear_detail() {
    let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
    let cases: Vec<(String, &str)> = vec![
        ("<html>not json</html>".into(), "not a JSON object"),
        ("".into(), "not a JSON object"),
        ("null".into(), "not a JSON object"),
        ("[1,2]".into(), "not a JSON object"),
        (r#"{"access_token":"a""#.into(), "not a JSON object"),
        (r#"{"token_type":"bearer"}"#.into(), "no access token"),
        (r#"{"access_token":""}"#.into(), "no access token"),
        (r#"{"access_token":null}"#.into(), "no access token"),
        (r#"{"access_token":42}"#.into(), "no access token"),
        (r#"{"access_token":["a"]}"#.into(), "no access token"),
        (
            r#"{"access_token":"a b"}"#.into(),
            "cannot be sent in a header",
        ),
        (
            r#"{"access_token":"a\nb"}"#.into(),
            "cannot be sent in a header",
        ),
        (
            r#"{"access_token":"caf\u00e9"}"#.into(),
            "cannot be sent in a header",
        ),
        (
            format!(r#"{{"access_token":"{huge}"}}"#),
            "larger than 16 KiB",
        ),
        (
            format!(r#"{{"access_token":"ok","refresh_token":"{huge}"}}"#),
            "larger than 16 KiB",
        ),
    ];
    for (body, expect) in cases {
        let (failure, rotated) = failed(ok200(&body));
        let d = detail(&failure);
        assert!(d.contains(expect), "{body:.60}: {d}");
        assert_eq!(rotated, None, "{body:.60}");
        assert!(matches!(
            failure,
            RefreshFailure::Transient {
                status: 200,
                retry_after_ms: None,
                ..
            }
        ));
    }
    let (failure, _) = failed(classify(200, None, Body::TooLarge, false, T0));
    assert!(detail(&failure).contains("larger than 64 KiB"));
    let (failure, _) = failed(classify(200, None, Body::Unreadable, false, T0));
    assert!(detail(&failure).contains("not a JSON object"));
    // A text over the body bound is not parsed, even when it is JSON.
    let padded = format!(
        r#"{{"access_token":"a","pad":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let (failure, _) = failed(ok200(&padded));
    assert!(detail(&failure).contains("larger than 64 KiB"));
}

#[test]
fn a_2xx_keeps_its_rotated_refresh_token_even_when_the_access_token_is_unusable() {
    let huge = "a".repeat(MAX_TOKEN_BYTES + 1);
    for body in [
        r#"{"refresh_token":"r2"}"#.to_string(),
        r#"{"refreshToken":"r2","access_token":""}"#.to_string(),
        r#"{"refresh_token":"r2","access_token":{"nested":true}}"#.to_string(),
        r#"{"refresh_token":"r2","access_token":"with space"}"#.to_string(),
        format!(r#"{{"refresh_token":"r2","access_token":"{huge}"}}"#),
    ] {
        let (failure, rotated) = failed(ok200(&body));
        assert!(
            matches!(failure, RefreshFailure::Transient { .. }),
            "{body:.60}"
        );
        assert_eq!(rotated.as_deref(), Some("r2"), "{body:.60}");
    }
    // Not in cookie mode: a refresh token never lives in JS there.
    let (_, rotated) = failed(classify(
        200,
        None,
        Body::Text(r#"{"refresh_token":"r2"}"#),
        true,
        T0,
    ));
    assert_eq!(rotated, None);
    // An unusable refresh token is not one.
    for body in [r#"{"refresh_token":""}"#, r#"{"refresh_token":7}"#] {
        let (_, rotated) = failed(ok200(body));
        assert_eq!(rotated, None, "{body}");
    }
}

#[test]
fn cookie_mode_drops_a_refresh_token_from_the_body() {
    let t = tokens_of(classify(
        200,
        None,
        Body::Text(r#"{"accessToken":"opaque","refreshToken":"leaked","expiresIn":60}"#),
        true,
        T0,
    ));
    assert_eq!(t.refresh_token, None);
}

// ----- classifier: other statuses ----------------------------------------

#[test]
fn refresh_rejections_end_the_session() {
    for status in [400, 401, 403] {
        for (body, error) in [
            (
                Body::Text(r#"{"error":"invalid_grant","error_description":"reuse"}"#),
                Some("invalid_grant"),
            ),
            (Body::Text("<html>"), None),
            (Body::Text(r#"{"error":5}"#), None),
            (Body::TooLarge, None),
            (Body::Unreadable, None),
        ] {
            let (failure, rotated) = failed(classify(status, Some("10"), body, false, T0));
            assert_eq!(
                failure,
                RefreshFailure::Rejected {
                    status,
                    error: error.map(String::from)
                },
                "{status} {body:?}"
            );
            assert_eq!(rotated, None);
        }
    }
    // A 400 never hands over tokens, whatever its body says.
    let (failure, rotated) = failed(classify(
        400,
        None,
        Body::Text(r#"{"access_token":"a","refresh_token":"r2"}"#),
        false,
        T0,
    ));
    assert!(matches!(failure, RefreshFailure::Rejected { .. }));
    assert_eq!(rotated, None);
}

#[test]
fn other_statuses_are_transient_and_honour_retry_after() {
    let date = "Tue, 14 Nov 2023 22:13:27 GMT"; // T0 + 7 s
    for (status, retry_after, expect_ms, expect_detail) in [
        (500, None, None, "server error"),
        (502, Some("3"), Some(3_000), "server error"),
        (503, Some(date), Some(7_000), "server error"),
        (
            503,
            Some("Tue, 14 Nov 2023 22:00:00 GMT"),
            Some(0),
            "server error",
        ),
        (503, Some("soon"), None, "server error"),
        (429, Some(" 120 "), Some(120_000), "rate limiting"),
        (408, None, None, "unexpected status"),
        (404, None, None, "unexpected status"),
        (302, None, None, "unexpected status"),
        (100, None, None, "unexpected status"),
        (0, None, None, "unexpected status"),
        (
            999,
            Some("99999999999999999999999999"),
            Some(999_999_999_000),
            "server error",
        ),
    ] {
        let (failure, rotated) = failed(classify(
            status,
            retry_after,
            Body::Text(r#"{"access_token":"a"}"#),
            false,
            T0,
        ));
        match failure {
            RefreshFailure::Transient {
                status: st,
                retry_after_ms,
                detail,
            } => {
                assert_eq!(st, status);
                assert_eq!(retry_after_ms, expect_ms, "{status} {retry_after:?}");
                assert!(detail.contains(expect_detail), "{status}: {detail}");
            }
            other => panic!("{status}: {other:?}"),
        }
        assert_eq!(rotated, None);
    }
}

#[test]
fn retry_after_reads_every_http_date_format() {
    let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
    for (value, expect) in [
        ("0", Some(0)),
        ("120", Some(120_000)),
        ("Sun, 06 Nov 1994 08:49:37 GMT", Some(0)),
        ("Sun, 06 Nov 1994 09:49:37 GMT", Some(3_600_000)),
        ("Sunday, 06-Nov-94 08:50:37 GMT", Some(60_000)),
        ("Sun Nov  6 08:49:47 1994", Some(10_000)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", Some(0)),
        ("Mon, 29 Feb 1996 00:00:00 GMT", Some(825_552_000_000 - now)),
        ("Wed, 30 Feb 1994 08:49:37 GMT", None),
        ("Sun, 06 Nov 1994 24:00:00 GMT", None),
        ("Sun, 06 Nov 1994 08:49:37 UTC", None),
        ("Sun, 06 Foo 1994 08:49:37 GMT", None),
        ("Sun, 6 Nov 1994 08:49:37 GMT", Some(0)),
        ("06 Nov 1994 08:49:37 GMT", None),
        ("-1", None),
        ("1.5", None),
        ("", None),
        ("   ", None),
        ("Sun, 06 Nov 99999 08:49:37 GMT", None),
        ("Mon, 01 Jan 1900 00:00:00 GMT", Some(0)),
        (
            "Fri, 31 Dec 9999 23:59:59 GMT",
            Some(253_402_300_799_000 - now),
        ),
    ] {
        assert_eq!(parse_retry_after(value, now), expect, "{value:?}");
    }
    // RFC 850 two-digit years: more than 50 years ahead means the past century.
    let y2026 = 1_767_225_600_000; // 2026-01-01
    assert_eq!(
        parse_retry_after("Friday, 01-Jan-27 00:00:00 GMT", y2026),
        Some(365 * 86_400_000)
    );
    assert_eq!(
        parse_retry_after("Thursday, 01-Jan-99 00:00:00 GMT", y2026),
        Some(0)
    );
}

#[test]
fn a_declared_content_length_over_the_bound_is_not_read() {
    let max = MAX_BODY_BYTES.to_string();
    let over = (MAX_BODY_BYTES + 1).to_string();
    assert!(!refresh::declared_too_large(&max));
    assert!(refresh::declared_too_large(&over));
    assert!(refresh::declared_too_large(" 52428800 "));
    assert!(refresh::declared_too_large("99999999999999999999999999"));
    assert!(refresh::declared_too_large("1000000000"));
    for not_a_length in ["", "-1", "1e9", "abc", "0x10000"] {
        assert!(!refresh::declared_too_large(not_a_length), "{not_a_length}");
    }
}

// ----- the refresh function ------------------------------------------------

#[test]
fn the_refresh_function_result_goes_through_the_same_validation() {
    let t = tokens_of(refresh::from_function(Some(raw(
        s("opaque"),
        s("r2"),
        Field::Absent,
    ))));
    assert_eq!((t.access_token.as_str(), t.expires_in), ("opaque", None));
    let (failure, rotated) = failed(refresh::from_function(Some(raw(
        Field::TooLarge,
        s("r2"),
        Field::Num(60.0),
    ))));
    assert!(detail(&failure).contains("larger than 16 KiB"));
    assert_eq!(rotated.as_deref(), Some("r2"));
    let (failure, _) = failed(refresh::from_function(None));
    assert!(detail(&failure).contains("did not return"));
    assert_eq!(
        refresh::function_threw(Some(401.0), None, None),
        RefreshFailure::Rejected {
            status: 401,
            error: None
        }
    );
    assert_eq!(
        refresh::function_threw(None, Some("invalid_grant".into()), None),
        RefreshFailure::Rejected {
            status: 0,
            error: Some("invalid_grant".into())
        }
    );
    for status in [Some(f64::NAN), Some(-1.0), Some(1e9), Some(500.0), None] {
        assert!(matches!(
            refresh::function_threw(
                status,
                Some("temporarily_unavailable".into()),
                Some("boom".into())
            ),
            RefreshFailure::Transient { .. }
        ));
    }
}

// ----- token input validation (setSession) ---------------------------------

#[test]
fn set_session_input_is_validated_in_one_place() {
    let at_bound = "a".repeat(MAX_TOKEN_BYTES);
    let over = "a".repeat(MAX_TOKEN_BYTES + 1);
    // Accepted: an opaque token without expiresIn (issue 12 item 6).
    let t = validate(
        raw(s("opaque"), Field::Absent, Field::Absent),
        Source::SetSession,
        false,
    )
    .unwrap();
    assert_eq!((t.access_token.as_str(), t.expires_in), ("opaque", None));
    let t = validate(
        raw(s(&at_bound), s(&at_bound), Field::Num(0.0)),
        Source::SetSession,
        false,
    )
    .unwrap();
    assert_eq!(t.access_token.len(), MAX_TOKEN_BYTES);
    // Cookie mode drops the refresh token.
    let t = validate(
        raw(s("x.y.z"), s("r"), Field::Num(60.0)),
        Source::SetSession,
        true,
    )
    .unwrap();
    assert_eq!(t.refresh_token, None);
    for (input, error) in [
        (
            raw(Field::Absent, Field::Absent, Field::Absent),
            TokenInputError::MissingAccessToken,
        ),
        (
            raw(s(""), Field::Absent, Field::Absent),
            TokenInputError::MissingAccessToken,
        ),
        (
            raw(Field::Num(1.0), Field::Absent, Field::Absent),
            TokenInputError::MissingAccessToken,
        ),
        (
            raw(s(&over), Field::Absent, Field::Absent),
            TokenInputError::TooLarge(TokenKind::Access),
        ),
        (
            raw(Field::TooLarge, Field::Absent, Field::Absent),
            TokenInputError::TooLarge(TokenKind::Access),
        ),
        (
            raw(s("a"), s(&over), Field::Absent),
            TokenInputError::TooLarge(TokenKind::Refresh),
        ),
        (
            raw(s("a"), Field::TooLarge, Field::Absent),
            TokenInputError::TooLarge(TokenKind::Refresh),
        ),
        (
            raw(s("a b"), Field::Absent, Field::Absent),
            TokenInputError::InvalidCharacters,
        ),
        (
            raw(s("a\r\nX-Evil: 1"), Field::Absent, Field::Absent),
            TokenInputError::InvalidCharacters,
        ),
        (
            raw(s("a"), Field::Num(5.0), Field::Absent),
            TokenInputError::InvalidRefreshToken,
        ),
        (
            raw(s("a"), s(""), Field::Absent),
            TokenInputError::InvalidRefreshToken,
        ),
        (
            raw(s("a"), Field::Absent, Field::Num(-1.0)),
            TokenInputError::InvalidExpiresIn,
        ),
        (
            raw(s("a"), Field::Absent, Field::Num(f64::NAN)),
            TokenInputError::InvalidExpiresIn,
        ),
        (
            raw(s("a"), Field::Absent, s("60")),
            TokenInputError::InvalidExpiresIn,
        ),
        (
            raw(s("a"), Field::Absent, Field::Other),
            TokenInputError::InvalidExpiresIn,
        ),
    ] {
        assert_eq!(
            validate(input.clone(), Source::SetSession, false),
            Err(error),
            "{input:?}"
        );
    }
    assert_eq!(
        TokenInputError::TooLarge(TokenKind::Access).reason(),
        "token_too_large"
    );
    assert!(TokenInputError::TooLarge(TokenKind::Access)
        .message()
        .contains("16 KiB"));
    assert_eq!(TokenInputError::NotAnObject.reason(), "not_an_object");
}

// ----- session: item 6 -------------------------------------------------------

#[test]
fn an_incomplete_2xx_makes_its_refresh_token_current_and_the_retry_uses_it() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    h.start(1);
    let out = h.respond(1, 401);
    assert_eq!(starts(&out), [(1, Some("r1".into()))]);
    // 200 with a rotated refresh token but no usable access token.
    let out = h.answer(1, 200, r#"{"refresh_token":"r2","token_type":"Bearer"}"#);
    // Rotation first: persisted and shared before the error event.
    assert!(
        matches!(out.first(), Some(Output::Persist(Some(s))) if s.refresh_token.as_deref() == Some("r2")),
        "{out:?}"
    );
    assert!(out.iter().any(|o| matches!(o, Output::Broadcast(TabMessage::Tokens(s)) if s.refresh_token.as_deref() == Some("r2"))));
    assert_eq!(errors(&out).len(), 1);
    assert_eq!(
        h.s.access_token(),
        Some(a.as_str()),
        "the access token in place stays"
    );
    // The retry (after the backoff) sends the new refresh token, never r1.
    let at = h.s.poll_timeout().expect("backoff");
    h.now = at;
    let out = h.step(Input::TimerFired);
    assert_eq!(starts(&out), [(2, Some("r2".into()))]);
    let b = jwt(h.now + 900_000, h.now);
    let out = h.answer(2, 200, &format!(r#"{{"access_token":"{b}"}}"#));
    // No new refresh token in that one: r2 stays.
    assert_eq!(persisted_refresh(&out), [Some("r2".into())]);
    assert!(out.contains(&Output::Send {
        id: 1,
        token: Some(Rc::from(b.as_str()))
    }));
}

#[test]
fn an_opaque_token_without_expiry_from_a_refresh_is_installed_with_a_warning() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    h.start(1);
    h.respond(1, 401);
    let out = h.answer(
        1,
        200,
        r#"{"access_token":"opaque-1","refresh_token":"r2"}"#,
    );
    assert_eq!(warnings(&out), [warning::TOKEN_WITHOUT_EXP]);
    assert!(errors(&out).is_empty(), "not a failure");
    assert!(starts(&out).is_empty(), "not retried");
    assert!(out.contains(&Output::Send {
        id: 1,
        token: Some(Rc::from("opaque-1"))
    }));
    assert_eq!(h.s.access_token(), Some("opaque-1"));
    assert_eq!(h.s.expires_at(), None);
    assert_eq!(
        h.s.refresh_at(),
        None,
        "no proactive refresh without an expiry"
    );
    assert_eq!(h.s.poll_timeout(), None);
    // The API takes it; much later a 401 refreshes with r2.
    assert!(h.respond(1, 200).contains(&Output::Deliver { id: 1 }));
    h.now += 3_600_000;
    h.start(2);
    let out = h.respond(2, 401);
    assert_eq!(starts(&out), [(2, Some("r2".into()))]);
}

#[test]
fn set_session_with_an_opaque_token_and_no_expiry_warns_and_refreshes_on_401() {
    let tokens = validate(
        raw(s("opaque"), s("r1"), Field::Absent),
        Source::SetSession,
        false,
    )
    .unwrap();
    let mut h = H {
        s: Session::new(Config::default(), 7),
        now: T0,
    };
    let out = h.step(Input::SetSession(tokens));
    assert_eq!(warnings(&out), [warning::TOKEN_WITHOUT_EXP]);
    assert_eq!(h.s.poll_timeout(), None);
    // Never "expired": requests go out with it, whatever the time.
    h.now += 86_400_000;
    assert_eq!(
        h.start(1),
        [Output::Send {
            id: 1,
            token: Some(Rc::from("opaque"))
        }]
    );
    assert_eq!(starts(&h.respond(1, 401)), [(1, Some("r1".into()))]);
}

// ----- session: item 7 -------------------------------------------------------

#[test]
fn an_oversized_token_from_a_refresh_fails_it_and_the_tokens_in_place_stay() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    let huge = "a".repeat(50 * 1024 * 1024);
    let _ = h.step(Input::RefreshRequested);
    let out = h.answer(
        1,
        200,
        &format!(r#"{{"access_token":"{huge}","expires_in":300}}"#),
    );
    let errs = errors(&out);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("larger than 64 KiB"), "{}", errs[0]);
    let out = h.step(Input::RefreshRequested);
    let attempt = starts(&out).first().map(|s| s.0);
    let attempt = attempt.unwrap_or_else(|| {
        // A backoff is under way: wait for it.
        h.now = h.s.poll_timeout().unwrap();
        starts(&h.step(Input::TimerFired))[0].0
    });
    let big = "a".repeat(MAX_TOKEN_BYTES + 1);
    let out = h.answer(
        attempt,
        200,
        &format!(r#"{{"access_token":"{big}","expires_in":300}}"#),
    );
    let errs = errors(&out);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].contains("larger than 16 KiB"), "{}", errs[0]);
    assert!(persisted_refresh(&out).is_empty(), "nothing new persisted");
    assert_eq!(h.s.access_token(), Some(a.as_str()));
    assert_eq!(h.s.stored().unwrap().refresh_token.as_deref(), Some("r1"));
}

#[test]
fn oversized_tokens_from_storage_or_another_tab_are_not_adopted() {
    let a = jwt(T0 + 900_000, T0);
    let big = "a".repeat(MAX_TOKEN_BYTES + 1);
    let mut h = H {
        s: Session::new(Config::default(), 7),
        now: T0,
    };
    let out = h.step(Input::Restore(StoredSession {
        access_token: big.clone(),
        refresh_token: Some("r".into()),
        expires_at: T0 + 60_000,
        started_at: T0,
    }));
    assert_eq!(out, [Output::Persist(None)]);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    for (access, refresh) in [
        (big.clone(), Some("r2".to_string())),
        (a.clone(), Some(big.clone())),
    ] {
        let out = h.step(Input::FromTab(TabMessage::Tokens(StoredSession {
            access_token: access,
            refresh_token: refresh,
            expires_at: T0 + 10_000_000,
            started_at: T0,
        })));
        assert!(out.is_empty(), "{:.80?}", out);
    }
    assert_eq!(h.s.access_token(), Some(a.as_str()));
}

#[test]
fn another_tab_shares_a_refresh_token_rotated_without_a_usable_access_token() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    let stored = h.s.stored().unwrap();
    let out = h.step(Input::FromTab(TabMessage::Tokens(StoredSession {
        refresh_token: Some("r2".into()),
        ..stored.clone()
    })));
    assert!(!out.is_empty());
    assert_eq!(h.s.stored().unwrap().refresh_token.as_deref(), Some("r2"));
    // An echo of what we have is still ignored.
    let out = h.step(Input::FromTab(TabMessage::Tokens(h.s.stored().unwrap())));
    assert!(out.is_empty());
}

// ----- session: item 4 (refresh storm) -----------------------------------

/// An API that answers 401 to every token; the app calls it sequentially
/// (one call after the other, each 50 ms; a refresh takes 100 ms) for
/// `seconds` of virtual time. Returns (refreshes, calls, warnings).
fn always_401(seconds: u64) -> (usize, usize, usize) {
    let a = jwt(T0 + 3_600_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r0", None);
    let end = T0 + seconds * 1000;
    let (mut refreshes, mut calls, mut warned) = (0, 0, 0);
    let mut id = 0;
    let mut serial = 0;
    while h.now < end {
        id += 1;
        calls += 1;
        let mut pending = h.start(id);
        // Drive this one call to its end.
        let mut delivered = false;
        while !delivered {
            let mut next = Vec::new();
            for o in pending {
                match o {
                    Output::Send { id: sid, .. } => {
                        h.now += 50;
                        next.extend(h.respond(sid, 401));
                    }
                    Output::StartRefresh { attempt, .. } => {
                        refreshes += 1;
                        serial += 1;
                        h.now += 100;
                        let b = jwt(h.now + 3_600_000, h.now);
                        next.extend(h.answer(
                            attempt,
                            200,
                            &format!(r#"{{"access_token":"{b}","refresh_token":"r{serial}"}}"#),
                        ));
                    }
                    Output::Deliver { id: did } | Output::Reject { id: did, .. } if did == id => {
                        delivered = true;
                    }
                    Output::Emit(Event::Warning { code })
                        if code == warning::FRESH_TOKEN_REJECTED =>
                    {
                        warned += 1;
                    }
                    _ => {}
                }
            }
            if next.is_empty() && !delivered {
                panic!("call {id} hangs");
            }
            pending = next;
        }
    }
    (refreshes, calls, warned)
}

#[test]
fn an_api_that_rejects_every_token_gets_at_most_four_refreshes_a_minute() {
    let (refreshes, calls, warned) = always_401(60);
    println!("always-401 API, sequential calls for 60 s: {calls} calls, {refreshes} refreshes, {warned} warnings");
    // Refreshes at 0 s, then after cool-downs of 5, 10 and 20 s (t ≈ 5, 15,
    // 35 s); the next would be at ≈ 75 s. Without the cool-down every call
    // refreshed (hundreds).
    assert_eq!(refreshes, 4, "{calls} calls");
    assert_eq!(warned, 4);
    assert!(calls > 500, "the calls went on: {calls}");
    // Over ten minutes the cool-down reaches its 5 min cap: 5 + 10 + 20 +
    // 40 + 80 + 160 = 315 s, then one per 300 s.
    let (refreshes, _, _) = always_401(600);
    assert_eq!(refreshes, 7);
}

#[test]
fn a_401_on_a_fresh_token_goes_to_the_caller_with_a_warning_and_no_refresh() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    h.start(1);
    h.respond(1, 401);
    let b = jwt(T0 + 1_800_000, T0);
    h.answer(
        1,
        200,
        &format!(r#"{{"access_token":"{b}","refresh_token":"r2"}}"#),
    );
    // The replay with the fresh token: 401.
    let out = h.respond(1, 401);
    assert_eq!(warnings(&out), [warning::FRESH_TOKEN_REJECTED]);
    assert!(out.contains(&Output::Deliver { id: 1 }));
    assert!(starts(&out).is_empty());
    // During the cool-down, 401s go to the caller; no refresh, no warning.
    h.now += FRESH_COOLDOWN_BASE_MS - 1;
    h.start(2);
    assert_eq!(h.respond(2, 401), [Output::Deliver { id: 2 }]);
    // An explicit auth.refresh() still works.
    assert_eq!(starts(&h.step(Input::RefreshRequested)).len(), 1);
}

#[test]
fn after_the_cool_down_a_401_refreshes_again_and_the_next_cool_down_is_longer() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    let mut attempt = 0;
    let mut pauses = Vec::new();
    for round in 0..8u64 {
        let id = round * 1000 + 1;
        h.start(id);
        let out = h.respond(id, 401);
        assert_eq!(starts(&out).len(), 1, "round {round}: a refresh");
        attempt += 1;
        let b = jwt(h.now + 900_000, h.now);
        h.answer(attempt, 200, &format!(r#"{{"access_token":"{b}"}}"#));
        let struck_at = h.now;
        assert_eq!(
            warnings(&h.respond(id, 401)),
            [warning::FRESH_TOKEN_REJECTED]
        );
        // Find the end of the cool-down: the first 401 that refreshes.
        let mut probe = id + 1;
        let mut lo = struck_at;
        loop {
            h.now = lo + 1_000;
            lo = h.now;
            h.start(probe);
            let out = h.respond(probe, 401);
            probe += 1;
            if !starts(&out).is_empty() {
                attempt += 1;
                // Answer it with a token the API takes, ending the round.
                let c = jwt(h.now + 900_000, h.now);
                h.answer(attempt, 200, &format!(r#"{{"access_token":"{c}"}}"#));
                h.respond(probe - 1, 200);
                break;
            }
        }
        pauses.push((h.now - struck_at) / 1000);
    }
    let expected: Vec<u64> = [5, 10, 20, 40, 80, 160, 300, 300].to_vec();
    assert_eq!(pauses, expected);
    assert_eq!(FRESH_COOLDOWN_MAX_MS, 300_000);
}

#[test]
fn a_token_the_api_took_refreshes_at_once_on_a_later_401() {
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    h.start(1);
    h.respond(1, 401);
    let b = jwt(T0 + 1_800_000, T0);
    h.answer(1, 200, &format!(r#"{{"access_token":"{b}"}}"#));
    // The replay succeeds: b is proven.
    assert_eq!(h.respond(1, 200), [Output::Deliver { id: 1 }]);
    h.now += 1_000;
    h.start(2);
    let out = h.respond(2, 401);
    assert!(warnings(&out).is_empty());
    assert_eq!(starts(&out).len(), 1, "a revoked token refreshes at once");
}

#[test]
fn tokens_from_another_tab_refresh_on_a_401() {
    // Another tab's tokens may come from its sign-in: a 401 on them is an
    // expired token like any other (e2e: 5 tabs whose tokens expire together).
    let a = jwt(T0 + 900_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    let b = jwt(T0 + 1_800_000, T0);
    h.step(Input::FromTab(TabMessage::Tokens(StoredSession {
        access_token: b.clone(),
        refresh_token: Some("r2".into()),
        expires_at: T0 + 1_800_000,
        started_at: T0,
    })));
    h.start(1);
    let out = h.respond(1, 401);
    assert!(warnings(&out).is_empty());
    assert_eq!(starts(&out), [(1, Some("r2".into()))]);
}

#[test]
fn the_cool_down_starts_small_again_after_ten_quiet_minutes() {
    let a = jwt(T0 + 9_000_000, T0);
    let (mut h, _) = H::signed_in_as(&a, "r1", None);
    let mut attempt = 0;
    let mut strike = |h: &mut H, id: u64| -> u64 {
        h.start(id);
        assert_eq!(starts(&h.respond(id, 401)).len(), 1, "refresh for {id}");
        attempt += 1;
        let b = jwt(h.now + 9_000_000, h.now);
        h.answer(attempt, 200, &format!(r#"{{"access_token":"{b}"}}"#));
        assert_eq!(
            warnings(&h.respond(id, 401)),
            [warning::FRESH_TOKEN_REJECTED]
        );
        h.s.poll_timeout();
        h.now
    };
    strike(&mut h, 1);
    h.now += FRESH_COOLDOWN_BASE_MS;
    strike(&mut h, 2); // second in a row: 10 s
    h.now += FRESH_COOLDOWN_RESET_MS;
    let at = strike(&mut h, 3); // quiet for 10 min: 5 s again
    h.now = at + FRESH_COOLDOWN_BASE_MS;
    h.start(4);
    assert_eq!(starts(&h.respond(4, 401)).len(), 1);
}

// ----- properties --------------------------------------------------------

fn json_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[a-zA-Z0-9._~+/=-]{1,40}",
        any::<String>(),
        Just("a".repeat(MAX_TOKEN_BYTES + 1)),
    ]
}

fn member() -> impl Strategy<Value = String> {
    let value = prop_oneof![
        json_string().prop_map(|s| format!("{s:?}")),
        any::<f64>().prop_map(|n| format!("{n:e}")),
        Just("null".to_string()),
        Just("true".to_string()),
        Just("[1,{\"a\":[]}]".to_string()),
        Just("{\"access_token\":\"nested\"}".to_string()),
        Just("\"\\ud800\"".to_string()),
    ];
    let name = prop_oneof![
        Just("access_token"),
        Just("accessToken"),
        Just("refresh_token"),
        Just("refreshToken"),
        Just("expires_in"),
        Just("expiresIn"),
        Just("error"),
        Just("x"),
    ];
    (name, value).prop_map(|(n, v)| format!("{n:?}:{v}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// Arbitrary bodies, statuses and Retry-After values never panic, and a
    /// 2xx hands over tokens only within the bounds.
    #[test]
    fn the_classifier_never_panics(status in any::<u16>(), retry in proptest::option::of(any::<String>()), body in any::<String>(), cookie in any::<bool>(), now in any::<u64>()) {
        match classify(status, retry.as_deref(), Body::Text(&body), cookie, now) {
            Outcome::Tokens(t) => {
                prop_assert!((200..300).contains(&status));
                prop_assert!(!t.access_token.is_empty() && t.access_token.len() <= MAX_TOKEN_BYTES);
                prop_assert!(t.refresh_token.map_or(true, |r| !cookie && r.len() <= MAX_TOKEN_BYTES));
            }
            Outcome::Failed { rotated_refresh_token, .. } => {
                prop_assert!(rotated_refresh_token.map_or(true, |r| !cookie && !r.is_empty() && r.len() <= MAX_TOKEN_BYTES));
            }
        }
        let _ = parse_retry_after(&body, now);
    }

    /// Token-response-shaped JSON (every member name, hostile values,
    /// duplicates): a usable refresh token in a 2xx is never dropped — it
    /// comes back either with the new tokens or as the rotated one.
    #[test]
    fn a_usable_refresh_token_in_a_2xx_is_never_dropped(members in proptest::collection::vec(member(), 0..8)) {
        let body = format!("{{{}}}", members.join(","));
        let outcome = classify(200, None, Body::Text(&body), false, T0);
        let parsed = tokenwarden::core::json::top_level(&body).ok();
        let expected = parsed.as_ref().and_then(|o| {
            o.get("refreshToken").or_else(|| o.get("refresh_token")).and_then(|v| match v {
                tokenwarden::core::json::Value::Str(s) if !s.is_empty() && s.len() <= MAX_TOKEN_BYTES => Some(s.clone()),
                _ => None,
            })
        });
        let got = match outcome {
            Outcome::Tokens(t) => t.refresh_token,
            Outcome::Failed { rotated_refresh_token, .. } => rotated_refresh_token,
        };
        prop_assert_eq!(got, expected, "{}", body);
    }

    /// Arbitrary token input never panics and is either accepted within the
    /// bounds or refused with a reason.
    #[test]
    fn token_validation_never_panics(a in json_string(), r in proptest::option::of(json_string()), e in proptest::option::of(any::<f64>()), strict in any::<bool>()) {
        let input = RawTokens {
            access_token: Field::Str(a),
            refresh_token: r.map_or(Field::Absent, Field::Str),
            expires_in: e.map_or(Field::Absent, Field::Num),
        };
        let source = if strict { Source::SetSession } else { Source::Refresh };
        if let Ok(t) = validate(input, source, false) {
            prop_assert!(t.access_token.len() <= MAX_TOKEN_BYTES);
            prop_assert!(t.access_token.bytes().all(|b| (0x21..=0x7e).contains(&b)));
        }
    }
}
