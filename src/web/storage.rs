//! Where the session lives between page loads: memory (default),
//! `sessionStorage` or `localStorage`, under the key `<storageKey>:session`.
//!
//! Web Storage can be missing, disabled, full or throwing in private modes
//! and sandboxed frames. Any such failure switches this store to memory for
//! the rest of the manager's life and reports a warning code
//! (`storage_unavailable`) for the manager to emit; nothing throws into the
//! application. A stored value that does not parse is removed and reported as
//! `storage_corrupt`.
//!
//! The stored value is JSON:
//! `{"v":1,"accessToken":…,"refreshToken":…|null,"expiresAt":ms,"startedAt":ms}`.

use js_sys::JSON;
use wasm_bindgen::prelude::*;

use super::global::{object, prop, storage_area};
use super::options::StorageMode;
use crate::core::{Millis, StoredSession};

/// Warning code: storage threw, the manager now keeps tokens in memory only.
pub(crate) const STORAGE_UNAVAILABLE: &str = "storage_unavailable";
/// Warning code: the stored session was not readable and was removed.
pub(crate) const STORAGE_CORRUPT: &str = "storage_corrupt";

/// The session store of one manager.
pub(crate) struct Store {
    mode: StorageMode,
    key: String,
    area: Option<web_sys::Storage>,
}

impl Store {
    /// Opens the configured storage. On failure the store is in memory mode
    /// and the warning code is returned alongside.
    pub(crate) fn open(mode: StorageMode, namespace: &str) -> (Store, Option<&'static str>) {
        let mut key = String::with_capacity(namespace.len() + 8);
        key.push_str(namespace);
        key.push_str(":session");
        let name = match mode {
            StorageMode::Memory => {
                return (
                    Store {
                        mode,
                        key,
                        area: None,
                    },
                    None,
                )
            }
            StorageMode::Session => "sessionStorage",
            StorageMode::Local => "localStorage",
        };
        match storage_area(name) {
            Some(area) => (
                Store {
                    mode,
                    key,
                    area: Some(area),
                },
                None,
            ),
            None => (
                Store {
                    mode: StorageMode::Memory,
                    key,
                    area: None,
                },
                Some(STORAGE_UNAVAILABLE),
            ),
        }
    }

    /// The mode in effect (memory after a fallback).
    pub(crate) fn mode(&self) -> StorageMode {
        self.mode
    }

    /// The stored session, if there is a readable one.
    pub(crate) fn load(&mut self) -> (Option<StoredSession>, Option<&'static str>) {
        let Some(area) = &self.area else {
            return (None, None);
        };
        let text = match area.get_item(&self.key) {
            Ok(text) => text,
            Err(_) => return (None, Some(self.fall_back())),
        };
        let Some(text) = text else {
            return (None, None);
        };
        match decode(&text) {
            Some(session) => (Some(session), None),
            None => {
                if area.remove_item(&self.key).is_err() {
                    return (None, Some(self.fall_back()));
                }
                (None, Some(STORAGE_CORRUPT))
            }
        }
    }

    /// Writes (or, with `None`, removes) the session. Returns a warning code
    /// when storage failed and the store fell back to memory.
    pub(crate) fn save(&mut self, session: Option<&StoredSession>) -> Option<&'static str> {
        let area = self.area.as_ref()?;
        let written = match session {
            Some(s) => encode(s)
                .ok_or(JsValue::NULL)
                .and_then(|text| area.set_item(&self.key, &text)),
            None => area.remove_item(&self.key),
        };
        match written {
            Ok(()) => None,
            Err(_) => Some(self.fall_back()),
        }
    }

    /// Switches to memory, removing whatever an earlier write left behind so
    /// a stale session cannot come back on the next page load.
    fn fall_back(&mut self) -> &'static str {
        if let Some(area) = self.area.take() {
            let _ = area.remove_item(&self.key);
        }
        self.mode = StorageMode::Memory;
        STORAGE_UNAVAILABLE
    }
}

fn encode(session: &StoredSession) -> Option<String> {
    let value = object(&[
        ("v", JsValue::from_f64(1.0)),
        ("accessToken", JsValue::from_str(&session.access_token)),
        (
            "refreshToken",
            session
                .refresh_token
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
        ),
        ("expiresAt", JsValue::from_f64(session.expires_at as f64)),
        ("startedAt", JsValue::from_f64(session.started_at as f64)),
    ]);
    JSON::stringify(&value).ok()?.as_string()
}

fn decode(text: &str) -> Option<StoredSession> {
    let value = JSON::parse(text).ok()?;
    if prop(&value, "v")?.as_f64()? != 1.0 {
        return None;
    }
    let access_token = prop(&value, "accessToken")?
        .as_string()
        .filter(|s| !s.is_empty())?;
    let refresh_token = match prop(&value, "refreshToken") {
        None => None,
        Some(v) => Some(v.as_string()?),
    };
    Some(StoredSession {
        access_token,
        refresh_token,
        expires_at: millis(prop(&value, "expiresAt")?)?,
        started_at: millis(prop(&value, "startedAt")?)?,
    })
}

fn millis(value: JsValue) -> Option<Millis> {
    let n = value.as_f64()?;
    (0.0..=9.0e15).contains(&n).then_some(n as Millis)
}
