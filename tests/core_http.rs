//! `core::http`: which origin a URL goes to, the URL every attempt is sent
//! to, renewal after redirects, and `WWW-Authenticate` challenge lists
//! (issue 12 items 1, 2, 3 and 9).
//!
//! The tables pin each rule with the inputs that broke it; the proptests
//! check the URL rules against the `url` crate (the WHATWG URL Standard, the
//! same algorithm the browser's `new URL` runs) as the oracle:
//! - whenever the core claims an origin from the text, the oracle parses
//!   the URL to that origin;
//! - the URL the core sends is the URL the oracle resolves;
//! - the token is never allowed where the oracle's origin is not.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]
// Host-only: wasm-pack builds every test target for wasm32; proptest cannot.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use tokenwarden::core::http::{
    parse_challenges, renewal_allowed, resolve, shape, Allowed, AuthChallenge, Base, BearerError,
    Challenge, Destination, Parsed, Shape, Target,
};
use url::Url;

/// The oracle: `new URL(url, base)` per the WHATWG URL Standard.
fn oracle(url: &str, base: Option<&Base>) -> Option<Url> {
    let base = match base {
        Some(b) => Some(Url::parse(b.href()).ok()?),
        None => None,
    };
    Url::options().base_url(base.as_ref()).parse(url).ok()
}

/// The parser callback the browser layer gives the core, with the oracle.
fn parse(url: &str, base: Option<&Base>) -> Option<Parsed> {
    oracle(url, base).map(|u| Parsed {
        href: u.as_str().to_owned(),
        origin: u.origin().ascii_serialization(),
    })
}

fn base(href: &str) -> Base {
    let u = Url::parse(href).unwrap();
    Base::new(u.as_str(), &u.origin().ascii_serialization())
}

const OWN: &str = "https://app.example";

fn allowed(listed: &[String]) -> Allowed<'_> {
    Allowed {
        own: Some(OWN),
        listed,
    }
}

fn target(url: &str, b: &Base, listed: &[String]) -> Target {
    resolve(url, || Some(b), &allowed(listed), parse)
}

// ----- item 1: URLs that trapped the wasm ------------------------------------

#[test]
fn urls_that_trapped_the_module_go_to_the_parser() {
    // `ipv4_like` indexed the first byte of an empty label: `1.` and
    // `127..0.1` have one. Now such hosts are "unknown" and parsed.
    for url in ["http://1./x", "http://127.0.0.1./x", "http://127..0.1/x"] {
        assert_eq!(shape(url), Shape::Unknown, "{url}");
    }
    let b = base("https://app.example/page");
    let listed = vec!["http://127.0.0.1".to_owned()];
    // The parser reads `1.` as 0.0.0.1: another origin, no token.
    assert_eq!(
        target("http://1./x", &b, &listed),
        Target {
            destination: Destination::Resolved("http://0.0.0.1/x".into()),
            allowed: false
        }
    );
    // `127.0.0.1.` is 127.0.0.1: allowed only because it is listed.
    assert_eq!(
        target("http://127.0.0.1./x", &b, &listed),
        Target {
            destination: Destination::Resolved("http://127.0.0.1/x".into()),
            allowed: true
        }
    );
    assert!(!target("http://127.0.0.1./x", &b, &[]).allowed);
    // `127..0.1` is no URL: sent as given (fetch rejects it), no token.
    assert_eq!(
        target("http://127..0.1/x", &b, &listed),
        Target {
            destination: Destination::AsGiven,
            allowed: false
        }
    );
}

#[test]
fn url_shapes_are_certain_or_unknown() {
    let origin = |url: &str, origin: &str| {
        assert_eq!(shape(url), Shape::Origin(origin), "{url}");
    };
    origin("https://api.example.com", "https://api.example.com");
    origin("https://api.example.com/x", "https://api.example.com");
    origin("https://api.example.com?q", "https://api.example.com");
    origin("https://api.example.com#h", "https://api.example.com");
    origin("http://127.0.0.1:8080/x", "http://127.0.0.1:8080");
    origin("http://0.0.0.0/", "http://0.0.0.0");
    origin("http://localhost:443/", "http://localhost:443");
    origin(
        "https://api.example.com.evil.example/",
        "https://api.example.com.evil.example",
    );
    origin("https://a-b.example/@evil", "https://a-b.example");
    origin("https://1a.example/", "https://1a.example");
    origin("https://example.1a/", "https://example.1a");
    for url in [
        "HTTPS://api.example.com/",
        "https://API.example.com/",
        "https://api.example.com:443/",
        "http://api.example.com:80/",
        "https://api.example.com:/",
        "https://api.example.com:0443/",
        "https://api.example.com:0/",
        "https://api.example.com:65536/",
        "https://api.example.com:123456/",
        "https://api.example.com:99999999999999999999/",
        "https://user@api.example.com/",
        "https://api.example.com@evil.example/",
        "https://api.example.com\\@evil.example/",
        "https://api.example.com\\.evil.example/",
        "https:///evil.example/",
        "https://",
        "http://",
        "https://api.example.com./",
        "https://.api.example.com/",
        "https://api..example.com/",
        "http://1./x",
        "http://127.0.0.1./x",
        "http://127..0.1/x",
        "http://.1/",
        "http://1../",
        "http://../",
        "http://./",
        "http://127.1/",
        "http://2130706433/",
        "http://0x7f.0.0.1/",
        "http://1.2.3.0x/",
        "http://127.0.0.01/",
        "http://1.2.3.4.5/",
        "http://256.0.0.1/",
        "http://a.1/",
        "http://a.0x1f/",
        "http://[::1]/",
        "https://xn--bcher-kva.example/",
        "https://xn--a.example/",
        "https://api.exa\tmple.com/",
        "https://api.example.com\t/",
        "https://api.example.com/\n",
        "https://bücher.example/",
        "https://api.example.com%2f/",
        "https:evil.example",
        "http:evil.example",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "\\\\evil.example/",
        " //evil.example/",
        " /x",
        "?q",
        "#h",
        "x",
        "./x",
        "javascript:alert(1)",
        "a:b",
        "",
    ] {
        assert_eq!(shape(url), Shape::Unknown, "{url:?}");
    }
    for url in ["/", "/x", "/x//y", "/x\\y", "/x?a:b#c", "/@evil.example"] {
        assert_eq!(shape(url), Shape::PathAbsolute, "{url:?}");
    }
}

#[test]
fn allowed_origins_are_exact_http_origins() {
    let listed = vec!["https://api.example".to_owned(), "null".to_owned()];
    let a = allowed(&listed);
    assert!(a.allows(OWN));
    assert!(a.allows("https://api.example"));
    for o in [
        "null",
        "",
        "https://api.example/",
        "https://api.example:443",
        "http://api.example",
        "https://app.example.evil.example",
        "blob:https://app.example",
    ] {
        assert!(!a.allows(o), "{o}");
    }
    let opaque = Allowed {
        own: Some("null"),
        listed: &[],
    };
    assert!(!opaque.allows("null"));
}

// ----- item 3: resolve once ---------------------------------------------------

#[test]
fn relative_urls_are_resolved_once_against_the_base() {
    let b = base("https://app.example/dir/page?q#h");
    // Path-absolute: joined to the base origin without the parser.
    let t = resolve(
        "/api/x?y#z",
        || Some(&b),
        &allowed(&[]),
        |_, _| panic!("no parser for /path"),
    );
    assert_eq!(
        t,
        Target {
            destination: Destination::Resolved("https://app.example/api/x?y#z".into()),
            allowed: true
        }
    );
    // Absolute with a certain origin: neither the base nor the parser.
    let t = resolve(
        "https://api.example/x",
        || panic!("no base for an absolute URL"),
        &allowed(&["https://api.example".to_owned()]),
        |_, _| panic!("no parser"),
    );
    assert_eq!(
        t,
        Target {
            destination: Destination::AsGiven,
            allowed: true
        }
    );
    // Other relative forms go to the parser, against the same base.
    for (url, href) in [
        ("x", "https://app.example/dir/x"),
        ("../x", "https://app.example/x"),
        ("?a", "https://app.example/dir/page?a"),
        ("//evil.example/x", "https://evil.example/x"),
        ("/\\evil.example/x", "https://evil.example/x"),
        ("/\t/evil.example/x", "https://evil.example/x"),
    ] {
        let t = target(url, &b, &[]);
        assert_eq!(t.destination, Destination::Resolved(href.into()), "{url}");
        assert_eq!(t.allowed, href.starts_with(OWN), "{url}");
    }
    // A base the path cannot be joined to without the parser: userinfo
    // (the parser keeps it), a non-http base.
    let with_user = base("https://u:p@app.example/");
    assert_eq!(with_user.join_origin(), None);
    assert_eq!(
        target("/x", &with_user, &[]).destination,
        Destination::Resolved("https://u:p@app.example/x".into())
    );
    let blank = base("about:blank");
    assert_eq!(
        target("/x", &blank, &[]),
        Target {
            destination: Destination::AsGiven,
            allowed: false
        }
    );
    // No base at all (a worker without `location`): only absolute URLs.
    let t = resolve("/x", || None, &allowed(&[]), parse);
    assert!(!t.allowed);
}

#[test]
fn non_http_destinations_never_get_the_token() {
    let b = base("https://app.example/");
    // A blob: URL's origin is its creator's, but it is no request to a server.
    let t = target("blob:https://app.example/0a1b", &b, &[]);
    assert!(!t.allowed);
    for url in ["data:text/plain,x", "javascript:alert(1)", "about:blank"] {
        assert!(!target(url, &b, &[]).allowed, "{url}");
    }
}

// ----- item 2: renewHeader after redirects ---------------------------------------

#[test]
fn renewal_only_from_allowed_final_urls() {
    let listed = vec!["https://api.example".to_owned()];
    let a = allowed(&listed);
    let yes = |url: &str| renewal_allowed(true, Some(url), &a, |u| parse(u, None));
    // A same-origin request that a 30x took to a foreign origin.
    assert!(!yes("https://evil.example/steal"));
    assert!(!yes("https://app.example.evil.example/"));
    assert!(!yes("HTTPS://EVIL.example/"));
    assert!(!yes("http://app.example/")); // scheme downgrade: another origin
    assert!(yes("https://app.example/final"));
    assert!(yes("https://api.example/x"));
    assert!(yes("HTTPS://API.example:443/x")); // via the parser
                                               // A synthetic response (injected fetch) has no URL: the request's own.
    assert!(yes(""));
    // Garbage is no allowed origin.
    assert!(!yes("not a url"));
    assert!(!yes("/relative"));
    // A request that carried no token of ours renews nothing.
    assert!(!renewal_allowed(false, Some(""), &a, |u| parse(u, None)));
    let own = Some("https://app.example/");
    assert!(!renewal_allowed(false, own, &a, |u| parse(u, None)));
    // A `url` that is not a string (a hostile response object): no.
    assert!(!renewal_allowed(true, None, &a, |u| parse(u, None)));
}

// ----- item 9: challenges ------------------------------------------------------------

#[test]
fn only_bearer_challenges_may_refresh() {
    use BearerError::{InsufficientScope, InvalidToken};
    use Challenge::{Absent, Bearer, Other};
    let c = |h: &str| Challenge::from_header(Some(h));
    assert_eq!(Challenge::from_header(None), Absent);
    assert_eq!(c(""), Absent);
    assert_eq!(c(" , ,"), Absent);
    assert_eq!(c("Bearer"), Bearer(InvalidToken));
    assert_eq!(c("bearer"), Bearer(InvalidToken));
    assert_eq!(c(r#"Bearer realm="api""#), Bearer(InvalidToken));
    assert_eq!(
        c(r#"Bearer realm="x", error="invalid_token", error_description="a, b""#),
        Bearer(InvalidToken)
    );
    assert_eq!(c("Bearer error=invalid_token"), Bearer(InvalidToken));
    assert_eq!(c("Bearer error = \"INVALID_TOKEN\""), Bearer(InvalidToken));
    assert_eq!(
        c(r#"Bearer error_description="error=\"x\"", error="insufficient_scope""#),
        Bearer(InsufficientScope)
    );
    assert_eq!(
        c("bearer error=invalid_request"),
        Bearer(BearerError::Other)
    );
    // Other schemes: to the caller untouched.
    assert_eq!(c(r#"Basic realm="x""#), Other);
    assert_eq!(c(r#"Basic realm="x", charset="UTF-8""#), Other);
    assert_eq!(c("Negotiate"), Other);
    assert_eq!(c("Negotiate oYH1MIHyoAMKAQ=="), Other);
    assert_eq!(c(r#"DPoP algs="ES256 PS256""#), Other);
    assert_eq!(c(r#"DPoP error="invalid_token", algs="ES256""#), Other);
    assert_eq!(c("NTLM, Negotiate"), Other);
    assert_eq!(c(r#"Basic realm="bearers""#), Other);
    assert_eq!(c(r#"Basic realm="Bearer, Bearer""#), Other);
    assert_eq!(c(r#"Basic realm="x\", Bearer""#), Other);
    assert_eq!(c("Bearers"), Other);
    assert_eq!(c("XBearer"), Other);
    // Several challenges: a Bearer one among them decides.
    assert_eq!(
        c(r#"Basic realm="x", Bearer error="insufficient_scope""#),
        Bearer(InsufficientScope)
    );
    assert_eq!(
        c(r#"DPoP algs="ES256", Bearer realm="x""#),
        Bearer(InvalidToken)
    );
    assert_eq!(
        c(r#"Bearer realm="x", Basic error="insufficient_scope""#),
        Bearer(InvalidToken)
    );
    // Not a challenge list, or a Bearer challenge cut short: no refresh.
    assert_eq!(c("Bearer error=\"unterminated"), Bearer(BearerError::Other));
    assert_eq!(
        c("Bearer é=\"ü\", error=invalid_token"),
        Bearer(BearerError::Other)
    );
    assert_eq!(c("Bearer error=\"a\u{1}\""), Bearer(BearerError::Other));
    assert_eq!(c(r#"Basic realm="x"#), Other);
    assert_eq!(c("=junk"), Other);
    assert_eq!(c("\"Bearer\""), Other);
    assert_eq!(c("Bearer\"x\""), Bearer(BearerError::Other));
    // What came before a syntax error still counts.
    assert_eq!(
        c(r#"Bearer error="invalid_token", Basic realm="x"#),
        Bearer(InvalidToken)
    );
}

#[test]
fn challenge_lists_parse_per_rfc_9110() {
    let list = parse_challenges(
        r#"Newauth realm="apps", type=1, title="Login to \"apps\"", Basic realm="simple", Negotiate abc==,Bearer"#,
    )
    .unwrap();
    let summary: Vec<_> = list
        .iter()
        .map(|c| {
            let params: Vec<_> = c.params.iter().map(|(n, v)| format!("{n}={v}")).collect();
            (c.scheme, c.token68, params)
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "Newauth",
                None,
                vec![
                    "realm=apps".to_owned(),
                    "type=1".into(),
                    r#"title=Login to "apps""#.into()
                ]
            ),
            ("Basic", None, vec!["realm=simple".into()]),
            ("Negotiate", Some("abc=="), vec![]),
            ("Bearer", None, vec![]),
        ]
    );
    // Empty list elements are skipped; params may be separated by several commas.
    let list = parse_challenges(", Basic a=b,, c=d ,").unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].param("C").as_deref(), Some("d"));
    // Escapes keep non-ASCII intact.
    let list = parse_challenges("X a=\"\\ü\\\\\"").unwrap();
    assert_eq!(list[0].param("a").as_deref(), Some("ü\\"));
    // token68 is a run of its characters and trailing `=`s ending the challenge.
    assert_eq!(parse_challenges("Basic a").unwrap()[0].token68, Some("a"));
    assert_eq!(
        parse_challenges("Basic a=, X").unwrap()[0].token68,
        Some("a=")
    );
    // Errors say where.
    assert_eq!(parse_challenges("Basic a b").unwrap_err().at, 8);
    for bad in [
        "Basic a b",
        "Basic a==b",
        "Basic a=\"x",
        "Basic a=b c",
        "Basic=x",
        "Basic \"x\"",
        "Basic a=\"\\",
        "(",
    ] {
        assert!(parse_challenges(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn hostile_challenge_headers_are_linear() {
    // A megabyte of commas, quotes, escapes or params: parsed at once.
    for h in [
        ",".repeat(1 << 20),
        format!("Basic a=\"{}", "\\\"".repeat(1 << 19)),
        format!("Basic {}", "a=b,".repeat(1 << 18)),
        "Bearer ".repeat(1 << 17),
        "=".repeat(1 << 20),
    ] {
        let _ = Challenge::from_header(Some(&h));
        let _ = parse_challenges(&h);
    }
}

// ----- proptests ---------------------------------------------------------------------

const URL_PARTS: &[&str] = &[
    "http://",
    "https://",
    "HTTP://",
    "http:",
    "https:",
    "//",
    "/",
    "\\",
    "?",
    "#",
    "@",
    ":",
    ".",
    "..",
    "0",
    "1",
    "01",
    "127",
    "255",
    "256",
    "4294967295",
    "0x",
    "0x7f",
    "0X1",
    "a",
    "z",
    "api",
    "app",
    "example",
    "app.example",
    "api.example",
    "evil.example",
    "localhost",
    "xn--",
    "xn--bcher-kva",
    "xn--a",
    "-",
    "_",
    "~",
    "%",
    "%2e",
    "%2E",
    "%41",
    "%00",
    "ü",
    "ß",
    "İ",
    "\u{FF0E}",
    "\u{3002}",
    "\u{00AD}",
    "\t",
    "\n",
    " ",
    "\u{0}",
    "\u{1F}",
    "80",
    "443",
    "8080",
    "65535",
    "65536",
    "[",
    "]",
    "[::1]",
    "::",
    "user:pw@",
    "javascript:",
    "blob:",
    "data:,",
    "file:",
];

fn url_text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(URL_PARTS), 0..10).prop_map(|v| v.concat()),
        1 => "\\PC{0,24}",
        1 => "[a-z0-9.:/@\\\\%?#\\[\\]-]{0,24}",
    ]
}

const BASES: &[&str] = &[
    "https://app.example/",
    "https://app.example/dir/page?q#h",
    "http://127.0.0.1:8080/x/y",
    "https://u:p@app.example/",
    "http://[::1]:3000/",
    "https://xn--bcher-kva.example/a/b",
    "about:blank",
    "data:text/plain,x",
    "file:///tmp/x",
];

const ORIGINS: &[&str] = &[
    "https://app.example",
    "https://api.example",
    "http://127.0.0.1:8080",
    "http://127.0.0.1",
    "http://0.0.0.1",
    "https://evil.example",
    "http://[::1]:3000",
    "https://xn--bcher-kva.example",
    "null",
];

fn origin_of(u: &Url) -> String {
    u.origin().ascii_serialization()
}

fn is_http(u: &Url) -> bool {
    matches!(u.scheme(), "http" | "https")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn text_origins_match_the_whatwg_parser(
        url in url_text(),
        base_href in prop::sample::select(BASES),
        own in prop::sample::select(ORIGINS),
        listed in prop::sample::subsequence(ORIGINS, 0..4),
    ) {
        let b = base(base_href);
        let listed: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
        let allowed = Allowed { own: Some(own), listed: &listed };
        let expected = oracle(&url, Some(&b));
        match shape(&url) {
            Shape::Origin(o) => {
                // The origin claimed from the text is the parser's, with or without the base.
                let absolute = Url::parse(&url);
                prop_assert!(absolute.is_ok(), "{url:?} claimed {o} but does not parse");
                let absolute = absolute.unwrap();
                prop_assert_eq!(origin_of(&absolute), o);
                prop_assert_eq!(Some(absolute), expected.clone());
            }
            Shape::PathAbsolute => {
                if let Some(bo) = b.join_origin() {
                    let joined = Url::parse(&format!("{bo}{url}"));
                    prop_assert!(expected.is_some());
                    prop_assert_eq!(joined.ok(), expected.clone(), "{:?} + {:?}", bo, url);
                    let expected_origin = expected.as_ref().map(origin_of);
                    prop_assert_eq!(expected_origin.as_deref(), Some(bo));
                }
            }
            Shape::Unknown => {}
        }
        let t = resolve(&url, || Some(&b), &allowed, parse);
        // The URL every attempt goes to is the one the parser resolves now
        // (for http(s): the url crate's serialisation of odd `file:` hosts
        // does not always re-parse to itself, and no token goes there).
        if expected.as_ref().is_some_and(is_http) {
            let sent = match &t.destination {
                Destination::AsGiven => Url::parse(&url).ok(),
                Destination::Resolved(href) => Url::parse(href).ok(),
            };
            prop_assert_eq!(sent, expected.clone());
        }
        // The token never goes where the oracle's origin is not allowed.
        if t.allowed {
            let u = expected.as_ref();
            prop_assert!(u.is_some_and(|u| is_http(u) && allowed.allows(&origin_of(u))),
                "{url:?} against {base_href} got the token");
        } else if let Some(u) = &expected {
            prop_assert!(!(is_http(u) && allowed.allows(&origin_of(u))),
                "{url:?} against {base_href} denied the token");
        }
        // Renewal: only from a final URL on an allowed origin.
        if renewal_allowed(true, Some(&url), &allowed, |u| parse(u, None)) && !url.is_empty() {
            let u = Url::parse(&url).ok();
            prop_assert!(u.is_some_and(|u| is_http(&u) && allowed.allows(&origin_of(&u))));
        }
    }

    #[test]
    fn challenge_lists_round_trip_and_classify(
        parts in prop::collection::vec(prop::sample::select(&[
            "Bearer", "bearer", "Basic", "DPoP", "Negotiate", " ", "  ", ",", ", ", "=", "\"",
            "\\", "\\\"", "realm", "error", "invalid_token", "insufficient_scope", "a", "abc==",
            "é", "\t", "\u{1}", "x y", "/+", "~",
        ][..]), 0..14),
        tail in "\\PC{0,8}",
    ) {
        let header = parts.concat() + &tail;
        let class = Challenge::from_header(Some(&header));
        if let Ok(list) = parse_challenges(&header) {
            let first_bearer = list.iter().find(|c| c.scheme.eq_ignore_ascii_case("bearer"));
            match (first_bearer, list.is_empty()) {
                (Some(c), _) => {
                    let expected = match c.param("error").as_deref().map(str::to_ascii_lowercase) {
                        None => BearerError::InvalidToken,
                        Some(e) if e == "invalid_token" => BearerError::InvalidToken,
                        Some(e) if e == "insufficient_scope" => BearerError::InsufficientScope,
                        Some(_) => BearerError::Other,
                    };
                    prop_assert_eq!(class, Challenge::Bearer(expected));
                }
                (None, true) => prop_assert_eq!(class, Challenge::Absent),
                (None, false) => prop_assert_eq!(class, Challenge::Other),
            }
            // Serialising what was read and reading it again gives the same list.
            let again = serialise(&list);
            prop_assert_eq!(parse_challenges(&again).ok(), Some(list.clone()), "{:?}", again);
        } else {
            prop_assert!(class != Challenge::Absent);
            prop_assert!(class != Challenge::Bearer(BearerError::InvalidToken)
                || header.to_ascii_lowercase().contains("bearer"));
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
