//! DOM tests for form drafts: real forms in headless Chrome, real
//! `localStorage` (read back directly), real events.
//!
//! Run: `PATH=/usr/bin:$PATH CHROMEDRIVER=/usr/bin/chromedriver
//! wasm-pack test --headless --chrome -- --lib`.

use super::*;

use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::HtmlOptionElement;

wasm_bindgen_test_configure!(run_in_browser);

const NOW: Millis = 1_700_000_000_000;

fn doc() -> Document {
    document().expect("document")
}

fn storage() -> Storage {
    local_storage().expect("localStorage")
}

/// A fixture mounted into `<body>`; removed (and storage cleared) on drop.
/// A failed assertion aborts the test without running `Drop`, so `new` also
/// removes whatever an earlier test left behind.
struct Fixture {
    root: Element,
}

impl Fixture {
    fn new(html: &str) -> Fixture {
        storage().clear().expect("clear");
        let leftovers = doc()
            .query_selector_all(".drafts-fixture")
            .expect("selector");
        for i in 0..leftovers.length() {
            if let Some(node) = leftovers.item(i) {
                node.unchecked_into::<Element>().remove();
            }
        }
        let root = doc().create_element("div").expect("div");
        root.set_class_name("drafts-fixture");
        root.set_inner_html(html);
        doc()
            .body()
            .expect("body")
            .append_child(&root)
            .expect("append");
        Fixture { root }
    }

    fn el<T: JsCast>(&self, selector: &str) -> T {
        self.root
            .query_selector(selector)
            .expect("selector")
            .unwrap_or_else(|| panic!("no element {selector}"))
            .dyn_into::<T>()
            .unwrap_or_else(|_| panic!("wrong type for {selector}"))
    }

    fn input(&self, selector: &str) -> HtmlInputElement {
        self.el(selector)
    }

    fn form(&self, selector: &str) -> HtmlFormElement {
        self.el(selector)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.root.remove();
        let _ = storage().clear();
    }
}

fn config() -> DraftConfig {
    DraftConfig::default()
}

/// Every `(key, value)` in localStorage.
fn all_entries() -> Vec<(String, String)> {
    let s = storage();
    let mut out = Vec::new();
    for i in 0..s.length().expect("length") {
        let key = s.key(i).expect("key").expect("some key");
        let value = s.get_item(&key).expect("get").expect("value");
        out.push((key, value));
    }
    out
}

fn draft_entries() -> Vec<(String, Draft)> {
    all_entries()
        .into_iter()
        .filter(|(k, _)| is_draft_key(k))
        .map(|(k, v)| (k, Draft::from_json(&v).expect("our drafts parse")))
        .collect()
}

/// Wait for a macrotask after everything already queued (timers with a
/// smaller delay that were set earlier fire first).
async fn tick(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("window")
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .expect("setTimeout");
    });
    JsFuture::from(promise).await.expect("timer");
}

const ALL_FIELDS: &str = r#"
<form id="order" data-draft>
  <input name="title">
  <input name="email" type="email">
  <input name="qty" type="number">
  <input name="day" type="date">
  <input name="level" type="range" min="0" max="10" value="5">
  <input name="shade" type="color">
  <input name="q" type="search">
  <input name="phone" type="tel">
  <input name="site" type="url">
  <input name="item"><input name="item">
  <input id="no-name">
  <input>
  <textarea name="notes"></textarea>
  <select name="size"><option value="s">S</option><option value="m">M</option><option value="l">L</option></select>
  <select name="tags" multiple><option value="a">A</option><option value="b">B</option><option value="c">C</option></select>
  <input type="checkbox" name="agree">
  <input type="checkbox" name="news" value="weekly">
  <input type="checkbox" name="news" value="daily">
  <input type="radio" name="ship" value="post">
  <input type="radio" name="ship" value="courier" checked>
</form>"#;

fn fill_all(f: &Fixture) {
    let set = |sel: &str, v: &str| f.input(sel).set_value(v);
    set("[name=title]", "Quarterly \"report\" \\ é 😀");
    set("[name=email]", "a@b.example");
    set("[name=qty]", "42");
    set("[name=day]", "2024-02-29");
    set("[name=level]", "8");
    set("[name=shade]", "#336699");
    set("[name=q]", "needle");
    set("[name=phone]", "+1 555 0100");
    set("[name=site]", "https://x.example/");
    let items = f.root.query_selector_all("[name=item]").unwrap();
    for (i, v) in ["first", "second"].iter().enumerate() {
        items
            .item(i as u32)
            .unwrap()
            .unchecked_into::<HtmlInputElement>()
            .set_value(v);
    }
    set("#no-name", "by id");
    set("input:not([name]):not([id])", "by position");
    f.el::<HtmlTextAreaElement>("[name=notes]")
        .set_value("line 1\nline 2\ttabbed");
    f.el::<HtmlSelectElement>("[name=size]").set_value("l");
    let tags: HtmlSelectElement = f.el("[name=tags]");
    for v in ["a", "c"] {
        f.el::<HtmlOptionElement>(&format!("[name=tags] option[value={v}]"))
            .set_selected(true);
    }
    assert_eq!(tags.selected_options().length(), 2);
    f.input("[name=agree]").set_checked(true);
    f.input("[name=news][value=daily]").set_checked(true);
    f.input("[name=ship][value=post]").set_checked(true);
}

/// Snapshot of every field's state, for before/after comparisons.
fn snapshot(form: &HtmlFormElement) -> Vec<String> {
    let mut out = Vec::new();
    let elements = form.elements();
    for i in 0..elements.length() {
        let el = elements.item(i).expect("element");
        if let Some(input) = el.dyn_ref::<HtmlInputElement>() {
            out.push(format!(
                "{}={}/{}",
                input.name(),
                input.value(),
                input.checked()
            ));
        } else if let Some(area) = el.dyn_ref::<HtmlTextAreaElement>() {
            out.push(format!("{}={}", area.name(), area.value()));
        } else if let Some(select) = el.dyn_ref::<HtmlSelectElement>() {
            let selected: Vec<String> = options(select)
                .iter()
                .map(|o| o.unchecked_ref::<HtmlOptionElement>())
                .filter(|o| o.selected())
                .map(|o| o.value())
                .collect();
            out.push(format!("{}={:?}", select.name(), selected));
        }
    }
    out
}

#[wasm_bindgen_test]
fn every_field_type_round_trips() {
    let f = Fixture::new(ALL_FIELDS);
    let form = f.form("#order");
    fill_all(&f);
    let filled = snapshot(&form);

    let report = save_all(&config(), Some("user-1"), NOW);
    assert_eq!(report.errors, Vec::<&str>::new());
    assert_eq!(report.saved.len(), 1);
    assert!(
        report.saved[0].ends_with("#id:order"),
        "{}",
        report.saved[0]
    );

    form.reset();
    assert_ne!(snapshot(&form), filled, "reset must change the form");

    let restored = restore_for_page(&config(), Some("user-1"), NOW + 1, None);
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].key, report.saved[0]);
    assert!(restored[0].form == form);
    assert!(
        restored[0].fields >= 18,
        "fields changed: {}",
        restored[0].fields
    );
    assert_eq!(snapshot(&form), filled);
}

#[wasm_bindgen_test]
fn stored_value_has_url_times_and_sub() {
    let f = Fixture::new(r#"<form name="signup" data-draft><input name="a"></form>"#);
    f.input("[name=a]").set_value("x");
    let ttl = 3_600_000;
    let cfg = DraftConfig {
        ttl_ms: ttl,
        ..config()
    };
    save_all(&cfg, Some("user-1"), NOW);
    let entries = draft_entries();
    assert_eq!(entries.len(), 1);
    let (key, draft) = &entries[0];
    let location = web_sys::window().unwrap().location();
    let expected_key = draft_key(
        &location.origin().unwrap(),
        &location.pathname().unwrap(),
        "name:signup",
    );
    assert_eq!(*key, expected_key);
    assert!(key.starts_with("tokenwarden:draft:v1:http"));
    assert_eq!(draft.saved_at, NOW);
    assert_eq!(draft.expires_at, NOW + ttl);
    assert_eq!(draft.sub.as_deref(), Some("user-1"));
    assert!(draft.url.starts_with(&location.pathname().unwrap()));
}

#[wasm_bindgen_test]
fn untouched_forms_and_forms_marked_off_are_not_saved() {
    let f = Fixture::new(
        r#"<form id="empty" data-draft><input name="a"><select name="s"><option>1</option></select></form>
           <form id="off" data-draft="off"><input name="b" value="typed"></form>
           <form id="unmatched"><input name="c" value="typed"></form>"#,
    );
    let _ = &f;
    let report = save_all(&config(), Some("u"), NOW);
    assert!(report.saved.is_empty(), "{:?}", report.saved);
    assert!(all_entries().is_empty());
}

#[wasm_bindgen_test]
fn a_changed_single_select_alone_counts_as_content() {
    let f = Fixture::new(
        r#"<form id="s" data-draft><select name="size"><option>S</option><option selected>M</option><option>L</option></select></form>"#,
    );
    assert!(save_all(&config(), Some("u"), NOW).saved.is_empty());
    f.el::<HtmlSelectElement>("[name=size]").set_value("L");
    assert_eq!(save_all(&config(), Some("u"), NOW).saved.len(), 1);
}

#[wasm_bindgen_test]
fn excluded_fields_never_reach_storage() {
    let f = Fixture::new(
        r#"<form id="pay" data-draft>
          <input name="visible" value="keep-me">
          <input name="pw" type="password" value="SECRET-pw">
          <input name="csrf" type="hidden" value="SECRET-csrf">
          <input name="doc" type="file">
          <input name="go" type="submit" value="SECRET-submit">
          <input name="img" type="image" value="SECRET-image">
          <input name="again" type="reset" value="SECRET-reset">
          <input name="b" type="button" value="SECRET-button">
          <button name="btn" value="SECRET-btn">Send</button>
          <input name="marked" data-draft="off" value="SECRET-marked">
          <fieldset data-draft="off"><input name="inside" value="SECRET-fieldset"></fieldset>
          <input name="card" autocomplete="cc-number" value="SECRET-cc-number">
          <input name="csc" autocomplete="billing cc-csc" value="SECRET-cc-csc">
          <input name="exp" autocomplete="cc-exp" value="SECRET-cc-exp">
          <input name="expm" autocomplete="cc-exp-month" value="SECRET-cc-exp-month">
          <input name="expy" autocomplete="cc-exp-year" value="SECRET-cc-exp-year">
          <input name="otp" autocomplete="one-time-code" value="SECRET-otp">
          <input name="pw2" type="text" autocomplete="current-password" value="SECRET-current">
          <input name="pw3" type="text" autocomplete="new-password" value="SECRET-new">
          <textarea name="ta" autocomplete="one-time-code">SECRET-textarea</textarea>
          <select name="sel" autocomplete="cc-exp-month"><option>SECRET-select</option></select>
        </form>"#,
    );
    let report = save_all(&config(), Some("user-1"), NOW);
    assert_eq!(report.saved.len(), 1);
    let entries = all_entries();
    assert_eq!(entries.len(), 1);
    for (key, value) in &entries {
        assert!(
            !key.contains("SECRET") && !value.contains("SECRET"),
            "leaked: {value}"
        );
        for name in [
            "\"pw\"", "\"csrf\"", "\"doc\"", "\"go\"", "\"btn\"", "\"card\"", "\"otp\"",
        ] {
            assert!(!value.contains(name), "{name} stored: {value}");
        }
        assert!(value.contains("keep-me"), "{value}");
    }

    // A tampered draft naming excluded fields is never written into them.
    let (key, _) = &entries[0];
    let hostile = Draft {
        url: "/".into(),
        saved_at: NOW,
        expires_at: NOW + 1000,
        sub: Some("user-1".into()),
        fields: vec![
            DraftField {
                name: "pw".into(),
                nth: 0,
                value: FieldValue::Text("INJECTED".into()),
            },
            DraftField {
                name: "csrf".into(),
                nth: 0,
                value: FieldValue::Text("INJECTED".into()),
            },
            DraftField {
                name: "card".into(),
                nth: 0,
                value: FieldValue::Text("INJECTED".into()),
            },
            DraftField {
                name: "visible".into(),
                nth: 0,
                value: FieldValue::Text("restored".into()),
            },
        ],
    };
    storage().set_item(key, &hostile.to_json()).unwrap();
    let restored = restore_for_page(&config(), Some("user-1"), NOW, None);
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].fields, 1);
    assert_eq!(f.input("[name=visible]").value(), "restored");
    assert_eq!(f.input("[name=pw]").value(), "SECRET-pw");
    assert_eq!(f.input("[name=csrf]").value(), "SECRET-csrf");
    assert_eq!(f.input("[name=card]").value(), "SECRET-cc-number");
}

#[wasm_bindgen_test]
fn clobbered_form_properties_do_not_confuse_identity() {
    // `<input name="id">` makes `form.id` that input; `name="elements"`
    // hides `form.elements`. Identity and fields must still be right.
    let f = Fixture::new(
        r#"<form id="profile" data-draft><input name="id" value="7"><input name="name" value="Ada"><input name="elements" value="x"></form>"#,
    );
    let report = save_all(&config(), Some("u"), NOW);
    assert_eq!(report.saved.len(), 1);
    assert!(
        report.saved[0].ends_with("#id:profile"),
        "{}",
        report.saved[0]
    );
    let (_, draft) = &draft_entries()[0];
    let names: Vec<&str> = draft.fields.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["id", "name", "elements"]);
    f.input("[name=name]").set_value("");
    restore_for_page(&config(), Some("u"), NOW, None);
    assert_eq!(f.input("[name=name]").value(), "Ada");
}

#[wasm_bindgen_test]
fn drafts_are_bound_to_sub_and_ttl() {
    let f = Fixture::new(r#"<form id="f" data-draft><input name="a"></form>"#);
    let cfg = DraftConfig {
        ttl_ms: 60_000,
        ..config()
    };
    f.input("[name=a]").set_value("mine");
    save_all(&cfg, Some("alice"), NOW);
    f.input("[name=a]").set_value("");

    // Someone else signs in on the same computer: nothing shown, nothing deleted.
    assert!(restore_for_page(&cfg, Some("mallory"), NOW + 1, None).is_empty());
    assert!(restore_for_page(&cfg, None, NOW + 1, None).is_empty());
    assert!(list(Some("mallory"), NOW + 1).is_empty());
    assert_eq!(f.input("[name=a]").value(), "");
    assert_eq!(draft_entries().len(), 1);

    // The owner sees it in the list and gets it back before expiry.
    let listed = list(Some("alice"), NOW + 1);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].saved_at, NOW);
    assert_eq!(
        restore_for_page(&cfg, Some("alice"), NOW + 59_999, None).len(),
        1
    );
    assert_eq!(f.input("[name=a]").value(), "mine");

    // Expired: not restored, and removed.
    f.input("[name=a]").set_value("");
    assert!(restore_for_page(&cfg, Some("alice"), NOW + 60_000, None).is_empty());
    assert_eq!(f.input("[name=a]").value(), "");
    assert!(draft_entries().is_empty());
}

#[wasm_bindgen_test]
fn purge_removes_expired_and_corrupt_drafts_only() {
    let _f = Fixture::new("");
    let s = storage();
    let draft = |saved_at: Millis, expires_at: Millis| {
        Draft {
            url: "/".into(),
            saved_at,
            expires_at,
            sub: None,
            fields: vec![],
        }
        .to_json()
    };
    s.set_item("tokenwarden:draft:v1:http://x/a#id:old", &draft(0, NOW - 1))
        .unwrap();
    s.set_item(
        "tokenwarden:draft:v1:http://x/a#id:new",
        &draft(NOW, NOW + 1),
    )
    .unwrap();
    s.set_item("tokenwarden:draft:v1:http://x/a#id:junk", "{not json")
        .unwrap();
    s.set_item("someone-else", "{not json").unwrap();
    assert_eq!(purge_expired(NOW), 2);
    let mut keys: Vec<String> = all_entries().into_iter().map(|(k, _)| k).collect();
    keys.sort();
    assert_eq!(
        keys,
        ["someone-else", "tokenwarden:draft:v1:http://x/a#id:new"]
    );
}

/// Fill localStorage with junk until it refuses more (halving the chunk
/// size down to one character). Returns the junk keys.
fn fill_storage() -> Vec<String> {
    let s = storage();
    let mut keys = Vec::new();
    let mut size = 1 << 20;
    let mut n = 0;
    while size >= 1 {
        let key = format!("junk-{n}");
        if s.set_item(&key, &"x".repeat(size)).is_ok() {
            keys.push(key);
            n += 1;
        } else {
            size /= 2;
        }
    }
    keys
}

#[wasm_bindgen_test]
fn full_storage_evicts_our_oldest_drafts_first() {
    let f = Fixture::new(r#"<form id="now" data-draft><textarea name="t"></textarea></form>"#);
    let s = storage();
    let old = |saved_at: Millis| {
        Draft {
            url: "/elsewhere".into(),
            saved_at,
            expires_at: NOW + 1_000_000,
            sub: Some("u".into()),
            fields: vec![DraftField {
                name: "t".into(),
                nth: 0,
                value: FieldValue::Text("o".repeat(20_000)),
            }],
        }
        .to_json()
    };
    let oldest = "tokenwarden:draft:v1:http://x/elsewhere#id:oldest";
    let older = "tokenwarden:draft:v1:http://x/elsewhere#id:older";
    s.set_item(older, &old(NOW - 1000)).unwrap();
    s.set_item(oldest, &old(NOW - 2000)).unwrap();
    let junk = fill_storage();
    assert!(!junk.is_empty());

    // Smaller than one old draft: evicting the oldest one is enough.
    f.el::<HtmlTextAreaElement>("[name=t]")
        .set_value(&"n".repeat(10_000));
    let report = save_all(&config(), Some("u"), NOW);
    assert_eq!(report.errors, Vec::<&str>::new());
    assert_eq!(report.saved.len(), 1);
    assert!(s.get_item(&report.saved[0]).unwrap().is_some());
    assert!(
        s.get_item(oldest).unwrap().is_none(),
        "oldest draft must go first"
    );
    assert!(
        s.get_item(older).unwrap().is_some(),
        "only as much as needed is evicted"
    );
    // Other libraries' data is never evicted.
    for key in &junk {
        assert!(s.get_item(key).unwrap().is_some());
    }
}

#[wasm_bindgen_test]
fn full_storage_without_our_drafts_reports_quota() {
    let f = Fixture::new(r#"<form id="now" data-draft><textarea name="t"></textarea></form>"#);
    let junk = fill_storage();
    f.el::<HtmlTextAreaElement>("[name=t]")
        .set_value(&"n".repeat(10_000));
    let report = save_all(&config(), Some("u"), NOW);
    assert_eq!(report.errors, vec![codes::QUOTA]);
    assert!(report.saved.is_empty());
    assert_eq!(storage().length().unwrap() as usize, junk.len());
}

#[wasm_bindgen_test]
fn disabled_storage_reports_unavailable() {
    let f = Fixture::new(r#"<form id="f" data-draft><input name="a" value="typed"></form>"#);
    let _ = &f;
    // Make `window.localStorage` throw the way sandboxed frames do.
    let window = web_sys::window().unwrap();
    let original = Object::get_own_property_descriptor(&window, &"localStorage".into());
    assert!(
        original.is_object(),
        "localStorage is an own accessor of window"
    );
    let throwing = js_sys::Function::new_no_args(
        "throw new DOMException('The operation is insecure.', 'SecurityError')",
    );
    let desc = Object::new();
    Reflect::set(&desc, &"get".into(), &throwing).unwrap();
    Reflect::set(&desc, &"configurable".into(), &true.into()).unwrap();
    Object::define_property(&window, &"localStorage".into(), &desc);

    let report = save_all(&config(), Some("u"), NOW);
    let restored = restore_for_page(&config(), Some("u"), NOW, None);
    let listed = list(Some("u"), NOW);
    let purged = purge_expired(NOW);

    Object::define_property(&window, &"localStorage".into(), original.unchecked_ref());
    assert_eq!(report.errors, vec![codes::STORAGE_UNAVAILABLE]);
    assert!(restored.is_empty() && listed.is_empty());
    assert_eq!(purged, 0);
    assert!(local_storage().is_ok(), "descriptor restored");
}

/// Install a React-style value tracker on `el`: an own `prop` accessor that
/// records what goes through it and forwards to the prototype. A library
/// that sets values through the element instance is seen by the tracker
/// (and React would then ignore the change); one that uses the prototype
/// setter is not.
fn install_tracker(el: &JsValue, ctor: &str, prop: &str) {
    let install = js_sys::Function::new_with_args(
        "el, ctor, prop",
        "const d = Object.getOwnPropertyDescriptor(globalThis[ctor].prototype, prop);
         el.__tracked = [];
         Object.defineProperty(el, prop, {
           configurable: true,
           get() { return d.get.call(this); },
           set(v) { this.__tracked.push(v); d.set.call(this, v); },
         });",
    );
    install
        .call3(&JsValue::NULL, el, &ctor.into(), &prop.into())
        .expect("install tracker");
}

fn tracked(el: &JsValue) -> u32 {
    Reflect::get(el, &"__tracked".into())
        .unwrap()
        .unchecked_into::<Array>()
        .length()
}

#[wasm_bindgen_test]
fn restore_uses_native_setters_and_dispatches_events() {
    let f = Fixture::new(
        r#"<form id="c" data-draft>
          <input name="title"><textarea name="body"></textarea>
          <select name="size"><option value="s">S</option><option value="l">L</option></select>
          <input type="checkbox" name="agree">
        </form>"#,
    );
    f.input("[name=title]").set_value("Hello");
    f.el::<HtmlTextAreaElement>("[name=body]")
        .set_value("World");
    f.el::<HtmlSelectElement>("[name=size]").set_value("l");
    f.input("[name=agree]").set_checked(true);
    save_all(&config(), Some("u"), NOW);
    f.form("#c").reset();

    let title = f.input("[name=title]");
    let body: HtmlTextAreaElement = f.el("[name=body]");
    let agree = f.input("[name=agree]");
    install_tracker(&title, "HTMLInputElement", "value");
    install_tracker(&body, "HTMLTextAreaElement", "value");
    install_tracker(&agree, "HTMLInputElement", "checked");

    // A listener on the form (bubbling) records what a framework would see.
    let seen: Rc<RefCell<Vec<String>>> = Rc::default();
    let log = seen.clone();
    let listener = Closure::<dyn FnMut(Event)>::new(move |e: Event| {
        let target = e.target().unwrap();
        let state = if let Some(i) = target.dyn_ref::<HtmlInputElement>() {
            if i.type_() == "checkbox" {
                i.checked().to_string()
            } else {
                i.value()
            }
        } else if let Some(t) = target.dyn_ref::<HtmlTextAreaElement>() {
            t.value()
        } else if let Some(s) = target.dyn_ref::<HtmlSelectElement>() {
            s.value()
        } else {
            String::new()
        };
        let name = target
            .unchecked_ref::<Element>()
            .get_attribute("name")
            .unwrap_or_default();
        log.borrow_mut()
            .push(format!("{} {} {}", e.type_(), name, state));
    });
    let form = f.form("#c");
    for kind in ["input", "change", "click"] {
        form.add_event_listener_with_callback(kind, listener.as_ref().unchecked_ref())
            .unwrap();
    }

    let restored = restore_for_page(&config(), Some("u"), NOW, None);
    assert_eq!(restored.len(), 1);
    assert_eq!(restored[0].fields, 4);
    assert_eq!(
        *seen.borrow(),
        [
            "input title Hello",
            "change title Hello",
            "input body World",
            "change body World",
            "input size l",
            "change size l",
            "click agree true",
            "input agree true",
            "change agree true",
        ]
    );
    // The instance-level trackers never saw the writes: the prototype
    // setters were used, so React's tracker sees a changed value.
    assert_eq!(tracked(&title), 0);
    assert_eq!(tracked(&body), 0);
    assert_eq!(tracked(&agree), 0);
    // The synthetic click did not toggle the box back.
    assert!(agree.checked());
    assert_eq!(title.value(), "Hello");
}

#[wasm_bindgen_test]
fn restore_leaves_equal_values_alone() {
    let f = Fixture::new(r#"<form id="c" data-draft><input name="a"><input name="b"></form>"#);
    f.input("[name=a]").set_value("same");
    f.input("[name=b]").set_value("old");
    save_all(&config(), Some("u"), NOW);
    f.input("[name=b]").set_value("");
    let restored = restore_for_page(&config(), Some("u"), NOW, None);
    assert_eq!(restored[0].fields, 1);
}

fn page_href() -> String {
    web_sys::window().unwrap().location().href().unwrap()
}

fn replace_url(url: &str) {
    let history = Reflect::get(&web_sys::window().unwrap(), &"history".into()).unwrap();
    let replace: Function = Reflect::get(&history, &"replaceState".into())
        .unwrap()
        .unchecked_into();
    replace
        .call3(&history, &JsValue::NULL, &"".into(), &url.into())
        .expect("replaceState");
}

#[wasm_bindgen_test]
fn login_redirect_url_carries_a_same_origin_return_path() {
    let page = "https://app.example/orders/new?step=2#notes";
    let none: Vec<String> = Vec::new();
    assert_eq!(
        login_redirect_url_at(page, "/login", "returnTo", &none).unwrap(),
        "https://app.example/login?returnTo=%2Forders%2Fnew%3Fstep%3D2%23notes"
    );
    // Existing query kept, custom parameter name, absolute same-origin URL.
    assert_eq!(
        login_redirect_url_at(page, "https://app.example/auth?x=1", "next", &none).unwrap(),
        "https://app.example/auth?x=1&next=%2Forders%2Fnew%3Fstep%3D2%23notes"
    );
    // A listed origin is allowed.
    let allowed = vec!["https://login.example".to_owned()];
    assert_eq!(
        login_redirect_url_at(page, "https://login.example/sso", "returnTo", &allowed).unwrap(),
        "https://login.example/sso?returnTo=%2Forders%2Fnew%3Fstep%3D2%23notes"
    );
    // Already on the login page: no returnTo pointing at the login page.
    assert_eq!(
        login_redirect_url_at("https://app.example/login", "/login", "returnTo", &none).unwrap(),
        "https://app.example/login"
    );
    // An open-redirect attempt hidden in the page's own query stays encoded
    // inside the (same-origin) return path.
    let url = login_redirect_url_at(
        "https://app.example/x?returnTo=//evil.example",
        "/login",
        "returnTo",
        &none,
    )
    .unwrap();
    let parsed = Url::new(&url).unwrap();
    assert_eq!(parsed.origin(), "https://app.example");
    let back = parsed.search_params().get("returnTo").unwrap();
    assert_eq!(back, "/x?returnTo=//evil.example");
    assert_eq!(validate_return_to(&back), Ok(()));
}

#[wasm_bindgen_test]
fn login_redirect_refuses_hostile_login_urls() {
    let page = "https://app.example/orders";
    let allowed = vec!["https://login.example".to_owned()];
    for hostile in [
        "//evil.example",
        "//evil.example/login",
        "https://evil.example",
        "https://evil.example/login",
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "https://app.example@evil.example/",
        "https://login.example.evil.example/",
        "http://app.example/login",
        "https://user:pw@app.example/login",
        "ftp://app.example/login",
    ] {
        let result = login_redirect_url_at(page, hostile, "returnTo", &allowed);
        assert_eq!(
            result,
            Err(codes::REDIRECT_NOT_ALLOWED),
            "{hostile:?} -> {result:?}"
        );
    }
    assert_eq!(
        login_redirect_url_at(page, "https://[bad", "returnTo", &allowed),
        Err(codes::LOGIN_URL_INVALID)
    );
    for bad_param in ["", "a&b", "a=b", "a b"] {
        assert_eq!(
            login_redirect_url_at(page, "/login", bad_param, &allowed),
            Err(codes::RETURN_PARAM_INVALID)
        );
    }
    // The live page works too (this test page's own origin).
    let url = login_redirect_url("/login", "returnTo", &[]).unwrap();
    assert!(url.starts_with(&web_sys::window().unwrap().location().origin().unwrap()));
}

#[wasm_bindgen_test]
fn navigate_assigns_the_location() {
    // A same-document (fragment) navigation keeps the test page alive.
    let original = page_href();
    navigate("#navigated").unwrap();
    let hash = web_sys::window().unwrap().location().hash().unwrap();
    replace_url(&original);
    assert_eq!(hash, "#navigated");
}

#[wasm_bindgen_test]
fn return_to_is_read_back_only_when_safe() {
    let original = page_href();
    let mut results = Vec::new();
    for (query, expected) in [
        ("?returnTo=%2Forders%3Fa%3D1%23n", Some("/orders?a=1#n")),
        ("?returnTo=//evil.example", None),
        ("?returnTo=%2F%2Fevil.example", None),
        ("?returnTo=javascript:alert(1)", None),
        ("?returnTo=https://evil.example", None),
        ("?returnTo=/%5Cevil.example", None),
        ("?returnTo=%2F%5Cevil.example", None),
        ("?returnTo=%2F%09%2Fevil.example", None),
        ("?other=1", None),
    ] {
        replace_url(&format!("/login{query}"));
        results.push((query, return_to_from_location("returnTo"), expected));
    }
    replace_url(&original);
    for (query, got, expected) in results {
        assert_eq!(got.as_deref(), expected, "{query}");
    }
}

#[wasm_bindgen_test]
fn options_parse_from_js() {
    assert_eq!(options_from_js(&JsValue::FALSE), Ok(None));
    assert_eq!(options_from_js(&JsValue::UNDEFINED), Ok(Some(config())));
    assert_eq!(options_from_js(&JsValue::TRUE), Ok(Some(config())));
    let obj = Object::new();
    Reflect::set(&obj, &"selector".into(), &"form.keep".into()).unwrap();
    Reflect::set(&obj, &"ttlSeconds".into(), &60.into()).unwrap();
    Reflect::set(&obj, &"autosave".into(), &true.into()).unwrap();
    Reflect::set(&obj, &"autosaveDelaySeconds".into(), &0.5.into()).unwrap();
    Reflect::set(&obj, &"restore".into(), &"manual".into()).unwrap();
    let parsed = options_from_js(&obj).unwrap().unwrap();
    assert_eq!(
        parsed,
        DraftConfig {
            selector: "form.keep".into(),
            ttl_ms: 60_000,
            autosave: true,
            autosave_delay_ms: 500,
            restore: RestoreMode::Manual,
        }
    );
    let bad = |name: &str, value: JsValue| {
        let obj = Object::new();
        Reflect::set(&obj, &name.into(), &value).unwrap();
        options_from_js(&obj).unwrap_err().option
    };
    assert_eq!(bad("selector", 5.into()), "drafts.selector");
    assert_eq!(bad("selector", "form[".into()), "drafts.selector");
    assert_eq!(bad("ttlSeconds", "60".into()), "drafts.ttlSeconds");
    assert_eq!(bad("ttlSeconds", (-1).into()), "drafts.ttlSeconds");
    assert_eq!(bad("autosave", "yes".into()), "drafts.autosave");
    assert_eq!(bad("restore", "later".into()), "drafts.restore");
    assert_eq!(options_from_js(&"yes".into()).unwrap_err().option, "drafts");
}

fn new_drafts(cfg: DraftConfig) -> (Drafts, Rc<RefCell<Vec<&'static str>>>) {
    let errors: Rc<RefCell<Vec<&'static str>>> = Rc::default();
    let sink = errors.clone();
    let drafts = Drafts::new(cfg, Box::new(move |code| sink.borrow_mut().push(code)), NOW);
    (drafts, errors)
}

#[wasm_bindgen_test]
fn session_over_saves_for_the_signed_in_user_and_sign_in_restores() {
    let f = Fixture::new(r#"<form id="f" data-draft><input name="a"></form>"#);
    let (drafts, errors) = new_drafts(config());
    assert_eq!(*drafts.config(), config());
    assert!(drafts.signed_in(Some("alice"), NOW).is_empty());
    f.input("[name=a]").set_value("typed before expiry");
    let report = drafts.session_over(NOW);
    assert_eq!(report.saved.len(), 1);
    assert_eq!(draft_entries()[0].1.sub.as_deref(), Some("alice"));
    // Signed out: nothing listed.
    assert!(drafts.list(NOW).is_empty());

    f.input("[name=a]").set_value("");
    assert!(drafts.signed_in(Some("bob"), NOW).is_empty());
    assert_eq!(f.input("[name=a]").value(), "");
    drafts.session_over(NOW); // bob typed nothing: alice's draft stays
    assert_eq!(draft_entries()[0].1.sub.as_deref(), Some("alice"));

    let restored = drafts.signed_in(Some("alice"), NOW + 1);
    assert_eq!(restored.len(), 1);
    assert_eq!(f.input("[name=a]").value(), "typed before expiry");
    let js = restored_to_js(&restored);
    let first = js.get(0);
    assert_eq!(
        Reflect::get(&first, &"savedAt".into()).unwrap().as_f64(),
        Some(NOW as f64)
    );
    assert!(Reflect::get(&first, &"form".into()).unwrap() == JsValue::from(f.form("#f")));
    assert_eq!(drafts.list_js(NOW + 1).length(), 1);

    // Same user again (token refresh): no second restore over the user's typing.
    f.input("[name=a]").set_value("typing on");
    assert!(drafts.signed_in(Some("alice"), NOW + 2).is_empty());
    assert_eq!(f.input("[name=a]").value(), "typing on");
    assert!(errors.borrow().is_empty());
}

#[wasm_bindgen_test]
fn manual_mode_restores_only_on_request() {
    let f = Fixture::new(
        r#"<form id="one" data-draft><input name="a"></form><form id="two" data-draft><input name="b"></form>"#,
    );
    f.input("[name=a]").set_value("1");
    f.input("[name=b]").set_value("2");
    save_all(&config(), Some("u"), NOW);
    f.form("#one").reset();
    f.form("#two").reset();
    let (drafts, _) = new_drafts(DraftConfig {
        restore: RestoreMode::Manual,
        ..config()
    });
    assert!(drafts.signed_in(Some("u"), NOW).is_empty());
    assert_eq!(f.input("[name=a]").value(), "");

    let listed = drafts.list(NOW);
    assert_eq!(listed.len(), 2);
    let two = listed
        .iter()
        .find(|d| d.key.ends_with("#id:two"))
        .unwrap()
        .key
        .clone();
    let restored = drafts.restore_js(&JsValue::from_str(&two), NOW);
    assert_eq!(restored.length(), 1);
    assert_eq!(f.input("[name=a]").value(), "");
    assert_eq!(f.input("[name=b]").value(), "2");
    assert_eq!(drafts.restore_js(&JsValue::UNDEFINED, NOW).length(), 2);
    assert_eq!(f.input("[name=a]").value(), "1");
}

#[wasm_bindgen_test]
fn discard_by_key_and_by_form() {
    let f = Fixture::new(
        r#"<form id="one" data-draft><input name="a" value="1"></form><form id="two" data-draft><input name="b" value="2"></form>"#,
    );
    let report = save_all(&config(), Some("u"), NOW);
    assert_eq!(report.saved.len(), 2);
    let (drafts, _) = new_drafts(config());
    assert_eq!(drafts.discard(&JsValue::from_str(&report.saved[0])), Ok(1));
    assert_eq!(drafts.discard(&JsValue::from_str(&report.saved[0])), Ok(0));
    assert_eq!(drafts.discard(&f.form("#two").into()), Ok(1));
    assert!(draft_entries().is_empty());
    // Keys that are not ours are never touched.
    storage().set_item("app-data", "1").unwrap();
    assert_eq!(drafts.discard(&JsValue::from_str("app-data")), Ok(0));
    assert!(storage().get_item("app-data").unwrap().is_some());
    assert_eq!(
        drafts.discard(&JsValue::from(5)),
        Err(codes::DISCARD_ARGUMENT)
    );
}

/// A form that submits into a hidden iframe, so a native submit does not
/// navigate the test page.
const SUBMIT_FORM: &str = r#"
<iframe name="sink" hidden></iframe>
<form id="s" data-draft action="about:blank" target="sink">
  <input name="a"><input name="must" required data-draft="off">
</form>"#;

fn submit(form: &HtmlFormElement) {
    form.request_submit().expect("requestSubmit");
}

#[wasm_bindgen_test]
async fn native_submit_removes_a_restored_draft_unless_prevented_or_invalid() {
    let f = Fixture::new(SUBMIT_FORM);
    let form = f.form("#s");
    f.input("[name=a]").set_value("draft text");
    save_all(&config(), Some("u"), NOW);
    form.reset();
    let (drafts, _) = new_drafts(config());
    assert_eq!(drafts.signed_in(Some("u"), NOW).len(), 1);
    assert_eq!(draft_entries().len(), 1);

    // Fails validation (`must` is required and empty): no submit event.
    submit(&form);
    tick(10).await;
    assert_eq!(draft_entries().len(), 1, "invalid submit kept the draft");

    // Prevented by the app (an SPA saving through its API).
    f.input("[name=must]").set_value("ok");
    let prevent = Closure::<dyn FnMut(Event)>::new(|e: Event| e.prevent_default());
    form.add_event_listener_with_callback("submit", prevent.as_ref().unchecked_ref())
        .unwrap();
    submit(&form);
    tick(10).await;
    assert_eq!(draft_entries().len(), 1, "prevented submit kept the draft");
    form.remove_event_listener_with_callback("submit", prevent.as_ref().unchecked_ref())
        .unwrap();

    // A real native submit: the draft goes.
    submit(&form);
    tick(10).await;
    assert!(
        draft_entries().is_empty(),
        "native submit removed the draft"
    );
}

#[wasm_bindgen_test]
async fn native_submit_of_a_form_without_a_draft_changes_nothing() {
    let f = Fixture::new(SUBMIT_FORM);
    f.input("[name=a]").set_value("x");
    f.input("[name=must]").set_value("x");
    // A draft exists, but was not restored on this page.
    save_all(&config(), Some("u"), NOW);
    let (drafts, _) = new_drafts(DraftConfig {
        restore: RestoreMode::Manual,
        ..config()
    });
    drafts.signed_in(Some("u"), NOW);
    submit(&f.form("#s"));
    tick(10).await;
    assert_eq!(draft_entries().len(), 1);
}

fn type_into(input: &HtmlInputElement, value: &str) {
    input.set_value(value);
    fire(input, "input");
}

#[wasm_bindgen_test]
async fn autosave_saves_after_typing_and_stops_when_dropped() {
    let f = Fixture::new(SUBMIT_FORM);
    let cfg = DraftConfig {
        autosave: true,
        autosave_delay_ms: 0,
        ..config()
    };
    let (drafts, errors) = new_drafts(cfg);
    let a = f.input("[name=a]");

    // Signed out: typing is not saved.
    type_into(&a, "anonymous");
    tick(10).await;
    assert!(draft_entries().is_empty());

    drafts.signed_in(Some("u"), NOW);
    type_into(&a, "h");
    type_into(&a, "he");
    type_into(&a, "hello");
    tick(10).await;
    let entries = draft_entries();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].1.sub.as_deref(), Some("u"));
    assert_eq!(
        entries[0].1.fields[0].value,
        FieldValue::Text("hello".into())
    );

    // Emptying the form removes its draft.
    type_into(&a, "");
    tick(10).await;
    assert!(draft_entries().is_empty());

    // An autosaved form that is then submitted natively loses its draft.
    type_into(&a, "sent");
    f.input("[name=must]").set_value("ok");
    tick(10).await;
    assert_eq!(draft_entries().len(), 1);
    submit(&f.form("#s"));
    tick(10).await;
    assert!(draft_entries().is_empty());

    // Dropped: listeners and timers are gone.
    type_into(&a, "pending");
    drop(drafts);
    tick(10).await;
    type_into(&a, "after drop");
    tick(10).await;
    assert!(draft_entries().is_empty());
    assert!(errors.borrow().is_empty());
}

#[wasm_bindgen_test]
async fn autosave_errors_go_to_the_error_callback() {
    let f = Fixture::new(SUBMIT_FORM);
    let cfg = DraftConfig {
        autosave: true,
        autosave_delay_ms: 0,
        ..config()
    };
    let (drafts, errors) = new_drafts(cfg);
    drafts.signed_in(Some("u"), NOW);
    fill_storage();
    type_into(&f.input("[name=a]"), &"z".repeat(50_000));
    tick(10).await;
    assert_eq!(*errors.borrow(), vec![codes::QUOTA]);
}
