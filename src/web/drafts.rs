//! Form drafts in the DOM and the login redirect (issue 4).
//!
//! The rules (which fields, key and value format, TTL, `sub` binding,
//! eviction order, `returnTo` validation) are pure and live in
//! [`crate::core::drafts`]; this module only walks forms, talks to
//! `localStorage`, sets values the way UI frameworks notice, and listens for
//! `input`/`submit`.
//!
//! The token manager owns one [`Drafts`] (when the `drafts` option is not
//! `false`) and calls it at three moments:
//!
//! ```ignore
//! // option parsing
//! let drafts = match options_from_js(&drafts_option)? {
//!     Some(config) => Some(Drafts::new(config, Box::new(|code| emit_error(code)), now_ms())),
//!     None => None,
//! };
//! // a session starts or is resumed (setSession, restore at start-up, new user from another tab)
//! let restored = drafts.signed_in(sub, now_ms());
//! if !restored.is_empty() { emit("draftsRestored", restored_to_js(&restored)) }
//! // Output::SessionOver { redirect, .. }
//! let report = drafts.session_over(now_ms());   // save first, then clear tokens
//! for code in report.errors { emit_error(code) }
//! // … emit sessionExpired; then, unless the app declined:
//! if let Ok(url) = login_redirect_url(&login_url, &return_param, &allowed_origins) { navigate(&url) }
//! ```
//!
//! Nothing here panics on DOM or storage content: storage that is disabled
//! or full, corrupt entries, clobbered form properties (`<input name="id">`
//! shadows `form.id`) and missing constructors all degrade to an error code
//! or to "nothing saved/restored".

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    Document, Element, Event, EventInit, EventTarget, HtmlCollection, HtmlFormElement,
    HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement, Storage, Url,
};

use super::global::{global_get, now_ms, object, prop, prop_str, text_prop};
use super::listen::Listener;
use crate::core::drafts::{
    classify_input, draft_key, eviction_order, field_savable, form_identity, is_draft_key,
    key_form_identity, marked_off, page_prefix, redirect_origin_allowed, return_to,
    valid_return_param, validate_return_to, Draft, DraftConfig, DraftField, FieldFacts, FieldValue,
    InputClass, RawDraftConfig, RestoreMode,
};
use crate::core::{ConfigError, Millis};

/// Stable error codes, for `error` events (`{ code }`) and thrown errors.
pub(crate) mod codes {
    /// `localStorage` is disabled, blocked or throws on access.
    pub const STORAGE_UNAVAILABLE: &str = "drafts_storage_unavailable";
    /// `localStorage` stayed full after evicting every older draft.
    pub const QUOTA: &str = "drafts_quota";
    /// `auth.drafts.discard()` got neither a draft key nor a form element.
    pub const DISCARD_ARGUMENT: &str = "drafts_discard_argument";
    /// `loginUrl` does not parse as a URL.
    pub const LOGIN_URL_INVALID: &str = "login_url_invalid";
    /// `loginUrl` is not http(s) on this origin or an allowed origin.
    pub const REDIRECT_NOT_ALLOWED: &str = "redirect_not_allowed";
    /// The return parameter name is not a plain query parameter name.
    pub const RETURN_PARAM_INVALID: &str = "return_param_invalid";
    /// There is no `window`/`location` to redirect (worker, test runner).
    pub const NO_LOCATION: &str = "redirect_no_location";
}

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

fn option_error(option: &'static str, reason: &'static str) -> ConfigError {
    ConfigError { option, reason }
}

fn member(obj: &JsValue, name: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(name))
        .ok()
        .filter(|v| !v.is_undefined())
}

/// Parse the `drafts` option: `undefined`/`null`/`true` → defaults, `false`
/// → `Ok(None)` (feature off), an object → its members
/// (`selector`, `ttlSeconds`, `autosave`, `autosaveDelaySeconds`, `restore`).
/// The selector is also checked against the document's CSS parser.
pub(crate) fn options_from_js(value: &JsValue) -> Result<Option<DraftConfig>, ConfigError> {
    if value.is_undefined() || value.is_null() || value.as_bool() == Some(true) {
        return Ok(Some(DraftConfig::default()));
    }
    if value.as_bool() == Some(false) {
        return Ok(None);
    }
    if !value.is_object() {
        return Err(option_error("drafts", "must be false or an object"));
    }
    let mut raw = RawDraftConfig::default();
    if let Some(v) = member(value, "selector") {
        raw.selector = Some(
            v.as_string()
                .ok_or(option_error("drafts.selector", "must be a string"))?,
        );
    }
    if let Some(v) = member(value, "ttlSeconds") {
        raw.ttl_seconds = Some(
            v.as_f64()
                .ok_or(option_error("drafts.ttlSeconds", "must be a number"))?,
        );
    }
    if let Some(v) = member(value, "autosave") {
        raw.autosave = Some(
            v.as_bool()
                .ok_or(option_error("drafts.autosave", "must be a boolean"))?,
        );
    }
    if let Some(v) = member(value, "autosaveDelaySeconds") {
        raw.autosave_delay_seconds = Some(v.as_f64().ok_or(option_error(
            "drafts.autosaveDelaySeconds",
            "must be a number",
        ))?);
    }
    if let Some(v) = member(value, "restore") {
        raw.restore = Some(v.as_string().ok_or(option_error(
            "drafts.restore",
            "must be \"auto\" or \"manual\"",
        ))?);
    }
    let config = raw.validate()?;
    if let Some(doc) = document() {
        if doc.query_selector_all(&config.selector).is_err() {
            return Err(option_error(
                "drafts.selector",
                "is not a valid CSS selector",
            ));
        }
    }
    Ok(Some(config))
}

// ---------------------------------------------------------------------------
// Small DOM helpers
// ---------------------------------------------------------------------------

fn document() -> Option<Document> {
    web_sys::window()?.document()
}

/// `localStorage`, or the error code when reading it throws (sandboxed
/// iframes, storage disabled by policy) or it is missing.
fn local_storage() -> Result<Storage, &'static str> {
    super::global::local_storage().ok_or(codes::STORAGE_UNAVAILABLE)
}

/// The page's origin, path and `path+query+hash`.
struct Page {
    origin: String,
    path: String,
    url: String,
}

fn page() -> Option<Page> {
    // Read as plain properties: one copy of the string glue, not four.
    let location: JsValue = web_sys::window()?.location().into();
    let part = |name| prop_str(&location, name);
    let origin = part("origin")?;
    let path = part("pathname")?;
    let search = part("search").unwrap_or_default();
    let hash = part("hash").unwrap_or_default();
    // The URL is informational (listed to the app); `path` alone keys drafts.
    let url = return_to(&path, &search, &hash).unwrap_or_else(|_| path.clone());
    Some(Page { origin, path, url })
}

/// Functions read from the built-in prototypes. A form's named controls
/// shadow its own properties (`<input name="id">` makes `form.id` that input,
/// `<input name="elements">` hides `form.elements`), and frameworks replace
/// `value`/`checked` on element instances to track changes. Calling the
/// prototypes' functions sidesteps both.
struct Proto {
    get_attribute: Option<Function>,
    form_elements: Option<Function>,
    input_value: Option<Function>,
    input_checked: Option<Function>,
    textarea_value: Option<Function>,
    select_value: Option<Function>,
    option_selected: Option<Function>,
}

/// `globalThis[ctor].prototype`.
fn prototype(ctor: &str) -> Option<Object> {
    prop(&global_get(ctor)?, "prototype")?.dyn_into().ok()
}

/// `Object.getOwnPropertyDescriptor(globalThis[ctor].prototype, prop)[part]`
/// when it is a function (`part`: `"get"`, `"set"` or `"value"`).
fn proto_fn(ctor: &str, prop: &str, part: &str) -> Option<Function> {
    let proto = prototype(ctor)?;
    let desc = Object::get_own_property_descriptor(&proto, &JsValue::from_str(prop));
    if !desc.is_object() {
        return None;
    }
    super::global::prop(&desc, part)?.dyn_into().ok()
}

impl Proto {
    fn new() -> Proto {
        Proto {
            get_attribute: proto_fn("Element", "getAttribute", "value"),
            form_elements: proto_fn("HTMLFormElement", "elements", "get"),
            input_value: proto_fn("HTMLInputElement", "value", "set"),
            input_checked: proto_fn("HTMLInputElement", "checked", "set"),
            textarea_value: proto_fn("HTMLTextAreaElement", "value", "set"),
            select_value: proto_fn("HTMLSelectElement", "value", "set"),
            option_selected: proto_fn("HTMLOptionElement", "selected", "set"),
        }
    }

    /// `el.getAttribute(name)`, immune to shadowing; `""` when absent.
    fn attr(&self, el: &Element, name: &str) -> String {
        let value = match &self.get_attribute {
            Some(f) => f
                .call1(el, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string()),
            None => el.get_attribute(name),
        };
        value.unwrap_or_default()
    }

    /// `form.elements`, immune to a control named `elements`.
    fn elements(&self, form: &HtmlFormElement) -> Option<HtmlCollection> {
        match &self.form_elements {
            Some(f) => f.call0(form).ok()?.dyn_into::<HtmlCollection>().ok(),
            None => Some(form.elements()),
        }
    }

    /// The form's identity: `id`, else `name`, else `position`.
    fn form_identity(&self, form: &HtmlFormElement, position: usize) -> String {
        form_identity(&self.attr(form, "id"), &self.attr(form, "name"), position)
    }
}

/// Call the prototype setter when there is one (so a framework's
/// instance-level tracker does not swallow the change), else the plain
/// property setter.
fn set_prop(setter: &Option<Function>, el: &JsValue, prop: &str, value: &JsValue) {
    let done = match setter {
        Some(f) => f.call1(el, value).is_ok(),
        None => false,
    };
    if !done {
        let _ = Reflect::set(el, &JsValue::from_str(prop), value);
    }
}

/// Dispatch a bubbling, non-cancelable event of type `kind` at `target`.
fn fire(target: &EventTarget, kind: &str) {
    let init = EventInit::new();
    init.set_bubbles(true);
    if let Ok(event) = Event::new_with_event_init_dict(kind, &init) {
        let _ = target.dispatch_event(&event);
    }
}

/// The forms the selector matches, with their position among them (forms
/// marked `data-draft="off"` keep their position but are left out).
fn matching_forms(proto: &Proto, selector: &str) -> Vec<(HtmlFormElement, usize)> {
    let mut out = Vec::new();
    let Some(list) = document().and_then(|d| d.query_selector_all(selector).ok()) else {
        return out;
    };
    let mut position = 0;
    for i in 0..list.length() {
        if let Some(form) = list
            .item(i)
            .and_then(|n| n.dyn_into::<HtmlFormElement>().ok())
        {
            if !marked_off(&proto.attr(&form, "data-draft")) {
                out.push((form, position));
            }
            position += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Fields
// ---------------------------------------------------------------------------

/// What kind of form control a slot is: how its value is read and set.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A text-like `<input>`: its `value`.
    Value,
    /// A checkbox or radio: `checked`, told apart by `value`.
    Checked,
    /// `<textarea>`: its `value`.
    TextArea,
    /// `<select>`: `value`, or the selected options when `multiple`.
    Select,
}

/// A savable control and how it is found again. The element is kept
/// untyped: its properties are read through [`value_of`] and [`flag`]
/// (one copy of that glue instead of one typed getter per element type and
/// property).
struct Slot {
    el: Element,
    kind: Kind,
    name: String,
    nth: u32,
}

/// `el.value` as a string (`""` if it is not one).
fn value_of(el: &JsValue) -> String {
    text_prop(el, "value")
}

/// A boolean property (`checked`, `multiple`, `selected`, `defaultSelected`,
/// `disabled`); `false` when it is not a boolean.
fn flag(el: &JsValue, name: &str) -> bool {
    prop(el, name).and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Whether a [`Kind::Select`] control is `<select multiple>`.
fn multiple(el: &Element) -> bool {
    flag(el, "multiple")
}

/// The controls of `form` that may be saved, in document order, each with
/// its `(name, nth)` identity. Excluded ([`field_savable`]): password, file,
/// hidden and button inputs, buttons, secret `autocomplete` tokens,
/// `data-draft="off"` on the field or an ancestor, and secret-sounding
/// names or ids (`cvv`, `pin`, `otp`, …) unless the field says
/// `data-draft="on"`.
fn slots(proto: &Proto, form: &HtmlFormElement) -> Vec<Slot> {
    let mut out = Vec::new();
    let Some(elements) = proto.elements(form) else {
        return out;
    };
    // (counting key, occurrences so far): forms are small, a Vec is enough.
    let mut seen: Vec<(String, u32)> = Vec::new();
    for index in 0..elements.length() {
        let Some(el) = elements.item(index) else {
            continue;
        };
        let mut input_type = None;
        let kind = if el.is_instance_of::<HtmlInputElement>() {
            let t = input_type.insert(text_prop(&el, "type"));
            match classify_input(t) {
                InputClass::Value => Kind::Value,
                InputClass::Checked => Kind::Checked,
                InputClass::Never => continue,
            }
        } else if el.is_instance_of::<HtmlTextAreaElement>() {
            Kind::TextArea
        } else if el.is_instance_of::<HtmlSelectElement>() {
            Kind::Select
        } else {
            continue; // buttons, fieldsets, outputs, objects
        };
        let (name_attr, id) = (proto.attr(&el, "name"), proto.attr(&el, "id"));
        let facts = FieldFacts {
            input_type: input_type.as_deref(),
            name: &name_attr,
            id: &id,
            autocomplete: &proto.attr(&el, "autocomplete"),
            data_draft: &proto.attr(&el, "data-draft"),
            off: matches!(el.closest("[data-draft=\"off\" i]"), Ok(Some(_)) | Err(_)),
        };
        if !field_savable(&facts) {
            continue;
        }
        let mut name = name_attr;
        if name.is_empty() {
            name = id;
        }
        if name.is_empty() {
            name.push('#');
            name.push_str(&elements_position(index));
        }
        // Checkboxes and radios are told apart by value too, so a group
        // survives reordering; everything else by name alone.
        let mut counting = String::with_capacity(name.len() + 8);
        if kind == Kind::Checked {
            counting.push_str("c\u{0}");
            counting.push_str(&value_of(&el));
            counting.push('\u{0}');
        }
        counting.push_str(&name);
        let nth = match seen.iter_mut().find(|(k, _)| *k == counting) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                seen.push((counting, 0));
                0
            }
        };
        out.push(Slot {
            el,
            kind,
            name,
            nth,
        });
    }
    out
}

fn elements_position(index: u32) -> String {
    // `form_identity` already renders numbers without core::fmt.
    let rendered = form_identity("", "", index as usize);
    rendered.strip_prefix("n:").unwrap_or(&rendered).into()
}

/// Read a form's savable fields; `true` when the user put anything in it
/// (text, a checked box, a selection), so untouched forms are not saved.
fn read_fields(proto: &Proto, form: &HtmlFormElement) -> (Vec<DraftField>, bool) {
    let mut fields = Vec::new();
    let mut content = false;
    for slot in slots(proto, form) {
        let el = &slot.el;
        let value = match slot.kind {
            Kind::Checked => {
                let checked = flag(el, "checked");
                content |= checked;
                FieldValue::Checked {
                    value: value_of(el),
                    checked,
                }
            }
            Kind::Select if multiple(el) => {
                let mut values = Vec::new();
                for option in options(el.unchecked_ref()) {
                    if flag(&option, "selected") {
                        values.push(value_of(&option));
                    }
                }
                content |= !values.is_empty();
                FieldValue::Multi(values)
            }
            Kind::Select => {
                // Changed from what a reset would select: the last option
                // marked `selected` in the markup, else the first enabled one.
                let select: &HtmlSelectElement = el.unchecked_ref();
                let opts = options(select);
                let default = opts
                    .iter()
                    .rposition(|o| flag(o, "defaultSelected"))
                    .or_else(|| opts.iter().position(|o| !flag(o, "disabled")))
                    .unwrap_or(0);
                content |= select.selected_index() != default as i32;
                FieldValue::Text(value_of(el))
            }
            Kind::Value | Kind::TextArea => {
                let v = value_of(el);
                content |= !v.is_empty();
                FieldValue::Text(v)
            }
        };
        fields.push(DraftField {
            name: slot.name,
            nth: slot.nth,
            value,
        });
    }
    (fields, content)
}

/// The options of a `<select>` (its items are its options), in order.
fn options(select: &HtmlSelectElement) -> Vec<Element> {
    (0..select.length())
        .filter_map(|i| select.item(i))
        .collect()
}

/// Put a draft's values into the form. Values go through the prototype
/// setters, then `input` and `change` are dispatched (plus a plain,
/// non-mouse `click` on checkboxes and radios, which is what React's
/// `onChange` listens to there; a plain `Event` does not toggle anything).
/// Only fields whose value differs are touched. Returns how many were set.
fn apply_fields(proto: &Proto, form: &HtmlFormElement, fields: &[DraftField]) -> u32 {
    let mut changed = 0;
    for slot in slots(proto, form) {
        let el = &slot.el;
        let is_checked = slot.kind == Kind::Checked;
        let Some(field) = fields.iter().find(|f| {
            f.name == slot.name
                && f.nth == slot.nth
                && match &f.value {
                    FieldValue::Checked { value, .. } => is_checked && *value == value_of(el),
                    _ => !is_checked,
                }
        }) else {
            continue;
        };
        let multi = slot.kind == Kind::Select && multiple(el);
        match &field.value {
            FieldValue::Text(text) if !multi && value_of(el) != *text => {
                let setter = match slot.kind {
                    Kind::TextArea => &proto.textarea_value,
                    Kind::Select => &proto.select_value,
                    _ => &proto.input_value,
                };
                set_prop(setter, el, "value", &JsValue::from_str(text));
            }
            FieldValue::Multi(values) if multi => {
                let mut any = false;
                for option in options(el.unchecked_ref()) {
                    let want = values.iter().any(|v| *v == value_of(&option));
                    if flag(&option, "selected") != want {
                        set_prop(&proto.option_selected, &option, "selected", &want.into());
                        any = true;
                    }
                }
                if !any {
                    continue;
                }
            }
            FieldValue::Checked { checked, .. } if flag(el, "checked") != *checked => {
                set_prop(&proto.input_checked, el, "checked", &(*checked).into());
                fire(el, "click");
            }
            _ => continue,
        }
        fire(el, "input");
        fire(el, "change");
        changed += 1;
    }
    changed
}

// ---------------------------------------------------------------------------
// Storage
// ---------------------------------------------------------------------------

/// All of this library's draft keys currently in storage.
fn draft_keys(storage: &Storage) -> Vec<String> {
    let mut keys = Vec::new();
    let len = storage.length().unwrap_or(0);
    for i in 0..len {
        if let Ok(Some(key)) = storage.key(i) {
            if is_draft_key(&key) {
                keys.push(key);
            }
        }
    }
    keys
}

/// The draft stored under `key`: `None` when missing, unreadable or not a
/// draft (then `Err(())`: corrupt).
fn stored_draft(storage: &Storage, key: &str) -> Option<Result<Draft, ()>> {
    let text = storage.get_item(key).ok()??;
    Some(Draft::from_json(&text).map_err(drop))
}

/// Read and parse one draft. A corrupt entry is removed (it can never be
/// restored and only takes space).
fn read_draft(storage: &Storage, key: &str) -> Option<Draft> {
    match stored_draft(storage, key)? {
        Ok(draft) => Some(draft),
        Err(()) => {
            let _ = storage.remove_item(key);
            None
        }
    }
}

fn is_quota_error(error: &JsValue) -> bool {
    let name = text_prop(error, "name");
    name == "QuotaExceededError" || name == "NS_ERROR_DOM_QUOTA_REACHED"
}

/// `setItem`, and when storage is full, evict this library's other drafts,
/// oldest first (never `key` itself nor the keys in `keep`), retrying after
/// each eviction.
fn write_with_eviction(
    storage: &Storage,
    key: &str,
    value: &str,
    keep: &[String],
) -> Result<(), &'static str> {
    let error = match storage.set_item(key, value) {
        Ok(()) => return Ok(()),
        Err(error) => error,
    };
    if !is_quota_error(&error) {
        return Err(codes::STORAGE_UNAVAILABLE);
    }
    let candidates: Vec<String> = draft_keys(storage)
        .into_iter()
        .filter(|k| k != key && !keep.contains(k))
        .collect();
    // Unreadable entries count as oldest (saved at 0).
    let saved_at: Vec<Millis> = candidates
        .iter()
        .map(|k| match stored_draft(storage, k) {
            Some(Ok(draft)) => draft.saved_at,
            _ => 0,
        })
        .collect();
    for candidate in eviction_order(&saved_at)
        .into_iter()
        .filter_map(|i| candidates.get(i))
    {
        let _ = storage.remove_item(candidate);
        match storage.set_item(key, value) {
            Ok(()) => return Ok(()),
            Err(e) if is_quota_error(&e) => continue,
            Err(_) => return Err(codes::STORAGE_UNAVAILABLE),
        }
    }
    Err(codes::QUOTA)
}

/// What [`Drafts::save_all`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SaveReport {
    /// Keys written.
    pub saved: Vec<String>,
    /// Error codes for `error` events, each at most once.
    pub errors: Vec<&'static str>,
}

impl SaveReport {
    fn error(&mut self, code: &'static str) {
        if !self.errors.contains(&code) {
            self.errors.push(code);
        }
    }
}

/// What saving a form needs besides the form.
struct Saver<'a> {
    storage: &'a Storage,
    proto: &'a Proto,
    page: &'a Page,
    config: &'a DraftConfig,
    sub: Option<&'a str>,
    now_ms: Millis,
}

impl Saver<'_> {
    /// The key of the form at `position` among the matching forms.
    fn key(&self, form: &HtmlFormElement, position: usize) -> String {
        let identity = self.proto.form_identity(form, position);
        draft_key(&self.page.origin, &self.page.path, &identity)
    }

    /// Save one form's draft; `Ok(None)` when the form is empty (nothing
    /// written). `keep`: drafts that eviction must not touch.
    fn save(
        &self,
        form: &HtmlFormElement,
        position: usize,
        keep: &[String],
    ) -> Result<Option<String>, &'static str> {
        let (fields, content) = read_fields(self.proto, form);
        if !content {
            return Ok(None);
        }
        let draft = Draft {
            url: self.page.url.clone(),
            saved_at: self.now_ms,
            expires_at: self.now_ms.saturating_add(self.config.ttl_ms),
            sub: self.sub.map(Into::into),
            fields,
        };
        let key = self.key(form, position);
        write_with_eviction(self.storage, &key, &draft.to_json(), keep)?;
        Ok(Some(key))
    }
}

/// Save every matching form of the page. Never panics; problems are error
/// codes in the report.
pub(crate) fn save_all(config: &DraftConfig, sub: Option<&str>, now_ms: Millis) -> SaveReport {
    let mut report = SaveReport::default();
    let Some(page) = page() else {
        return report;
    };
    let proto = Proto::new();
    let forms = matching_forms(&proto, &config.selector);
    if forms.is_empty() {
        return report;
    }
    let storage = match local_storage() {
        Ok(s) => s,
        Err(code) => {
            report.error(code);
            return report;
        }
    };
    let saver = Saver {
        storage: &storage,
        proto: &proto,
        page: &page,
        config,
        sub,
        now_ms,
    };
    for (form, position) in forms {
        // Drafts written in this pass are the newest: never evict them for
        // the next form.
        match saver.save(&form, position, &report.saved) {
            Ok(Some(key)) => report.saved.push(key),
            Ok(None) => {}
            Err(code) => report.error(code),
        }
    }
    report
}

/// Remove every expired or unreadable draft of this origin (at start-up).
/// Returns how many were removed.
pub(crate) fn purge_expired(now_ms: Millis) -> u32 {
    let Ok(storage) = local_storage() else {
        return 0;
    };
    let mut removed = 0;
    for key in draft_keys(&storage) {
        let keep = matches!(stored_draft(&storage, &key), Some(Ok(d)) if !d.is_expired(now_ms));
        if !keep && storage.remove_item(&key).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// A draft put back into a form.
#[derive(Clone, Debug)]
pub(crate) struct RestoredDraft {
    pub key: String,
    pub form: HtmlFormElement,
    pub url: String,
    pub saved_at: Millis,
    pub expires_at: Millis,
    /// Fields whose value was changed.
    pub fields: u32,
}

/// One entry of `auth.drafts.list()`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct DraftInfo {
    pub key: String,
    pub url: String,
    pub saved_at: Millis,
    pub expires_at: Millis,
    pub fields: u32,
}

/// The drafts `sub` may see (unexpired, same `sub`), on any page of this
/// origin, oldest first. Expired ones met on the way are removed.
pub(crate) fn list(sub: Option<&str>, now_ms: Millis) -> Vec<DraftInfo> {
    let Ok(storage) = local_storage() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in draft_keys(&storage) {
        let Some(draft) = read_draft(&storage, &key) else {
            continue;
        };
        if draft.is_expired(now_ms) {
            let _ = storage.remove_item(&key);
        } else if draft.restorable_by(sub, now_ms) {
            out.push(DraftInfo {
                key,
                url: draft.url,
                saved_at: draft.saved_at,
                expires_at: draft.expires_at,
                fields: draft.fields.len() as u32,
            });
        }
    }
    // Oldest first; the Vec is already nearly in that order (storage order
    // is insertion order in practice), so an insertion sort is cheap and
    // keeps the standard sorts out of the wasm.
    for n in 1..out.len() {
        let mut k = n;
        let saved_at = |out: &[DraftInfo], i: usize| out.get(i).map_or(0, |d| d.saved_at);
        while k > 0 && saved_at(&out, k) < saved_at(&out, k - 1) {
            out.swap(k, k - 1);
            k -= 1;
        }
    }
    out
}

/// Restore this page's drafts that `sub` may see into their forms (only
/// `only_key` when given). Drafts whose form is not on the page stay stored.
pub(crate) fn restore_for_page(
    config: &DraftConfig,
    sub: Option<&str>,
    now_ms: Millis,
    only_key: Option<&str>,
) -> Vec<RestoredDraft> {
    let mut out = Vec::new();
    let (Some(page), Ok(storage)) = (page(), local_storage()) else {
        return out;
    };
    let prefix = page_prefix(&page.origin, &page.path);
    let proto = Proto::new();
    let forms = matching_forms(&proto, &config.selector);
    for key in draft_keys(&storage) {
        if !key.starts_with(&prefix) || only_key.is_some_and(|k| k != key) {
            continue;
        }
        let Some(draft) = read_draft(&storage, &key) else {
            continue;
        };
        if draft.is_expired(now_ms) {
            let _ = storage.remove_item(&key);
            continue;
        }
        if !draft.restorable_by(sub, now_ms) {
            continue; // someone else's: not shown, not deleted
        }
        let identity = key_form_identity(&key).unwrap_or_default();
        let Some((form, _)) = forms
            .iter()
            .find(|(form, position)| proto.form_identity(form, *position) == identity)
        else {
            continue;
        };
        let fields = apply_fields(&proto, form, &draft.fields);
        out.push(RestoredDraft {
            key,
            form: form.clone(),
            url: draft.url,
            saved_at: draft.saved_at,
            expires_at: draft.expires_at,
            fields,
        });
    }
    out
}

/// The key a form's draft is stored under on this page, if the form is one
/// the selector matches.
fn key_of_form(config: &DraftConfig, form: &HtmlFormElement) -> Option<String> {
    let page = page()?;
    let proto = Proto::new();
    let forms = matching_forms(&proto, &config.selector);
    let (form, position) = forms.iter().find(|(f, _)| f == form)?;
    Some(draft_key(
        &page.origin,
        &page.path,
        &proto.form_identity(form, *position),
    ))
}

/// Remove a draft by key (only keys of this library) or by form element.
/// Returns how many drafts were removed (0 or 1).
pub(crate) fn discard(config: &DraftConfig, target: &JsValue) -> Result<u32, &'static str> {
    let key = if let Some(key) = target.as_string() {
        if !is_draft_key(&key) {
            return Ok(0);
        }
        key
    } else if let Some(form) = target.dyn_ref::<HtmlFormElement>() {
        match key_of_form(config, form) {
            Some(key) => key,
            None => return Ok(0),
        }
    } else {
        return Err(codes::DISCARD_ARGUMENT);
    };
    let storage = local_storage()?;
    let existed = matches!(storage.get_item(&key), Ok(Some(_)));
    storage
        .remove_item(&key)
        .map_err(|_| codes::STORAGE_UNAVAILABLE)?;
    Ok(existed as u32)
}

/// `draftsRestored` payload / `auth.drafts.restore()` result:
/// `[{ key, url, savedAt, expiresAt, fields, form }]`.
pub(crate) fn restored_to_js(restored: &[RestoredDraft]) -> Array {
    restored
        .iter()
        .map(|r| {
            let obj = info_object(&r.key, &r.url, r.saved_at, r.expires_at, r.fields);
            let _ = Reflect::set(&obj, &JsValue::from_str("form"), &r.form);
            JsValue::from(obj)
        })
        .collect()
}

/// `auth.drafts.list()` result: `[{ key, url, savedAt, expiresAt, fields }]`.
pub(crate) fn list_to_js(list: &[DraftInfo]) -> Array {
    list.iter()
        .map(|d| {
            JsValue::from(info_object(
                &d.key,
                &d.url,
                d.saved_at,
                d.expires_at,
                d.fields,
            ))
        })
        .collect()
}

fn info_object(key: &str, url: &str, saved_at: Millis, expires_at: Millis, fields: u32) -> Object {
    object(&[
        ("key", JsValue::from_str(key)),
        ("url", JsValue::from_str(url)),
        ("savedAt", JsValue::from_f64(saved_at as f64)),
        ("expiresAt", JsValue::from_f64(expires_at as f64)),
        ("fields", JsValue::from_f64(fields as f64)),
    ])
    .unchecked_into()
}

// ---------------------------------------------------------------------------
// The stateful part: who is signed in, autosave, submit watch
// ---------------------------------------------------------------------------

/// The signed-in user, as far as drafts care.
#[derive(Clone, Debug, PartialEq)]
enum User {
    SignedOut,
    /// Signed in; the token's `sub`, if it has one.
    SignedIn(Option<String>),
}

struct Inner {
    config: DraftConfig,
    on_error: Box<dyn Fn(&'static str)>,
    user: RefCell<User>,
    /// Drafts that belong to a form on this page (restored, or written by
    /// autosave): a native, not-prevented submit of the form removes them.
    live: RefCell<Vec<(HtmlFormElement, String)>>,
    /// Forms typed into since the last autosave.
    dirty: RefCell<Vec<HtmlFormElement>>,
    autosave_timer: RefCell<Option<Timeout>>,
    /// Submit events to look at once their dispatch is over.
    submitted: RefCell<Vec<Event>>,
    submit_timer: RefCell<Option<Timeout>>,
    /// Set while restoring, so the `input` events we dispatch do not count
    /// as typing.
    restoring: Cell<bool>,
    listeners: RefCell<Vec<Listener>>,
}

/// Form drafts for one token manager: holds the signed-in `sub`, the
/// autosave and submit listeners (removed on drop) and the forms whose draft
/// a successful native submit should remove. Clones share the state (clone
/// it out of the manager's `RefCell` before calling: restoring dispatches
/// events whose listeners may call back into the manager); the listeners
/// and timers go away with the last clone.
#[derive(Clone)]
pub(crate) struct Drafts {
    inner: Rc<Inner>,
}

impl Drafts {
    /// Start: purge expired drafts, listen for native submits (and, with
    /// `autosave`, for typing and `pagehide`). `on_error` receives error
    /// codes from background work (autosave); the manager turns them into
    /// `error` events.
    pub(crate) fn new(
        config: DraftConfig,
        on_error: Box<dyn Fn(&'static str)>,
        now_ms: Millis,
    ) -> Drafts {
        purge_expired(now_ms);
        let inner = Rc::new(Inner {
            config,
            on_error,
            user: RefCell::new(User::SignedOut),
            live: RefCell::new(Vec::new()),
            dirty: RefCell::new(Vec::new()),
            autosave_timer: RefCell::new(None),
            submitted: RefCell::new(Vec::new()),
            submit_timer: RefCell::new(None),
            restoring: Cell::new(false),
            listeners: RefCell::new(Vec::new()),
        });
        if let Some(window) = web_sys::window() {
            let target: &EventTarget = &window;
            let mut listeners = Vec::new();
            // Capture phase on window: seen even if the app stops propagation.
            let weak = Rc::downgrade(&inner);
            listeners.extend(Listener::new(target, "submit", true, move |event| {
                on_submit(&weak, event)
            }));
            if inner.config.autosave {
                for kind in ["input", "change"] {
                    let weak = Rc::downgrade(&inner);
                    listeners.extend(Listener::new(target, kind, true, move |event| {
                        on_typing(&weak, event)
                    }));
                }
                let weak = Rc::downgrade(&inner);
                listeners.extend(Listener::new(target, "pagehide", false, move |_| {
                    if let Some(inner) = weak.upgrade() {
                        autosave_now(&inner);
                    }
                }));
            }
            *inner.listeners.borrow_mut() = listeners;
        }
        Drafts { inner }
    }

    /// The validated options.
    #[cfg(test)]
    pub(crate) fn config(&self) -> &DraftConfig {
        &self.inner.config
    }

    /// A session started or was resumed for `sub` (the access token's `sub`
    /// claim, `None` if it has none). With `restore: "auto"`, restores this
    /// page's drafts of that user and returns them (emit `draftsRestored`
    /// when non-empty). Calling it again for the same user does nothing, so
    /// a token refresh never overwrites what the user is typing.
    pub(crate) fn signed_in(&self, sub: Option<&str>, now_ms: Millis) -> Vec<RestoredDraft> {
        let user = User::SignedIn(sub.map(Into::into));
        if *self.inner.user.borrow() == user {
            return Vec::new();
        }
        *self.inner.user.borrow_mut() = user;
        if self.inner.config.restore == RestoreMode::Auto {
            self.restore(None, now_ms)
        } else {
            Vec::new()
        }
    }

    /// The session is over for good (`Output::SessionOver`): save every
    /// matching form for the user who was signed in, then forget the user.
    /// Call before clearing tokens and redirecting; emit an `error` event for
    /// each code in the report (the redirect still happens).
    pub(crate) fn session_over(&self, now_ms: Millis) -> SaveReport {
        self.inner.autosave_timer.borrow_mut().take();
        self.inner.dirty.borrow_mut().clear();
        let report = self.save_all(now_ms);
        *self.inner.user.borrow_mut() = User::SignedOut;
        report
    }

    /// An explicit sign-out that keeps nothing (`auth.logout()` without a
    /// redirect): forget the user without saving; autosave stops.
    pub(crate) fn signed_out(&self) {
        self.inner.autosave_timer.borrow_mut().take();
        self.inner.dirty.borrow_mut().clear();
        *self.inner.user.borrow_mut() = User::SignedOut;
    }

    /// Save every matching form now, bound to the current user.
    pub(crate) fn save_all(&self, now_ms: Millis) -> SaveReport {
        let sub = current_sub(&self.inner);
        save_all(&self.inner.config, sub.as_deref(), now_ms)
    }

    /// `auth.drafts.restore(key?)`: restore this page's drafts of the
    /// signed-in user (or only `key`). Nothing when signed out.
    pub(crate) fn restore(&self, key: Option<&str>, now_ms: Millis) -> Vec<RestoredDraft> {
        let User::SignedIn(sub) = self.inner.user.borrow().clone() else {
            return Vec::new();
        };
        // No RefCell borrow is held here: restoring dispatches events, and
        // their listeners (ours and the app's) may call back in.
        self.inner.restoring.set(true);
        let restored = restore_for_page(&self.inner.config, sub.as_deref(), now_ms, key);
        self.inner.restoring.set(false);
        let mut live = self.inner.live.borrow_mut();
        for r in &restored {
            if !live.iter().any(|(_, k)| *k == r.key) {
                live.push((r.form.clone(), r.key.clone()));
            }
        }
        restored
    }

    /// `auth.drafts.list()`: the signed-in user's unexpired drafts on any
    /// page of this origin. Empty when signed out.
    pub(crate) fn list(&self, now_ms: Millis) -> Vec<DraftInfo> {
        match &*self.inner.user.borrow() {
            User::SignedIn(sub) => list(sub.as_deref(), now_ms),
            User::SignedOut => Vec::new(),
        }
    }

    /// `auth.drafts.discard(key | form)`. Returns how many were removed;
    /// `Err(DISCARD_ARGUMENT)` for anything but a string or a form element
    /// (throw a `TypeError`).
    pub(crate) fn discard(&self, target: &JsValue) -> Result<u32, &'static str> {
        let key = match target.dyn_ref::<HtmlFormElement>() {
            Some(form) => key_of_form(&self.inner.config, form),
            None => target.as_string(),
        };
        let removed = discard(&self.inner.config, target)?;
        if let Some(key) = key {
            self.inner.live.borrow_mut().retain(|(_, k)| *k != key);
        }
        if let Some(form) = target.dyn_ref::<HtmlFormElement>() {
            self.inner.dirty.borrow_mut().retain(|f| f != form);
        }
        Ok(removed)
    }

    /// JS-facing `auth.drafts.list()`.
    pub(crate) fn list_js(&self, now_ms: Millis) -> Array {
        list_to_js(&self.list(now_ms))
    }

    /// JS-facing `auth.drafts.restore(key?)`: `key` is `undefined`/`null` or
    /// a string (anything else restores nothing).
    pub(crate) fn restore_js(&self, key: &JsValue, now_ms: Millis) -> Array {
        let restored = if key.is_undefined() || key.is_null() {
            self.restore(None, now_ms)
        } else if let Some(key) = key.as_string() {
            self.restore(Some(&key), now_ms)
        } else {
            Vec::new()
        };
        restored_to_js(&restored)
    }
}

fn current_sub(inner: &Inner) -> Option<String> {
    match &*inner.user.borrow() {
        User::SignedIn(sub) => sub.clone(),
        User::SignedOut => None,
    }
}

/// The form a `submit` event is for.
fn submitted_form(event: &Event) -> Option<HtmlFormElement> {
    event.target()?.dyn_into().ok()
}

/// Capture-phase `submit` on window. Whether the submit goes ahead is known
/// only after every listener ran (the app may `preventDefault` later), so the
/// event is looked at again from a zero-delay timeout. A submit that fails
/// constraint validation never fires `submit` at all.
fn on_submit(weak: &Weak<Inner>, event: Event) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    let Some(form) = submitted_form(&event) else {
        return;
    };
    if !inner.live.borrow().iter().any(|(f, _)| *f == form) {
        return;
    }
    inner.submitted.borrow_mut().push(event);
    if inner.submit_timer.borrow().is_some() {
        return;
    }
    let weak = weak.clone();
    let timer = Timeout::new(0, move || {
        if let Some(inner) = weak.upgrade() {
            inner.submit_timer.borrow_mut().take();
            let events = std::mem::take(&mut *inner.submitted.borrow_mut());
            for event in events {
                if event.default_prevented() {
                    continue;
                }
                let Some(form) = submitted_form(&event) else {
                    continue;
                };
                // Its drafts leave storage and the live list together
                // (`removeItem` runs no listener in this tab).
                let storage = local_storage().ok();
                inner.live.borrow_mut().retain(|(f, key)| {
                    if *f != form {
                        return true;
                    }
                    if let Some(storage) = &storage {
                        let _ = storage.remove_item(key);
                    }
                    false
                });
                inner.dirty.borrow_mut().retain(|f| *f != form);
            }
        }
    });
    *inner.submit_timer.borrow_mut() = Some(timer);
}

/// Capture-phase `input`/`change` on window (autosave): remember the form,
/// (re)start the debounce timer.
fn on_typing(weak: &Weak<Inner>, event: Event) {
    let Some(inner) = weak.upgrade() else {
        return;
    };
    if inner.restoring.get() || !matches!(*inner.user.borrow(), User::SignedIn(_)) {
        return;
    }
    let Some(target) = event.target() else {
        return;
    };
    // Only the controls drafts save; `form` is their owner form (or null).
    let control = target.is_instance_of::<HtmlInputElement>()
        || target.is_instance_of::<HtmlTextAreaElement>()
        || target.is_instance_of::<HtmlSelectElement>();
    let Some(form) = control
        .then(|| prop(&target, "form"))
        .flatten()
        .and_then(|f| f.dyn_into::<HtmlFormElement>().ok())
    else {
        return;
    };
    {
        let mut dirty = inner.dirty.borrow_mut();
        if !dirty.contains(&form) {
            dirty.push(form);
        }
    }
    let delay = inner.config.autosave_delay_ms.min(u32::MAX as u64) as u32;
    let weak = weak.clone();
    // Replacing the held timer clears the previous one: a debounce.
    let timer = Timeout::new(delay, move || {
        if let Some(inner) = weak.upgrade() {
            inner.autosave_timer.borrow_mut().take();
            autosave_now(&inner);
        }
    });
    *inner.autosave_timer.borrow_mut() = Some(timer);
}

/// Save the forms typed into since the last autosave. A form emptied by the
/// user loses its draft.
fn autosave_now(inner: &Inner) {
    let dirty = std::mem::take(&mut *inner.dirty.borrow_mut());
    if dirty.is_empty() {
        return;
    }
    let User::SignedIn(sub) = inner.user.borrow().clone() else {
        return;
    };
    let Some(page) = page() else {
        return;
    };
    let storage = match local_storage() {
        Ok(s) => s,
        Err(code) => return (inner.on_error)(code),
    };
    let proto = Proto::new();
    let saver = Saver {
        storage: &storage,
        proto: &proto,
        page: &page,
        config: &inner.config,
        sub: sub.as_deref(),
        now_ms: now_ms(),
    };
    let mut written: Vec<String> = Vec::new();
    let mut errors: Vec<&'static str> = Vec::new();
    for (form, position) in matching_forms(&proto, &inner.config.selector) {
        if !dirty.contains(&form) {
            continue;
        }
        match saver.save(&form, position, &written) {
            Ok(Some(key)) => {
                let mut live = inner.live.borrow_mut();
                if !live.iter().any(|(_, k)| *k == key) {
                    live.push((form.clone(), key.clone()));
                }
                written.push(key);
            }
            Ok(None) => {
                let key = draft_key(
                    &page.origin,
                    &page.path,
                    &proto.form_identity(&form, position),
                );
                let _ = storage.remove_item(&key);
            }
            Err(code) => {
                if !errors.contains(&code) {
                    errors.push(code);
                }
            }
        }
    }
    for code in errors {
        (inner.on_error)(code);
    }
}

// ---------------------------------------------------------------------------
// Login redirect
// ---------------------------------------------------------------------------

/// The login URL for this page: `login_url` resolved against the page, with
/// `?<return_param>=<path+query+hash>`. `Err` (an error code) when
/// `login_url` does not parse, is not http(s), or is on an origin other than
/// the page's and those in `allowed_origins`; then do not navigate.
pub(crate) fn login_redirect_url(
    login_url: &str,
    return_param: &str,
    allowed_origins: &[String],
) -> Result<String, &'static str> {
    let href = location_href().ok_or(codes::NO_LOCATION)?;
    login_redirect_url_at(&href, login_url, return_param, allowed_origins)
}

/// [`login_redirect_url`] for an explicit page URL (tests, workers).
pub(crate) fn login_redirect_url_at(
    page_href: &str,
    login_url: &str,
    return_param: &str,
    allowed_origins: &[String],
) -> Result<String, &'static str> {
    if !valid_return_param(return_param) {
        return Err(codes::RETURN_PARAM_INVALID);
    }
    let page: JsValue = Url::new(page_href).map_err(|_| codes::NO_LOCATION)?.into();
    let target = Url::new_with_base(login_url, page_href).map_err(|_| codes::LOGIN_URL_INVALID)?;
    let page = |name| text_prop(&page, name);
    let part = |name| text_prop(&target, name);
    let protocol = part("protocol");
    let origin = part("origin");
    if (protocol != "https:" && protocol != "http:")
        || !part("username").is_empty()
        || !part("password").is_empty()
        || !redirect_origin_allowed(&origin, &page("origin"), allowed_origins)
    {
        return Err(codes::REDIRECT_NOT_ALLOWED);
    }
    let already_on_login = origin == page("origin") && part("pathname") == page("pathname");
    // The page's own location is always a valid path; if it somehow is not,
    // go to the login page without a return path rather than not at all.
    if !already_on_login {
        if let Ok(path) = return_to(&page("pathname"), &page("search"), &page("hash")) {
            target.search_params().set(return_param, &path);
        }
    }
    Ok(part("href"))
}

/// `location.href` of the window, if there is one.
fn location_href() -> Option<String> {
    prop_str(&web_sys::window()?.location(), "href")
}

/// Go to `url` (`location.assign`).
pub(crate) fn navigate(url: &str) -> Result<(), &'static str> {
    web_sys::window()
        .ok_or(codes::NO_LOCATION)?
        .location()
        .assign(url)
        .map_err(|_| codes::NO_LOCATION)
}

/// On the login page: the `return_param` of the current URL if it is a safe
/// same-origin path, else `None` (for `auth.returnTo()`: where to go after
/// sign-in).
pub(crate) fn return_to_from_location(return_param: &str) -> Option<String> {
    let href = location_href()?;
    let value = Url::new(&href).ok()?.search_params().get(return_param)?;
    validate_return_to(&value).ok()?;
    Some(value)
}

// DOM tests (wasm-bindgen-test, headless Chrome): in-crate, because they
// drive these crate-private functions directly.
#[cfg(test)]
mod tests;
