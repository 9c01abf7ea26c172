//! Fuzz `core::http` on arbitrary text: URLs (against several base URLs and
//! allowed lists) and `WWW-Authenticate` values. No input may panic, and the
//! answers must agree with the `url` crate (the WHATWG URL parser) as the
//! oracle:
//!
//! - an origin the core reads off the text is the one the parser gives;
//! - the URL the core sends every attempt to is the one the parser
//!   resolves against the base at capture (for `http(s)` URLs);
//! - the token is allowed exactly where the parser's origin is allowed, and
//!   a renewal only from a final URL on an allowed origin;
//! - a challenge list that parses classifies as its first Bearer challenge
//!   says, and survives serialising and parsing again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenwarden::core::http::{
    parse_challenges, renewal_allowed, resolve, shape, Allowed, AuthChallenge, Base, BearerError,
    Challenge, Destination, Parsed, Shape,
};
use url::Url;

const BASES: &[&str] = &[
    "https://app.example/dir/page?q#h",
    "http://127.0.0.1:8080/",
    "https://u:p@app.example/",
    "about:blank",
];

const LISTED: &[&str] = &["https://api.example", "http://127.0.0.1", "http://0.0.0.1", "null"];

fn oracle(url: &str, base: Option<&Base>) -> Option<Url> {
    let base = match base {
        Some(b) => Some(Url::parse(b.href()).ok()?),
        None => None,
    };
    Url::options().base_url(base.as_ref()).parse(url).ok()
}

fn parse(url: &str, base: Option<&Base>) -> Option<Parsed> {
    oracle(url, base).map(|u| Parsed {
        href: u.as_str().to_owned(),
        origin: u.origin().ascii_serialization(),
    })
}

fn http_allowed(allowed: &Allowed<'_>, u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https") && allowed.allows(&u.origin().ascii_serialization())
}

fn check_url(text: &str, listed: &[String]) {
    for href in BASES {
        let parsed = Url::parse(href).unwrap();
        let base = Base::new(parsed.as_str(), &parsed.origin().ascii_serialization());
        let allowed = Allowed { own: Some("https://app.example"), listed };
        let expected = oracle(text, Some(&base));
        match shape(text) {
            Shape::Origin(o) => {
                let absolute = Url::parse(text).expect("a text origin parses");
                assert_eq!(absolute.origin().ascii_serialization(), o, "{text:?}");
                assert_eq!(Some(absolute), expected, "{text:?}");
            }
            Shape::PathAbsolute => {
                if let Some(bo) = base.join_origin() {
                    let joined = Url::parse(&format!("{bo}{text}")).ok();
                    assert!(expected.is_some(), "{text:?}");
                    assert_eq!(joined, expected, "{text:?} against {href}");
                }
            }
            Shape::Unknown => {}
        }
        let target = resolve(text, || Some(&base), &allowed, parse);
        // For http(s) destinations (the only ones a token can go to; the
        // url crate's serialisation of odd `file:` hosts does not re-parse
        // to itself), the URL sent is the one the parser resolved.
        if expected.as_ref().is_some_and(|u| matches!(u.scheme(), "http" | "https")) {
            let sent = match &target.destination {
                Destination::AsGiven => Url::parse(text).ok(),
                Destination::Resolved(r) => Url::parse(r).ok(),
            };
            assert_eq!(sent, expected, "{text:?}");
        }
        let oracle_allows = expected.as_ref().is_some_and(|u| http_allowed(&allowed, u));
        assert_eq!(target.allowed, oracle_allows, "{text:?} against {href}");
        if renewal_allowed(true, Some(text), &allowed, |u| parse(u, None)) && !text.is_empty() {
            let u = Url::parse(text).expect("a renewing URL parses");
            assert!(http_allowed(&allowed, &u), "{text:?}");
        }
    }
}

fn serialise(list: &[AuthChallenge<'_>]) -> String {
    let mut out = Vec::new();
    for c in list {
        let mut s = c.scheme.to_owned();
        if let Some(t) = c.token68 {
            s.push(' ');
            s.push_str(t);
        } else if !c.params.is_empty() {
            s.push(' ');
            let params: Vec<String> = c
                .params
                .iter()
                .map(|(n, v)| format!("{n}=\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect();
            s.push_str(&params.join(", "));
        }
        out.push(s);
    }
    out.join(", ")
}

fn check_challenge(text: &str) {
    let class = Challenge::from_header(Some(text));
    let Ok(list) = parse_challenges(text) else {
        assert_ne!(class, Challenge::Absent, "{text:?}");
        return;
    };
    let expected = match list.iter().find(|c| c.scheme.eq_ignore_ascii_case("bearer")) {
        Some(c) => Challenge::Bearer(match c.param("error").map(|e| e.to_ascii_lowercase()) {
            None => BearerError::InvalidToken,
            Some(e) if e == "invalid_token" => BearerError::InvalidToken,
            Some(e) if e == "insufficient_scope" => BearerError::InsufficientScope,
            Some(_) => BearerError::Other,
        }),
        None if list.is_empty() => Challenge::Absent,
        None => Challenge::Other,
    };
    assert_eq!(class, expected, "{text:?}");
    let again = serialise(&list);
    assert_eq!(parse_challenges(&again).ok(), Some(list), "{again:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // The first byte picks an allowed list, so the fuzzer explores both.
    let pick = data.first().copied().unwrap_or(0);
    let listed: Vec<String> = LISTED
        .iter()
        .enumerate()
        .filter(|(i, _)| pick >> i & 1 == 1)
        .map(|(_, o)| o.to_string())
        .collect();
    check_url(text, &listed);
    check_challenge(text);
});
