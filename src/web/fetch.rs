//! `auth.fetch` requests: capture once, send (and re-send) with or without a
//! bearer token, and read what the core needs from the response.
//!
//! Two shapes of capture, both sending exactly what `fetch(input, init)`
//! would send:
//!
//! - **Direct** (the common case, and the fast one): `input` is a URL string
//!   and `init` is absent or a plain object whose body is absent or a string.
//!   Such an `init` can be given to `fetch` again as it is, so no `Request`
//!   is built: each attempt calls `fetch(url, copy)`, where `copy` is a
//!   shallow copy of `init` (taken once, so later changes by the caller do
//!   not leak into a replay) whose `headers` are the caller's headers (copied
//!   into a `Headers` once) plus `Authorization`. The caller's `init` and
//!   `Headers` objects are never modified. A request that gets no token is
//!   sent with the caller's own `init`. `url` is the caller's URL resolved
//!   once, at capture, against the base URL (see [`resolve`]): a relative
//!   URL never resolves again at a replay.
//! - **Template** (everything else: `Request`/`URL` inputs, `FormData`,
//!   `Blob`, buffer, `URLSearchParams` and stream bodies, `init` objects
//!   with a prototype): one `Request` is built from `(input, init)` exactly
//!   as `fetch` would and kept unsent; each send is a `clone()` of it (the
//!   browser tees the body, so every attempt sends the same bytes and a
//!   `FormData` keeps its multipart boundary). A `ReadableStream` body is
//!   not replayable: it is sent once, as is, and a 401 goes back to the
//!   caller.
//!
//! Every rule about URLs, origins and challenges is the core's
//! (`core::http`): this module reads the base URL and runs the browser's URL
//! parser where the core asks for them, and carries out its answers.
//!
//! ```ignore
//! let mut captured = fetch::capture(&input, &init)?;
//! let attach = fetch::resolve(&mut captured, &allowed) && !captured.explicit_auth;
//! let args = fetch::prepare(&mut captured, Some(&bearer))?;
//! let pending = fetch::call(&options.fetch, &args)?; // a Promise
//! ```

use std::cell::{OnceCell, RefCell};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Headers, Request, Response};

use super::global::{global, global_get, prop, prop_str, text_prop};
use crate::core::http::{self, Allowed, Challenge, Destination};

#[wasm_bindgen]
extern "C" {
    /// A `RequestInit`-like object, read and written through property
    /// accessors (no property names cross the wasm boundary per request).
    #[wasm_bindgen(extends = Object)]
    type Init;
    #[wasm_bindgen(method, getter, catch)]
    fn body(this: &Init) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn headers(this: &Init) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, setter = headers)]
    fn set_headers(this: &Init, value: &JsValue);
    #[wasm_bindgen(method, setter = Authorization)]
    fn set_authorization(this: &Init, value: &JsValue);

    /// A `Headers`, called with names and values that are already JS
    /// strings (web-sys's methods take `&str`, copied out of wasm per call).
    type HeadersJs;
    #[wasm_bindgen(method, catch)]
    fn set(this: &HeadersJs, name: &JsValue, value: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn delete(this: &HeadersJs, name: &JsValue) -> Result<(), JsValue>;
    #[wasm_bindgen(method, catch)]
    fn has(this: &HeadersJs, name: &JsValue) -> Result<bool, JsValue>;

    /// A function, bound to a request id.
    type Callback;
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_id(this: &Callback, this_arg: &JsValue, id: f64) -> Function;
    /// A promise, settling into two plain functions.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_both(this: &Thenable, ok: &Function, failed: &Function) -> JsValue;

    /// Where relative URLs resolve (honours `<base href>`), read without
    /// crossing a property name.
    type BaseSource;
    #[wasm_bindgen(method, getter = baseURI)]
    fn base_uri(this: &BaseSource) -> JsValue;
    #[wasm_bindgen(method, getter = href)]
    fn href(this: &BaseSource) -> JsValue;
}

/// A request as `auth.fetch` received it, ready to be sent any number of times.
pub(crate) struct Captured {
    how: How,
    /// The URL as given (Direct) or as resolved by `Request` (Template), for
    /// [`resolve`].
    pub url: String,
    /// The body can be sent again (everything but a `ReadableStream` body).
    pub replayable: bool,
    /// The caller set its own `Authorization` header: it is never replaced.
    pub explicit_auth: bool,
}

enum How {
    /// `fetch(url, init)`: `url` is the absolute URL once [`resolve`] ran;
    /// `init` is a shallow copy of the caller's (taken
    /// at capture, so later changes by the caller do not reach a replay) or
    /// our own object when the caller gave none; its `headers` are `headers`,
    /// the caller's headers copied into a `Headers`, which gets the
    /// `Authorization` header of each attempt.
    Direct {
        url: JsValue,
        init: Option<Init>,
        headers: Option<Headers>,
    },
    /// Never sent itself when replayable; each send is a clone.
    Template(Request),
}

thread_local! {
    /// `"Authorization"`, created once.
    static AUTHORIZATION: JsValue = JsValue::from_str("Authorization");
    /// `Object.prototype`, for the plain-object test.
    static OBJECT_PROTOTYPE: JsValue = Object::get_prototype_of(&Object::new()).into();
    /// The object relative URLs resolve against (`document`, else `location`
    /// in a worker), with the last base URL seen.
    static BASE: RefCell<Option<BaseState>> = const { RefCell::new(None) };
    /// The page's own origin (`location.origin`), read once.
    static OWN_ORIGIN: OnceCell<Option<String>> = const { OnceCell::new() };
}

struct BaseState {
    source: BaseSource,
    in_document: bool,
    /// The last `baseURI` read, and the base parsed from it.
    uri: JsValue,
    base: Option<http::Base>,
}

/// Reads `(input, init)` the way `fetch` will. Errors are what `fetch`
/// itself would throw (`TypeError` for a bad URL or header, an already used
/// body). May run the caller's getters on `init`: call without any borrow.
pub(crate) fn capture(input: &JsValue, init: &JsValue) -> Result<Captured, JsValue> {
    if let Some(url) = input.as_string() {
        if let Some(captured) = capture_direct(input, url, init)? {
            return Ok(captured);
        }
    }
    capture_template(input, init)
}

/// The Direct capture, or `None` when `init` needs the Template one.
fn capture_direct(
    input: &JsValue,
    url: String,
    init: &JsValue,
) -> Result<Option<Captured>, JsValue> {
    let mut copy = None;
    let mut headers = None;
    if !init.is_undefined() && !init.is_null() {
        if !init.is_object() || !plain_object(init) {
            return Ok(None);
        }
        // Copied first, so that each of the caller's getters runs once, as
        // it would in `fetch`; then only our copy is read.
        let fields: Init = Object::new().unchecked_into();
        Object::assign(&fields, init.unchecked_ref());
        let body = fields.body()?;
        if !(body.is_undefined() || body.is_null() || body.is_string()) {
            return Ok(None);
        }
        let given = fields.headers()?;
        if !given.is_undefined() {
            // Throws what `fetch` would for bad headers.
            let h = Headers::new_with_str_sequence_sequence(&given)?;
            fields.set_headers(&h);
            headers = Some(h);
        }
        copy = Some(fields);
    }
    let explicit_auth = match &headers {
        Some(h) => AUTHORIZATION.with(|name| js(h).has(name))?,
        None => false,
    };
    Ok(Some(Captured {
        how: How::Direct {
            url: input.clone(),
            init: copy,
            headers,
        },
        url,
        replayable: true,
        explicit_auth,
    }))
}

/// `init`'s prototype is `Object.prototype` or `null`: its own enumerable
/// properties are all of it, so a shallow copy sends the same request.
fn plain_object(value: &JsValue) -> bool {
    let proto = Object::get_prototype_of(value);
    proto.is_null() || OBJECT_PROTOTYPE.with(|p| JsValue::from(proto) == *p)
}

fn capture_template(input: &JsValue, init: &JsValue) -> Result<Captured, JsValue> {
    let constructor =
        global_get("Request").ok_or_else(|| js_sys::TypeError::new("Request is not available"))?;
    let constructor: Function = constructor
        .dyn_into()
        .map_err(|_| js_sys::TypeError::new("Request is not a constructor"))?;
    let args = if init.is_undefined() {
        js_sys::Array::of1(input)
    } else {
        js_sys::Array::of2(input, init)
    };
    let template: Request = js_sys::Reflect::construct(&constructor, &args)?.dyn_into()?;
    let stream_body =
        prop(init, "body").is_some_and(|b| b.is_instance_of::<web_sys::ReadableStream>());
    let explicit_auth = AUTHORIZATION
        .with(|name| js(&template.headers()).has(name))
        .unwrap_or(true);
    Ok(Captured {
        url: template.url(),
        how: How::Template(template),
        replayable: !stream_body,
        explicit_auth,
    })
}

/// Resolves the request's URL once, at capture, and decides whether the
/// token may go with it (the core's [`http::resolve`]): a Direct request's
/// relative URL is replaced by the absolute one every attempt is sent to, so
/// a `<base href>` inserted while it waits cannot redirect a replay. A
/// Template request's URL was resolved by its `Request`. The base URL is
/// read (and the URL parser run) only where the core asks for them.
pub(crate) fn resolve(captured: &mut Captured, allowed_origins: &[String]) -> bool {
    let target = with_allowed(allowed_origins, |allowed| match &captured.how {
        How::Template(_) => http::resolve(&captured.url, || None, allowed, parse_url),
        // `try_borrow_mut`: a patched `URL` (app code) calling `auth.fetch`
        // from inside finds the base busy and resolves without it.
        How::Direct { .. } => BASE.with(|cell| match cell.try_borrow_mut() {
            Ok(mut guard) => http::resolve(
                &captured.url,
                || current_base(&mut guard),
                allowed,
                parse_url,
            ),
            Err(_) => http::resolve(&captured.url, || None, allowed, parse_url),
        }),
    });
    if let (Destination::Resolved(href), How::Direct { url, .. }) =
        (&target.destination, &mut captured.how)
    {
        *url = JsValue::from_str(href);
    }
    target.allowed
}

/// Whether the renew header of `response` may be read (the core's
/// [`http::renewal_allowed`]): the request carried our token and
/// `response.url` (after redirects; empty for a synthetic response) is on an
/// allowed origin. A `url` that is not a string renews nothing.
pub(crate) fn renewal_allowed(
    response: &Response,
    sent_token: bool,
    allowed_origins: &[String],
) -> bool {
    // A plain property read: `url` may be shadowed by a non-string on a
    // response an injected `fetch` made, and a typed getter would trap.
    let url = prop_str(response, "url");
    with_allowed(allowed_origins, |allowed| {
        http::renewal_allowed(sent_token, url.as_deref(), allowed, |url| {
            parse_url(url, None)
        })
    })
}

/// Runs `f` with the origins that may see the token: the page's own (read
/// once) and `allowed_origins`.
fn with_allowed<R>(allowed_origins: &[String], f: impl FnOnce(&Allowed<'_>) -> R) -> R {
    OWN_ORIGIN.with(|own| {
        let allowed = Allowed {
            own: own.get_or_init(super::global::own_origin).as_deref(),
            listed: allowed_origins,
        };
        f(&allowed)
    })
}

/// The browser's URL parser: `new URL(url, base)`, `None` when it throws.
fn parse_url(url: &str, base: Option<&http::Base>) -> Option<http::Parsed> {
    let parsed = match base {
        Some(base) => web_sys::Url::new_with_base(url, base.href()),
        None => web_sys::Url::new(url),
    }
    .ok()?;
    // Read as plain properties: the drafts code reads URL parts that way, so
    // no typed getters are bound for them.
    Some(http::Parsed {
        href: text_prop(&parsed, "href"),
        origin: text_prop(&parsed, "origin"),
    })
}

/// The base URL relative URLs resolve against now (`document.baseURI`,
/// which follows `<base href>`; `location.href` in a worker), re-parsed
/// only when it changed.
fn current_base(slot: &mut Option<BaseState>) -> Option<&http::Base> {
    if slot.is_none() {
        let (source, in_document) = match global_get("document") {
            Some(d) => (d, true),
            None => (global_get("location")?, false),
        };
        *slot = Some(BaseState {
            source: source.unchecked_into(),
            in_document,
            uri: JsValue::UNDEFINED,
            base: None,
        });
    }
    let state = slot.as_mut()?;
    let uri = if state.in_document {
        state.source.base_uri()
    } else {
        state.source.href()
    };
    if uri != state.uri {
        state.base = uri
            .as_string()
            .and_then(|u| parse_url(&u, None))
            .map(|p| http::Base::new(&p.href, &p.origin));
        state.uri = uri;
    }
    state.base.as_ref()
}

/// The arguments of `fetch` for one attempt, with `Authorization: <bearer>`
/// when `bearer` is given. Only touches objects of our own (no application
/// code runs), so the manager may call it with its state borrowed. A
/// non-replayable Template request is the template itself, so a second
/// attempt fails with the browser's "body already used" `TypeError`.
pub(crate) fn prepare(
    captured: &mut Captured,
    bearer: Option<&JsValue>,
) -> Result<(JsValue, JsValue), JsValue> {
    match &mut captured.how {
        How::Direct { url, init, headers } => {
            let Some(bearer) = bearer else {
                // An earlier attempt may have carried a token (ours: the
                // caller's own Authorization header stays).
                match (headers.as_ref(), init.as_ref()) {
                    (Some(_), _) if captured.explicit_auth => {}
                    (Some(h), _) => AUTHORIZATION.with(|name| js(h).delete(name))?,
                    (None, Some(i)) => i.set_headers(&JsValue::UNDEFINED),
                    (None, None) => {}
                }
                let init = init
                    .as_ref()
                    .map_or(JsValue::UNDEFINED, |i| JsValue::clone(i));
                return Ok((url.clone(), init));
            };
            let init = init.get_or_insert_with(|| Object::new().unchecked_into());
            match headers {
                Some(h) => AUTHORIZATION.with(|name| js(h).set(name, bearer))?,
                None => {
                    // A fresh record per attempt: an injected `fetch` may
                    // keep or change the one it was given.
                    let record: Init = Object::new().unchecked_into();
                    record.set_authorization(bearer);
                    init.set_headers(&record);
                }
            }
            Ok((url.clone(), JsValue::clone(init)))
        }
        How::Template(template) => {
            let request = if captured.replayable {
                template.clone()?
            } else {
                JsValue::clone(template).unchecked_into()
            };
            if let Some(bearer) = bearer {
                AUTHORIZATION.with(|name| js(&request.headers()).set(name, bearer))?;
            }
            Ok((request.into(), JsValue::UNDEFINED))
        }
    }
}

/// Calls the manager's `fetch` with the prepared arguments (and
/// `globalThis` as `this`, which the built-in `fetch` requires); a
/// synchronous throw is an `Err`, any returned value becomes a promise.
pub(crate) fn call(
    fetch: &Function,
    (input, init): &(JsValue, JsValue),
) -> Result<Promise, JsValue> {
    let pending = if init.is_undefined() {
        fetch.call1(&global(), input)?
    } else {
        fetch.call2(&global(), input, init)?
    };
    Ok(Promise::resolve(&pending))
}

fn js(headers: &Headers) -> &HeadersJs {
    headers.unchecked_ref()
}

impl Captured {
    /// The request's `AbortSignal`: `init.signal` (read from our copy, so
    /// no getter of the caller runs again) or the `Request`'s own.
    pub(crate) fn signal(&self) -> Option<web_sys::AbortSignal> {
        match &self.how {
            How::Direct { init, .. } => init
                .as_ref()
                .and_then(|i| prop(i, "signal"))
                .and_then(|s| s.dyn_into().ok()),
            How::Template(template) => Some(template.signal()),
        }
    }
}

/// `promise.then(ok.bind(undefined, id), failed.bind(undefined, id))`.
pub(crate) fn settle_into(promise: &Promise, ok: &Function, failed: &Function, id: f64) {
    let ok = ok
        .unchecked_ref::<Callback>()
        .bind_id(&JsValue::UNDEFINED, id);
    let failed = failed
        .unchecked_ref::<Callback>()
        .bind_id(&JsValue::UNDEFINED, id);
    promise.unchecked_ref::<Thenable>().then_both(&ok, &failed);
}

/// Sends `request` through `fetch` and waits for its `Response` (the
/// refresh transports). A synchronous throw, a rejection and a result that
/// is not a `Response` are all errors.
pub(crate) async fn send(fetch: &Function, request: &Request) -> Result<Response, JsValue> {
    let pending = fetch.call1(&global(), request)?;
    let value = wasm_bindgen_futures::JsFuture::from(Promise::resolve(&pending)).await?;
    as_response(value)
}

/// What `fetch` resolved to as a `Response`, or a `TypeError` for anything
/// else.
pub(crate) fn as_response(value: JsValue) -> Result<Response, JsValue> {
    value
        .dyn_into::<Response>()
        .map_err(|_| js_sys::TypeError::new("fetch did not resolve to a Response").into())
}

/// A response header, if present and readable.
pub(crate) fn header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

/// What the `WWW-Authenticate` header of a 401 asks for (the core's
/// [`Challenge::from_header`]).
pub(crate) fn challenge(response: &Response) -> Challenge {
    Challenge::from_header(header(response, "www-authenticate").as_deref())
}
