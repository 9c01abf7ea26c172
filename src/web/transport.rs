//! Refresh transports: build the refresh request for the configured format,
//! send it through the manager's `fetch`, read the status, `Retry-After` and
//! the body text (at most [`refresh::MAX_BODY_BYTES`], checked before the
//! text is copied into wasm memory), and hand them to the core's classifier
//! ([`crate::core::refresh`]), which decides: new tokens, or a
//! `RefreshFailure` (possibly with a rotated refresh token to keep).
//!
//! The custom function transport's result goes through the same core
//! validation; what it throws is classified by the core too
//! ([`refresh::function_threw`]).

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, JsString, Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use super::fetch;
use super::global::{global_get, now_ms, object, prop, set};
use super::options::{Format, Transport};
use crate::core::refresh::{self, Body, Field, Outcome, RawTokens, SendFailure};

/// Runs one refresh attempt with `refresh_token` (absent in cookie mode).
pub(crate) async fn refresh(
    transport: &Transport,
    fetch_fn: &Function,
    refresh_token: Option<&str>,
) -> Outcome {
    match transport {
        Transport::Function(f) => call_function(f, refresh_token).await,
        Transport::Http {
            url,
            format,
            headers,
            credentials,
            timeout_ms,
        } => {
            let cookie_mode = matches!(format, Format::Cookie);
            let token = match refresh_token {
                Some(t) => t,
                None if !cookie_mode => {
                    return Outcome::Failed {
                        failure: refresh::no_refresh_token(),
                        rotated_refresh_token: None,
                    }
                }
                None => "",
            };
            let abort = AbortOnTimeout::new(*timeout_ms);
            let Ok(request) =
                build_request(url, format, headers, *credentials, token, abort.signal())
            else {
                return refresh::send_failed(SendFailure::Build);
            };
            let response = match fetch::send(fetch_fn, &request).await {
                Ok(response) => response,
                Err(_) if abort.fired() => return refresh::send_failed(SendFailure::Timeout),
                Err(_) => return refresh::send_failed(SendFailure::Network),
            };
            let text = read_text(&response).await;
            drop(abort);
            let body = match &text {
                Ok(text) => Body::Text(text),
                Err(body) => *body,
            };
            refresh::classify(
                response.status(),
                fetch::header(&response, "retry-after").as_deref(),
                body,
                cookie_mode,
                now_ms(),
            )
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
        Format::OAuth2 {
            client_id,
            scope,
            resource,
        } => {
            let form = web_sys::UrlSearchParams::new()?;
            form.append("grant_type", "refresh_token");
            form.append("refresh_token", refresh_token);
            form.append("client_id", client_id);
            if let Some(scope) = scope {
                form.append("scope", scope);
            }
            // RFC 8707: one `resource` parameter per target resource.
            for uri in resource {
                form.append("resource", uri);
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

/// The response body as text, or why it was not read: a body longer than
/// [`refresh::MAX_BODY_BYTES`] (by `Content-Length`, or by the length of the
/// JS string) is never copied into wasm memory.
async fn read_text(response: &Response) -> Result<String, Body<'static>> {
    let max = refresh::MAX_BODY_BYTES;
    if fetch::header(response, "content-length").is_some_and(|v| refresh::declared_too_large(&v)) {
        if let Some(stream) = response.body() {
            let _ = stream.cancel();
        }
        return Err(Body::TooLarge);
    }
    let promise = response.text().map_err(|_| Body::Unreadable)?;
    let value = JsFuture::from(promise)
        .await
        .map_err(|_| Body::Unreadable)?;
    let text = value.dyn_into::<JsString>().map_err(|_| Body::Unreadable)?;
    // UTF-16 units: a string within the bound is at most 3 × the bound in
    // UTF-8, and the core checks the bytes again.
    if text.length() as usize > max {
        return Err(Body::TooLarge);
    }
    Ok(String::from(text))
}

/// A member of a JS object as a core [`Field`]; a string longer than the
/// token bound is not copied into wasm memory.
fn field(value: Option<JsValue>) -> Field {
    let Some(value) = value else {
        return Field::Absent;
    };
    if let Some(text) = value.dyn_ref::<JsString>() {
        if text.length() as usize > refresh::MAX_TOKEN_BYTES {
            return Field::TooLarge;
        }
        return Field::Str(String::from(text));
    }
    match value.as_f64() {
        Some(n) => Field::Num(n),
        None => Field::Other,
    }
}

/// `{accessToken|access_token, refreshToken|refresh_token, expiresIn|expires_in}`
/// of a JS object, for the core's validation (`setSession`, the refresh
/// function's result).
pub(crate) fn raw_tokens(value: &JsValue) -> RawTokens {
    let either = |a: &str, b: &str| prop(value, a).or_else(|| prop(value, b));
    RawTokens {
        access_token: field(either("accessToken", "access_token")),
        refresh_token: field(either("refreshToken", "refresh_token")),
        expires_in: field(either("expiresIn", "expires_in")),
    }
}

/// A string member of at most 1 KiB (UTF-16 units), else `None`: a thrown
/// value's `error` / `message` is never copied whole into wasm memory.
fn short_str(value: &JsValue, name: &str) -> Option<String> {
    let text = prop(value, name)?.dyn_into::<JsString>().ok()?;
    (text.length() <= 1024).then(|| String::from(text))
}

/// The custom function transport: `await fn(refreshToken)`.
async fn call_function(f: &Function, refresh_token: Option<&str>) -> Outcome {
    let arg = refresh_token.map_or(JsValue::NULL, JsValue::from_str);
    let outcome = match f.call1(&JsValue::UNDEFINED, &arg) {
        Ok(value) => JsFuture::from(Promise::resolve(&value)).await,
        Err(thrown) => Err(thrown),
    };
    match outcome {
        Ok(value) => refresh::from_function(value.is_object().then(|| raw_tokens(&value))),
        Err(thrown) => Outcome::Failed {
            failure: refresh::function_threw(
                prop(&thrown, "status").and_then(|s| s.as_f64()),
                short_str(&thrown, "error"),
                short_str(&thrown, "message"),
            ),
            rotated_refresh_token: None,
        },
    }
}
