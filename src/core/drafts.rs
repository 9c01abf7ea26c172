//! Form-draft policy and the login-redirect rules, as pure functions.
//!
//! When a session ends for good, the browser layer (`crate::web::drafts`)
//! saves what the user typed into `form[data-draft]` forms and restores it
//! after the next sign-in. Everything that can be decided without a DOM lives
//! here, so it is tested on the host:
//!
//! - which fields may ever be stored ([`field_savable`]: [`classify_input`],
//!   [`autocomplete_forbids`], [`marked_off`], and the name/id heuristics
//!   [`sensitive_name`] over [`name_words`], which `data-draft="on"`
//!   overrides): never passwords, files, hidden inputs, buttons, card data,
//!   one-time codes or fields whose name says they hold a secret;
//! - the storage key ([`draft_key`], [`page_prefix`]) and the stored value
//!   ([`Draft::to_json`], [`Draft::from_json`]), a small versioned JSON
//!   document written and read by hand (no serde: the wasm must stay small);
//! - who may see a draft ([`Draft::restorable_by`]: same `sub`, not expired)
//!   and which drafts to evict first when storage is full ([`eviction_order`]);
//! - the login redirect: [`validate_return_to`] accepts only a same-origin
//!   path (`/…`), and [`redirect_origin_allowed`] keeps the redirect on the
//!   page's origin or an origin the app listed in `allowedOrigins`.
//!
//! ```
//! use tokenwarden::core::drafts::{validate_return_to, Draft, DraftField, FieldValue};
//!
//! assert!(validate_return_to("/orders/new?step=2#notes").is_ok());
//! assert!(validate_return_to("//evil.example").is_err());
//!
//! let draft = Draft {
//!     url: "/orders/new".into(),
//!     saved_at: 1_000,
//!     expires_at: 2_000,
//!     sub: Some("user-1".into()),
//!     fields: vec![DraftField { name: "note".into(), nth: 0, value: FieldValue::Text("hi".into()) }],
//! };
//! let json = draft.to_json();
//! assert_eq!(Draft::from_json(&json), Ok(draft));
//! ```

use super::json::{self, Value};
use super::{ConfigError, Millis};

/// Every key this library writes to `localStorage` starts with this. The
/// `v1` is the format version: a future format uses a new prefix, and old
/// entries simply expire.
pub const KEY_PREFIX: &str = "tokenwarden:draft:v1:";

/// Default `drafts.selector`.
pub const DEFAULT_SELECTOR: &str = "form[data-draft]";
/// Default `drafts.ttlSeconds`: 24 hours.
pub const DEFAULT_TTL_MS: Millis = 24 * 60 * 60 * 1000;
/// Longest accepted `drafts.ttlSeconds`: 30 days. Drafts are plaintext user
/// input on a possibly shared computer; they should not live for months.
pub const MAX_TTL_MS: Millis = 30 * 24 * 60 * 60 * 1000;
/// Default `drafts.autosaveDelaySeconds`: save one second after the last keystroke.
pub const DEFAULT_AUTOSAVE_DELAY_MS: Millis = 1000;
/// Longest accepted `drafts.autosaveDelaySeconds`.
pub const MAX_AUTOSAVE_DELAY_MS: Millis = 60_000;
/// Default name of the query parameter that carries the return path.
pub const DEFAULT_RETURN_PARAM: &str = "returnTo";

/// When drafts are put back into their forms after sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreMode {
    /// Right after `setSession` (default).
    Auto,
    /// Only when the app calls `auth.drafts.restore()`.
    Manual,
}

/// The `drafts` option as the app gives it (`None` = default). The browser
/// layer reads it from JS; `drafts: false` never gets here.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RawDraftConfig {
    /// `drafts.selector`: CSS selector of the forms to save.
    pub selector: Option<String>,
    /// `drafts.ttlSeconds`: how long a draft stays restorable.
    pub ttl_seconds: Option<f64>,
    /// `drafts.autosave`: also save while the user types.
    pub autosave: Option<bool>,
    /// `drafts.autosaveDelaySeconds`: the autosave debounce.
    pub autosave_delay_seconds: Option<f64>,
    /// `drafts.restore`: `"auto"` or `"manual"`.
    pub restore: Option<String>,
}

/// Validated draft options.
#[derive(Clone, Debug, PartialEq)]
pub struct DraftConfig {
    pub selector: String,
    pub ttl_ms: Millis,
    pub autosave: bool,
    pub autosave_delay_ms: Millis,
    pub restore: RestoreMode,
}

impl Default for DraftConfig {
    fn default() -> Self {
        DraftConfig {
            selector: DEFAULT_SELECTOR.into(),
            ttl_ms: DEFAULT_TTL_MS,
            autosave: false,
            autosave_delay_ms: DEFAULT_AUTOSAVE_DELAY_MS,
            restore: RestoreMode::Auto,
        }
    }
}

/// Seconds (from JS) to whole milliseconds, within `min_ms..=max_ms`.
fn seconds_to_ms(
    value: f64,
    option: &'static str,
    min_ms: Millis,
    max_ms: Millis,
    reason: &'static str,
) -> Result<Millis, ConfigError> {
    let ms = value * 1000.0;
    // `is_finite` first: NaN compares false with everything.
    if !value.is_finite() || ms < min_ms as f64 || ms > max_ms as f64 {
        return Err(ConfigError { option, reason });
    }
    Ok(ms as Millis)
}

impl RawDraftConfig {
    /// Check every value; the first bad one is the error.
    pub fn validate(&self) -> Result<DraftConfig, ConfigError> {
        let mut config = DraftConfig::default();
        if let Some(selector) = &self.selector {
            if selector.trim().is_empty() {
                return Err(ConfigError {
                    option: "drafts.selector",
                    reason: "must be a non-empty CSS selector",
                });
            }
            config.selector = selector.clone();
        }
        if let Some(ttl) = self.ttl_seconds {
            config.ttl_ms = seconds_to_ms(
                ttl,
                "drafts.ttlSeconds",
                1000,
                MAX_TTL_MS,
                "must be a number of seconds between 1 and 2592000 (30 days)",
            )?;
        }
        if let Some(autosave) = self.autosave {
            config.autosave = autosave;
        }
        if let Some(delay) = self.autosave_delay_seconds {
            config.autosave_delay_ms = seconds_to_ms(
                delay,
                "drafts.autosaveDelaySeconds",
                0,
                MAX_AUTOSAVE_DELAY_MS,
                "must be a number of seconds between 0 and 60",
            )?;
        }
        if let Some(mode) = &self.restore {
            config.restore = match mode.as_str() {
                "auto" => RestoreMode::Auto,
                "manual" => RestoreMode::Manual,
                _ => {
                    return Err(ConfigError {
                        option: "drafts.restore",
                        reason: "must be \"auto\" or \"manual\"",
                    })
                }
            }
        }
        Ok(config)
    }
}

// ---------------------------------------------------------------------------
// Which fields are saved
// ---------------------------------------------------------------------------

/// How an `<input>` of a given `type` is handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputClass {
    /// Its `value` is saved (text, email, number, date, range, color, …).
    Value,
    /// Its `checked` state is saved (checkbox, radio).
    Checked,
    /// Never saved (password, file, hidden, buttons).
    Never,
}

/// Classify an `<input>` by its `type` property (the DOM property is already
/// lower-case and falls back to `"text"` for unknown types; the attribute
/// spelling is accepted too).
pub fn classify_input(input_type: &str) -> InputClass {
    let t = input_type.trim();
    let is = |name: &str| t.eq_ignore_ascii_case(name);
    if is("checkbox") || is("radio") {
        InputClass::Checked
    } else if is("password")
        || is("file")
        || is("hidden")
        || is("submit")
        || is("reset")
        || is("button")
        || is("image")
    {
        InputClass::Never
    } else {
        InputClass::Value
    }
}

/// Whether an `autocomplete` attribute marks the field as a secret that must
/// never be stored: card number, security code, expiry, one-time codes and
/// passwords. The attribute is a token list (`"section-pay billing cc-number"`),
/// so every token is checked.
pub fn autocomplete_forbids(autocomplete: &str) -> bool {
    autocomplete.split_ascii_whitespace().any(|token| {
        let is = |name: &str| token.eq_ignore_ascii_case(name);
        is("cc-number")
            || is("cc-csc")
            || is("one-time-code")
            || is("current-password")
            || is("new-password")
            || starts_with_ignore_case(token, "cc-exp")
    })
}

/// Whether a `data-draft` attribute value opts a field (or a form) out.
pub fn marked_off(data_draft: &str) -> bool {
    data_draft.trim().eq_ignore_ascii_case("off")
}

/// Whether a `data-draft` attribute value on a field opts it back in
/// (`"on"`): the name/id heuristics ([`sensitive_name`]) are overridden for
/// that field. Nothing overrides `type="password"`, a secret `autocomplete`
/// token or `data-draft="off"`.
pub fn marked_on(data_draft: &str) -> bool {
    data_draft.trim().eq_ignore_ascii_case("on")
}

/// Words (separated by spaces: one string instead of a table of string
/// slices keeps the wasm smaller) that mark a field as secret wherever they
/// stand as a whole word of its `name` or `id` (see [`name_words`]). A
/// trailing plural `s` is accepted (`pins`, `tokens`). Compiled from what password managers and
/// browser autofill treat as sensitive (Chromium's password-manager and
/// autofill field regexes for passwords, one-time codes, card security
/// codes and social security numbers; the card, IBAN and password field
/// hints of 1Password and Bitwarden), cut to whole words so that `spinner`,
/// `opinion`, `shipping` or `pinned` do not match.
pub const SENSITIVE_WORDS: &str = concat!(
    // passwords and PINs
    "password passwd pwd pw pass passcode passphrase pin secret kennwort passwort wachtwoord contrasena contraseña senha mdp ",
    // one-time codes and second factors
    "otp totp hotp otc mfa 2fa tfa onetimecode onetimepassword onetimepin ",
    // tokens and keys
    "token apikey secretkey privatekey credential ",
    // payment cards
    "cvv cvv2 cvc cvc2 csc cvn cvd ccv ccnum ccnumber cardnumber cardnum cardno creditcard ccno pan ",
    // bank accounts
    "iban ",
    // national and tax identifiers
    "ssn sin nino tin itin taxid vatid",
);

/// Two consecutive words that together mark a field as secret
/// (`card_number`, `securityCode`, `one-time-code`, `api_key`, …): pairs
/// separated by `,`, the two words of a pair by a space.
pub const SENSITIVE_PAIRS: &str = concat!(
    "card number,card num,card no,cc number,cc num,cc no,credit card,debit card,",
    "card code,card pin,card verification,security code,security number,",
    "verification code,verify code,confirmation code,auth code,login code,sms code,",
    "email code,access code,recovery code,backup code,one time,api key,private key,",
    "secret key,access key,client secret,social security,tax id,tax number,tax no,",
    "vat id,account number,routing number,sort code,de passe",
);

/// Stems (separated by spaces) that mark a field as secret even inside a
/// longer word (`userpassword`, `newpasswd`): long and unambiguous enough
/// that no ordinary word contains them.
pub const SENSITIVE_STEMS: &str =
    "password passwd passwort passcode passphrase creditcard cardnumber ccnumber motdepasse";

/// Splits a field `name`/`id` into lower-case words: at every ASCII
/// character that is not a letter or a digit (`card_cvv`, `pin-code`,
/// `user[password]`), at a lower-case → upper-case step (`userPin`), before
/// the last capital of a run followed by a lower-case letter (`CVVCode` →
/// `cvv`, `code`) and at a letter → digit step (`pin1` → `pin`, `1`; a digit
/// → letter step does not split, so `2fa` stays a word). Non-ASCII
/// characters belong to words and are kept as they are (only ASCII is
/// lower-cased: no Unicode tables in the wasm).
pub fn name_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = name.chars().peekable();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        if c.is_ascii() && !c.is_ascii_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev = None;
            continue;
        }
        let split = match prev {
            Some(p) if c.is_ascii_uppercase() => {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase()
                        && chars.peek().is_some_and(|n| n.is_ascii_lowercase()))
            }
            Some(p) if c.is_ascii_digit() => p.is_ascii_alphabetic(),
            _ => false,
        };
        if split && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        word.push(c.to_ascii_lowercase());
        prev = Some(c);
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// Whether a field's `name` or `id` says it holds a secret: one of
/// [`SENSITIVE_WORDS`] as a whole word, two consecutive words of
/// [`SENSITIVE_PAIRS`], or one of [`SENSITIVE_STEMS`] anywhere in a word.
pub fn sensitive_name(name: &str) -> bool {
    let words = name_words(name);
    let word_hit = |w: &str| {
        let singular = w.strip_suffix('s').filter(|s| s.len() >= 2);
        SENSITIVE_WORDS
            .split(' ')
            .any(|s| s == w || singular == Some(s))
            || SENSITIVE_STEMS.split(' ').any(|s| {
                // A byte-window search: `str::contains` would link the
                // two-way string searcher into the wasm.
                w.as_bytes().windows(s.len()).any(|win| win == s.as_bytes())
            })
    };
    if words.iter().any(|w| word_hit(w)) {
        return true;
    }
    words.windows(2).any(|pair| match pair {
        [a, b] => {
            let (a, b) = (a.as_str(), b.as_str());
            let singular = b.strip_suffix('s').filter(|s| s.len() >= 2);
            SENSITIVE_PAIRS
                .split(',')
                .filter_map(|pair| pair.split_once(' '))
                .any(|(x, y)| x == a && (y == b || singular == Some(y)))
        }
        _ => false,
    })
}

/// What the browser layer knows about one form control, for
/// [`field_savable`].
#[derive(Clone, Copy, Debug, Default)]
pub struct FieldFacts<'a> {
    /// An `<input>`'s `type` property; `None` for `<textarea>`/`<select>`.
    pub input_type: Option<&'a str>,
    pub name: &'a str,
    pub id: &'a str,
    /// The `autocomplete` attribute (`""` when absent).
    pub autocomplete: &'a str,
    /// The field's own `data-draft` attribute (`""` when absent).
    pub data_draft: &'a str,
    /// The field or an ancestor has `data-draft="off"`.
    pub off: bool,
}

/// Whether a form control may be written to a draft. Never: password, file,
/// hidden and button inputs; secret `autocomplete` tokens; `data-draft="off"`
/// on the field or an ancestor. Not unless the field says `data-draft="on"`:
/// a `name` or `id` that [`sensitive_name`] flags.
pub fn field_savable(f: &FieldFacts<'_>) -> bool {
    if f.input_type
        .is_some_and(|t| classify_input(t) == InputClass::Never)
        || autocomplete_forbids(f.autocomplete)
        || f.off
        || marked_off(f.data_draft)
    {
        return false;
    }
    marked_on(f.data_draft) || !(sensitive_name(f.name) || sensitive_name(f.id))
}

fn starts_with_ignore_case(s: &str, prefix: &str) -> bool {
    // `get` instead of indexing: no panic path (and no core::fmt) in the wasm.
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

// ---------------------------------------------------------------------------
// Keys
// ---------------------------------------------------------------------------

/// How a form is recognised again on the next visit: its `id`, else its
/// `name`, else its position among the forms the selector matches.
pub fn form_identity(id: &str, name: &str, position: usize) -> String {
    let mut out = String::new();
    if !id.is_empty() {
        out.push_str("id:");
        out.push_str(id);
    } else if !name.is_empty() {
        out.push_str("name:");
        out.push_str(name);
    } else {
        out.push_str("n:");
        push_u64(&mut out, position as u64);
    }
    out
}

/// The part of every key shared by the drafts of one page: prefix, origin,
/// path, `#`. `location.pathname` never contains a raw `#`, so a key starts
/// with this prefix exactly when it belongs to this page.
pub fn page_prefix(origin: &str, path: &str) -> String {
    let mut out = String::with_capacity(KEY_PREFIX.len() + origin.len() + path.len() + 1);
    out.push_str(KEY_PREFIX);
    out.push_str(origin);
    out.push_str(path);
    out.push('#');
    out
}

/// The `localStorage` key of one form's draft:
/// `tokenwarden:draft:v1:<origin><path>#<form identity>`.
pub fn draft_key(origin: &str, path: &str, form_identity: &str) -> String {
    let mut out = page_prefix(origin, path);
    out.push_str(form_identity);
    out
}

/// Whether a `localStorage` key is one of ours.
pub fn is_draft_key(key: &str) -> bool {
    key.starts_with(KEY_PREFIX)
}

/// The form identity at the end of a draft key (after the last `#`).
pub fn key_form_identity(key: &str) -> Option<&str> {
    if !is_draft_key(key) {
        return None;
    }
    key.rsplit_once('#').map(|(_, identity)| identity)
}

// ---------------------------------------------------------------------------
// The stored value
// ---------------------------------------------------------------------------

/// One saved field value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// Text-like input, textarea or single select: its value.
    Text(String),
    /// Checkbox or radio: its `value` attribute (to find it again) and state.
    Checked { value: String, checked: bool },
    /// `<select multiple>`: the values of the selected options.
    Multi(Vec<String>),
}

/// One saved field. Fields are found again by `name` (else `id`, else
/// position), plus `nth`: which of the fields sharing that name (and, for
/// checkboxes and radios, that value) it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DraftField {
    pub name: String,
    pub nth: u32,
    pub value: FieldValue,
}

/// One form's draft, as stored under [`draft_key`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Draft {
    /// The page it was written on: path + query + hash.
    pub url: String,
    /// When it was written (epoch ms).
    pub saved_at: Millis,
    /// When it stops being restorable (epoch ms).
    pub expires_at: Millis,
    /// The `sub` claim of the user whose session wrote it (`None` when the
    /// token had no `sub`).
    pub sub: Option<String>,
    pub fields: Vec<DraftField>,
}

/// Why a stored value is not a draft we can use. Such entries are removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DraftParseError {
    /// Not the JSON this module writes (syntax, nesting, number format).
    Syntax,
    /// JSON, but a member is missing or of the wrong type, or `v` is not 1.
    Shape,
}

impl Draft {
    /// Whether `sub` may see this draft at `now_ms`: not expired, written by
    /// the same `sub`. A draft written without a `sub` is only restorable
    /// into a session without one (the app's tokens carry no user identity).
    pub fn restorable_by(&self, sub: Option<&str>, now_ms: Millis) -> bool {
        !self.is_expired(now_ms) && self.sub.as_deref() == sub
    }

    /// Whether the draft's TTL has passed.
    pub fn is_expired(&self, now_ms: Millis) -> bool {
        now_ms >= self.expires_at
    }

    /// The stored form: compact JSON,
    /// `{"v":1,"url":…,"savedAt":…,"expiresAt":…,"sub":…,"fields":[…]}` with
    /// fields `{"n":name,"i":nth,"t":text}`, `{"n","i","v":value,"c":bool}`
    /// or `{"n","i","m":[values]}`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(96 + self.url.len());
        out.push_str("{\"v\":1,\"url\":");
        push_json_str(&mut out, &self.url);
        out.push_str(",\"savedAt\":");
        push_u64(&mut out, self.saved_at);
        out.push_str(",\"expiresAt\":");
        push_u64(&mut out, self.expires_at);
        out.push_str(",\"sub\":");
        match &self.sub {
            Some(sub) => push_json_str(&mut out, sub),
            None => out.push_str("null"),
        }
        out.push_str(",\"fields\":[");
        for (i, field) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"n\":");
            push_json_str(&mut out, &field.name);
            out.push_str(",\"i\":");
            push_u64(&mut out, field.nth as u64);
            match &field.value {
                FieldValue::Text(text) => {
                    out.push_str(",\"t\":");
                    push_json_str(&mut out, text);
                }
                FieldValue::Checked { value, checked } => {
                    out.push_str(",\"v\":");
                    push_json_str(&mut out, value);
                    out.push_str(if *checked {
                        ",\"c\":true"
                    } else {
                        ",\"c\":false"
                    });
                }
                FieldValue::Multi(values) => {
                    out.push_str(",\"m\":[");
                    for (j, value) in values.iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        push_json_str(&mut out, value);
                    }
                    out.push(']');
                }
            }
            out.push('}');
        }
        out.push_str("]}");
        out
    }

    /// Read a stored value back. Anything else in `localStorage` under our
    /// prefix (another version, a truncated write, tampering) is an error,
    /// never a panic.
    pub fn from_json(text: &str) -> Result<Draft, DraftParseError> {
        let value = json::parse(text, true).map_err(|_| DraftParseError::Syntax)?;
        let shape = DraftParseError::Shape;
        if member(&value, "v").and_then(as_u64) != Some(1) {
            return Err(shape);
        }
        let url = member(&value, "url").and_then(as_str).ok_or(shape)?;
        let saved_at = member(&value, "savedAt").and_then(as_u64).ok_or(shape)?;
        let expires_at = member(&value, "expiresAt").and_then(as_u64).ok_or(shape)?;
        let sub = match member(&value, "sub") {
            Some(Value::Null) | None => None,
            Some(Value::Str(s)) => Some(s.clone()),
            Some(_) => return Err(shape),
        };
        let Some(Value::Arr(items)) = member(&value, "fields") else {
            return Err(shape);
        };
        let mut fields = Vec::with_capacity(items.len());
        for item in items {
            let name = member(item, "n").and_then(as_str).ok_or(shape)?;
            let nth = member(item, "i").and_then(as_u64).ok_or(shape)?;
            let nth = u32::try_from(nth).map_err(|_| shape)?;
            let value = if let Some(text) = member(item, "t") {
                FieldValue::Text(as_str(text).ok_or(shape)?.into())
            } else if let Some(Value::Arr(list)) = member(item, "m") {
                let mut values = Vec::with_capacity(list.len());
                for v in list {
                    values.push(as_str(v).ok_or(shape)?.into());
                }
                FieldValue::Multi(values)
            } else {
                let value = member(item, "v").and_then(as_str).ok_or(shape)?;
                let checked = match member(item, "c") {
                    Some(Value::Bool(b)) => *b,
                    _ => return Err(shape),
                };
                FieldValue::Checked {
                    value: value.into(),
                    checked,
                }
            };
            fields.push(DraftField {
                name: name.into(),
                nth,
                value,
            });
        }
        Ok(Draft {
            url: url.into(),
            saved_at,
            expires_at,
            sub,
            fields,
        })
    }
}

/// Member `key` of an object (the first of duplicates, as this format has
/// always been read); `None` for a missing member or a non-object.
fn member<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Obj(obj) => obj.iter().find(|(k, _)| *k == key).map(|(_, v)| v),
        _ => None,
    }
}

fn as_str(value: &Value) -> Option<&str> {
    match value {
        Value::Str(s) => Some(s),
        _ => None,
    }
}

/// A whole number below 2^53 (epoch milliseconds, counts): the draft
/// format has no other numbers, and in that range every integer in the text
/// is read exactly (a longer one may round to 2^53, which is refused).
fn as_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Num(n) if (0.0..MAX_EXACT).contains(n) && n.trunc() == *n => Some(*n as u64),
        _ => None,
    }
}

/// 2^53: below it, every integer is an exact `f64`.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// Given `(saved_at)` of this library's drafts, the indices in the order to
/// evict them when storage is full: oldest first (ties: lower index first,
/// so the order is deterministic).
pub fn eviction_order(saved_at: &[Millis]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..saved_at.len()).collect();
    // Insertion sort: a handful of drafts, and far smaller in wasm than the
    // standard library's sorts. Strict `<` keeps equal times in index order.
    let time = |i: Option<&usize>| i.and_then(|&i| saved_at.get(i)).copied().unwrap_or(0);
    for n in 1..order.len() {
        let mut k = n;
        while k > 0 && time(order.get(k)) < time(order.get(k - 1)) {
            order.swap(k, k - 1);
            k -= 1;
        }
    }
    order
}

// ---------------------------------------------------------------------------
// Login redirect
// ---------------------------------------------------------------------------

/// Why a `returnTo` value is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReturnToError {
    /// Empty, or does not start with `/` (absolute URL, `javascript:`, relative path).
    NotAPath,
    /// Starts with `//` or `/\` (or their percent-encoded forms): a
    /// protocol-relative URL to another host.
    ProtocolRelative,
    /// Contains a backslash (browsers treat it as `/` in URLs).
    Backslash,
    /// Contains a control character, a space or DEL (browsers strip tabs and
    /// newlines from URLs, which can turn `/\t/evil` into `//evil`).
    ControlCharacter,
    /// Longer than 2048 bytes.
    TooLong,
}

impl ReturnToError {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            ReturnToError::NotAPath => "return_to_not_a_path",
            ReturnToError::ProtocolRelative => "return_to_protocol_relative",
            ReturnToError::Backslash => "return_to_backslash",
            ReturnToError::ControlCharacter => "return_to_control_character",
            ReturnToError::TooLong => "return_to_too_long",
        }
    }
}

/// Longest accepted `returnTo`, in bytes.
pub const MAX_RETURN_TO_LEN: usize = 2048;

/// Accept only a same-origin path (`/path?query#hash`), the only thing a
/// login page may navigate to after sign-in without becoming an open
/// redirect. Rejects `//evil.example`, `/\evil.example`, `https://evil.example`,
/// `javascript:…`, relative paths, backslashes anywhere, control characters,
/// and the percent-encoded `/%2F…`, `/%5C…` forms that a server decoding
/// twice would turn into `//…`.
pub fn validate_return_to(value: &str) -> Result<(), ReturnToError> {
    let bytes = value.as_bytes();
    if bytes.len() > MAX_RETURN_TO_LEN {
        return Err(ReturnToError::TooLong);
    }
    if bytes.first() != Some(&b'/') {
        return Err(ReturnToError::NotAPath);
    }
    // Control characters first: `/\t/evil` is `//evil` to a browser.
    if bytes.iter().any(|&b| b <= b' ' || b == 0x7f) {
        return Err(ReturnToError::ControlCharacter);
    }
    if value
        .chars()
        .any(|c| c.is_control() || c == '\u{2028}' || c == '\u{2029}')
    {
        return Err(ReturnToError::ControlCharacter);
    }
    if bytes.contains(&b'\\') {
        return Err(ReturnToError::Backslash);
    }
    if value.as_bytes().get(1) == Some(&b'/') || decodes_to_authority(value.as_bytes()) {
        return Err(ReturnToError::ProtocolRelative);
    }
    Ok(())
}

/// Whether one round of percent-decoding (what a login page that decodes
/// `returnTo` once more would do), followed by the URL parser's removal of
/// tabs and newlines, makes `value` start with `//` or `/\`. Catches
/// `/%2F…`, `/%5C…`, `/%09/…`, `/%0A%2F…`.
fn decodes_to_authority(value: &[u8]) -> bool {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut decoded = Vec::with_capacity(3);
    let mut i = 0;
    while let (Some(&next), true) = (value.get(i), decoded.len() < 2) {
        let mut byte = next;
        i += 1;
        if byte == b'%' {
            if let (Some(hi), Some(lo)) = (
                value.get(i).copied().and_then(hex),
                value.get(i + 1).copied().and_then(hex),
            ) {
                byte = (hi * 16 + lo) as u8;
                i += 2;
            }
        }
        if !matches!(byte, b'\t' | b'\n' | b'\r') {
            decoded.push(byte);
        }
    }
    matches!(decoded.as_slice(), [b'/', b'/' | b'\\'])
}

/// The `returnTo` for the current page: `pathname + search + hash` as
/// `location` reports them (already normalised and percent-encoded by the
/// browser), validated all the same.
pub fn return_to(pathname: &str, search: &str, hash: &str) -> Result<String, ReturnToError> {
    let mut out = String::with_capacity(pathname.len() + search.len() + hash.len());
    out.push_str(pathname);
    out.push_str(search);
    out.push_str(hash);
    validate_return_to(&out)?;
    Ok(out)
}

/// Whether the login redirect may go to `target_origin` (as the browser
/// serialises it: `https://login.example`, or `null` for `javascript:`,
/// `data:` and the like): the page's own origin, or one listed in
/// `allowed_origins` (compared after normalisation by [`normalize_origin`]).
/// Only `http:`/`https:` origins are ever accepted.
pub fn redirect_origin_allowed(
    target_origin: &str,
    page_origin: &str,
    allowed_origins: &[String],
) -> bool {
    let Some(target) = normalize_origin(target_origin) else {
        return false;
    };
    if normalize_origin(page_origin).as_deref() == Some(target.as_str()) {
        return true;
    }
    allowed_origins
        .iter()
        .any(|allowed| normalize_origin(allowed).as_deref() == Some(target.as_str()))
}

/// `scheme://host[:port]` in lower case, default port and trailing `/`
/// removed; `None` for anything that is not an `http(s)` origin (paths,
/// user info, `null`, `*`).
pub fn normalize_origin(origin: &str) -> Option<String> {
    let origin = origin.trim();
    let origin = origin.strip_suffix('/').unwrap_or(origin);
    let (scheme, default_port, rest) = if starts_with_ignore_case(origin, "https://") {
        ("https://", ":443", origin.get(8..)?)
    } else if starts_with_ignore_case(origin, "http://") {
        ("http://", ":80", origin.get(7..)?)
    } else {
        return None;
    };
    if rest.is_empty()
        || rest.bytes().any(|b| {
            matches!(b, b'/' | b'\\' | b'@' | b'?' | b'#' | b'*') || b <= b' ' || b >= 0x7f
        })
    {
        return None;
    }
    let rest = rest.strip_suffix(default_port).unwrap_or(rest);
    let mut out = String::with_capacity(scheme.len() + rest.len());
    out.push_str(scheme);
    out.push_str(&rest.to_ascii_lowercase());
    Some(out)
}

/// Whether a query parameter name is usable for `returnTo` (non-empty, at
/// most 64 bytes of ASCII letters, digits, `_`, `-`, `.`).
pub fn valid_return_param(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

// ---------------------------------------------------------------------------
// A tiny JSON writer for the draft format (read with `core::json::parse`)
// ---------------------------------------------------------------------------

/// Append `n` in decimal without `core::fmt` (at most 20 levels deep).
fn push_u64(out: &mut String, n: u64) {
    if n >= 10 {
        push_u64(out, n / 10);
    }
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// Append `s` as a JSON string literal.
fn push_json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str("\\u00");
                let hex = |d: u32| char::from_digit(d & 15, 16).unwrap_or('0');
                out.push(hex(c as u32 >> 4));
                out.push(hex(c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Draft {
        Draft {
            url: "/orders/new?x=1#notes".into(),
            saved_at: 1_700_000_000_000,
            expires_at: 1_700_086_400_000,
            sub: Some("user-1".into()),
            fields: vec![
                DraftField {
                    name: "title".into(),
                    nth: 0,
                    value: FieldValue::Text("Hello".into()),
                },
                DraftField {
                    name: "body".into(),
                    nth: 0,
                    value: FieldValue::Text("line 1\nline \"2\"\t\\ é 😀 \u{1}\u{1f}".into()),
                },
                DraftField {
                    name: "agree".into(),
                    nth: 0,
                    value: FieldValue::Checked {
                        value: "on".into(),
                        checked: true,
                    },
                },
                DraftField {
                    name: "color".into(),
                    nth: 1,
                    value: FieldValue::Checked {
                        value: "red".into(),
                        checked: false,
                    },
                },
                DraftField {
                    name: "tags".into(),
                    nth: 0,
                    value: FieldValue::Multi(vec!["a".into(), "b c".into()]),
                },
                DraftField {
                    name: "empty".into(),
                    nth: 0,
                    value: FieldValue::Multi(vec![]),
                },
            ],
        }
    }

    #[test]
    fn draft_round_trips_through_json() {
        let draft = sample();
        let json = draft.to_json();
        assert_eq!(Draft::from_json(&json), Ok(draft));
    }

    #[test]
    fn draft_without_sub_round_trips() {
        let mut draft = sample();
        draft.sub = None;
        draft.fields.clear();
        let json = draft.to_json();
        assert!(json.contains("\"sub\":null"));
        assert_eq!(Draft::from_json(&json), Ok(draft));
    }

    #[test]
    fn json_output_is_exactly_the_documented_format() {
        let draft = Draft {
            url: "/a".into(),
            saved_at: 5,
            expires_at: 10,
            sub: Some("u".into()),
            fields: vec![
                DraftField {
                    name: "t".into(),
                    nth: 0,
                    value: FieldValue::Text("x".into()),
                },
                DraftField {
                    name: "c".into(),
                    nth: 2,
                    value: FieldValue::Checked {
                        value: "on".into(),
                        checked: true,
                    },
                },
                DraftField {
                    name: "m".into(),
                    nth: 0,
                    value: FieldValue::Multi(vec!["1".into()]),
                },
            ],
        };
        assert_eq!(
            draft.to_json(),
            r#"{"v":1,"url":"/a","savedAt":5,"expiresAt":10,"sub":"u","fields":[{"n":"t","i":0,"t":"x"},{"n":"c","i":2,"v":"on","c":true},{"n":"m","i":0,"m":["1"]}]}"#
        );
    }

    #[test]
    fn reader_accepts_whitespace_and_escapes_written_by_others() {
        let json = "{ \"v\" : 1 , \"url\":\"/\\u0061\\/b\" ,\"savedAt\":0,\"expiresAt\":1,\
                    \"fields\":[ {\"n\":\"x\",\"i\":0,\"t\":\"\\ud83d\\ude00\\b\\f\"} ] }";
        let draft = Draft::from_json(json).expect("valid");
        assert_eq!(draft.url, "/a/b");
        assert_eq!(draft.sub, None);
        assert_eq!(
            draft.fields[0].value,
            FieldValue::Text("😀\u{8}\u{c}".into())
        );
    }

    #[test]
    fn corrupt_values_are_errors_not_panics() {
        let good = sample().to_json();
        // Every truncation of a valid document is rejected.
        for end in 0..good.len() {
            if good.is_char_boundary(end) {
                assert!(
                    Draft::from_json(&good[..end]).is_err(),
                    "prefix {end} accepted"
                );
            }
        }
        let bad = [
            "",
            "null",
            "[]",
            "{}",
            "{\"v\":2,\"url\":\"/\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":1.5,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":-1,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":01,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":99999999999999999999,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":0,\"expiresAt\":0,\"fields\":{}}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":0,\"expiresAt\":0,\"sub\":5,\"fields\":[]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[{\"n\":\"a\",\"i\":0}]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[{\"n\":\"a\",\"i\":4294967296,\"t\":\"\"}]}",
            "{\"v\":1,\"url\":\"/\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]} x",
            "{\"v\":1,\"url\":\"a\u{1}b\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"\\ud800\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"\\ud800\\u0041\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"\\x\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]}",
            "{\"v\":1,\"url\":\"\\u12\",\"savedAt\":0,\"expiresAt\":0,\"fields\":[]}",
        ];
        for text in bad {
            assert!(Draft::from_json(text).is_err(), "accepted {text:?}");
        }
        let deep = "[".repeat(10_000);
        assert_eq!(Draft::from_json(&deep), Err(DraftParseError::Syntax));
    }

    #[test]
    fn reader_takes_the_first_duplicate_and_skips_unknown_members() {
        let json = r#"{"v":1,"url":"/a","url":"/b","x":{"y":[-1.5e3,true,"z"]},"savedAt":1,"expiresAt":2,
            "fields":[{"n":"a","i":0,"t":"first","t":"second","extra":null},
                      {"n":"m","i":1,"m":"not a list","m":["x"],"v":"on","c":false},
                      {"n":"t","i":2,"t":"x","m":[1],"c":"ignored"}]}"#;
        let draft = Draft::from_json(json).expect("valid");
        assert_eq!(draft.url, "/a");
        assert_eq!(draft.fields[0].value, FieldValue::Text("first".into()));
        // The first `m` is not a list: the field is a checkbox/radio.
        assert_eq!(
            draft.fields[1].value,
            FieldValue::Checked {
                value: "on".into(),
                checked: false
            }
        );
        // `t` decides; the other members are not looked at.
        assert_eq!(draft.fields[2].value, FieldValue::Text("x".into()));
        // Numbers are whole, non-negative and exact.
        for (saved_at, ok) in [
            ("9007199254740991", true),
            ("9007199254740992", false),
            ("9007199254740993", false),
            ("-0.5", false),
        ] {
            let json =
                format!(r#"{{"v":1,"url":"/","savedAt":{saved_at},"expiresAt":0,"fields":[]}}"#);
            assert_eq!(Draft::from_json(&json).is_ok(), ok, "{saved_at}");
        }
    }

    #[test]
    fn restorable_only_by_the_same_sub_and_before_expiry() {
        let draft = sample();
        assert!(draft.restorable_by(Some("user-1"), draft.expires_at - 1));
        assert!(!draft.restorable_by(Some("user-1"), draft.expires_at));
        assert!(!draft.restorable_by(Some("user-2"), draft.saved_at));
        assert!(!draft.restorable_by(None, draft.saved_at));
        let mut anonymous = sample();
        anonymous.sub = None;
        assert!(anonymous.restorable_by(None, anonymous.saved_at));
        assert!(!anonymous.restorable_by(Some("user-1"), anonymous.saved_at));
    }

    #[test]
    fn input_classes() {
        for t in [
            "text", "", "search", "email", "tel", "url", "number", "date", "range", "color",
        ] {
            assert_eq!(classify_input(t), InputClass::Value, "{t}");
        }
        for t in ["checkbox", "radio", "CheckBox"] {
            assert_eq!(classify_input(t), InputClass::Checked, "{t}");
        }
        for t in [
            "password", "PASSWORD", "file", "hidden", "submit", "reset", "button", "image",
        ] {
            assert_eq!(classify_input(t), InputClass::Never, "{t}");
        }
    }

    #[test]
    fn secret_autocomplete_tokens_are_refused() {
        for ac in [
            "cc-number",
            "cc-csc",
            "cc-exp",
            "cc-exp-month",
            "CC-EXP-YEAR",
            "one-time-code",
            "current-password",
            "new-password",
            "section-pay billing cc-number",
            "  username current-password ",
        ] {
            assert!(autocomplete_forbids(ac), "{ac}");
        }
        for ac in [
            "",
            "on",
            "off",
            "name",
            "email",
            "cc-name",
            "username",
            "street-address",
        ] {
            assert!(!autocomplete_forbids(ac), "{ac}");
        }
    }

    #[test]
    fn words_of_field_names() {
        let cases: &[(&str, &[&str])] = &[
            ("card_cvv", &["card", "cvv"]),
            ("userPin", &["user", "pin"]),
            ("pin-code", &["pin", "code"]),
            ("CVVCode", &["cvv", "code"]),
            ("ccNumber", &["cc", "number"]),
            ("user[password]", &["user", "password"]),
            ("pin1", &["pin", "1"]),
            ("2faCode", &["2fa", "code"]),
            ("field2fa", &["field", "2fa"]),
            ("IBAN", &["iban"]),
            ("  __ ", &[]),
            ("contraseña", &["contraseña"]),
        ];
        for (name, words) in cases {
            assert_eq!(name_words(name), *words, "{name}");
        }
    }

    #[test]
    fn secret_names_are_recognised_on_word_boundaries() {
        for name in [
            "password",
            "Password",
            "new_password",
            "passwordConfirm",
            "userpassword",
            "pwd",
            "passwd",
            "pass",
            "passcode",
            "secret",
            "client_secret",
            "token",
            "access_token",
            "otp",
            "totp_code",
            "2fa",
            "one-time-code",
            "oneTimeCode",
            "verification_code",
            "smsCode",
            "pin",
            "userPin",
            "pin-code",
            "PIN",
            "pins",
            "cvv",
            "card_cvv",
            "cvc",
            "csc",
            "cvv2",
            "securityCode",
            "card_number",
            "cardNumber",
            "cardnumber",
            "ccnum",
            "cc-number",
            "creditCard",
            "card[number]",
            "iban",
            "ssn",
            "social_security_number",
            "tax_id",
            "taxId",
            "api_key",
            "apiKey",
            "privateKey",
            "account_number",
            "mot_de_passe",
            "passwort",
        ] {
            assert!(sensitive_name(name), "{name}");
        }
        for name in [
            "",
            "title",
            "note",
            "spinner",
            "opinion",
            "shipping",
            "pinned",
            "pinterest",
            "passport",
            "compass",
            "bypass_cache",
            "tokenize",
            "secretary",
            "postal_code",
            "zip_code",
            "promo_code",
            "country_code",
            "cardholder",
            "card_type",
            "company",
            "username",
            "email",
            "description",
            "subject",
            "ping",
            "happiness",
        ] {
            assert!(!sensitive_name(name), "{name}");
        }
    }

    #[test]
    fn data_draft_on_overrides_only_the_name_heuristics() {
        let named = |name: &'static str, data_draft: &'static str| FieldFacts {
            input_type: Some("text"),
            name,
            data_draft,
            ..FieldFacts::default()
        };
        assert!(field_savable(&named("title", "")));
        assert!(!field_savable(&named("pin", "")));
        assert!(
            !field_savable(&named("password", "")),
            "a show-password toggle"
        );
        assert!(field_savable(&named("pin", "on")));
        assert!(field_savable(&named("pin", " ON ")));
        assert!(!field_savable(&named("title", "off")));
        let by_id = FieldFacts {
            id: "card_cvv",
            ..named("q", "")
        };
        assert!(!field_savable(&by_id));
        // `on` never re-enables what type, autocomplete or `off` forbid.
        let password = FieldFacts {
            input_type: Some("password"),
            ..named("note", "on")
        };
        assert!(!field_savable(&password));
        let card = FieldFacts {
            autocomplete: "cc-number",
            ..named("note", "on")
        };
        assert!(!field_savable(&card));
        let fenced = FieldFacts {
            off: true,
            ..named("note", "on")
        };
        assert!(!field_savable(&fenced));
        let textarea = FieldFacts {
            input_type: None,
            ..named("secret_notes", "")
        };
        assert!(!field_savable(&textarea));
    }

    #[test]
    fn data_draft_off() {
        assert!(marked_off("off"));
        assert!(marked_off(" OFF "));
        assert!(!marked_off(""));
        assert!(!marked_off("on"));
    }

    #[test]
    fn keys() {
        assert_eq!(form_identity("order", "ignored", 3), "id:order");
        assert_eq!(form_identity("", "signup", 3), "name:signup");
        assert_eq!(form_identity("", "", 12), "n:12");
        let key = draft_key("https://app.example", "/orders/new", "id:order");
        assert_eq!(
            key,
            "tokenwarden:draft:v1:https://app.example/orders/new#id:order"
        );
        assert!(key.starts_with(&page_prefix("https://app.example", "/orders/new")));
        assert!(!key.starts_with(&page_prefix("https://app.example", "/orders")));
        assert!(is_draft_key(&key));
        assert!(!is_draft_key("tokenwarden:session"));
        assert_eq!(key_form_identity(&key), Some("id:order"));
        assert_eq!(key_form_identity("other"), None);
    }

    #[test]
    fn eviction_is_oldest_first_and_stable() {
        assert_eq!(eviction_order(&[30, 10, 20, 10]), vec![1, 3, 2, 0]);
        assert!(eviction_order(&[]).is_empty());
    }

    #[test]
    fn return_to_accepts_same_origin_paths() {
        for ok in [
            "/",
            "/a",
            "/orders/new?x=1&y=%2F#frag",
            "/a//b",
            "/%E2%9C%93",
            "/a?next=//x",
            "/%41/b",
            "/search?q=%5C%2F%2F",
            "/%",
            "/%2",
            "/%zz",
        ] {
            assert_eq!(validate_return_to(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn return_to_rejects_hostile_values() {
        use ReturnToError::*;
        let cases: &[(&str, ReturnToError)] = &[
            ("", NotAPath),
            ("//evil.example", ProtocolRelative),
            ("//evil.example/path", ProtocolRelative),
            ("/%2Fevil.example", ProtocolRelative),
            ("/%2fevil.example", ProtocolRelative),
            ("/%5Cevil.example", ProtocolRelative),
            ("/%09/evil.example", ProtocolRelative),
            ("/%0a%0D%2f/evil.example", ProtocolRelative),
            ("%2F%2Fevil.example", NotAPath),
            ("javascript:alert(1)", NotAPath),
            ("JaVaScRiPt:alert(1)", NotAPath),
            ("https://evil.example", NotAPath),
            ("http:evil.example", NotAPath),
            ("evil.example", NotAPath),
            ("\\\\evil.example", NotAPath),
            ("/\\evil.example", Backslash),
            ("/path\\..\\x", Backslash),
            ("/\t/evil.example", ControlCharacter),
            ("/\n/evil.example", ControlCharacter),
            ("/\r/evil.example", ControlCharacter),
            ("/a b", ControlCharacter),
            ("/a\u{0}", ControlCharacter),
            ("/a\u{7f}", ControlCharacter),
            ("/a\u{85}", ControlCharacter),
            ("/a\u{2028}", ControlCharacter),
            (" /a", NotAPath),
        ];
        for &(value, expected) in cases {
            assert_eq!(validate_return_to(value), Err(expected), "{value:?}");
        }
        let long = "/".to_owned() + &"a".repeat(MAX_RETURN_TO_LEN);
        assert_eq!(validate_return_to(&long), Err(TooLong));
        assert_eq!(
            ReturnToError::ProtocolRelative.code(),
            "return_to_protocol_relative"
        );
    }

    #[test]
    fn return_to_from_location_parts() {
        assert_eq!(
            return_to("/orders/new", "?step=2", "#notes").as_deref(),
            Ok("/orders/new?step=2#notes")
        );
        assert_eq!(return_to("/", "", "").as_deref(), Ok("/"));
        assert_eq!(
            return_to("//evil.example", "", ""),
            Err(ReturnToError::ProtocolRelative)
        );
    }

    #[test]
    fn redirect_origins() {
        let allowed = vec![
            "https://login.example".to_owned(),
            "HTTPS://SSO.Example:443/".to_owned(),
        ];
        let page = "https://app.example";
        assert!(redirect_origin_allowed("https://app.example", page, &[]));
        assert!(redirect_origin_allowed(
            "https://login.example",
            page,
            &allowed
        ));
        assert!(redirect_origin_allowed(
            "https://sso.example",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed(
            "https://evil.example",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed(
            "http://app.example",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed(
            "https://app.example:8443",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed("null", page, &["null".to_owned()]));
        assert!(!redirect_origin_allowed("null", "null", &[]));
        assert!(!redirect_origin_allowed(
            "javascript:alert(1)",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed(
            "https://login.example.evil.example",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed(
            "https://login.example@evil.example",
            page,
            &allowed
        ));
        assert!(!redirect_origin_allowed(
            "https://app.example/path",
            page,
            &[]
        ));
    }

    #[test]
    fn origin_normalisation() {
        assert_eq!(
            normalize_origin("https://A.example:443/").as_deref(),
            Some("https://a.example")
        );
        assert_eq!(
            normalize_origin("http://a.example:80").as_deref(),
            Some("http://a.example")
        );
        assert_eq!(
            normalize_origin("http://a.example:8080").as_deref(),
            Some("http://a.example:8080")
        );
        assert_eq!(
            normalize_origin("http://127.0.0.1:3000").as_deref(),
            Some("http://127.0.0.1:3000")
        );
        for bad in [
            "",
            "null",
            "*",
            "https://",
            "ftp://a.example",
            "https://a.example/x",
            "https://u@a.example",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
    }

    #[test]
    fn return_param_names() {
        assert!(valid_return_param("returnTo"));
        assert!(valid_return_param("next_url"));
        assert!(!valid_return_param(""));
        assert!(!valid_return_param("a&b"));
        assert!(!valid_return_param("a=b"));
        assert!(!valid_return_param(&"a".repeat(65)));
    }

    #[test]
    fn config_defaults_and_validation() {
        let config = RawDraftConfig::default().validate().expect("defaults");
        assert_eq!(config, DraftConfig::default());
        assert_eq!(config.selector, "form[data-draft]");
        assert_eq!(config.ttl_ms, 86_400_000);
        assert_eq!(config.restore, RestoreMode::Auto);
        assert!(!config.autosave);

        let raw = RawDraftConfig {
            selector: Some("form.x".into()),
            ttl_seconds: Some(3600.0),
            autosave: Some(true),
            autosave_delay_seconds: Some(0.25),
            restore: Some("manual".into()),
        };
        let config = raw.validate().expect("valid");
        assert_eq!(config.ttl_ms, 3_600_000);
        assert_eq!(config.autosave_delay_ms, 250);
        assert_eq!(config.restore, RestoreMode::Manual);
        assert!(config.autosave);

        let cases: Vec<(RawDraftConfig, &str)> = vec![
            (
                RawDraftConfig {
                    selector: Some(" ".into()),
                    ..Default::default()
                },
                "drafts.selector",
            ),
            (
                RawDraftConfig {
                    ttl_seconds: Some(f64::NAN),
                    ..Default::default()
                },
                "drafts.ttlSeconds",
            ),
            (
                RawDraftConfig {
                    ttl_seconds: Some(0.0),
                    ..Default::default()
                },
                "drafts.ttlSeconds",
            ),
            (
                RawDraftConfig {
                    ttl_seconds: Some(-5.0),
                    ..Default::default()
                },
                "drafts.ttlSeconds",
            ),
            (
                RawDraftConfig {
                    ttl_seconds: Some(1e12),
                    ..Default::default()
                },
                "drafts.ttlSeconds",
            ),
            (
                RawDraftConfig {
                    autosave_delay_seconds: Some(f64::INFINITY),
                    ..Default::default()
                },
                "drafts.autosaveDelaySeconds",
            ),
            (
                RawDraftConfig {
                    restore: Some("Auto".into()),
                    ..Default::default()
                },
                "drafts.restore",
            ),
        ];
        for (raw, option) in cases {
            assert_eq!(raw.validate().map_err(|e| e.option), Err(option), "{raw:?}");
        }
    }
}
