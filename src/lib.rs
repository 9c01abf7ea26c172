//! tokenwarden: a client-side token manager for single-page apps.
//!
//! - [`core`]: the pure, sans-IO engine (JWT decoding, refresh schedule,
//!   single-flight session state machine). Runs and is tested on any target.
//! - `web` (wasm32 only): the thin browser layer exported to JS with
//!   wasm-bindgen; it feeds browser events into the core and carries out its
//!   outputs (fetch, timers, storage, BroadcastChannel, DOM drafts).

// Tests may index, unwrap and panic; the library may not (Cargo.toml `[lints.clippy]`).
#![cfg_attr(
    test,
    allow(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )
)]

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod web;

/// The wasm heap: talc's allocator for single-threaded WebAssembly, which
/// grows linear memory as needed. A build with the `atomics` target feature
/// (threads) keeps std's allocator: talc's wasm cell assumes one thread.
#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static HEAP: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
