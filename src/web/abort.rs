//! `auth.fetch` and `AbortSignal` (issue 12 item 5): a request behaves like
//! `fetch` when its signal aborts, wherever it is — sent, or waiting in the
//! refresh queue (where the browser's `fetch` never sees it).
//!
//! - An already-aborted signal: the call rejects with `signal.reason` before
//!   anything is queued or sent (no refresh starts for it).
//! - A signal that aborts later: the call rejects at once with
//!   `signal.reason`, and the core is told (`Input::RequestGone`), which
//!   drops the request from the queue, so it no longer counts against
//!   `queueLimit` nor arms a `queue_timeout`.
//!
//! The reason is the signal's own (`controller.abort(reason)`), or an
//! `AbortError` `DOMException` where a browser leaves it unset — what
//! `fetch` rejects with.
//!
//! Per request with a signal the cost is one `bind` of the manager's single
//! abort callback and one add/remove of the listener: the listener is
//! removed when the request settles ([`Watch`] is dropped with it), so a
//! long-lived signal shared by many requests does not collect listeners.

use std::rc::{Rc, Weak};

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

use super::global::global_get;

#[wasm_bindgen]
extern "C" {
    /// A function, bound to a request id.
    type Callback;
    #[wasm_bindgen(method, js_name = bind)]
    fn bind_id(this: &Callback, this_arg: &JsValue, id: f64) -> Function;
}

/// The `abort` listener of one request; removed on drop.
pub(crate) struct Watch {
    signal: AbortSignal,
    listener: Function,
}

impl Watch {
    /// Listens for `signal`'s `abort`, calling `on_abort(id, event)`.
    /// `None` when the listener could not be added (the request then
    /// behaves as before: an abort reaches it once it is sent).
    pub(crate) fn new(signal: AbortSignal, on_abort: &Function, id: f64) -> Option<Watch> {
        let listener = on_abort
            .unchecked_ref::<Callback>()
            .bind_id(&JsValue::UNDEFINED, id);
        signal
            .add_event_listener_with_callback("abort", &listener)
            .ok()?;
        Some(Watch { signal, listener })
    }

    /// What the request rejects with.
    pub(crate) fn reason(&self) -> JsValue {
        reason(&self.signal)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self
            .signal
            .remove_event_listener_with_callback("abort", &self.listener);
    }
}

/// The manager's one abort callback, `(id, event)`: calls `f` with the
/// manager while it lives. Owned by the JS function (freed when it is
/// garbage collected); it holds only a weak reference.
pub(crate) fn callback<T: 'static>(weak: Weak<T>, f: fn(&Rc<T>, u64)) -> Function {
    let closure = Closure::<dyn FnMut(f64, JsValue)>::new(move |id: f64, _event: JsValue| {
        if let Some(rc) = weak.upgrade() {
            f(&rc, id as u64);
        }
    });
    closure.into_js_value().unchecked_into()
}

/// The rejection for an already-aborted signal, `None` when it is not.
pub(crate) fn aborted(signal: Option<&AbortSignal>) -> Option<JsValue> {
    signal.filter(|s| s.aborted()).map(reason)
}

/// `signal.reason`, or a new `AbortError` `DOMException` when unset.
fn reason(signal: &AbortSignal) -> JsValue {
    let reason = signal.reason();
    if !reason.is_undefined() {
        return reason;
    }
    let args = Array::of2(
        &JsValue::from_str("signal is aborted without reason"),
        &JsValue::from_str("AbortError"),
    );
    global_get("DOMException")
        .and_then(|ctor| ctor.dyn_into::<Function>().ok())
        .and_then(|ctor| Reflect::construct(&ctor, &args).ok())
        .unwrap_or_else(|| js_sys::Error::new("signal is aborted without reason").into())
}
