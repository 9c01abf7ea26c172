//! The messages tabs exchange over the `BroadcastChannel`, and their strict
//! validation.
//!
//! Every message is a plain object (structured clone, not a JSON string) with
//! a version, a type and the sender's tab id:
//!
//! ```text
//! {v:1, type:"tokens",  from, accessToken, refreshToken|null, expiresAt, startedAt}
//! {v:1, type:"session", from, to, accessToken, refreshToken|null, expiresAt, startedAt}
//! {v:1, type:"logout",  from, reason}
//! {v:1, type:"hello",   from}
//! ```
//!
//! Anything else on the channel (another version, an unknown type, a missing,
//! mistyped or extra member, an absurd size) is rejected with a reason; the
//! caller turns that into a `warning` event (`tab_message_invalid`) and
//! otherwise ignores the message. Nothing here can panic on what arrives.

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::super::global::object;
use crate::core::{Millis, SessionEndReason, StoredSession};

/// The only message version this build speaks.
pub(crate) const VERSION: f64 = 1.0;

/// Longest string accepted in a message (tokens included): 64 KiB. Real
/// tokens are a few KB; anything larger is garbage or an attack on memory.
const MAX_STRING: usize = 64 * 1024;

/// Longest tab id accepted.
const MAX_ID: usize = 64;

/// A validated message between tabs.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Message {
    /// New tokens after a refresh or sign-in in the sending tab.
    Tokens {
        from: String,
        session: StoredSession,
    },
    /// The answer to a `Hello`: the current session, addressed to one tab.
    Session {
        from: String,
        to: String,
        session: StoredSession,
    },
    /// The sending tab's session ended (logout, expiry, rejection).
    Logout {
        from: String,
        reason: SessionEndReason,
    },
    /// A tab started without a session and asks the others for theirs.
    Hello { from: String },
}

impl Message {
    /// The sending tab's id.
    pub(crate) fn from(&self) -> &str {
        match self {
            Message::Tokens { from, .. }
            | Message::Session { from, .. }
            | Message::Logout { from, .. }
            | Message::Hello { from } => from,
        }
    }

    /// The message as the plain object posted on the channel.
    pub(crate) fn encode(&self) -> JsValue {
        let head = |kind: &str, from: &str| {
            vec![
                ("v", JsValue::from_f64(VERSION)),
                ("type", JsValue::from_str(kind)),
                ("from", JsValue::from_str(from)),
            ]
        };
        let members = match self {
            Message::Tokens { from, session } => {
                let mut m = head("tokens", from);
                push_session(&mut m, session);
                m
            }
            Message::Session { from, to, session } => {
                let mut m = head("session", from);
                m.push(("to", JsValue::from_str(to)));
                push_session(&mut m, session);
                m
            }
            Message::Logout { from, reason } => {
                let mut m = head("logout", from);
                m.push(("reason", JsValue::from_str(reason.as_str())));
                m
            }
            Message::Hello { from } => head("hello", from),
        };
        object(&members)
    }

    /// Validates whatever arrived on the channel. `Err` carries a short reason.
    pub(crate) fn decode(data: &JsValue) -> Result<Message, &'static str> {
        if !data.is_object() || data.is_function() || js_sys::Array::is_array(data) {
            return Err("not an object");
        }
        let obj: &Object = data.unchecked_ref();
        if own_number(obj, "v")? != Some(VERSION) {
            return Err("unsupported version");
        }
        let kind = own_string(obj, "type", 16)?.ok_or("no type")?;
        let from = own_string(obj, "from", MAX_ID)?
            .filter(|s| !s.is_empty())
            .ok_or("no sender id")?;
        let (message, allowed): (Message, &[&str]) = match kind.as_str() {
            "tokens" => (
                Message::Tokens {
                    from,
                    session: session(obj)?,
                },
                &SESSION_KEYS,
            ),
            "session" => (
                Message::Session {
                    from,
                    to: own_string(obj, "to", MAX_ID)?
                        .filter(|s| !s.is_empty())
                        .ok_or("no recipient id")?,
                    session: session(obj)?,
                },
                &SESSION_TO_KEYS,
            ),
            "logout" => (
                Message::Logout {
                    from,
                    reason: reason(&own_string(obj, "reason", 32)?.ok_or("no reason")?)?,
                },
                &["v", "type", "from", "reason"],
            ),
            "hello" => (Message::Hello { from }, &["v", "type", "from"]),
            _ => return Err("unknown type"),
        };
        let keys = Object::keys(obj);
        if keys.length() as usize != allowed.len() {
            return Err("unexpected members");
        }
        for key in keys.iter() {
            match key.as_string() {
                Some(k) if allowed.contains(&k.as_str()) => {}
                _ => return Err("unexpected members"),
            }
        }
        Ok(message)
    }
}

const SESSION_KEYS: [&str; 7] = [
    "v",
    "type",
    "from",
    "accessToken",
    "refreshToken",
    "expiresAt",
    "startedAt",
];

const SESSION_TO_KEYS: [&str; 8] = [
    "v",
    "type",
    "from",
    "to",
    "accessToken",
    "refreshToken",
    "expiresAt",
    "startedAt",
];

fn push_session(members: &mut Vec<(&str, JsValue)>, s: &StoredSession) {
    members.push(("accessToken", JsValue::from_str(&s.access_token)));
    members.push((
        "refreshToken",
        s.refresh_token
            .as_deref()
            .map_or(JsValue::NULL, JsValue::from_str),
    ));
    members.push(("expiresAt", JsValue::from_f64(s.expires_at as f64)));
    members.push(("startedAt", JsValue::from_f64(s.started_at as f64)));
}

fn session(obj: &Object) -> Result<StoredSession, &'static str> {
    let access_token = own_string(obj, "accessToken", MAX_STRING)?
        .filter(|s| !s.is_empty())
        .ok_or("no access token")?;
    // `null` (cookie mode, or no refresh token) is the only non-string allowed.
    let refresh_token = match own(obj, "refreshToken")? {
        Some(v) if v.is_null() => None,
        Some(v) => Some(
            v.as_string()
                .filter(|s| !s.is_empty() && s.len() <= MAX_STRING)
                .ok_or("bad refresh token")?,
        ),
        None => return Err("no refresh token member"),
    };
    Ok(StoredSession {
        access_token,
        refresh_token,
        expires_at: millis(own_number(obj, "expiresAt")?)?,
        started_at: millis(own_number(obj, "startedAt")?)?,
    })
}

fn reason(text: &str) -> Result<SessionEndReason, &'static str> {
    Ok(match text {
        "refresh_rejected" => SessionEndReason::RefreshRejected,
        "idle" => SessionEndReason::Idle,
        "max_session" => SessionEndReason::MaxSession,
        "expired" => SessionEndReason::Expired,
        "logout" => SessionEndReason::Logout,
        _ => return Err("unknown reason"),
    })
}

/// An epoch-ms value: a finite integer in `[0, 9e15]`.
fn millis(n: Option<f64>) -> Result<Millis, &'static str> {
    match n {
        Some(n) if n.is_finite() && (0.0..=9.0e15).contains(&n) && n.fract() == 0.0 => {
            Ok(n as Millis)
        }
        _ => Err("bad timestamp"),
    }
}

/// An own data member (getters and prototype members do not count: a
/// structured clone never has them, so their presence means garbage).
fn own(obj: &Object, key: &str) -> Result<Option<JsValue>, &'static str> {
    let key = JsValue::from_str(key);
    if !Object::has_own(obj, &key) {
        return Ok(None);
    }
    Reflect::get(obj, &key).map(Some).map_err(|_| "unreadable")
}

fn own_string(obj: &Object, key: &str, max: usize) -> Result<Option<String>, &'static str> {
    match own(obj, key)? {
        None => Ok(None),
        Some(v) => match v.as_string() {
            Some(s) if s.len() <= max => Ok(Some(s)),
            Some(_) => Err("string too long"),
            None => Err("not a string"),
        },
    }
}

fn own_number(obj: &Object, key: &str) -> Result<Option<f64>, &'static str> {
    match own(obj, key)? {
        None => Ok(None),
        Some(v) => v.as_f64().map(Some).ok_or("not a number"),
    }
}
