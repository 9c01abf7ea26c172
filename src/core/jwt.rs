//! Compact-JWS decoding (no signature verification: the client cannot and
//! need not verify; it only needs the claims to schedule refreshes).
//!
//! CONTRACT (shared with `crate::web`): `decode`, `DecodedJwt`, `Claims`,
//! `JwtError`, `Part` are used by the browser layer.

/// Which of the three parts an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Header,
    Payload,
    Signature,
}

/// The registered claims the engine uses. NumericDates are seconds.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Claims {
    pub exp: Option<f64>,
    pub iat: Option<f64>,
    pub nbf: Option<f64>,
    pub sub: Option<String>,
    pub jti: Option<String>,
}

/// A decoded token.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodedJwt {
    /// The payload as UTF-8 JSON text (validated), for JS to `JSON.parse`.
    pub payload_json: String,
    pub claims: Claims,
}

/// Why a token does not decode. Each variant names the part.
#[derive(Clone, Debug, PartialEq)]
pub enum JwtError {
    /// Not exactly three dot-separated parts.
    WrongPartCount { found: usize },
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
    /// A registered claim has a bad value.
    BadClaim { claim: &'static str, why: &'static str },
    /// `exp` looks like milliseconds (> 10^11), not seconds.
    ExpInMilliseconds,
}

/// Decode a compact JWS.
pub fn decode(token: &str) -> Result<DecodedJwt, JwtError> {
    let _ = token;
    unimplemented!("core engine: issue 8")
}
