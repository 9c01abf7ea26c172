//! DOM event listeners owned by a manager (RAII, like `gloo-events`): the
//! closure lives in the [`Listener`] and is removed from its target when the
//! listener is dropped, so `dispose()` (or the manager being garbage
//! collected) leaves nothing registered and nothing leaked.
//!
//! Used for wake-ups (`visibilitychange`, `pageshow`, `focus`, `online`: the
//! schedule is re-checked against the wall clock) and user activity
//! (`pointerdown`, `pointermove`, `keydown`: the idle timeout).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{Event, EventTarget};

use super::global::{global, global_get};

/// One registered listener; removed on drop.
pub(crate) struct Listener {
    target: EventTarget,
    kind: &'static str,
    capture: bool,
    closure: Closure<dyn FnMut(Event)>,
}

impl Listener {
    /// Listens for `kind` on `target`, in the capture phase when `capture`
    /// (so that handlers which stop propagation do not hide events from us).
    /// `None` when the target refuses the listener.
    pub(crate) fn new(
        target: &EventTarget,
        kind: &'static str,
        capture: bool,
        handler: impl FnMut(Event) + 'static,
    ) -> Option<Listener> {
        let closure = Closure::<dyn FnMut(Event)>::new(handler);
        target
            .add_event_listener_with_callback_and_bool(
                kind,
                closure.as_ref().unchecked_ref(),
                capture,
            )
            .ok()?;
        Some(Listener {
            target: target.clone(),
            kind,
            capture,
            closure,
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.target.remove_event_listener_with_callback_and_bool(
            self.kind,
            self.closure.as_ref().unchecked_ref(),
            self.capture,
        );
    }
}

/// The global scope as an event target (a window or a worker).
pub(crate) fn global_target() -> Option<EventTarget> {
    global().dyn_into::<EventTarget>().ok()
}

/// `document`, when there is one.
pub(crate) fn document_target() -> Option<EventTarget> {
    global_get("document").and_then(|d| d.dyn_into::<EventTarget>().ok())
}

/// Registers `callback` for each of `kinds` on the global scope, plus
/// `document_kinds` on the document; targets that do not exist are skipped.
pub(crate) fn listen_all<F: FnMut() + Clone + 'static>(
    kinds: &[&'static str],
    document_kinds: &[&'static str],
    callback: F,
) -> Vec<Listener> {
    let mut out = Vec::new();
    if let Some(target) = global_target() {
        for kind in kinds {
            let mut callback = callback.clone();
            out.extend(Listener::new(&target, kind, true, move |_| callback()));
        }
    }
    if let Some(target) = document_target() {
        for kind in document_kinds {
            let mut callback = callback.clone();
            out.extend(Listener::new(&target, kind, true, move |_| callback()));
        }
    }
    out
}
