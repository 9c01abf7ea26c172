//! HTTP rules on outside text: which origin a request URL goes to and
//! whether it may carry the token, which absolute URL every attempt of a
//! request is sent to, whether a response may renew the token, and what a
//! `WWW-Authenticate` challenge list asks for.
//!
//! The browser layer owns only the URL parser (`new URL`): where the text of
//! a URL leaves any doubt, the rules here ask it through a callback and
//! decide on its answer. Nothing here indexes, unwraps or panics: every
//! function is total on any `&str` and linear in its length.
//!
//! # Rules (each covered by `tests/core_http.rs`; the URL rules also by its
//! proptest, whose oracle is the `url` crate's WHATWG parser, and by the
//! fuzz target `fuzz/fuzz_targets/url.rs`)
//!
//! - **Token only to allowed origins.** A request carries the token only
//!   when its absolute URL is `http(s)` and its origin, as the URL parser
//!   serialises it, is the page's own or one of `allowedOrigins`
//!   ([`Allowed::allows`], [`resolve`]). A URL the parser refuses gets no
//!   token (and `fetch` rejects it with its own `TypeError`).
//! - **Certain or ask.** The origin is read from the text alone only where
//!   it cannot differ from the parser's ([`shape`]): a lower-case
//!   `http(s)://host[:port]` with a host of `[a-z0-9.-]` labels (no empty
//!   label, no `xn--`, no IPv4 other than canonical `a.b.c.d`), no default
//!   or odd port, followed by `/`, `?`, `#` or the end; or a path-absolute
//!   `/path` against a plain `http(s)` base. Everything else goes to the
//!   parser (`http://1./x`, `http://127..0.1/x`, upper case, userinfo,
//!   backslashes, tabs, IDNs, …).
//! - **Resolve once.** A relative URL is resolved against the base URL once,
//!   when `auth.fetch` is called; every attempt (first send, replay after a
//!   refresh) goes to that absolute URL, and the origin decision is made on
//!   it ([`Target`]). A `<base href>` inserted later changes nothing.
//! - **Renew only from allowed final URLs.** A renewed token is read from a
//!   response only when the request carried our token and the response's
//!   final URL (`response.url`, after redirects) is on an allowed origin; an
//!   empty `response.url` (a synthetic response from an injected `fetch`)
//!   counts as the request's own URL ([`renewal_allowed`]).
//! - **Only Bearer challenges refresh.** A 401 may start a bearer refresh
//!   only without `WWW-Authenticate`, or with a `Bearer` challenge whose
//!   `error` is `invalid_token` or absent. Challenges of other schemes only
//!   (`Basic`, `Negotiate`, `DPoP`, …) and headers that are not a challenge
//!   list go to the caller untouched ([`Challenge::from_header`], parsed by
//!   [`parse_challenges`] per RFC 9110 §11.6.1).
//!
//! ```
//! use tokenwarden::core::http::{resolve, Allowed, Base, Challenge, Destination};
//!
//! let allowed = Allowed { own: Some("https://app.example"), listed: &[] };
//! let base = Base::new("https://app.example/page", "https://app.example");
//! let target = resolve("/api/x", || Some(&base), &allowed, |_, _| None);
//! assert!(target.allowed);
//! assert_eq!(target.destination, Destination::Resolved("https://app.example/api/x".into()));
//! let basic = Challenge::from_header(Some(r#"Basic realm="x""#));
//! assert_eq!(basic, Challenge::Other);
//! ```

use std::borrow::Cow;

// ---------------------------------------------------------------------------
// Origins and URLs
// ---------------------------------------------------------------------------

/// The origins that may see the token: the page's own and `allowedOrigins`,
/// each as the URL parser serialises an origin (`https://api.example.com`,
/// `http://127.0.0.1:8080`).
#[derive(Clone, Copy, Debug)]
pub struct Allowed<'a> {
    /// The page's (or worker's) own origin, `location.origin`.
    pub own: Option<&'a str>,
    /// `allowedOrigins`, already serialised by the parser.
    pub listed: &'a [String],
}

impl Allowed<'_> {
    /// Whether `origin` (a serialised origin) may see the token: an
    /// `http(s)` origin equal to the page's own or a listed one. `null`
    /// (opaque origins), the empty string and other schemes never are.
    pub fn allows(&self, origin: &str) -> bool {
        http_scheme(origin) && (self.own == Some(origin) || self.listed.iter().any(|o| o == origin))
    }
}

/// Whether `text` starts with `http://` or `https://` (as serialised
/// origins and URLs spell them).
fn http_scheme(text: &str) -> bool {
    text.starts_with("https://") || text.starts_with("http://")
}

/// The base URL relative URLs resolve against (`document.baseURI`), as the
/// URL parser serialised it, with its origin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Base {
    href: String,
    /// The length of the origin when `href` is exactly that `http(s)`
    /// origin followed by `/` (no userinfo): a path-absolute URL then
    /// resolves to this origin followed by the path.
    joinable: Option<usize>,
}

impl Base {
    /// The base `href` and its `origin`, both as the parser serialised them.
    pub fn new(href: &str, origin: &str) -> Base {
        let joinable = (http_scheme(origin)
            && href.starts_with(origin)
            && href.as_bytes().get(origin.len()) == Some(&b'/'))
        .then_some(origin.len());
        Base {
            href: href.to_owned(),
            joinable,
        }
    }

    /// The serialised base URL.
    pub fn href(&self) -> &str {
        &self.href
    }

    /// The base's `http(s)` origin when a path-absolute URL can be joined to
    /// it without the parser.
    pub fn join_origin(&self) -> Option<&str> {
        self.href.get(..self.joinable?)
    }
}

/// What the text of a URL says about its origin without the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape<'a> {
    /// `/path` (not `//host`, not `/\host`): resolves against the base URL
    /// to the base's origin followed by this path.
    PathAbsolute,
    /// An absolute `http(s)` URL whose origin, as the parser serialises it,
    /// is exactly this prefix of the text.
    Origin(&'a str),
    /// Anything else: ask the URL parser.
    Unknown,
}

/// Reads the origin off the text of `url` where it is certain (see the
/// rule "Certain or ask").
pub fn shape(url: &str) -> Shape<'_> {
    // The parser drops tabs and newlines anywhere (`/\t/evil` is `//evil`);
    // leading spaces and controls fail the prefix checks below.
    if url.bytes().any(|c| matches!(c, b'\t' | b'\n' | b'\r')) {
        return Shape::Unknown;
    }
    let (rest, default_port) = if let Some(rest) = url.strip_prefix("https://") {
        (rest, "443")
    } else if let Some(rest) = url.strip_prefix("http://") {
        (rest, "80")
    } else {
        return match url.as_bytes() {
            [b'/', b'/' | b'\\', ..] => Shape::Unknown,
            [b'/', ..] => Shape::PathAbsolute,
            _ => Shape::Unknown,
        };
    };
    let authority_len = rest
        .bytes()
        .position(|c| matches!(c, b'/' | b'?' | b'#'))
        .unwrap_or(rest.len());
    let authority = rest.as_bytes().get(..authority_len).unwrap_or_default();
    let (host, port) = match authority.iter().position(|&c| c == b':') {
        Some(i) => (
            authority.get(..i).unwrap_or_default(),
            Some(authority.get(i + 1..).unwrap_or_default()),
        ),
        None => (authority, None),
    };
    let port_certain = port.map_or(true, |p| canonical_port(p) && p != default_port.as_bytes());
    if !port_certain || !certain_host(host) {
        return Shape::Unknown;
    }
    let origin_len = url.len() - rest.len() + authority_len;
    url.get(..origin_len).map_or(Shape::Unknown, Shape::Origin)
}

/// A port of 1 to 5 digits without a leading zero, at most 65535.
fn canonical_port(port: &[u8]) -> bool {
    port.first() != Some(&b'0') && decimal(port, 5).is_some_and(|n| n <= 65_535)
}

/// `digits` as a decimal number of 1 to `max_len` ASCII digits.
fn decimal(digits: &[u8], max_len: usize) -> Option<u32> {
    if digits.is_empty() || digits.len() > max_len {
        return None;
    }
    digits.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit()
            .then(|| n.saturating_mul(10).saturating_add(u32::from(c - b'0')))
    })
}

/// A host the parser keeps exactly as written: labels of `[a-z0-9-]`, none
/// empty (no leading, trailing or double dot), none `xn--` (punycode is
/// validated and may be refused), and either a domain (its last label is
/// not a number, per the WHATWG "ends in a number" check) or a canonical
/// dotted-quad IPv4 address.
fn certain_host(host: &[u8]) -> bool {
    let chars_ok = host
        .iter()
        .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.');
    if host.is_empty() || !chars_ok {
        return false;
    }
    let mut labels = 0u32;
    for label in host.split(|&c| c == b'.') {
        labels += 1;
        if label.is_empty() || label.starts_with(b"xn--") {
            return false;
        }
    }
    let last = host.rsplit(|&c| c == b'.').next().unwrap_or_default();
    let numeric = last.iter().all(u8::is_ascii_digit)
        || last
            .strip_prefix(b"0x")
            .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
    if !numeric {
        return true;
    }
    labels == 4
        && host.split(|&c| c == b'.').all(|part| {
            (part.len() == 1 || part.first() != Some(&b'0'))
                && decimal(part, 3).is_some_and(|n| n <= 255)
        })
}

/// What the URL parser answered for a URL the text did not settle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parsed {
    /// The absolute URL, serialised.
    pub href: String,
    /// Its origin, serialised (`null` for opaque origins).
    pub origin: String,
}

/// Which URL every attempt of a request is sent to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// The URL as the caller gave it: already absolute (its origin read from
    /// the text), or refused by the parser (then `fetch` rejects it with its
    /// own `TypeError`, and no token goes with it).
    AsGiven,
    /// The caller's URL resolved against the base at capture.
    Resolved(String),
}

/// Where a request goes and whether the token may go with it, decided once
/// when `auth.fetch` is called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The URL of every attempt.
    pub destination: Destination,
    /// The destination's origin may see the token.
    pub allowed: bool,
}

/// Resolves `url` once and decides whether it may carry the token.
///
/// `base` is asked for only when the text is relative; `parse(url, base)`
/// (the browser's `new URL(url, base.href)`, `None` when it throws) only
/// when the text leaves doubt. Both run at most once.
pub fn resolve<'b>(
    url: &str,
    base: impl FnOnce() -> Option<&'b Base>,
    allowed: &Allowed<'_>,
    parse: impl FnOnce(&str, Option<&Base>) -> Option<Parsed>,
) -> Target {
    let base = match shape(url) {
        Shape::Origin(origin) => {
            return Target {
                destination: Destination::AsGiven,
                allowed: allowed.allows(origin),
            }
        }
        Shape::PathAbsolute => {
            let base = base();
            if let Some(origin) = base.and_then(Base::join_origin) {
                let mut joined = String::with_capacity(origin.len() + url.len());
                joined.push_str(origin);
                joined.push_str(url);
                return Target {
                    destination: Destination::Resolved(joined),
                    allowed: allowed.allows(origin),
                };
            }
            base
        }
        Shape::Unknown => base(),
    };
    match parse(url, base) {
        Some(parsed) => Target {
            allowed: http_scheme(&parsed.href) && allowed.allows(&parsed.origin),
            destination: Destination::Resolved(parsed.href),
        },
        None => Target {
            destination: Destination::AsGiven,
            allowed: false,
        },
    }
}

/// Whether the renew header of a response may be read: the request carried
/// our token (`sent_token`) and the response's final URL is on an allowed
/// origin. `response_url` is `response.url` (after redirects), `None` when
/// it could not be read as a string (then no); empty (a synthetic response)
/// counts as the request's own URL, whose origin was allowed for the token
/// to go. `parse(url)` is the browser's `new URL(url)`.
pub fn renewal_allowed(
    sent_token: bool,
    response_url: Option<&str>,
    allowed: &Allowed<'_>,
    parse: impl FnOnce(&str) -> Option<Parsed>,
) -> bool {
    let Some(response_url) = response_url.filter(|_| sent_token) else {
        return false;
    };
    if response_url.is_empty() {
        return true;
    }
    match shape(response_url) {
        Shape::Origin(origin) => allowed.allows(origin),
        _ => parse(response_url).is_some_and(|p| http_scheme(&p.href) && allowed.allows(&p.origin)),
    }
}

// ---------------------------------------------------------------------------
// WWW-Authenticate
// ---------------------------------------------------------------------------

/// The `error` parameter of a `WWW-Authenticate: Bearer` challenge (RFC 6750
/// §3.1), as far as it matters to a refresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BearerError {
    /// `invalid_token` or no error parameter: the token is expired/revoked.
    InvalidToken,
    /// `insufficient_scope`: a refresh will not help.
    InsufficientScope,
    /// Any other value (`invalid_request`, …), or a Bearer challenge that
    /// could not be read to its end: a refresh will not help.
    Other,
}

/// What the `WWW-Authenticate` header of a 401 asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// No header, or one that lists no challenge (empty, only commas).
    Absent,
    /// A `Bearer` challenge (the first, when there are several) with its
    /// `error`.
    Bearer(BearerError),
    /// Challenges of other schemes only (`Basic`, `Negotiate`, `DPoP`, …),
    /// or a header that is not a challenge list.
    Other,
}

impl Challenge {
    /// Classifies a `WWW-Authenticate` value (several header lines arrive
    /// joined by `, `, which is again a challenge list). Challenges read
    /// before a syntax error count; a Bearer challenge cut short by one is
    /// [`BearerError::Other`].
    pub fn from_header(value: Option<&str>) -> Challenge {
        let Some(value) = value else {
            return Challenge::Absent;
        };
        let mut parser = ChallengeParser::new(value);
        let mut any = false;
        loop {
            match parser.next_challenge() {
                None => break,
                Some(Ok(c)) if c.scheme.eq_ignore_ascii_case("bearer") => {
                    let error = c
                        .param("error")
                        .map_or(BearerError::InvalidToken, |e| bearer_error(&e));
                    return Challenge::Bearer(error);
                }
                Some(Ok(_)) => any = true,
                Some(Err(e)) => {
                    let bearer = e.scheme.is_some_and(|s| s.eq_ignore_ascii_case("bearer"));
                    return if bearer {
                        Challenge::Bearer(BearerError::Other)
                    } else {
                        Challenge::Other
                    };
                }
            }
        }
        if any {
            Challenge::Other
        } else {
            Challenge::Absent
        }
    }
}

fn bearer_error(value: &str) -> BearerError {
    if value.eq_ignore_ascii_case("invalid_token") {
        BearerError::InvalidToken
    } else if value.eq_ignore_ascii_case("insufficient_scope") {
        BearerError::InsufficientScope
    } else {
        BearerError::Other
    }
}

/// One challenge of a `WWW-Authenticate` list (RFC 9110 §11.6.1):
/// `auth-scheme [ 1*SP ( token68 / #auth-param ) ]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthChallenge<'a> {
    /// The scheme as written (compare case-insensitively).
    pub scheme: &'a str,
    /// The token68 form (`Basic dXNlcg==`), if that is what follows.
    pub token68: Option<&'a str>,
    /// The auth-params in order: names as written, values unquoted and
    /// unescaped.
    pub params: Vec<(&'a str, Cow<'a, str>)>,
}

impl AuthChallenge<'_> {
    /// The first parameter named `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<Cow<'_, str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| Cow::Borrowed(v.as_ref()))
    }
}

/// A `WWW-Authenticate` value that is not a challenge list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeError<'a> {
    /// Byte offset of the first byte that does not fit the grammar.
    pub at: usize,
    /// The scheme of the challenge being read when it happened.
    pub scheme: Option<&'a str>,
}

/// Parses a whole `WWW-Authenticate` value into its challenges. Empty list
/// elements (`, ,`) are skipped, as RFC 9110 §5.6.1 asks of recipients.
pub fn parse_challenges(value: &str) -> Result<Vec<AuthChallenge<'_>>, ChallengeError<'_>> {
    let mut parser = ChallengeParser::new(value);
    let mut out = Vec::new();
    while let Some(challenge) = parser.next_challenge() {
        out.push(challenge?);
    }
    Ok(out)
}

/// The challenge-list reader: one challenge per call, stops for good at the
/// first syntax error.
struct ChallengeParser<'a> {
    text: &'a str,
    pos: usize,
    done: bool,
}

/// `tchar` (RFC 9110 §5.6.2).
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

/// The characters of `token68` before its trailing `=`s.
fn is_token68_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
}

impl<'a> ChallengeParser<'a> {
    fn new(text: &'a str) -> Self {
        ChallengeParser {
            text,
            pos: 0,
            done: false,
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// Skips whitespace and empty list elements.
    fn skip_separators(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.pos += 1;
        }
    }

    /// A run of bytes matching `class` (ASCII only, so the slice is on
    /// character boundaries).
    fn run(&mut self, class: fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(class) {
            self.pos += 1;
        }
        self.text.get(start..self.pos).unwrap_or("")
    }

    fn fail<T>(&mut self, scheme: Option<&'a str>) -> Option<Result<T, ChallengeError<'a>>> {
        self.done = true;
        Some(Err(ChallengeError {
            at: self.pos,
            scheme,
        }))
    }

    fn next_challenge(&mut self) -> Option<Result<AuthChallenge<'a>, ChallengeError<'a>>> {
        if self.done {
            return None;
        }
        self.skip_separators();
        if self.peek().is_none() {
            self.done = true;
            return None;
        }
        let scheme = self.run(is_tchar);
        if scheme.is_empty() {
            return self.fail(None);
        }
        let mut challenge = AuthChallenge {
            scheme,
            token68: None,
            params: Vec::new(),
        };
        let before_space = self.pos;
        self.skip_ows();
        match self.peek() {
            None | Some(b',') => return Some(Ok(challenge)),
            // `1*SP` separates the scheme from what follows it.
            Some(_) if self.pos == before_space => return self.fail(Some(scheme)),
            Some(_) => {}
        }
        // token68, when the run of its characters (and `=`s) ends the challenge.
        let start = self.pos;
        let body = self.run(is_token68_char);
        while self.peek() == Some(b'=') {
            self.pos += 1;
        }
        let end = self.pos;
        self.skip_ows();
        if !body.is_empty() && matches!(self.peek(), None | Some(b',')) {
            challenge.token68 = self.text.get(start..end);
            return Some(Ok(challenge));
        }
        self.pos = start;
        // `#auth-param`: `name BWS "=" BWS ( token / quoted-string )`, comma
        // separated. After a comma, a token not followed by `=` is the next
        // challenge's scheme.
        loop {
            let name = self.run(is_tchar);
            self.skip_ows();
            if name.is_empty() || self.peek() != Some(b'=') {
                return self.fail(Some(scheme));
            }
            self.pos += 1;
            self.skip_ows();
            let value = if self.peek() == Some(b'"') {
                match self.quoted_string() {
                    Some(v) => v,
                    None => return self.fail(Some(scheme)),
                }
            } else {
                let token = self.run(is_tchar);
                if token.is_empty() {
                    return self.fail(Some(scheme));
                }
                Cow::Borrowed(token)
            };
            challenge.params.push((name, value));
            self.skip_ows();
            match self.peek() {
                None => return Some(Ok(challenge)),
                Some(b',') => {}
                Some(_) => return self.fail(Some(scheme)),
            }
            self.skip_separators();
            let next = self.pos;
            let token = self.run(is_tchar);
            self.skip_ows();
            let is_param = !token.is_empty() && self.peek() == Some(b'=');
            self.pos = next;
            if !is_param {
                return Some(Ok(challenge));
            }
        }
    }

    /// A quoted-string at `pos` (which holds `"`): its unescaped content, or
    /// `None` when it is unterminated or holds a control character. Read
    /// byte by byte: `"` and `\` are ASCII, so every cut falls on a
    /// character boundary, and bytes beyond ASCII (`obs-text`, including
    /// the rest of an escaped multi-byte character) are copied as they are.
    fn quoted_string(&mut self) -> Option<Cow<'a, str>> {
        let start = self.pos + 1;
        let bytes = self.text.as_bytes();
        let mut unescaped: Option<String> = None;
        // Where the run not yet copied into `unescaped` begins.
        let mut run = start;
        let mut i = start;
        loop {
            let c = *bytes.get(i)?;
            match c {
                b'"' => {
                    self.pos = i + 1;
                    let tail = self.text.get(run..i)?;
                    return Some(match unescaped {
                        Some(mut s) => {
                            s.push_str(tail);
                            Cow::Owned(s)
                        }
                        None => Cow::Borrowed(tail),
                    });
                }
                b'\\' => {
                    let escaped = *bytes.get(i + 1)?;
                    if !quoted_byte(escaped) && escaped != b'"' && escaped != b'\\' {
                        return None;
                    }
                    unescaped
                        .get_or_insert_with(String::new)
                        .push_str(self.text.get(run..i)?);
                    // The escaped byte starts the next run (`\é` keeps all of `é`).
                    run = i + 1;
                    i += 2;
                }
                c if quoted_byte(c) => i += 1,
                _ => return None,
            }
        }
    }
}

/// `qdtext` (and what a `quoted-pair` may escape, besides `"` and `\`):
/// HTAB, SP, visible ASCII, and any byte beyond ASCII (`obs-text`).
fn quoted_byte(c: u8) -> bool {
    c == b'\t' || c == b' ' || (c.is_ascii_graphic() && c != b'"' && c != b'\\') || !c.is_ascii()
}
