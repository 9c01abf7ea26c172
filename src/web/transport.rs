//! Refresh transports: build the refresh request for the configured format,
//! send it through the manager's `fetch`, and classify the outcome into new
//! tokens or a [`RefreshFailure`].
//!
//! Classification (never a panic, whatever the server sends):
//! - network error, timeout, 408, 429, 5xx, any other unexpected status, or a
//!   2xx body that is not JSON / has no access token / whose token neither
//!   decodes nor comes with `expires_in` → `Transient` (retried with backoff,
//!   `Retry-After` honoured);
//! - 400, 401, 403 (RFC 6749 §5.2 `invalid_grant` and friends, reuse
//!   detection) → `Rejected`: the session is over.
//!
//! A custom function transport ends the session by throwing/rejecting with an
//! object whose `status` is 400, 401 or 403 or whose `error` is
//! `"invalid_grant"`; anything else it throws is transient.

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use super::fetch;
use super::global::{global_get, now_ms, object, prop, prop_str, set};
use super::options::{Format, Transport};
use crate::core::{Millis, RefreshFailure, TokenSet};

/// Runs one refresh attempt with `refresh_token` (absent in cookie mode).
pub(crate) async fn refresh(
    transport: &Transport,
    fetch_fn: &Function,
    refresh_token: Option<&str>,
) -> Result<TokenSet, RefreshFailure> {
    match transport {
        Transport::Function(f) => call_function(f, refresh_token).await,
        Transport::Http {
            url,
            format,
            headers,
            credentials,
            timeout_ms,
        } => {
            let needs_token = !matches!(format, Format::Cookie);
            let token = match refresh_token {
                Some(t) => t,
                None if needs_token => {
                    return Err(RefreshFailure::Rejected {
                        status: 0,
                        error: Some("no_refresh_token".into()),
                    })
                }
                None => "",
            };
            let abort = AbortOnTimeout::new(*timeout_ms);
            let request = build_request(url, format, headers, *credentials, token, abort.signal())
                .map_err(|_| transient(0, "the refresh request could not be built (check refresh.url and refresh.headers)"))?;
            let response = fetch::send(fetch_fn, &request).await.map_err(|_| {
                if abort.fired() {
                    transient(0, "the refresh request timed out")
                } else {
                    transient(0, "the refresh request failed (network error)")
                }
            })?;
            let body = read_json(&response).await;
            drop(abort);
            classify(&response, body, matches!(format, Format::Cookie))
        }
    }
}

/// Aborts the refresh request (and its body read) after a timeout; dropping
/// it clears the timer.
struct AbortOnTimeout {
    controller: Option<web_sys::AbortController>,
    fired: Rc<std::cell::Cell<bool>>,
    _timer: Option<Timeout>,
}

impl AbortOnTimeout {
    fn new(timeout_ms: u32) -> Self {
        let fired = Rc::new(std::cell::Cell::new(false));
        let controller = if timeout_ms > 0 {
            web_sys::AbortController::new().ok()
        } else {
            None
        };
        let timer = controller.clone().map(|c| {
            let fired = fired.clone();
            Timeout::new(timeout_ms.min(i32::MAX as u32), move || {
                fired.set(true);
                c.abort();
            })
        });
        AbortOnTimeout {
            controller,
            fired,
            _timer: timer,
        }
    }

    fn signal(&self) -> Option<web_sys::AbortSignal> {
        self.controller.as_ref().map(|c| c.signal())
    }

    fn fired(&self) -> bool {
        self.fired.get()
    }
}

fn transient(status: u16, detail: &str) -> RefreshFailure {
    RefreshFailure::Transient {
        status,
        retry_after_ms: None,
        detail: Rc::from(detail),
    }
}

fn build_request(
    url: &str,
    format: &Format,
    extra_headers: &[(String, String)],
    credentials: Option<&'static str>,
    refresh_token: &str,
    signal: Option<web_sys::AbortSignal>,
) -> Result<web_sys::Request, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("Accept", "application/json")?;
    let body: JsValue = match format {
        Format::Json => {
            headers.set("Content-Type", "application/json")?;
            let payload = object(&[("refreshToken", JsValue::from_str(refresh_token))]);
            JSON::stringify(&payload)?.into()
        }
        Format::OAuth2 { client_id, scope } => {
            let form = web_sys::UrlSearchParams::new()?;
            form.append("grant_type", "refresh_token");
            form.append("refresh_token", refresh_token);
            form.append("client_id", client_id);
            if let Some(scope) = scope {
                form.append("scope", scope);
            }
            headers.set(
                "Content-Type",
                "application/x-www-form-urlencoded;charset=UTF-8",
            )?;
            form.to_string().into()
        }
        Format::Cookie => JsValue::UNDEFINED,
    };
    for (name, value) in extra_headers {
        headers.set(name, value)?;
    }
    let default_credentials = if matches!(format, Format::Cookie) {
        "include"
    } else {
        "same-origin"
    };
    let init = object(&[
        ("method", JsValue::from_str("POST")),
        ("headers", headers.into()),
        (
            "credentials",
            JsValue::from_str(credentials.unwrap_or(default_credentials)),
        ),
        ("cache", JsValue::from_str("no-store")),
    ]);
    if !body.is_undefined() {
        set(&init, "body", &body);
    }
    if let Some(signal) = signal {
        set(&init, "signal", &signal.into());
    }
    let constructor: Function = global_get("Request").ok_or(JsValue::NULL)?.dyn_into()?;
    Reflect::construct(&constructor, &Array::of2(&JsValue::from_str(url), &init))?.dyn_into()
}

/// The response body parsed as JSON, or `None` (empty, not JSON, unreadable).
async fn read_json(response: &Response) -> Option<JsValue> {
    let text = JsFuture::from(response.text().ok()?)
        .await
        .ok()?
        .as_string()?;
    JSON::parse(&text).ok()
}

/// Turns an HTTP refresh response into tokens or a failure.
fn classify(
    response: &Response,
    body: Option<JsValue>,
    cookie_mode: bool,
) -> Result<TokenSet, RefreshFailure> {
    let status = response.status();
    if (200..300).contains(&status) {
        let body = body.filter(|b| b.is_object() && !Array::is_array(b));
        let Some(body) = body else {
            return Err(transient(
                status,
                "the refresh response is not a JSON object",
            ));
        };
        return tokens_from(&body, cookie_mode).map_err(|detail| transient(status, detail));
    }
    if matches!(status, 400 | 401 | 403) {
        let error = body.as_ref().and_then(|b| prop_str(b, "error"));
        return Err(RefreshFailure::Rejected { status, error });
    }
    let detail = if status >= 500 {
        "the refresh endpoint answered with a server error"
    } else if status == 429 {
        "the refresh endpoint is rate limiting"
    } else {
        "the refresh endpoint answered with an unexpected status"
    };
    Err(RefreshFailure::Transient {
        status,
        retry_after_ms: fetch::header(response, "retry-after")
            .and_then(|v| parse_retry_after(&v, now_ms())),
        detail: Rc::from(detail),
    })
}

/// Reads `{accessToken|access_token, refreshToken|refresh_token, expiresIn|expires_in}`.
/// In cookie mode a refresh token in the body is ignored: it must never live in JS.
fn tokens_from(body: &JsValue, cookie_mode: bool) -> Result<TokenSet, &'static str> {
    let either = |a: &str, b: &str| prop(body, a).or_else(|| prop(body, b));
    let access_token = either("accessToken", "access_token")
        .and_then(|v| v.as_string())
        .filter(|s| !s.is_empty())
        .ok_or("the refresh response has no access token")?;
    let refresh_token = if cookie_mode {
        None
    } else {
        either("refreshToken", "refresh_token")
            .and_then(|v| v.as_string())
            .filter(|s| !s.is_empty())
    };
    let expires_in = match either("expiresIn", "expires_in") {
        None => None,
        Some(v) => {
            // Some servers send `"3600"`; JS `Number()` parses it without
            // pulling Rust's float parser into the wasm.
            let seconds = v.as_f64().or_else(|| {
                let text = v.as_string()?;
                let text = text.trim();
                let numeric = !text.is_empty()
                    && text
                        .bytes()
                        .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b));
                numeric.then(|| js_sys::Number::parse_float(text))
            });
            match seconds {
                Some(s) if s.is_finite() && s >= 0.0 => Some(s),
                _ => return Err("the refresh response has an invalid expires_in"),
            }
        }
    };
    if expires_in.is_none() && crate::core::decode(&access_token).is_err() {
        return Err(
            "the access token in the refresh response is not a decodable JWT and has no expires_in",
        );
    }
    Ok(TokenSet {
        access_token,
        refresh_token,
        expires_in,
    })
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
fn parse_retry_after(value: &str, now: Millis) -> Option<Millis> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(|s| s.saturating_mul(1000));
    }
    let at = js_sys::Date::parse(value);
    if at.is_finite() && at >= 0.0 {
        Some((at as Millis).saturating_sub(now))
    } else {
        None
    }
}

/// The custom function transport: `await fn(refreshToken)`.
async fn call_function(
    f: &Function,
    refresh_token: Option<&str>,
) -> Result<TokenSet, RefreshFailure> {
    let arg = refresh_token.map_or(JsValue::NULL, JsValue::from_str);
    let outcome = match f.call1(&JsValue::UNDEFINED, &arg) {
        Ok(value) => JsFuture::from(Promise::resolve(&value)).await,
        Err(thrown) => Err(thrown),
    };
    match outcome {
        Ok(value) if value.is_object() => {
            tokens_from(&value, false).map_err(|detail| transient(0, detail))
        }
        Ok(_) => Err(transient(
            0,
            "the refresh function did not return { accessToken, … }",
        )),
        Err(thrown) => {
            let status = prop(&thrown, "status")
                .and_then(|s| s.as_f64())
                .filter(|s| (0.0..1000.0).contains(s));
            let error = prop_str(&thrown, "error");
            let status = status.map_or(0, |s| s as u16);
            if matches!(status, 400 | 401 | 403) || error.as_deref() == Some("invalid_grant") {
                Err(RefreshFailure::Rejected { status, error })
            } else {
                let detail = prop_str(&thrown, "message")
                    .unwrap_or_else(|| "the refresh function failed".into());
                Err(RefreshFailure::Transient {
                    status,
                    retry_after_ms: None,
                    detail: Rc::from(detail.as_str()),
                })
            }
        }
    }
}
