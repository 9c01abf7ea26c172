//! Browser tests of the cross-tab layer (wasm-bindgen-test, headless Chromium).
