//! A small validating JSON reader: enough to check that a JWT part or a token
//! response is a JSON object and to pull out its top-level scalar members.
//! Hand-written instead of serde_json to keep the wasm small (issue 7: the
//! whole package must gzip to <= 14 KB).
