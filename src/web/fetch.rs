//! `auth.fetch` requests: capture once, send (and re-send) with or without a
//! bearer token, and read what the core needs from the response.
//!
//! Capture builds one `Request` from `(input, init)` exactly as `fetch` would
//! (so relative URLs, `Request` inputs and every init field behave the same)
//! and keeps it unsent as a template. Each send is a `clone()` of the
//! template: the browser tees the body, so every attempt sends the same
//! method, headers and body bytes (a `FormData` body keeps its multipart
//! boundary). A body given as a `ReadableStream` is not replayable: it is sent
//! once, as is, and a 401 goes back to the caller.
//!
//! ```ignore
//! let captured = fetch::capture(&input, &init, &options.allowed_origins)?;
//! let request = fetch::prepare(&captured, Some("eyJ…"))?;
//! let response = fetch::send(&options.fetch, &request).await?;
//! ```

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Request, Response};

use super::global::{global, global_get, origin_of, own_origin, prop};
use crate::core::session::BearerError;

/// A request as `auth.fetch` received it, ready to be sent any number of times.
pub(crate) struct Captured {
    /// Never sent itself when `replayable`; each send is a clone.
    template: Request,
    /// The body can be sent again (everything but a `ReadableStream` body).
    pub replayable: bool,
    /// The target origin may see the token and the caller did not set its own
    /// `Authorization` header.
    pub attach: bool,
}

/// Builds the request template and decides `attach`/`replayable`.
/// Errors are what `fetch` itself would throw (`TypeError` for a bad URL or
/// an already used body).
pub(crate) fn capture(
    input: &JsValue,
    init: &JsValue,
    allowed_origins: &[String],
) -> Result<Captured, JsValue> {
    let constructor =
        global_get("Request").ok_or_else(|| js_sys::TypeError::new("Request is not available"))?;
    let constructor: Function = constructor
        .dyn_into()
        .map_err(|_| js_sys::TypeError::new("Request is not a constructor"))?;
    let args = if init.is_undefined() {
        Array::of1(input)
    } else {
        Array::of2(input, init)
    };
    let template: Request = Reflect::construct(&constructor, &args)?.dyn_into()?;

    let stream_body =
        prop(init, "body").is_some_and(|b| b.is_instance_of::<web_sys::ReadableStream>());
    let explicit_auth = template.headers().has("authorization").unwrap_or(true);
    let attach = !explicit_auth && origin_allowed(&template.url(), allowed_origins);
    Ok(Captured {
        template,
        replayable: !stream_body,
        attach,
    })
}

/// Whether `url` goes to the page's own origin or one of `allowed_origins`
/// (both normalised by the URL parser, so `HTTPS://API.example.com:443`
/// matches `https://api.example.com`).
pub(crate) fn origin_allowed(url: &str, allowed_origins: &[String]) -> bool {
    let Some(target) = origin_of(url) else {
        return false;
    };
    own_origin().is_some_and(|own| own == target) || allowed_origins.contains(&target)
}

/// The request for one attempt, with `Authorization: Bearer <token>` when
/// `token` is given. A non-replayable request is its template itself (so a
/// second attempt fails with the browser's "body already used" `TypeError`).
pub(crate) fn prepare(captured: &Captured, token: Option<&str>) -> Result<Request, JsValue> {
    let request = if captured.replayable {
        captured.template.clone()?
    } else {
        JsValue::clone(&captured.template).unchecked_into()
    };
    if let Some(token) = token {
        let mut value = String::with_capacity(token.len() + 7);
        value.push_str("Bearer ");
        value.push_str(token);
        request.headers().set("Authorization", &value)?;
    }
    Ok(request)
}

/// Sends `request` through the manager's `fetch` (called with `globalThis` as
/// `this`, which the built-in `fetch` requires). A synchronous throw, a
/// rejection and a result that is not a `Response` are all errors.
pub(crate) async fn send(fetch: &Function, request: &Request) -> Result<Response, JsValue> {
    let pending = fetch.call1(&global(), request)?;
    let value = JsFuture::from(Promise::resolve(&pending)).await?;
    value
        .dyn_into::<Response>()
        .map_err(|_| js_sys::TypeError::new("fetch did not resolve to a Response").into())
}

/// A response header, if present and readable.
pub(crate) fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

/// The `error` of a `WWW-Authenticate: Bearer` challenge on a 401 response;
/// `None` when the response carries no Bearer challenge.
pub(crate) fn bearer_error(response: &Response) -> Option<BearerError> {
    parse_bearer_error(&header(response, "www-authenticate")?)
}

/// Parses the Bearer challenge of a `WWW-Authenticate` value (RFC 6750 §3):
/// auth-params `name=value` or `name="quoted value"` separated by commas.
fn parse_bearer_error(header: &str) -> Option<BearerError> {
    let lower = header.to_ascii_lowercase();
    let start = find_scheme(&lower)?;
    let mut rest = &lower[start..];
    loop {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        if rest.is_empty() {
            break;
        }
        let name_end = rest.find(['=', ' ', '\t', ',']).unwrap_or(rest.len());
        let name = &rest[..name_end];
        rest = rest[name_end..].trim_start_matches([' ', '\t']);
        let Some(after_eq) = rest.strip_prefix('=') else {
            break; // a bare token: the next challenge's scheme begins
        };
        rest = after_eq.trim_start_matches([' ', '\t']);
        let value;
        if let Some(quoted) = rest.strip_prefix('"') {
            let mut end = quoted.len();
            let mut escaped = false;
            for (i, b) in quoted.bytes().enumerate() {
                if escaped {
                    escaped = false;
                } else if b == b'\\' {
                    escaped = true;
                } else if b == b'"' {
                    end = i;
                    break;
                }
            }
            value = &quoted[..end];
            rest = quoted.get(end + 1..).unwrap_or("");
        } else {
            let end = rest.find([',', ' ', '\t']).unwrap_or(rest.len());
            value = &rest[..end];
            rest = &rest[end..];
        }
        if name == "error" {
            return Some(match value {
                "invalid_token" => BearerError::InvalidToken,
                "insufficient_scope" => BearerError::InsufficientScope,
                _ => BearerError::Other,
            });
        }
    }
    Some(BearerError::InvalidToken)
}

/// Byte offset just after the `bearer` scheme name, when the (lower-cased)
/// header has a Bearer challenge.
fn find_scheme(lower: &str) -> Option<usize> {
    let bytes = lower.as_bytes();
    let mut from = 0;
    while let Some(i) = lower[from..].find("bearer") {
        let at = from + i;
        let end = at + 6;
        let before_ok = at == 0 || matches!(bytes[at - 1], b' ' | b',' | b'\t');
        let after_ok = end == bytes.len() || matches!(bytes[end], b' ' | b',' | b'\t');
        if before_ok && after_ok {
            return Some(end);
        }
        from = end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn bearer_challenges() {
        assert_eq!(
            parse_bearer_error("Bearer"),
            Some(BearerError::InvalidToken)
        );
        assert_eq!(
            parse_bearer_error(
                r#"Bearer realm="x", error="invalid_token", error_description="a, b""#
            ),
            Some(BearerError::InvalidToken)
        );
        assert_eq!(
            parse_bearer_error(
                r#"Bearer error_description="error=\"x\"", error="insufficient_scope""#
            ),
            Some(BearerError::InsufficientScope)
        );
        assert_eq!(
            parse_bearer_error("bearer error=invalid_request"),
            Some(BearerError::Other)
        );
        assert_eq!(
            parse_bearer_error(r#"Basic realm="x", Bearer error="insufficient_scope""#),
            Some(BearerError::InsufficientScope)
        );
        assert_eq!(
            parse_bearer_error(r#"Bearer realm="x", Basic error="insufficient_scope""#),
            Some(BearerError::InvalidToken)
        );
        assert_eq!(parse_bearer_error(r#"Basic realm="bearers""#), None);
        assert_eq!(
            parse_bearer_error("Bearer error=\"unterminated"),
            Some(BearerError::Other)
        );
        assert_eq!(
            parse_bearer_error("Bearer é=\"ü\", error=invalid_token"),
            Some(BearerError::InvalidToken)
        );
    }
}
