//! A small validating JSON reader: enough to check that a JWT part or a token
//! response is a JSON object and to pull out its top-level scalar members.
//! Hand-written instead of serde_json to keep the wasm small (issue 7: the
//! whole package must gzip to <= 14 KB).
//!
//! The whole text is validated against RFC 8259 (with nesting limited to
//! [`MAX_DEPTH`] so hostile input cannot overflow the stack), but only the
//! members of the top-level object are kept: strings unescaped (including
//! `\uXXXX` surrogate pairs), numbers as `f64`, booleans and `null`. Nested
//! objects and arrays are validated and reported as [`Value::Nested`].
//! [`parse`] keeps the whole tree instead (the drafts format, whose fields
//! are nested): one reader for every JSON the crate reads.
//!
//! ```
//! use tokenwarden::core::json;
//!
//! let body = json::top_level(r#"{"access_token":"a.b.c","expires_in":300,"x":[1,{}]}"#).unwrap();
//! assert_eq!(body.get_str("access_token"), Some("a.b.c"));
//! assert_eq!(body.get_num("expires_in"), Some(300.0));
//! assert!(json::top_level("[1,2]").is_err());
//! ```

use std::borrow::Cow;

/// Deepest nesting accepted (the top-level object counts as 1).
pub const MAX_DEPTH: usize = 64;

/// Why a text is not acceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonError {
    /// Not JSON: the byte offset where the grammar broke.
    Syntax {
        /// Byte offset into the text.
        offset: usize,
    },
    /// Nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Valid JSON, but the top-level value is not an object.
    NotObject,
}

impl JsonError {
    /// Stable snake_case code (`json_syntax`, `json_too_deep`, `json_not_object`).
    pub fn code(&self) -> &'static str {
        match self {
            JsonError::Syntax { .. } => "json_syntax",
            JsonError::TooDeep => "json_too_deep",
            JsonError::NotObject => "json_not_object",
        }
    }
}

/// A top-level member's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A number (huge exponents become infinities: callers check finiteness).
    Num(f64),
    /// A string, unescaped. Lone surrogate escapes become U+FFFD.
    Str(String),
    /// An object or an array (validated, not kept), from [`top_level`].
    Nested,
    /// An array, from [`parse`].
    Arr(Vec<Value>),
    /// An object, from [`parse`].
    Obj(Object),
}

/// The members of a top-level JSON object, in document order. Lookups return
/// the *last* member of a name, as `JSON.parse` does.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Object {
    members: Vec<(String, Value)>,
}

impl Object {
    /// The value of member `key`, if present.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.members
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Member `key` if it is a string.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    /// Member `key` if it is a number.
    pub fn get_num(&self, key: &str) -> Option<f64> {
        match self.get(key) {
            Some(Value::Num(n)) => Some(*n),
            _ => None,
        }
    }

    /// Member `key` if it is a boolean.
    pub fn get_bool(&self, key: &str) -> Option<bool> {
        match self.get(key) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// Whether member `key` exists (with any value, `null` included).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Number of members (duplicates counted).
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// All members in document order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// Validate `text` as JSON whose top-level value is an object, and return
/// that object's members.
pub fn top_level(text: &str) -> Result<Object, JsonError> {
    top_level_keeping(text, None)
}

/// Like [`top_level`], but keep only the members named in `keep` (`None`:
/// all). The others are validated but never copied: decoding a token only
/// needs a handful of claims, and the rest of its payload is left to
/// `JSON.parse` in JS.
pub fn top_level_keeping(text: &str, keep: Option<&[&str]>) -> Result<Object, JsonError> {
    let mut p = Parser::new(text);
    p.ws();
    if p.peek() != Some(b'{') {
        // Distinguish "valid JSON but not an object" from "not JSON".
        p.value(1)?;
        p.ws();
        return Err(if p.i == p.s.len() {
            JsonError::NotObject
        } else {
            p.err()
        });
    }
    p.names = keep;
    let Value::Obj(obj) = p.any(1, Keep::Members)? else {
        return Err(p.err()); // not reached: the text starts with `{`
    };
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err());
    }
    Ok(obj)
}

/// Validate `text` as any JSON value (RFC 8259, depth-limited).
pub fn validate(text: &str) -> Result<(), JsonError> {
    let mut p = Parser::new(text);
    p.ws();
    p.value(1)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err());
    }
    Ok(())
}

/// Parse `text` as any JSON value, keeping nested objects and arrays.
/// `strict`: a lone surrogate escape (`"\ud800"`) is an error instead of
/// U+FFFD.
///
/// ```
/// use tokenwarden::core::json::{self, Value};
///
/// let Value::Obj(o) = json::parse(r#"{"m": ["a", 1]}"#, false).unwrap() else { panic!() };
/// assert_eq!(o.get("m"), Some(&Value::Arr(vec![Value::Str("a".into()), Value::Num(1.0)])));
/// assert!(json::parse(r#""\ud800""#, true).is_err());
/// ```
pub fn parse(text: &str, strict: bool) -> Result<Value, JsonError> {
    let mut p = Parser::new(text);
    p.strict = strict;
    p.ws();
    let value = p.tree(1)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err());
    }
    Ok(value)
}

/// Whether forgetting `value` leaks nothing: the placeholders
/// [`Parser::any`] returns for what it does not keep.
fn holds_no_allocation(value: &Value) -> bool {
    match value {
        Value::Str(s) => s.capacity() == 0,
        Value::Arr(items) => items.capacity() == 0,
        Value::Obj(o) => o.members.capacity() == 0,
        Value::Null | Value::Bool(_) | Value::Num(_) | Value::Nested => true,
    }
}

/// What [`Parser::any`] keeps of a value.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    /// Nothing: validate only.
    Nothing,
    /// Strings, numbers, booleans; nested values validated only.
    Scalars,
    /// Everything, nested values included.
    All,
    /// The members of an object (the top level of [`top_level_keeping`])
    /// named in [`Parser::names`], each as [`Keep::Scalars`]; the others
    /// validated only.
    Members,
}

struct Parser<'a> {
    /// The text, for slicing out strings without checking their UTF-8 again.
    text: &'a str,
    s: &'a [u8],
    i: usize,
    /// Lone surrogate escapes are errors (else they become U+FFFD).
    strict: bool,
    /// For [`Keep::Members`]: the member names to keep (`None`: all).
    names: Option<&'a [&'a str]>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        Parser {
            text,
            s: text.as_bytes(),
            i: 0,
            strict: false,
            names: None,
        }
    }

    fn err(&self) -> JsonError {
        JsonError::Syntax { offset: self.i }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Result<(), JsonError> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), JsonError> {
        if self.s.get(self.i..self.i + word.len()) == Some(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    /// Any value at nesting `depth`, kept with its nested values ([`parse`]).
    fn tree(&mut self, depth: usize) -> Result<Value, JsonError> {
        self.any(depth, Keep::All)
    }

    /// Any value at nesting `depth`, validated and discarded.
    fn value(&mut self, depth: usize) -> Result<(), JsonError> {
        self.any(depth, Keep::Nothing).map(drop)
    }

    /// Any value at nesting `depth` (objects and arrays recursively, bounded
    /// by `MAX_DEPTH`): one walker for the three uses. What is not kept
    /// comes back as an empty placeholder (`""`, [`Value::Nested`]) without
    /// allocating.
    fn any(&mut self, depth: usize, keep: Keep) -> Result<Value, JsonError> {
        let keyed = match self.peek() {
            Some(b'{') => true,
            Some(b'[') => false,
            Some(b'"') => return Ok(Value::Str(self.string(keep != Keep::Nothing)?)),
            Some(b't') => return self.literal(b"true").map(|()| Value::Bool(true)),
            Some(b'f') => return self.literal(b"false").map(|()| Value::Bool(false)),
            Some(b'n') => return self.literal(b"null").map(|()| Value::Null),
            _ => return self.number().map(Value::Num),
        };
        if depth > MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        let all = keep == Keep::All;
        let members_mode = keep == Keep::Members;
        let close = if keyed { b'}' } else { b']' };
        self.i += 1; // the opening bracket
        let mut members = Vec::new();
        let mut items = Vec::new();
        self.ws();
        if self.peek() != Some(close) {
            loop {
                self.ws();
                let mut inner = if all { Keep::All } else { Keep::Nothing };
                let key = if keyed {
                    // Names are borrowed when they have no escapes: most
                    // members of a token are skipped and never copied.
                    let key = if all || members_mode {
                        self.key()?
                    } else {
                        Cow::Owned(self.string(false)?)
                    };
                    self.ws();
                    self.eat(b':')?;
                    self.ws();
                    if members_mode && !self.names.is_some_and(|n| !n.contains(&&*key)) {
                        inner = Keep::Scalars;
                    }
                    Some(key)
                } else {
                    None
                };
                let value = self.any(depth + 1, inner)?;
                if all || inner == Keep::Scalars {
                    match key {
                        Some(key) => members.push((key.into_owned(), value)),
                        None => items.push(value),
                    }
                } else {
                    // Nothing was kept, so nothing was allocated (checked in
                    // debug builds, which the tests and the fuzzer run):
                    // skip the drop glue, which showed on the hot path of
                    // token decoding.
                    debug_assert!(holds_no_allocation(&value));
                    core::mem::forget(value);
                }
                self.ws();
                match self.peek() {
                    Some(b',') => self.i += 1,
                    Some(c) if c == close => break,
                    _ => return Err(self.err()),
                }
            }
        }
        self.i += 1;
        Ok(if !all && !members_mode {
            Value::Nested
        } else if keyed {
            Value::Obj(Object { members })
        } else {
            Value::Arr(items)
        })
    }

    /// A number per the RFC 8259 grammar.
    ///
    /// Converted without `str::parse::<f64>` (whose correctly-rounding
    /// machinery costs kilobytes of wasm): up to 19 significant digits are
    /// kept in a `u64`, then scaled by a power of ten. With at most 15–16
    /// digits and a decimal exponent within ±22 (every NumericDate and
    /// `expires_in` in practice) the result is exact or correctly rounded
    /// (one IEEE operation on exact operands); beyond that it may be off by
    /// an ulp or so, which no caller here can notice.
    fn number(&mut self) -> Result<f64, JsonError> {
        let negative = self.peek() == Some(b'-');
        if negative {
            self.i += 1;
        }
        let mut mantissa: u64 = 0;
        let mut exp10: i64 = 0;
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while let Some(c @ b'0'..=b'9') = self.peek() {
                    push_digit(&mut mantissa, &mut exp10, c - b'0', false);
                    self.i += 1;
                }
            }
            _ => return Err(self.err()),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err());
            }
            while let Some(c @ b'0'..=b'9') = self.peek() {
                push_digit(&mut mantissa, &mut exp10, c - b'0', true);
                self.i += 1;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            let exp_negative = self.peek() == Some(b'-');
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if !matches!(self.peek(), Some(b'0'..=b'9')) {
                return Err(self.err());
            }
            let mut e: i64 = 0;
            while let Some(c @ b'0'..=b'9') = self.peek() {
                e = (e * 10 + i64::from(c - b'0')).min(1_000_000);
                self.i += 1;
            }
            exp10 += if exp_negative { -e } else { e };
        }
        let magnitude = if mantissa == 0 {
            0.0
        } else if (-22..=22).contains(&exp10) && mantissa < (1 << 53) {
            let scale = pow10(exp10.unsigned_abs() as u32);
            if exp10 < 0 {
                mantissa as f64 / scale
            } else {
                mantissa as f64 * scale
            }
        } else {
            // Far outside what tokens carry: overflow to infinity (callers
            // reject it) or underflow to zero is the point.
            let e = exp10.clamp(-1000, 1000) as i32;
            let m = mantissa as f64;
            if e < -300 {
                m * pow10_i(-300) * pow10_i(e + 300)
            } else {
                m * pow10_i(e)
            }
        };
        Ok(if negative { -magnitude } else { magnitude })
    }

    /// A member name: borrowed from the text when it has no escapes (most
    /// names are skipped when decoding a token, so they are not copied).
    fn key(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.i;
        self.eat(b'"')?;
        let run = self.i;
        self.plain_run();
        if self.peek() == Some(b'"') {
            if let Some(name) = self.text.get(run..self.i) {
                self.i += 1;
                return Ok(Cow::Borrowed(name));
            }
        }
        self.i = start;
        self.string(true).map(Cow::Owned)
    }

    /// Skips bytes that stand for themselves inside a string. (A search in a
    /// local slice: the hot loop of token decoding, twice as fast as
    /// stepping `self.i`.)
    fn plain_run(&mut self) {
        let rest = self.s.get(self.i..).unwrap_or_default();
        self.i += rest
            .iter()
            .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
            .unwrap_or(rest.len());
    }

    /// A string; unescaped into a `String` only when `keep`, otherwise just
    /// validated.
    fn string(&mut self, keep: bool) -> Result<String, JsonError> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            // Copy the run of plain bytes at once. The input came from a
            // `&str`, so any run that stops at an ASCII byte is valid UTF-8.
            let run = self.i;
            self.plain_run();
            if keep && self.i > run {
                let chunk = self
                    .text
                    .get(run..self.i)
                    .ok_or(JsonError::Syntax { offset: run })?;
                out.push_str(chunk);
            }
            match self.peek() {
                Some(b'"') => {
                    self.i += 1;
                    return Ok(out);
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = self.escape()?;
                    if keep {
                        out.push(c);
                    }
                }
                // A raw control character or the end of the text.
                _ => return Err(self.err()),
            }
        }
    }

    /// The character of an escape sequence (after the backslash).
    fn escape(&mut self) -> Result<char, JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.i += 1;
                let hi = self.hex4()?;
                if (0xD800..0xDC00).contains(&hi) {
                    // A high surrogate: pair it with a following low one.
                    if self.s.get(self.i..self.i + 2) == Some(b"\\u") {
                        let save = self.i;
                        self.i += 2;
                        let lo = self.hex4()?;
                        if (0xDC00..0xE000).contains(&lo) {
                            let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                            return Ok(char::from_u32(code).unwrap_or('\u{FFFD}'));
                        }
                        // Not a low surrogate: leave it to be read on its own.
                        self.i = save;
                    }
                    return self.lone_surrogate();
                }
                return match char::from_u32(hi) {
                    Some(c) => Ok(c),
                    None => self.lone_surrogate(),
                };
            }
            _ => return Err(self.err()),
        };
        self.i += 1;
        Ok(c)
    }

    /// What a lone surrogate escape reads as: U+FFFD, or an error when strict.
    fn lone_surrogate(&self) -> Result<char, JsonError> {
        if self.strict {
            Err(self.err())
        } else {
            Ok('\u{FFFD}')
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.peek() {
                Some(c @ b'0'..=b'9') => c - b'0',
                Some(c @ b'a'..=b'f') => c - b'a' + 10,
                Some(c @ b'A'..=b'F') => c - b'A' + 10,
                _ => return Err(self.err()),
            };
            v = v * 16 + u32::from(d);
            self.i += 1;
        }
        Ok(v)
    }
}

/// Append a decimal digit to the mantissa while it has room (19 digits);
/// an integer digit without room bumps the exponent instead, a fraction
/// digit without room is dropped.
fn push_digit(mantissa: &mut u64, exp10: &mut i64, digit: u8, fraction: bool) {
    if *mantissa < 1_000_000_000_000_000_000 {
        *mantissa = *mantissa * 10 + u64::from(digit);
        if fraction {
            *exp10 -= 1;
        }
    } else if !fraction {
        *exp10 += 1;
    }
}

/// 10^n, exact for n <= 22.
fn pow10(n: u32) -> f64 {
    let mut v = 1.0;
    for _ in 0..n {
        v *= 10.0;
    }
    v
}

/// 10^e for any `e` (repeated multiplication; inexact beyond 10^22).
fn pow10_i(e: i32) -> f64 {
    if e >= 0 {
        pow10(e.unsigned_abs())
    } else {
        1.0 / pow10(e.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_and_escapes() {
        let o = top_level(
            r#" { "a" : "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "n": -1.5e2, "t": true, "f": false, "z": null, "o": {"k": [1, "2", {}]} } "#,
        )
        .unwrap();
        assert_eq!(o.get_str("a"), Some("x\"\\/\u{8}\u{c}\n\r\té😀"));
        assert_eq!(o.get_num("n"), Some(-150.0));
        assert_eq!(o.get_bool("t"), Some(true));
        assert_eq!(o.get_bool("f"), Some(false));
        assert_eq!(o.get("z"), Some(&Value::Null));
        assert_eq!(o.get("o"), Some(&Value::Nested));
        assert_eq!(o.len(), 6);
        assert!(o.get("missing").is_none());
    }

    #[test]
    fn last_duplicate_wins() {
        let o = top_level(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(o.get_num("a"), Some(2.0));
    }

    #[test]
    fn lone_surrogates_become_replacement() {
        let o = top_level(r#"{"a":"\ud800x","b":"\udc00","c":"\ud800\u0041"}"#).unwrap();
        assert_eq!(o.get_str("a"), Some("\u{FFFD}x"));
        assert_eq!(o.get_str("b"), Some("\u{FFFD}"));
        assert_eq!(o.get_str("c"), Some("\u{FFFD}A"));
    }

    #[test]
    fn not_object_vs_syntax() {
        for t in ["[]", "1", "\"s\"", "null", " true "] {
            assert_eq!(top_level(t), Err(JsonError::NotObject), "{t}");
        }
        for t in [
            "",
            "{",
            "{]",
            "{\"a\"}",
            "{\"a\":}",
            "{\"a\":1,}",
            "{,}",
            "{'a':1}",
            "{\"a\":01}",
            "{\"a\":1.}",
            "{\"a\":.5}",
            "{\"a\":-}",
            "{\"a\":1e}",
            "{\"a\":+1}",
            "{\"a\":tru}",
            "{\"a\":\"\u{1}\"}",
            "{\"a\":\"\\x\"}",
            "{\"a\":\"\\u12\"}",
            "{} x",
            "[1,]",
            "{\"a\":NaN}",
            "{\"a\":Infinity}",
            "{\"a\":[1 2]}",
            "{\"a\":\"unterminated}",
        ] {
            assert!(
                matches!(top_level(t), Err(JsonError::Syntax { .. })),
                "{t:?}"
            );
        }
        assert!(matches!(top_level("[1,]"), Err(JsonError::Syntax { .. })));
    }

    #[test]
    fn depth_is_limited() {
        let ok = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(top_level(&ok).is_ok());
        let deep = format!(
            "{{\"a\":{}1{}}}",
            "[".repeat(MAX_DEPTH),
            "]".repeat(MAX_DEPTH)
        );
        assert_eq!(top_level(&deep), Err(JsonError::TooDeep));
        // Far deeper than any stack could take recursively: still an error, no crash.
        let hostile = "[".repeat(1_000_000);
        assert_eq!(validate(&hostile), Err(JsonError::TooDeep));
    }

    #[test]
    fn numbers_convert_exactly_in_the_token_range() {
        let cases = [
            ("0", 0.0),
            ("-0", -0.0),
            ("1700000000", 1_700_000_000.0),
            ("1700000900.5", 1_700_000_900.5),
            ("1700000000000", 1_700_000_000_000.0),
            ("0.25", 0.25),
            ("-1.5e2", -150.0),
            ("15E-1", 1.5),
            ("1e+3", 1000.0),
            ("300", 300.0),
            ("0.1", 0.1),
            ("123.456", 123.456),
            ("9007199254740993", 9_007_199_254_740_992.0),
            ("12345678901234567890123", 1.2345678901234568e22),
            ("1e-400", 0.0),
        ];
        for (text, want) in cases {
            let o = top_level(&format!("{{\"n\":{text}}}")).unwrap();
            assert_eq!(o.get_num("n"), Some(want), "{text}");
            // Agrees with the standard parser wherever the fast path applies.
            assert_eq!(text.parse::<f64>().unwrap(), want, "{text}");
        }
    }

    #[test]
    fn big_numbers_are_infinite_not_errors() {
        let o = top_level(r#"{"a":1e400}"#).unwrap();
        assert_eq!(o.get_num("a"), Some(f64::INFINITY));
    }

    #[test]
    fn validate_accepts_any_value() {
        assert!(validate(" [1, \"a\", {\"b\": null}] ").is_ok());
        assert!(validate("1 2").is_err());
    }

    #[test]
    fn keeping_only_some_members_still_validates_the_rest() {
        let text = r#"{"a": "x", "exp": 1, "big": {"n": [1, 2]}, "sub": "u", "exp": 2}"#;
        let o = top_level_keeping(text, Some(&["exp", "sub"])).unwrap();
        assert_eq!(o.len(), 3, "only the kept members (both exp)");
        assert!(!o.contains("a") && !o.contains("big"));
        assert_eq!(o.get_num("exp"), Some(2.0), "the last one still wins");
        assert_eq!(o.get_str("sub"), Some("u"));
        // A malformed member that is not kept is still an error.
        for bad in [
            r#"{"a": "unterminated, "exp": 1}"#,
            r#"{"a": [1, 2, "exp": 1}"#,
            r#"{"a": tru, "exp": 1}"#,
            r#"{"a": 01, "exp": 1}"#,
        ] {
            assert!(top_level_keeping(bad, Some(&["exp"])).is_err(), "{bad}");
            assert!(top_level(bad).is_err(), "{bad}");
        }
        // Nothing kept: a plain validation of the object.
        assert!(top_level_keeping(r#"{"alg": "HS256"}"#, Some(&[]))
            .unwrap()
            .is_empty());
        assert_eq!(
            top_level_keeping("[1]", Some(&[])),
            Err(JsonError::NotObject)
        );
    }

    #[test]
    fn parse_keeps_nested_values() {
        let v = parse(
            r#" {"a": [1, "x", {"b": null}], "c": {}, "d": [] } "#,
            false,
        )
        .unwrap();
        let Value::Obj(o) = v else {
            panic!("not an object")
        };
        let mut inner = Object::default();
        inner.members.push(("b".into(), Value::Null));
        assert_eq!(
            o.get("a"),
            Some(&Value::Arr(vec![
                Value::Num(1.0),
                Value::Str("x".into()),
                Value::Obj(inner)
            ]))
        );
        assert_eq!(o.get("c"), Some(&Value::Obj(Object::default())));
        assert_eq!(o.get("d"), Some(&Value::Arr(Vec::new())));
        // Any value at the top, same grammar as `validate`.
        assert_eq!(parse(" 5 ", false), Ok(Value::Num(5.0)));
        assert_eq!(parse("\"s\"", false), Ok(Value::Str("s".into())));
        for bad in [
            "",
            "[1,]",
            "{\"a\" 1}",
            "{\"a\":1,}",
            "[1 2]",
            "{} x",
            "[01]",
            "{1:2}",
        ] {
            assert!(
                matches!(parse(bad, false), Err(JsonError::Syntax { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn parse_depth_is_limited() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok, false).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(parse(&deep, false), Err(JsonError::TooDeep));
        assert_eq!(
            parse(&"[".repeat(1_000_000), false),
            Err(JsonError::TooDeep)
        );
    }

    #[test]
    fn strict_parse_refuses_lone_surrogates() {
        for text in [
            r#""\ud800""#,
            r#""\udc00""#,
            r#""\ud800\u0041""#,
            r#""\ud800x""#,
        ] {
            assert!(
                matches!(parse(text, true), Err(JsonError::Syntax { .. })),
                "{text}"
            );
            // Lenient: U+FFFD, as `top_level` reads token members.
            let Ok(Value::Str(s)) = parse(text, false) else {
                panic!("{text}")
            };
            assert!(s.starts_with('\u{FFFD}'), "{text}");
        }
        assert_eq!(
            parse(r#""\ud83d\ude00""#, true),
            Ok(Value::Str("\u{1F600}".into()))
        );
    }
}
