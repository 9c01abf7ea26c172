//! Reads the options object given to `createTokenManager` / `new TokenManager`.
//!
//! Every key is checked against the documented list: an unknown key, a value
//! of the wrong type or an unusable value throws `TokenError` code `config`
//! naming the option (`leadSeconds`, `refresh.url`, …). Engine numbers go into
//! a [`RawConfig`] that the core validates (`Config::from_raw`); options that
//! only the browser layer uses go into [`WebOptions`].
//!
//! Options whose behaviour belongs to other modules (`crossTab`, `drafts`) are
//! parsed and validated here too, so that every documented option is accepted
//! from the first release.

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::error::config_error;
use super::global::{global_get, text_prop};
use crate::core::{config, RawConfig};

/// Every top-level option, in documentation order.
const KNOWN_OPTIONS: &[&str] = &[
    "refresh",
    "leadSeconds",
    "jitterSeconds",
    "allowedOrigins",
    "storage",
    "storageKey",
    "loginUrl",
    "idleTimeoutSeconds",
    "maxSessionSeconds",
    "renewHeader",
    "crossTab",
    "drafts",
    "redirect",
    "returnParam",
    "onSessionExpired",
    "shouldRefresh",
    "fetch",
    "queueLimit",
    "queueTimeoutSeconds",
    "expiryMarginSeconds",
    "retryAttempts",
    "retryBaseSeconds",
    "retryCooldownSeconds",
];

/// Keys of an object-valued `refresh` option.
const KNOWN_REFRESH_OPTIONS: &[&str] = &[
    "url",
    "format",
    "clientId",
    "scope",
    "resource",
    "headers",
    "credentials",
    "timeoutSeconds",
];

/// Default refresh request timeout.
const DEFAULT_REFRESH_TIMEOUT_SECONDS: f64 = 30.0;

/// The longest delay `setTimeout` accepts (2^31 - 1 ms), in seconds.
const MAX_TIMEOUT_SECONDS: f64 = 2_147_483.647;

/// The wire format of an HTTP refresh endpoint.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Format {
    /// POST `{"refreshToken": …}` as JSON.
    Json,
    /// RFC 6749 §6 form-encoded `grant_type=refresh_token`.
    OAuth2 {
        client_id: String,
        scope: Option<String>,
        /// RFC 8707 resource indicators, each sent as a `resource` parameter.
        resource: Vec<String>,
    },
    /// The refresh token is an HttpOnly cookie; POST with credentials.
    Cookie,
}

/// How a refresh is carried out.
#[derive(Clone, Debug)]
pub(crate) enum Transport {
    /// An HTTP endpoint.
    Http {
        url: String,
        format: Format,
        /// Extra request headers (`refresh.headers`).
        headers: Vec<(String, String)>,
        /// `"omit"`, `"same-origin"` or `"include"`; `None` = the format's default.
        credentials: Option<&'static str>,
        /// Abort the refresh request after this long (0 = never).
        timeout_ms: u32,
    },
    /// An application function `(refreshToken) => tokens | Promise<tokens>`.
    Function(Function),
}

impl Transport {
    /// Whether a refresh runs without a refresh token held in JS.
    pub(crate) fn works_without_token(&self) -> bool {
        matches!(
            self,
            Transport::Function(_)
                | Transport::Http {
                    format: Format::Cookie,
                    ..
                }
        )
    }
}

/// Where tokens are kept between page loads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StorageMode {
    /// Only in this manager (default): gone on reload.
    Memory,
    /// `sessionStorage`: survives reloads of this tab.
    Session,
    /// `localStorage`: survives restarts, shared by the origin's tabs.
    Local,
}

impl StorageMode {
    /// The option value that selects this mode.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StorageMode::Memory => "memory",
            StorageMode::Session => "session",
            StorageMode::Local => "local",
        }
    }
}

/// Options used only by the browser layer.
#[derive(Clone, Debug)]
pub(crate) struct WebOptions {
    pub transport: Transport,
    /// Normalised origins (`https://api.example.com`) that may see the token,
    /// besides the page's own.
    pub allowed_origins: Vec<String>,
    pub storage: StorageMode,
    /// Namespace for storage keys (`<storageKey>:session`, …).
    pub storage_key: String,
    pub login_url: Option<String>,
    /// Response header that carries a renewed access token.
    pub renew_header: Option<String>,
    #[allow(dead_code)] // read by the cross-tab module
    pub cross_tab: bool,
    /// The raw `drafts` option (`undefined`, a boolean or an object), for
    /// the drafts module to interpret.
    pub drafts: JsValue,
    pub redirect: bool,
    pub return_param: String,
    /// `onSessionExpired({ reason, redirectUrl })`: called when the session
    /// ends (not by logout), after the `sessionExpired` listeners; returning
    /// `false` cancels the login redirect.
    pub on_session_expired: Option<Function>,
    /// `shouldRefresh(response)`: the app's verdict on whether a response
    /// means the token was rejected (see `control`).
    pub should_refresh: Option<Function>,
    /// The `fetch` used for every request the manager makes.
    pub fetch: Function,
}

/// Parses and validates the options object.
pub(crate) fn parse(options: &JsValue) -> Result<(RawConfig, WebOptions), JsValue> {
    if !options.is_object() {
        return Err(config_error(
            "options",
            "pass an options object with at least `refresh`",
        ));
    }
    for key in Object::keys(options.unchecked_ref::<Object>()).iter() {
        let Some(key) = key.as_string() else { continue };
        if !KNOWN_OPTIONS.contains(&key.as_str()) {
            return Err(config_error(&key, "unknown option"));
        }
    }

    let transport = match get(options, "refresh")? {
        None => {
            return Err(config_error(
                "refresh",
                "is required (an endpoint object or an async function)",
            ))
        }
        Some(value) => parse_transport(&value)?,
    };
    let raw = RawConfig {
        lead_seconds: number(options, "leadSeconds")?,
        jitter_seconds: number(options, "jitterSeconds")?,
        idle_timeout_seconds: number(options, "idleTimeoutSeconds")?,
        max_session_seconds: number(options, "maxSessionSeconds")?,
        queue_limit: number(options, "queueLimit")?,
        queue_timeout_seconds: number(options, "queueTimeoutSeconds")?,
        expiry_margin_seconds: number(options, "expiryMarginSeconds")?,
        retry_attempts: number(options, "retryAttempts")?,
        retry_base_seconds: number(options, "retryBaseSeconds")?,
        retry_cooldown_seconds: number(options, "retryCooldownSeconds")?,
        refresh_without_token: transport.works_without_token(),
    };

    let storage = match string(options, "storage")?.as_deref() {
        None | Some("memory") => StorageMode::Memory,
        Some("session") => StorageMode::Session,
        Some("local") => StorageMode::Local,
        Some(_) => {
            return Err(config_error(
                "storage",
                "must be \"memory\", \"session\" or \"local\"",
            ))
        }
    };
    let fetch = match get(options, "fetch")? {
        Some(f) => f
            .dyn_into::<Function>()
            .map_err(|_| config_error("fetch", "must be a function"))?,
        None => global_get("fetch")
            .and_then(|f| f.dyn_into::<Function>().ok())
            .ok_or_else(|| config_error("fetch", "there is no global fetch; pass one"))?,
    };
    let renew_header = string(options, "renewHeader")?;
    if let Some(name) = &renew_header {
        if !is_header_name(name) {
            return Err(config_error(
                "renewHeader",
                "must be a valid HTTP header name",
            ));
        }
    }
    let web = WebOptions {
        transport,
        allowed_origins: parse_origins(options)?,
        storage,
        storage_key: non_empty(options, "storageKey")?.unwrap_or_else(|| "tokenwarden".into()),
        login_url: non_empty(options, "loginUrl")?,
        renew_header,
        cross_tab: boolean(options, "crossTab")?.unwrap_or(true),
        drafts: parse_drafts(options)?,
        redirect: boolean(options, "redirect")?.unwrap_or(true),
        return_param: non_empty(options, "returnParam")?.unwrap_or_else(|| "returnTo".into()),
        on_session_expired: match get(options, "onSessionExpired")? {
            None => None,
            Some(f) => Some(
                f.dyn_into::<Function>()
                    .map_err(|_| config_error("onSessionExpired", "must be a function"))?,
            ),
        },
        should_refresh: match get(options, "shouldRefresh")? {
            None => None,
            Some(f) => Some(
                f.dyn_into::<Function>()
                    .map_err(|_| config_error("shouldRefresh", "must be a function"))?,
            ),
        },
        fetch,
    };
    Ok((raw, web))
}

/// `obj[key]`; `undefined` and `null` are "not given". A throwing getter is a
/// config error rather than an exception escaping from wasm.
fn get(obj: &JsValue, key: &str) -> Result<Option<JsValue>, JsValue> {
    match js_sys::Reflect::get(obj, &JsValue::from_str(key)) {
        Ok(v) if v.is_undefined() || v.is_null() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(_) => Err(config_error(key, "could not be read")),
    }
}

fn number(obj: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    match get(obj, key)? {
        None => Ok(None),
        Some(v) => v
            .as_f64()
            .map(Some)
            .ok_or_else(|| config_error(key, "must be a number")),
    }
}

fn string(obj: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    match get(obj, key)? {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| config_error(key, "must be a string")),
    }
}

fn non_empty(obj: &JsValue, key: &str) -> Result<Option<String>, JsValue> {
    match string(obj, key)? {
        Some(s) if s.is_empty() => Err(config_error(key, "must not be empty")),
        other => Ok(other),
    }
}

fn boolean(obj: &JsValue, key: &str) -> Result<Option<bool>, JsValue> {
    match get(obj, key)? {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .ok_or_else(|| config_error(key, "must be true or false")),
    }
}

/// RFC 9110 token characters.
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn parse_transport(value: &JsValue) -> Result<Transport, JsValue> {
    if let Some(f) = value.dyn_ref::<Function>() {
        return Ok(Transport::Function(f.clone()));
    }
    if !value.is_object() {
        return Err(config_error(
            "refresh",
            "must be an endpoint object or an async function",
        ));
    }
    for key in Object::keys(value.unchecked_ref::<Object>()).iter() {
        let Some(key) = key.as_string() else { continue };
        if !KNOWN_REFRESH_OPTIONS.contains(&key.as_str()) {
            let mut name = String::from("refresh.");
            name.push_str(&key);
            return Err(config_error(&name, "unknown option"));
        }
    }
    let url =
        match get(value, "url").map_err(|_| config_error("refresh.url", "could not be read"))? {
            Some(v) => v.as_string().filter(|s| !s.is_empty()),
            None => None,
        }
        .ok_or_else(|| config_error("refresh.url", "is required (a non-empty string)"))?;
    let text = |key: &str, name: &str| -> Result<Option<String>, JsValue> {
        match get(value, key).map_err(|_| config_error(name, "could not be read"))? {
            None => Ok(None),
            Some(v) => v
                .as_string()
                .map(Some)
                .ok_or_else(|| config_error(name, "must be a string")),
        }
    };
    let format = match text("format", "refresh.format")?.as_deref() {
        None | Some("json") => Format::Json,
        Some("cookie") => Format::Cookie,
        Some("oauth2") => Format::OAuth2 {
            client_id: text("clientId", "refresh.clientId")?
                .filter(|s| !s.is_empty())
                .ok_or_else(|| {
                    config_error("refresh.clientId", "is required for format \"oauth2\"")
                })?,
            scope: text("scope", "refresh.scope")?,
            resource: parse_resource(value)?,
        },
        Some(_) => {
            return Err(config_error(
                "refresh.format",
                "must be \"json\", \"oauth2\" or \"cookie\"",
            ))
        }
    };
    if !matches!(format, Format::OAuth2 { .. }) && get(value, "resource").ok().flatten().is_some() {
        return Err(config_error(
            "refresh.resource",
            "is only for format \"oauth2\"",
        ));
    }
    let credentials = match text("credentials", "refresh.credentials")?.as_deref() {
        None => None,
        Some("omit") => Some("omit"),
        Some("same-origin") => Some("same-origin"),
        Some("include") => Some("include"),
        Some(_) => {
            return Err(config_error(
                "refresh.credentials",
                "must be \"omit\", \"same-origin\" or \"include\"",
            ))
        }
    };
    let timeout_seconds = match get(value, "timeoutSeconds")
        .map_err(|_| config_error("refresh.timeoutSeconds", "could not be read"))?
    {
        None => DEFAULT_REFRESH_TIMEOUT_SECONDS,
        Some(v) => match v.as_f64() {
            Some(s) if s.is_finite() && (0.0..=MAX_TIMEOUT_SECONDS).contains(&s) => s,
            _ => {
                return Err(config_error(
                    "refresh.timeoutSeconds",
                    "must be a number from 0 to 2147483",
                ))
            }
        },
    };
    Ok(Transport::Http {
        url,
        format,
        headers: parse_headers(value)?,
        credentials,
        timeout_ms: (timeout_seconds * 1000.0) as u32,
    })
}

/// `refresh.resource` (oauth2): a string or an array of strings, each an
/// absolute URI without fragment (RFC 8707; checked by the core).
fn parse_resource(refresh: &JsValue) -> Result<Vec<String>, JsValue> {
    const NAME: &str = "refresh.resource";
    let Some(value) =
        get(refresh, "resource").map_err(|_| config_error(NAME, "could not be read"))?
    else {
        return Ok(Vec::new());
    };
    let list: Array = if Array::is_array(&value) {
        value.unchecked_into()
    } else {
        Array::of1(&value)
    };
    let count = list.length() as usize;
    if count == 0 || count > config::MAX_RESOURCES {
        return Err(config_error(
            NAME,
            "must be one URI or an array of 1 to 16 URIs",
        ));
    }
    let mut out = Vec::with_capacity(count);
    for entry in list.iter() {
        let text = entry
            .as_string()
            .ok_or_else(|| config_error(NAME, config::REASON_RESOURCE))?;
        config::resource_indicator(&text).map_err(|reason| config_error(NAME, reason))?;
        out.push(text);
    }
    Ok(out)
}

fn parse_headers(refresh: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    const NAME: &str = "refresh.headers";
    let Some(headers) =
        get(refresh, "headers").map_err(|_| config_error(NAME, "could not be read"))?
    else {
        return Ok(Vec::new());
    };
    if !headers.is_object()
        || headers.is_instance_of::<web_sys::Headers>()
        || Array::is_array(&headers)
    {
        return Err(config_error(
            NAME,
            "must be a plain object of header names to strings",
        ));
    }
    let mut out = Vec::new();
    for entry in Object::entries(headers.unchecked_ref::<Object>()).iter() {
        let entry: Array = entry.unchecked_into();
        let name = entry.get(0).as_string().unwrap_or_default();
        let Some(value) = entry.get(1).as_string() else {
            return Err(config_error(NAME, "header values must be strings"));
        };
        if !is_header_name(&name) {
            return Err(config_error(NAME, "contains an invalid header name"));
        }
        out.push((name, value));
    }
    Ok(out)
}

/// `allowedOrigins`: each entry must be a bare http(s) origin.
fn parse_origins(options: &JsValue) -> Result<Vec<String>, JsValue> {
    const NAME: &str = "allowedOrigins";
    const REASON: &str = "must be an array of origins like \"https://api.example.com\"";
    let Some(list) = get(options, NAME)? else {
        return Ok(Vec::new());
    };
    if !Array::is_array(&list) {
        return Err(config_error(NAME, REASON));
    }
    let mut out = Vec::new();
    for entry in list.unchecked_ref::<Array>().iter() {
        let text = entry
            .as_string()
            .ok_or_else(|| config_error(NAME, REASON))?;
        let url: JsValue = web_sys::Url::new(&text)
            .map_err(|_| config_error(NAME, REASON))?
            .into();
        // Plain property reads: one copy of the string glue, not seven.
        let part = |name| text_prop(&url, name);
        let protocol = part("protocol");
        let bare = (protocol == "https:" || protocol == "http:")
            && part("pathname") == "/"
            && part("search").is_empty()
            && part("hash").is_empty()
            && part("username").is_empty()
            && part("password").is_empty();
        if !bare {
            return Err(config_error(NAME, REASON));
        }
        out.push(part("origin"));
    }
    Ok(out)
}

/// `drafts`: `false`, `true`, or an object. Its members are validated by
/// the drafts module (`drafts::options_from_js`), which owns their meaning;
/// here only the outer type is checked.
fn parse_drafts(options: &JsValue) -> Result<JsValue, JsValue> {
    match get(options, "drafts")? {
        None => Ok(JsValue::UNDEFINED),
        Some(v)
            if v.as_bool().is_some()
                || (v.is_object() && !v.is_function() && !Array::is_array(&v)) =>
        {
            Ok(v)
        }
        Some(_) => Err(config_error(
            "drafts",
            "must be false or { selector, ttlSeconds, … }",
        )),
    }
}
