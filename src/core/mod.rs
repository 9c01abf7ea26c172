//! The pure core of tokenwarden: JWT decoding, the refresh schedule, the
//! single-flight session state machine and the HTTP rules (who gets the
//! token, `WWW-Authenticate`).
//!
//! Nothing in here reads a clock, touches the network, storage or the DOM, or
//! draws random numbers from the environment. Time (`now_ms`, Unix epoch
//! milliseconds) and randomness (a seed) are inputs, so every behaviour is
//! tested on the host with plain `cargo test` on a virtual clock.
//!
//! The browser layer (`crate::web`) drives it sans-IO style:
//!
//! ```
//! use tokenwarden::core::{Config, Input, Output, Session, TokenSet};
//!
//! let mut session = Session::new(Config::default(), 42);
//! let now = 1_700_000_000_000;
//! session.handle(Input::SetSession(TokenSet::bearer("not-a-jwt", Some(300.0))), now);
//! session.handle(Input::RequestStarted { id: 1, attach: true, replayable: true, refresh: true }, now);
//! while let Some(out) = session.poll_output() {
//!     match out {
//!         Output::Send { id, token } => { let _ = (id, token); /* do the fetch */ }
//!         _ => {}
//!     }
//! }
//! let _next_wake_up = session.poll_timeout();
//! ```

pub mod config;
pub mod drafts;
pub mod http;
pub mod idmap;
pub mod json;
pub mod jwt;
pub mod refresh;
pub mod schedule;
pub mod session;

pub use config::{Config, ConfigError, RawConfig};
pub use jwt::{decode, decode_part, Claims, DecodedJwt, JwtError, Part};
pub use session::{
    BearerError, Challenge, ErrorCode, Event, Input, Output, RefreshFailure, RequestId, Session,
    SessionEndReason, StoredSession, TabMessage, TokenSet,
};

/// Unix epoch milliseconds, as the browser's `Date.now()` gives them.
pub type Millis = u64;
