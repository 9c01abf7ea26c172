//! Fuzz the refresh response classifier and the token input validation
//! (`core::refresh`): no status, `Retry-After` value or body may panic, and
//! what comes out respects the bounds — tokens only from a 2xx, within
//! `MAX_TOKEN_BYTES`, header-safe; a usable refresh token in a 2xx body is
//! never dropped (it comes back with the tokens or as the rotated one).
//!
//! Input layout: 2 bytes status, 1 byte flags, 1 byte split, then the rest
//! is cut into a `Retry-After` value and a body. Bodies starting with `{`
//! are also tried wrapped in a refresh-token member, so the fuzzer reaches
//! the rotation path quickly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwarden::core::json::{self, Value};
use tokenwarden::core::refresh::{
    classify, parse_retry_after, validate, Body, Field, Outcome, RawTokens, Source, MAX_TOKEN_BYTES,
};

fn check(status: u16, retry_after: Option<&str>, body: &str, cookie: bool, now: u64) {
    let outcome = classify(status, retry_after, Body::Text(body), cookie, now);
    let usable_refresh = |o: &json::Object| -> Option<String> {
        match o.get("refreshToken").or_else(|| o.get("refresh_token")) {
            Some(Value::Str(s)) if !s.is_empty() && s.len() <= MAX_TOKEN_BYTES => Some(s.clone()),
            _ => None,
        }
    };
    let got = match outcome {
        Outcome::Tokens(t) => {
            assert!((200..300).contains(&status));
            assert!(!t.access_token.is_empty() && t.access_token.len() <= MAX_TOKEN_BYTES);
            assert!(t.access_token.bytes().all(|b| (0x21..=0x7e).contains(&b)));
            t.refresh_token
        }
        Outcome::Failed {
            rotated_refresh_token,
            ..
        } => {
            if let Some(r) = &rotated_refresh_token {
                assert!((200..300).contains(&status));
                assert!(!r.is_empty() && r.len() <= MAX_TOKEN_BYTES);
            }
            rotated_refresh_token
        }
    };
    if (200..300).contains(&status) && !cookie {
        let expected = json::top_level(body).ok().as_ref().and_then(usable_refresh);
        assert_eq!(got, expected);
    }
    if cookie {
        assert_eq!(got, None);
    }
}

fuzz_target!(|data: &[u8]| {
    let [s0, s1, flags, split, rest @ ..] = data else {
        return;
    };
    let status = u16::from_le_bytes([*s0, *s1]) % 700;
    let cookie = flags & 1 == 1;
    let now = u64::from(*split) * 86_400_000 * 365;
    let cut = usize::from(*split).min(rest.len());
    let (head, body) = rest.split_at(cut);
    let retry_after = std::str::from_utf8(head).ok();
    if let Some(v) = retry_after {
        let _ = parse_retry_after(v, now);
    }
    let Ok(body) = std::str::from_utf8(body) else {
        return;
    };
    check(status, retry_after, body, cookie, now);
    if body.starts_with('{') {
        let wrapped = format!(r#"{{"refresh_token":"r","x":{body}}}"#);
        check(200, None, &wrapped, false, now);
    }
    // Token input as the browser layer hands it over.
    let source = if flags & 2 == 2 {
        Source::SetSession
    } else {
        Source::Refresh
    };
    let raw = RawTokens {
        access_token: Field::Str(body.into()),
        refresh_token: if flags & 4 == 4 {
            Field::Str(String::from_utf8_lossy(head).into())
        } else {
            Field::Absent
        },
        expires_in: match retry_after {
            Some(v) if flags & 8 == 8 => Field::Str(v.into()),
            _ => Field::Absent,
        },
    };
    if let Ok(t) = validate(raw, source, cookie) {
        assert!(t.access_token.len() <= MAX_TOKEN_BYTES);
        assert!(!cookie || t.refresh_token.is_none());
    }
});
