//! tokenwarden: a client-side token manager for single-page apps.
//!
//! - [`core`]: the pure, sans-IO engine (JWT decoding, refresh schedule,
//!   single-flight session state machine). Runs and is tested on any target.
//! - `web` (wasm32 only): the thin browser layer exported to JS with
//!   wasm-bindgen; it feeds browser events into the core and carries out its
//!   outputs (fetch, timers, storage, BroadcastChannel, DOM drafts).

pub mod core;
mod heap;

#[cfg(target_arch = "wasm32")]
pub mod web;
