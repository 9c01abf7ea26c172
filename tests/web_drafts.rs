//! The `returnTo` and redirect-origin rules of `core::drafts`, checked
//! against the browser's own URL parser in headless Chrome.
//!
//! The pure rules are unit-tested on the host; here the question is whether
//! they agree with what a real browser does with the same strings: every
//! `returnTo` the validator accepts must stay on the page's origin when the
//! login page navigates to it, also after one more `decodeURIComponent` (a
//! common login-page bug). The DOM tests for drafts themselves are in-crate
//! (`src/web/drafts/tests.rs`) because they drive crate-private functions.
//!
//! Run: `PATH=/usr/bin:$PATH CHROMEDRIVER=/usr/bin/chromedriver
//! wasm-pack test --headless --chrome -- --test web_drafts`.

#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use tokenwarden::core::drafts::{normalize_origin, redirect_origin_allowed, validate_return_to};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use web_sys::Url;

wasm_bindgen_test_configure!(run_in_browser);

const BASE: &str = "https://app.example/area/page?x=1";
const ORIGIN: &str = "https://app.example";

/// Pieces that URL parsers treat specially.
const PIECES: &[&str] = &[
    "/",
    "//",
    "\\",
    "/\\",
    "%2F",
    "%2f",
    "%5C",
    "%09",
    "%0A",
    "%0D",
    "\t",
    "\n",
    " ",
    "%20",
    "javascript:",
    "https:",
    "http:",
    "//evil.example",
    "evil.example",
    "@",
    ":",
    "?",
    "#",
    ".",
    "..",
    "%2E%2E",
    "%00",
    "\u{0}",
    "a",
    "%",
];

/// The origin a browser navigates to for `href` on `BASE`, or `None` when
/// it does not parse.
fn browser_origin(href: &str) -> Option<String> {
    Url::new_with_base(href, BASE).ok().map(|u| u.origin())
}

fn decode_uri_component(value: &str) -> Option<String> {
    js_sys::decode_uri_component(value)
        .ok()
        .and_then(|s| JsValue::from(s).as_string())
}

/// All strings made of up to three pieces.
fn corpus() -> Vec<String> {
    let mut out = vec![String::new()];
    for a in PIECES {
        out.push((*a).to_owned());
        for b in PIECES {
            out.push(format!("{a}{b}"));
            for c in PIECES {
                out.push(format!("{a}{b}{c}"));
            }
        }
    }
    out
}

#[wasm_bindgen_test]
fn every_accepted_return_to_stays_on_the_origin() {
    let mut accepted = 0;
    for value in corpus() {
        if validate_return_to(&value).is_err() {
            continue;
        }
        accepted += 1;
        assert_eq!(
            browser_origin(&value).as_deref(),
            Some(ORIGIN),
            "accepted {value:?} leaves the origin"
        );
        if let Some(decoded) = decode_uri_component(&value) {
            assert_eq!(
                browser_origin(&decoded).as_deref(),
                Some(ORIGIN),
                "accepted {value:?} leaves the origin once decoded again ({decoded:?})"
            );
        }
    }
    // The corpus holds hundreds of harmless paths ("/a", "/a?", "/..", "/%2E%2E"):
    // the property is not vacuous.
    assert!(accepted > 100, "only {accepted} accepted");
}

#[wasm_bindgen_test]
fn hostile_return_to_values_are_refused() {
    for value in [
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "javascript:alert(1)",
        "https://evil.example",
        "https:evil.example",
        "/%2F%2Fevil.example",
        "/%5Cevil.example",
        "/%09/evil.example",
        "/\t/evil.example",
        " //evil.example",
        "evil.example",
    ] {
        assert!(validate_return_to(value).is_err(), "{value:?} accepted");
    }
    // Each of those that parses goes somewhere else or runs script: the
    // refusals are not just theoretical.
    for value in [
        "//evil.example",
        "/\\evil.example",
        "/\t/evil.example",
        "https:evil.example",
    ] {
        let origin = browser_origin(value);
        assert!(
            origin.as_deref() != Some(ORIGIN) || value.starts_with("https:"),
            "{value:?} -> {origin:?}"
        );
    }
}

#[wasm_bindgen_test]
fn origin_rules_match_the_browser_serialisation() {
    // What `new URL(x).origin` gives is what `normalize_origin` produces,
    // so a listed origin matches the target's serialised origin.
    for listed in [
        "https://login.example",
        "https://LOGIN.example:443",
        "https://login.example/",
        "http://127.0.0.1:8080",
        "http://localhost:80",
        "https://xn--bcher-kva.example",
    ] {
        let browser = Url::new(listed).expect("parses").origin();
        assert_eq!(
            normalize_origin(listed).as_deref(),
            Some(browser.as_str()),
            "{listed}"
        );
    }
    let allowed = vec!["https://login.example".to_owned()];
    for (target, ok) in [
        ("https://login.example/sso", true),
        ("https://app.example/login", true),
        ("https://login.example.evil.example/", false),
        ("https://login.example@evil.example/", false),
        ("http://login.example/", false),
        ("javascript:alert(1)", false),
        ("data:text/html,x", false),
        ("//evil.example/login", false),
    ] {
        let origin = Url::new_with_base(target, BASE).expect("parses").origin();
        assert_eq!(
            redirect_origin_allowed(&origin, ORIGIN, &allowed),
            ok,
            "{target} ({origin})"
        );
    }
}
