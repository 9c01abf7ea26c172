//! Refresh responses and token input: what a refresh endpoint (or the
//! app's refresh function, or `setSession`) hands over, turned into tokens
//! or a typed failure. Pure: the browser layer reads the status, the
//! `Retry-After` header and the body text, and feeds them in.
//!
//! # Rules (each covered by `tests/core_refresh.rs`)
//!
//! - **Token input is validated in one place** ([`validate`]), for
//!   `setSession`, refresh responses and the refresh function's result:
//!   - the access token is a non-empty string of at most
//!     [`MAX_TOKEN_BYTES`] bytes, made of visible ASCII (it goes into an
//!     `Authorization` header: anything else would make every request fail);
//!   - the refresh token, when present, is a non-empty string of at most
//!     [`MAX_TOKEN_BYTES`] bytes;
//!   - `expires_in` is a number (or a numeric string) of seconds ≥ 0;
//!   - an access token that is not a JWT is accepted, with or without
//!     `expires_in` (without one the session has no known expiry: no
//!     proactive refresh, warning `token_without_exp`, and a 401 refreshes).
//!
//!   `setSession` is the app's own call, so anything off is an error
//!   ([`TokenInputError`], thrown as `TokenError` `invalid_token`). A
//!   server's response is taken for what is usable in it: a refresh token
//!   that is not a string is ignored (the current one is kept), an unusable
//!   `expires_in` is ignored with warning `invalid_expires_in`.
//! - **Classification** ([`classify`]):
//!   - 2xx with a JSON object (read by [`crate::core::json`], at most
//!     [`MAX_BODY_BYTES`]) holding a usable access token → new tokens;
//!   - 2xx otherwise (not JSON, no access token, a token over the bound) →
//!     `Transient` — **but a usable refresh token in that 2xx body is the
//!     current one from now on** ([`Outcome::Failed::rotated_refresh_token`]):
//!     the server has rotated it already, and sending the old one again
//!     would look like token theft (reuse detection revokes the grant);
//!   - 400, 401, 403 → `Rejected` (RFC 6749 §5.2 `invalid_grant`, reuse
//!     detected): the session is over;
//!   - 408, 429, 5xx and any other status → `Transient`, with the delay of
//!     `Retry-After` (delay-seconds or an HTTP-date, RFC 9110 §10.2.3).
//! - **The refresh function** ([`from_function`], [`function_threw`]): its
//!   result goes through the same validation as a 2xx body; a thrown value
//!   whose `status` is 400, 401 or 403 or whose `error` is `invalid_grant`
//!   is `Rejected`, anything else thrown is `Transient`.
//!
//! Nothing here panics, whatever the input (fuzzed by `fuzz/fuzz_targets/refresh.rs`,
//! property-tested in `tests/core_refresh.rs`).

use std::rc::Rc;

use super::json::{self, Value};
use super::session::{Input, RefreshFailure, TokenSet};
use super::Millis;

/// Largest access or refresh token accepted, in bytes (16 KiB). Real tokens
/// are a few hundred bytes to a few KiB; browsers and servers refuse request
/// headers much beyond this anyway.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Largest refresh response body read, in bytes (64 KiB): room for both
/// tokens at their bound, an OpenID Connect `id_token` and the usual
/// members. The browser layer checks the length before copying the body
/// into wasm memory.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// One member of a token object, as the browser layer read it from a JS
/// value (or [`classify`] from a JSON body).
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// Missing, `undefined` or `null`.
    Absent,
    /// A string.
    Str(String),
    /// A number.
    Num(f64),
    /// A string longer than the bound; not copied.
    TooLarge,
    /// Any other type.
    Other,
}

/// The three members of a token object (camelCase or snake_case names).
#[derive(Clone, Debug, PartialEq)]
pub struct RawTokens {
    pub access_token: Field,
    pub refresh_token: Field,
    pub expires_in: Field,
}

/// Where token input comes from: decides how strict [`validate`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// `auth.setSession(…)`: the app's own call; anything off is an error.
    SetSession,
    /// A refresh response (HTTP 2xx body or the refresh function's result):
    /// what is usable is taken, the rest ignored.
    Refresh,
}

/// Which token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

/// Why token input is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenInputError {
    /// Not an object at all.
    NotAnObject,
    /// No access token, an empty one, or one that is not a string.
    MissingAccessToken,
    /// A token longer than [`MAX_TOKEN_BYTES`].
    TooLarge(TokenKind),
    /// The access token has characters that cannot go into a header
    /// (anything but visible ASCII, `!`…`~`).
    InvalidCharacters,
    /// `setSession`: `refreshToken` is not a non-empty string.
    InvalidRefreshToken,
    /// `setSession`: `expiresIn` is not a finite number of seconds ≥ 0.
    InvalidExpiresIn,
}

impl TokenInputError {
    /// Stable snake_case `reason` of the `TokenError` (`invalid_token`).
    pub fn reason(self) -> &'static str {
        match self {
            TokenInputError::NotAnObject => "not_an_object",
            TokenInputError::MissingAccessToken => "missing_access_token",
            TokenInputError::TooLarge(_) => "token_too_large",
            TokenInputError::InvalidCharacters => "invalid_characters",
            TokenInputError::InvalidRefreshToken => "invalid_refresh_token",
            TokenInputError::InvalidExpiresIn => "invalid_expires_in",
        }
    }

    /// A human message for `setSession` errors.
    pub fn message(self) -> &'static str {
        match self {
            TokenInputError::NotAnObject => {
                "setSession needs { accessToken, refreshToken?, expiresIn? }"
            }
            TokenInputError::MissingAccessToken => {
                "setSession needs a non-empty accessToken string"
            }
            TokenInputError::TooLarge(TokenKind::Access) => {
                "accessToken is larger than 16 KiB (the documented bound)"
            }
            TokenInputError::TooLarge(TokenKind::Refresh) => {
                "refreshToken is larger than 16 KiB (the documented bound)"
            }
            TokenInputError::InvalidCharacters => {
                "accessToken may only contain visible ASCII characters (it is sent in a header)"
            }
            TokenInputError::InvalidRefreshToken => "refreshToken must be a non-empty string",
            TokenInputError::InvalidExpiresIn => {
                "expiresIn must be a finite number of seconds >= 0"
            }
        }
    }

    /// The `error` event's message when a refresh response is unusable.
    fn refresh_detail(self) -> &'static str {
        match self {
            TokenInputError::NotAnObject => "the refresh response is not a JSON object",
            TokenInputError::MissingAccessToken => "the refresh response has no access token",
            TokenInputError::TooLarge(TokenKind::Access) => {
                "the access token in the refresh response is larger than 16 KiB; the current tokens stay"
            }
            TokenInputError::TooLarge(TokenKind::Refresh) => {
                "the refresh token in the refresh response is larger than 16 KiB; the current tokens stay"
            }
            TokenInputError::InvalidCharacters => {
                "the access token in the refresh response has characters that cannot be sent in a header"
            }
            TokenInputError::InvalidRefreshToken | TokenInputError::InvalidExpiresIn => {
                "the refresh response is not usable"
            }
        }
    }
}

/// What a refresh attempt came to.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// New tokens.
    Tokens(TokenSet),
    /// No usable tokens. `rotated_refresh_token`: a 2xx body carried a usable
    /// refresh token anyway; it replaces the current one (the server rotated).
    Failed {
        failure: RefreshFailure,
        rotated_refresh_token: Option<String>,
    },
}

impl Outcome {
    fn failed(failure: RefreshFailure) -> Outcome {
        Outcome::Failed {
            failure,
            rotated_refresh_token: None,
        }
    }

    /// The session input that reports this outcome of attempt `attempt`.
    pub fn into_input(self, attempt: u64) -> Input {
        match self {
            Outcome::Tokens(tokens) => Input::RefreshSucceeded { attempt, tokens },
            Outcome::Failed {
                failure,
                rotated_refresh_token: Some(refresh_token),
            } => Input::RefreshRotated {
                attempt,
                refresh_token,
                failure,
            },
            Outcome::Failed {
                failure,
                rotated_refresh_token: None,
            } => Input::RefreshFailed { attempt, failure },
        }
    }
}

/// The refresh response body as the browser layer could read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Body<'a> {
    /// The text (already checked to be at most about [`MAX_BODY_BYTES`]).
    Text(&'a str),
    /// Longer than [`MAX_BODY_BYTES`]: not read.
    TooLarge,
    /// Could not be read (network error while reading, not text).
    Unreadable,
}

/// Validates token input (see the module rules). `cookie_mode`: the refresh
/// token is an HttpOnly cookie and must never live in JS, so one given here
/// is dropped (after the size check: an oversized one is still an error).
pub fn validate(
    raw: RawTokens,
    source: Source,
    cookie_mode: bool,
) -> Result<TokenSet, TokenInputError> {
    let strict = source == Source::SetSession;
    let access_token = match raw.access_token {
        Field::Str(s) if s.len() > MAX_TOKEN_BYTES => {
            return Err(TokenInputError::TooLarge(TokenKind::Access))
        }
        Field::TooLarge => return Err(TokenInputError::TooLarge(TokenKind::Access)),
        Field::Str(s) if !s.is_empty() => s,
        _ => return Err(TokenInputError::MissingAccessToken),
    };
    if !access_token.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(TokenInputError::InvalidCharacters);
    }
    let refresh_token = match raw.refresh_token {
        Field::Absent => None,
        Field::TooLarge => return Err(TokenInputError::TooLarge(TokenKind::Refresh)),
        Field::Str(s) if s.len() > MAX_TOKEN_BYTES => {
            return Err(TokenInputError::TooLarge(TokenKind::Refresh))
        }
        Field::Str(s) if !s.is_empty() => Some(s),
        _ if strict => return Err(TokenInputError::InvalidRefreshToken),
        _ => None,
    };
    let expires_in = match raw.expires_in {
        Field::Absent => None,
        Field::Num(n) if n.is_finite() && n >= 0.0 => Some(n),
        Field::Str(s) if !strict => Some(numeric(&s).unwrap_or(f64::NAN)),
        _ if strict => return Err(TokenInputError::InvalidExpiresIn),
        // Unusable: the session ignores it with warning `invalid_expires_in`.
        Field::Num(n) => Some(n),
        _ => Some(f64::NAN),
    };
    Ok(TokenSet {
        access_token,
        refresh_token: if cookie_mode { None } else { refresh_token },
        expires_in,
    })
}

/// A string of seconds (`"3600"`, `" 3600 "`, `"3.5e2"`), read with the JSON
/// number grammar (no float parser of its own).
fn numeric(text: &str) -> Option<f64> {
    match json::parse(text.trim_ascii(), false) {
        Ok(Value::Num(n)) => Some(n),
        _ => None,
    }
}

/// The member names read from a token response, both spellings.
const NAMES: &[&str] = &[
    "accessToken",
    "access_token",
    "refreshToken",
    "refresh_token",
    "expiresIn",
    "expires_in",
    "error",
];

/// A JSON member as a [`Field`].
fn field(obj: &json::Object, camel: &str, snake: &str) -> Field {
    match obj.get(camel).or_else(|| obj.get(snake)) {
        None | Some(Value::Null) => Field::Absent,
        Some(Value::Str(s)) => Field::Str(s.clone()),
        Some(Value::Num(n)) => Field::Num(*n),
        Some(_) => Field::Other,
    }
}

/// Classifies an HTTP refresh response: `status`, the `Retry-After` header
/// (if any), the body, at `now` (for an HTTP-date `Retry-After`).
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    body: Body<'_>,
    cookie_mode: bool,
    now: Millis,
) -> Outcome {
    let object = match body {
        Body::Text(text) if text.len() <= MAX_BODY_BYTES => {
            json::top_level_keeping(text, Some(NAMES)).ok()
        }
        _ => None,
    };
    if (200..300).contains(&status) {
        let Some(obj) = object else {
            let detail = if body == Body::TooLarge
                || matches!(body, Body::Text(t) if t.len() > MAX_BODY_BYTES)
            {
                "the refresh response is larger than 64 KiB; the current tokens stay"
            } else {
                TokenInputError::NotAnObject.refresh_detail()
            };
            return Outcome::failed(transient(status, None, detail));
        };
        return tokens_or_failure(&obj, status, cookie_mode);
    }
    if matches!(status, 400 | 401 | 403) {
        let error = object
            .as_ref()
            .and_then(|o| o.get_str("error"))
            .filter(|e| e.len() <= 256)
            .map(String::from);
        return Outcome::failed(RefreshFailure::Rejected { status, error });
    }
    let detail = if status >= 500 {
        "the refresh endpoint answered with a server error"
    } else if status == 429 {
        "the refresh endpoint is rate limiting"
    } else {
        "the refresh endpoint answered with an unexpected status"
    };
    let retry_after_ms = retry_after.and_then(|v| parse_retry_after(v, now));
    Outcome::failed(transient(status, retry_after_ms, detail))
}

/// A 2xx body (or the function's result) read as tokens.
fn tokens_or_failure(obj: &json::Object, status: u16, cookie_mode: bool) -> Outcome {
    let raw = RawTokens {
        access_token: field(obj, "accessToken", "access_token"),
        refresh_token: field(obj, "refreshToken", "refresh_token"),
        expires_in: field(obj, "expiresIn", "expires_in"),
    };
    from_raw(raw, status, cookie_mode)
}

/// Tokens from a refresh (2xx body or function result), or a transient
/// failure that still hands over a usable rotated refresh token.
fn from_raw(raw: RawTokens, status: u16, cookie_mode: bool) -> Outcome {
    let rotated = match (&raw.refresh_token, cookie_mode) {
        (Field::Str(s), false) if !s.is_empty() && s.len() <= MAX_TOKEN_BYTES => Some(s.clone()),
        _ => None,
    };
    match validate(raw, Source::Refresh, cookie_mode) {
        Ok(tokens) => Outcome::Tokens(tokens),
        Err(e) => Outcome::Failed {
            failure: transient(status, None, e.refresh_detail()),
            rotated_refresh_token: rotated,
        },
    }
}

/// The refresh function resolved with `raw` (the browser layer read the
/// members of the object it returned; `None`: not an object).
pub fn from_function(raw: Option<RawTokens>) -> Outcome {
    match raw {
        Some(raw) => from_raw(raw, 0, false),
        None => Outcome::failed(transient(
            0,
            None,
            "the refresh function did not return { accessToken, … }",
        )),
    }
}

/// The refresh function threw (or rejected) with a value whose `status`,
/// `error` and `message` members are these.
pub fn function_threw(
    status: Option<f64>,
    error: Option<String>,
    message: Option<String>,
) -> RefreshFailure {
    let status = status
        .filter(|s| s.is_finite() && (0.0..1000.0).contains(s))
        .map_or(0, |s| s as u16);
    if matches!(status, 400 | 401 | 403) || error.as_deref() == Some("invalid_grant") {
        RefreshFailure::Rejected { status, error }
    } else {
        RefreshFailure::Transient {
            status,
            retry_after_ms: None,
            detail: Rc::from(message.as_deref().unwrap_or("the refresh function failed")),
        }
    }
}

/// An HTTP transport has no refresh token to send (not in cookie mode): the
/// session cannot be refreshed.
pub fn no_refresh_token() -> RefreshFailure {
    RefreshFailure::Rejected {
        status: 0,
        error: Some("no_refresh_token".into()),
    }
}

/// The refresh request could not be sent or answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendFailure {
    /// `new Request(…)` threw (a bad `refresh.url` or header).
    Build,
    /// The `timeoutSeconds` timer aborted it.
    Timeout,
    /// A network error (or the injected `fetch` threw).
    Network,
}

/// The transient failure for a refresh request that got no response.
pub fn send_failed(why: SendFailure) -> Outcome {
    let detail = match why {
        SendFailure::Build => {
            "the refresh request could not be built (check refresh.url and refresh.headers)"
        }
        SendFailure::Timeout => "the refresh request timed out",
        SendFailure::Network => "the refresh request failed (network error)",
    };
    Outcome::failed(transient(0, None, detail))
}

fn transient(status: u16, retry_after_ms: Option<Millis>, detail: &str) -> RefreshFailure {
    RefreshFailure::Transient {
        status,
        retry_after_ms,
        detail: Rc::from(detail),
    }
}

/// Whether a `Content-Length` header value declares a body over
/// [`MAX_BODY_BYTES`] (then the browser layer does not read it at all).
pub fn declared_too_large(content_length: &str) -> bool {
    seconds_or_count(content_length).is_some_and(|n| n > MAX_BODY_BYTES as u64)
}

/// A non-empty run of ASCII digits (surrounding blanks allowed) as a
/// number; more than 9 digits count as 999,999,999 (every use caps far
/// below). Plain arithmetic: no 64-bit overflow checks in the wasm.
fn seconds_or_count(text: &str) -> Option<u64> {
    let value = text.trim_ascii().as_bytes();
    if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
        return None;
    }
    if value.len() > 9 {
        return Some(999_999_999);
    }
    Some(
        value
            .iter()
            .fold(0, |acc, b| acc * 10 + u64::from(b - b'0')),
    )
}

/// `Retry-After` (RFC 9110 §10.2.3): delay-seconds, or an HTTP-date in any
/// of the three formats a recipient must accept (IMF-fixdate, RFC 850,
/// asctime). A date in the past is a delay of 0. `None`: not understood.
///
/// ```
/// use tokenwarden::core::refresh::parse_retry_after;
///
/// let now = 784_111_777_000; // Sun, 06 Nov 1994 08:49:37 GMT
/// assert_eq!(parse_retry_after("120", now), Some(120_000));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now), Some(120_000));
/// assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:50:37 GMT", now), Some(60_000));
/// assert_eq!(parse_retry_after("Sun Nov  6 08:49:47 1994", now), Some(10_000));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: Millis) -> Option<Millis> {
    if let Some(seconds) = seconds_or_count(value) {
        return Some(seconds * 1000);
    }
    let at = http_date(value.trim_ascii(), now)?;
    Some(at.saturating_sub(now))
}

/// An HTTP-date as epoch milliseconds. Read as bytes: the three formats
/// are ASCII, and a byte tokenizer costs far less wasm than `str` patterns.
fn http_date(value: &str, now: Millis) -> Option<Millis> {
    let mut parts: [&[u8]; 6] = [&[]; 6];
    let mut n = 0;
    for part in value
        .as_bytes()
        .split(|b| matches!(b, b' ' | b',' | b'-'))
        .filter(|p| !p.is_empty())
    {
        *parts.get_mut(n)? = part;
        n += 1;
    }
    let (weekday, rest) = parts.get(..n)?.split_first()?;
    if !weekday.iter().all(u8::is_ascii_alphabetic) {
        return None;
    }
    let (day, month, year, time) = match *rest {
        // IMF-fixdate `06 Nov 1994 08:49:37 GMT` / RFC 850 `06-Nov-94 08:49:37 GMT`.
        [day, month, year, time, b"GMT"] => (day, month, year, time),
        // asctime `Nov  6 08:49:37 1994`.
        [month, day, time, year] if year.len() == 4 => (day, month, year, time),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? as u64 + 1;
    let day = number(day, 1, 2)?;
    let mut year = number(year, 2, 4)?;
    if year < 100 {
        // RFC 850: a year more than 50 years ahead is in the past century.
        let this_year = civil_year((now / 86_400_000) as i64);
        let mut full = this_year - this_year.rem_euclid(100) + year as i64;
        if full > this_year + 50 {
            full -= 100;
        }
        year = u64::try_from(full).ok()?;
    }
    let &[h1, h2, b':', m1, m2, b':', s1, s2] = time else {
        return None;
    };
    let hour = number(&[h1, h2], 2, 2)?;
    let minute = number(&[m1, m2], 2, 2)?;
    let second = number(&[s1, s2], 2, 2)?;
    if hour > 23 || minute > 59 || second > 60 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    // Years have at most 4 digits: no overflow; before 1970 is in the past.
    let seconds = days_from_civil(year as i64, month, day) * 86_400
        + (hour * 3600 + minute * 60 + second.min(59)) as i64;
    Some(seconds.max(0) as u64 * 1000)
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `text` as a number of `min..=max` ASCII digits (with `max == 4`, 3 digits
/// are refused: years have 2 or 4).
fn number(text: &[u8], min: usize, max: usize) -> Option<u64> {
    let ok_len = (min..=max).contains(&text.len()) && !(max == 4 && text.len() == 3);
    if !ok_len || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(text.iter().fold(0, |acc, b| acc * 10 + u64::from(b - b'0')))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: u64, day: u64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The year of a day count since 1970-01-01 (`civil_from_days`, year only).
fn civil_year(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    yoe + era * 400 + i64::from(month <= 2)
}
