//! Compact-JWS decoding (no signature verification: the client cannot and
//! need not verify; it only needs the claims to schedule refreshes).
//!
//! CONTRACT (shared with `crate::web`): `decode`, `decode_part`,
//! `DecodedJwt`, `Claims`, `JwtError`, `Part` are used by the browser layer.
//!
//! Two layers, kept apart:
//!
//! - **Decoding** ([`decode_part`], behind `decodeJwt`): a decoder, not a
//!   validator. It reads the one part asked for (the payload, or the header
//!   with `{ header: true }`) and requires only what RFC 7519 §7.2 does of
//!   it: base64url (padding optional; `+`, `/`, whitespace rejected) of a
//!   UTF-8 JSON object. The other parts, the number of parts and the values
//!   of the claims are not its business: a numeric `sub` or an `exp` in
//!   milliseconds decode as they are.
//! - **The session's reading** ([`decode`]): the whole compact JWS (exactly
//!   three parts, header and payload as above, the signature empty or
//!   base64url), then the session's claim rules ([`Claims`]): NumericDate
//!   claims (`exp`, `iat`, `nbf`) must be finite, non-negative JSON numbers
//!   (fractions allowed) below [`MAX_NUMERIC_DATE`], an `exp` above
//!   [`MS_THRESHOLD`] is [`JwtError::ExpInMilliseconds`], `sub` and `jti`
//!   are strings. A token that fails them is opaque to the session (it
//!   schedules from `expires_in`, or not at all).
//!
//! ```
//! use tokenwarden::core::jwt;
//!
//! // The example token of RFC 7519 §3.1.
//! let t = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9\
//!          .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
//!          .dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
//! let d = jwt::decode(t).unwrap();
//! assert_eq!(d.claims.exp, Some(1300819380.0));
//! ```

use super::json::{self, JsonError, Object, Value};

/// A NumericDate (seconds) above this is taken for milliseconds: 10^11 s is
/// the year 5138, while `Date.now()` is about 1.7 * 10^12 today.
pub const MS_THRESHOLD: f64 = 1e11;

/// Largest NumericDate accepted for `iat`/`nbf` (and `exp` below the
/// millisecond check): the same 10^11 seconds.
pub const MAX_NUMERIC_DATE: f64 = MS_THRESHOLD;

/// Above this even a millisecond `exp` is absurd (year ~5138 in ms).
const MAX_MS_EXP: f64 = 1e14;

/// Decodes base64url: padding optional, non-canonical trailing bits
/// tolerated (as browsers' `atob`-based decoders do); `None` when invalid.
///
/// Hand-written instead of the `base64` crate (3 KB of wasm): accepts and
/// rejects exactly what `base64` 0.22's URL_SAFE engine does with
/// `DecodePaddingMode::Indifferent` and trailing bits allowed (checked
/// against it exhaustively in the tests). With `n` symbols before the
/// padding: `n % 4 == 1` is never valid; `=` may only end the input, at
/// most 2 of them after `n % 4 == 2`, 1 after `n % 4 == 3`, none otherwise.
///
/// Four symbols at a time through a lookup table into a buffer of the exact
/// length: `decodeJwt` spends much of its time here.
pub(crate) fn b64url_decode(input: &str) -> Option<Vec<u8>> {
    let body = b64url_body(input)?;
    // Bytes from the 2 or 3 symbols after the last full quad.
    let tail = match body.len() % 4 {
        2 => 1,
        3 => 2,
        _ => 0,
    };
    let mut out = vec![0u8; body.len() / 4 * 3 + tail];
    let mut quads = body.chunks_exact(4);
    for (quad, bytes) in (&mut quads).zip(out.chunks_exact_mut(3)) {
        let n = sextets(quad)?;
        bytes.copy_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    let rest = quads.remainder();
    if !rest.is_empty() {
        // 2 or 3 symbols: 1 or 2 bytes; leftover bits are dropped.
        let n = sextets(rest)? << (6 * (4 - rest.len()));
        let at = out.len() - tail;
        for (i, byte) in out.get_mut(at..)?.iter_mut().enumerate() {
            *byte = (n >> (16 - 8 * i)) as u8;
        }
    }
    Some(out)
}

/// Whether `input` is base64url that [`b64url_decode`] would accept,
/// without decoding it (the signature is checked, never used).
fn b64url_valid(input: &str) -> bool {
    b64url_body(input).is_some_and(|body| body.iter().all(|&c| sextet(c) < 64))
}

/// The symbols before the padding, when the padding is allowed for them.
fn b64url_body(input: &str) -> Option<&[u8]> {
    let bytes = input.as_bytes();
    let body = bytes.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let max_padding = match body % 4 {
        1 => return None,
        2 => 2,
        3 => 1,
        _ => 0,
    };
    if bytes.len() - body > max_padding {
        return None;
    }
    bytes.get(..body)
}

/// Up to four symbols as one big-endian number of 6-bit digits; `None` when
/// one is not base64url.
fn sextets(symbols: &[u8]) -> Option<u32> {
    let mut n = 0u32;
    for &c in symbols {
        let v = sextet(c);
        if v >= 64 {
            return None;
        }
        n = n << 6 | u32::from(v);
    }
    Some(n)
}

/// base64url symbol → value; 255 for every other byte.
#[inline(always)]
fn sextet(c: u8) -> u8 {
    // `get` on a 256-entry table with a `u8` index: no bounds check is emitted.
    B64URL.get(usize::from(c)).copied().unwrap_or(255)
}

/// The base64url alphabet as a lookup table (`A`–`Z`, `a`–`z`, `0`–`9`,
/// `-`, `_` → 0–63), written out: a table built in a loop would index. The
/// exhaustive test against the `base64` crate checks every entry.
#[rustfmt::skip]
static B64URL: [u8; 256] = [
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 62, 255, 255,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 255, 255, 255, 255, 255, 255,
    255, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 255, 255, 255, 255, 63,
    255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
    255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
];

/// Which of the three parts an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header (first part).
    Header,
    /// The claims (second part).
    Payload,
    /// The signature (third part).
    Signature,
}

impl Part {
    /// `header`, `payload` or `signature`.
    pub fn name(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        }
    }

    /// Position in the compact serialisation (0, 1, 2).
    fn index(self) -> usize {
        match self {
            Part::Header => 0,
            Part::Payload => 1,
            Part::Signature => 2,
        }
    }
}

/// The registered claims the session uses, read by its rules (module docs).
/// NumericDates are seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    /// Expiration time (seconds since the epoch, server clock).
    pub exp: Option<f64>,
    /// Issued-at (seconds, server clock): used to estimate clock skew.
    pub iat: Option<f64>,
    /// Not-before (seconds).
    pub nbf: Option<f64>,
    /// Subject.
    pub sub: Option<String>,
    /// Token id.
    pub jti: Option<String>,
}

/// A token as the session reads it ([`decode`]).
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    /// The payload as UTF-8 JSON text (validated), for JS to `JSON.parse`.
    pub payload_json: String,
    /// The registered claims, validated by the session's rules.
    pub claims: Claims,
}

/// Why a token does not decode. Each variant names the part.
#[derive(Clone, Debug, PartialEq)]
pub enum JwtError {
    /// Not exactly three dot-separated parts ([`decode`] only).
    WrongPartCount {
        /// How many parts there were.
        found: usize,
    },
    /// The part asked for is not there: no `.` before the payload
    /// ([`decode_part`] only).
    MissingPart(Part),
    /// Header or payload is empty.
    EmptyPart(Part),
    /// Not base64url (standard-base64 `+`/`/` are rejected too).
    Base64(Part),
    /// Decoded bytes are not UTF-8.
    Utf8(Part),
    /// Not valid JSON.
    Json(Part),
    /// Valid JSON, but not an object.
    NotObject(Part),
    /// A registered claim has a value the session cannot use ([`decode`] only).
    BadClaim {
        /// The claim's name (`exp`, `iat`, `nbf`, `sub`, `jti`).
        claim: &'static str,
        /// Why, in a few words.
        why: &'static str,
    },
    /// `exp` looks like milliseconds (> 10^11), not seconds ([`decode`] only).
    ExpInMilliseconds,
}

impl JwtError {
    /// Stable snake_case reason for JS: `TokenError.reason` of the
    /// `invalid_token` error that `decodeJwt`/`setSession` throw.
    pub fn code(&self) -> &'static str {
        match self {
            JwtError::WrongPartCount { .. } => "wrong_part_count",
            JwtError::MissingPart(_) => "missing_part",
            JwtError::EmptyPart(_) => "empty_part",
            JwtError::Base64(_) => "invalid_base64",
            JwtError::Utf8(_) => "invalid_utf8",
            JwtError::Json(_) => "invalid_json",
            JwtError::NotObject(_) => "not_object",
            JwtError::BadClaim { .. } => "bad_claim",
            JwtError::ExpInMilliseconds => "exp_in_milliseconds",
        }
    }

    /// The part the error is about, when it is about one part.
    pub fn part(&self) -> Option<Part> {
        match self {
            JwtError::MissingPart(p)
            | JwtError::EmptyPart(p)
            | JwtError::Base64(p)
            | JwtError::Utf8(p)
            | JwtError::Json(p)
            | JwtError::NotObject(p) => Some(*p),
            JwtError::BadClaim { .. } | JwtError::ExpInMilliseconds => Some(Part::Payload),
            JwtError::WrongPartCount { .. } => None,
        }
    }

    /// A short English message (static, so no formatting code in the wasm).
    pub fn message(&self) -> &'static str {
        match self {
            JwtError::WrongPartCount { .. } => {
                "token does not have exactly three dot-separated parts"
            }
            JwtError::MissingPart(Part::Header) => "header is missing",
            JwtError::MissingPart(Part::Payload) => "payload is missing (no '.' in the token)",
            JwtError::MissingPart(Part::Signature) => "signature is missing",
            JwtError::EmptyPart(Part::Header) => "header is empty",
            JwtError::EmptyPart(_) => "payload is empty",
            JwtError::Base64(Part::Header) => "header is not base64url",
            JwtError::Base64(Part::Payload) => "payload is not base64url",
            JwtError::Base64(Part::Signature) => "signature is not base64url",
            JwtError::Utf8(Part::Header) => "header is not UTF-8",
            JwtError::Utf8(_) => "payload is not UTF-8",
            JwtError::Json(Part::Header) => "header is not JSON",
            JwtError::Json(_) => "payload is not JSON",
            JwtError::NotObject(Part::Header) => "header is not a JSON object",
            JwtError::NotObject(_) => "payload is not a JSON object",
            JwtError::BadClaim { why, .. } => why,
            JwtError::ExpInMilliseconds => "exp looks like milliseconds, not seconds",
        }
    }
}

// ----- decoding (`decodeJwt`) ----------------------------------------------

/// Decodes one part of a token, the way `decodeJwt` does: the UTF-8 JSON
/// text of the header ([`Part::Header`]) or of the claims ([`Part::Payload`];
/// a signature, [`Part::Signature`], is not JSON and never decodes).
/// Only that part is looked at, and only RFC 7519's requirements apply:
/// base64url of a UTF-8 JSON object. Claim values are not checked.
///
/// ```
/// use tokenwarden::core::jwt::{decode_part, JwtError, Part};
///
/// // `{"alg":"none"}` . `{"sub":42,"exp":1700000000000}` . (no signature)
/// let t = "eyJhbGciOiJub25lIn0.eyJzdWIiOjQyLCJleHAiOjE3MDAwMDAwMDAwMDB9.";
/// assert_eq!(decode_part(t, Part::Payload).unwrap(), r#"{"sub":42,"exp":1700000000000}"#);
/// assert_eq!(decode_part(t, Part::Header).unwrap(), r#"{"alg":"none"}"#);
/// assert_eq!(decode_part("abc", Part::Payload), Err(JwtError::MissingPart(Part::Payload)));
/// ```
pub fn decode_part(token: &str, part: Part) -> Result<String, JwtError> {
    let b64 = token
        .split('.')
        .nth(part.index())
        .ok_or(JwtError::MissingPart(part))?;
    let text = utf8_part(b64, part)?;
    match json::top_level_keeping(&text, Some(&[])) {
        Ok(_) => Ok(text),
        Err(e) => Err(json_error(e, part)),
    }
}

/// base64url → UTF-8 text of one part.
fn utf8_part(b64: &str, part: Part) -> Result<String, JwtError> {
    if b64.is_empty() {
        return Err(JwtError::EmptyPart(part));
    }
    let bytes = b64url_decode(b64).ok_or(JwtError::Base64(part))?;
    String::from_utf8(bytes).map_err(|_| JwtError::Utf8(part))
}

fn json_error(e: JsonError, part: Part) -> JwtError {
    match e {
        JsonError::NotObject => JwtError::NotObject(part),
        JsonError::Syntax { .. } | JsonError::TooDeep => JwtError::Json(part),
    }
}

// ----- the session's reading -------------------------------------------------

/// Reads a compact JWS for the session: the structure (three parts; header
/// and payload UTF-8 JSON objects; the signature empty or base64url), then
/// the session's claim rules. A token that fails either is opaque to the
/// session.
pub fn decode(token: &str) -> Result<DecodedJwt, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::WrongPartCount {
            found: token.split('.').count(),
        });
    };
    // Header first: errors name the first bad part in reading order. Only the
    // registered claims are kept; JS parses the whole payload itself.
    json_object(h, Part::Header, &[])?;
    let (payload_json, payload) = json_object(p, Part::Payload, &CLAIM_NAMES)?;
    if !s.is_empty() && !b64url_valid(s) {
        return Err(JwtError::Base64(Part::Signature));
    }
    let claims = session_claims(&payload)?;
    Ok(DecodedJwt {
        payload_json,
        claims,
    })
}

/// The claims [`Claims`] reads.
const CLAIM_NAMES: [&str; 5] = ["exp", "iat", "nbf", "sub", "jti"];

/// base64url → UTF-8 → JSON object, keeping only the members in `keep`.
fn json_object(b64: &str, part: Part, keep: &[&str]) -> Result<(String, Object), JwtError> {
    let text = utf8_part(b64, part)?;
    let obj = json::top_level_keeping(&text, Some(keep)).map_err(|e| json_error(e, part))?;
    Ok((text, obj))
}

/// The session's claim rules (module docs): what it needs of `exp`, `iat`,
/// `nbf` to schedule refreshes and estimate skew, of `sub` to own drafts.
fn session_claims(payload: &Object) -> Result<Claims, JwtError> {
    // A too-large `exp` that would be a plausible date in milliseconds gets
    // its own error: the usual mistake of a server writing `Date.now()`.
    let exp = numeric_date(payload, "exp", MAX_MS_EXP)?;
    if exp.is_some_and(|v| v > MAX_NUMERIC_DATE) {
        return Err(JwtError::ExpInMilliseconds);
    }
    Ok(Claims {
        exp,
        iat: numeric_date(payload, "iat", MAX_NUMERIC_DATE)?,
        nbf: numeric_date(payload, "nbf", MAX_NUMERIC_DATE)?,
        sub: string_claim(payload, "sub")?,
        jti: string_claim(payload, "jti")?,
    })
}

const TOO_LARGE: &str = "NumericDate is too large";

/// A NumericDate claim: absent, or a finite number in `0..=max`.
fn numeric_date(payload: &Object, claim: &'static str, max: f64) -> Result<Option<f64>, JwtError> {
    let bad = |why| Err(JwtError::BadClaim { claim, why });
    match payload.get(claim) {
        None => Ok(None),
        Some(Value::Num(v)) => {
            let v = *v;
            if !v.is_finite() {
                bad("NumericDate is not finite")
            } else if v < 0.0 {
                bad("NumericDate is negative")
            } else if v > max {
                bad(TOO_LARGE)
            } else {
                Ok(Some(v))
            }
        }
        Some(_) => bad("NumericDate is not a number"),
    }
}

fn string_claim(payload: &Object, claim: &'static str) -> Result<Option<String>, JwtError> {
    match payload.get(claim) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s.clone())),
        Some(_) => Err(JwtError::BadClaim {
            claim,
            why: "claim is not a string",
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    /// The reference: what `decode` used before `b64url_decode`.
    fn reference(input: &str) -> Option<Vec<u8>> {
        use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
        use base64::engine::DecodePaddingMode;
        const B64URL: GeneralPurpose = GeneralPurpose::new(
            &base64::alphabet::URL_SAFE,
            GeneralPurposeConfig::new()
                .with_decode_padding_mode(DecodePaddingMode::Indifferent)
                .with_decode_allow_trailing_bits(true),
        );
        B64URL.decode(input).ok()
    }

    /// Every string of up to 8 symbols over an alphabet that covers each
    /// class (valid symbols with and without trailing bits, `=`, standard
    /// base64's `+`/`/`, space, a non-ASCII char), and long random strings:
    /// same result as the `base64` crate.
    #[test]
    fn b64url_matches_the_base64_crate() {
        let symbols = ["A", "Q", "_", "-", "=", "+", "/", " ", "é"];
        let mut current = vec![String::new()];
        let mut checked = 0;
        for _len in 0..=6 {
            let mut longer = Vec::new();
            for s in &current {
                assert_eq!(b64url_decode(s), reference(s), "{s:?}");
                checked += 1;
                for sym in symbols {
                    longer.push(format!("{s}{sym}"));
                }
            }
            current = longer;
        }
        // Length 7 and 8 over the symbols that matter for padding rules.
        let mut current: Vec<String> = current
            .into_iter()
            .filter(|s| s.bytes().all(|b| b"AQ_=".contains(&b)))
            .collect();
        for _len in 7..=8 {
            let mut longer = Vec::new();
            for s in &current {
                for sym in ["A", "_", "="] {
                    let t = format!("{s}{sym}");
                    assert_eq!(b64url_decode(&t), reference(&t), "{t:?}");
                    checked += 1;
                    longer.push(t);
                }
            }
            current = longer;
        }
        let mut rng: u64 = 7;
        for _ in 0..20_000 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let bytes: Vec<u8> = (0..rng % 200).map(|i| (rng >> (i % 50)) as u8).collect();
            let text = base64::engine::general_purpose::URL_SAFE.encode(&bytes);
            for t in [
                text.clone(),
                text.trim_end_matches('=').to_string(),
                format!("{text}="),
            ] {
                assert_eq!(b64url_decode(&t), reference(&t), "{t:?}");
                checked += 1;
            }
        }
        assert!(checked > 500_000);
    }

    fn tok(payload: &str) -> String {
        format!("{}.{}.sig", b64(r#"{"alg":"HS256"}"#), b64(payload))
    }

    #[test]
    fn part_names_and_codes() {
        assert_eq!(Part::Signature.name(), "signature");
        assert_eq!(JwtError::Base64(Part::Header).code(), "invalid_base64");
        assert_eq!(JwtError::Base64(Part::Header).part(), Some(Part::Header));
        assert_eq!(JwtError::ExpInMilliseconds.part(), Some(Part::Payload));
        assert_eq!(JwtError::WrongPartCount { found: 1 }.part(), None);
    }

    #[test]
    fn ms_exp_and_absurd_exp() {
        assert_eq!(
            decode(&tok(r#"{"exp":1700000000000}"#)),
            Err(JwtError::ExpInMilliseconds)
        );
        assert_eq!(
            decode(&tok(r#"{"exp":1e300}"#)),
            Err(JwtError::BadClaim {
                claim: "exp",
                why: TOO_LARGE
            })
        );
        assert_eq!(
            decode(&tok(r#"{"iat":1700000000000}"#)),
            Err(JwtError::BadClaim {
                claim: "iat",
                why: TOO_LARGE
            })
        );
    }
}
