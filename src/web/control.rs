//! Request-level control: the per-request `init.tokenwarden` member and the
//! app's `shouldRefresh(response)` verdict. Both only carry facts to the
//! core (`RequestStarted { refresh }`, `Response { should_refresh }`); the
//! rules are in `core::session`.
//!
//! - `auth.fetch(input, { ...init, tokenwarden: { auth: false } })`: no
//!   token, no refresh handling; `{ refresh: false }`: the token as usual,
//!   but no refresh handling (never queued, a 401 delivered as it is);
//!   `null` is the same as absent. When present, the member is removed from
//!   a shallow copy of a plain `init`, which is what gets captured, so an
//!   injected `fetch` never sees it (a `Request` built from any other
//!   `init` ignores it anyway). With a `Request` input, the member travels in the
//!   `init` beside it — what ky (its unknown options), ofetch and axios's
//!   fetch adapter (`fetchOptions`) pass to a custom `fetch`.
//! - `shouldRefresh(response)`: called with a *clone* of each response to a
//!   request that carried the token and takes part in refresh handling, so
//!   it may read the body; the caller's response is untouched. `true` /
//!   `false` (or a promise of one) is the verdict; anything else leaves the
//!   built-in rule in force; a throw or a rejection delivers the response as
//!   it is and emits an `error` event `should_refresh_failed`.

use std::rc::Rc;

use js_sys::{Function, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::Response;

use super::events;
use super::global::set;
use super::manager::{feed, with, Shared};
use crate::core::Input;

#[wasm_bindgen]
extern "C" {
    /// An `init` object, read through a typed getter (no property name
    /// crosses the wasm boundary per request).
    #[wasm_bindgen(extends = Object)]
    type ControlInit;
    #[wasm_bindgen(method, getter, catch)]
    fn tokenwarden(this: &ControlInit) -> Result<JsValue, JsValue>;

    /// The `{ auth, refresh }` switches.
    type Switches;
    #[wasm_bindgen(method, getter, catch)]
    fn auth(this: &Switches) -> Result<JsValue, JsValue>;
    #[wasm_bindgen(method, getter, catch)]
    fn refresh(this: &Switches) -> Result<JsValue, JsValue>;
}

/// The member's name, for removing it from the copy of `init`.
const MEMBER: &str = "tokenwarden";

/// What a request asked for (both `true` unless it opted out).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Control {
    /// May carry the token (still only to an origin that may see it).
    pub auth: bool,
    /// Takes part in refresh handling (`false` whenever `auth` is).
    pub refresh: bool,
}

impl Control {
    const DEFAULT: Control = Control {
        auth: true,
        refresh: true,
    };
}

/// Reads `init.tokenwarden` and returns the switches with the `init` to
/// capture: the caller's own when it has no such member (the common case
/// costs one property read), else a shallow copy without it. A bad member
/// is a `TypeError`, as `fetch` gives for a bad `init`.
pub(crate) fn take(init: &JsValue) -> Result<(Control, JsValue), JsValue> {
    if !init.is_object() {
        return Ok((Control::DEFAULT, init.clone()));
    }
    let member = init.unchecked_ref::<ControlInit>().tokenwarden()?;
    if member.is_undefined() {
        return Ok((Control::DEFAULT, init.clone()));
    }
    // `null` reads as absent (`{ tokenwarden: cond ? { auth: false } : null }`).
    let control = if member.is_null() {
        Control::DEFAULT
    } else {
        parse(&member)?
    };
    let proto = Object::get_prototype_of(init);
    let plain = proto.is_null() || proto == Object::get_prototype_of(&Object::new());
    if !plain {
        // Becomes a `Request` (which ignores unknown members); nothing to strip.
        return Ok((control, init.clone()));
    }
    let copy = Object::assign(&Object::new(), init.unchecked_ref());
    Reflect::delete_property(&copy, &JsValue::from_str(MEMBER))?;
    Ok((control, copy.into()))
}

fn parse(member: &JsValue) -> Result<Control, JsValue> {
    let bad = || js_sys::TypeError::new(BAD_MEMBER).into();
    if !member.is_object() {
        return Err(bad());
    }
    let switches = member.unchecked_ref::<Switches>();
    let (auth, refresh) = (switches.auth()?, switches.refresh()?);
    // Every own member must be one of the two (a typo is an error, not a
    // silent opt-in): count them instead of comparing names.
    let given = u32::from(!auth.is_undefined()) + u32::from(!refresh.is_undefined());
    if Object::keys(member.unchecked_ref::<Object>()).length() != given {
        return Err(bad());
    }
    let flag = |value: JsValue| match value.as_bool() {
        Some(b) => Ok(b),
        None if value.is_undefined() => Ok(true),
        None => Err(bad()),
    };
    let auth = flag(auth)?;
    let refresh = flag(refresh)?;
    Ok(Control {
        auth,
        refresh: auth && refresh,
    })
}

/// The `TypeError` message for a bad `init.tokenwarden`.
const BAD_MEMBER: &str = "init.tokenwarden must be { auth?: boolean, refresh?: boolean }";

/// Asks `callback` about `response` (a clone of it) and feeds the core the
/// response with the verdict: at once when the answer is synchronous, when
/// the promise settles otherwise.
pub(crate) fn ask_then_feed(
    rc: &Shared,
    callback: &Function,
    response: &Response,
    input: impl FnOnce(Option<bool>) -> Input + 'static,
) {
    let answer = response
        .clone()
        .and_then(|copy| callback.call1(&JsValue::UNDEFINED, &copy));
    let answer = match answer {
        Ok(value) if value.is_undefined() || value.as_bool().is_some() => {
            return feed(rc, input(value.as_bool()))
        }
        // A promise (or any other value, which resolves to itself).
        Ok(value) => value,
        Err(thrown) => return failed(rc, thrown, input),
    };
    let weak = Rc::downgrade(rc);
    wasm_bindgen_futures::spawn_local(async move {
        let settled = wasm_bindgen_futures::JsFuture::from(Promise::resolve(&answer)).await;
        let Some(rc) = weak.upgrade() else { return };
        match settled {
            Ok(value) => feed(&rc, input(value.as_bool())),
            Err(thrown) => failed(&rc, thrown, input),
        }
    });
}

/// The callback threw or rejected: the response goes to the caller as it
/// is, and an `error` event says why (`error.cause` is what was thrown).
fn failed(rc: &Shared, thrown: JsValue, input: impl FnOnce(Option<bool>) -> Input) {
    feed(rc, input(Some(false)));
    let code = "should_refresh_failed";
    let payload = events::error_payload(code, events::error_message(code));
    if let Ok(error) = Reflect::get(&payload, &JsValue::from_str("error")) {
        set(&error, "cause", &thrown);
    }
    let targets = with(rc, |inner| inner.emitter.targets("error")).unwrap_or_default();
    events::call_all(&targets, &payload);
}
