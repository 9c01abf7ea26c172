// tokenwarden package entry: loads the wasm module once, defines TokenError,
// re-exports the API. No token logic lives here; it is all in Rust/wasm.
import initWasm, { TokenManager, decodeJwt as wasmDecodeJwt, __setErrorClass } from "./tokenwarden.js";

/** The one error type tokenwarden throws or rejects with; see `code`. */
export class TokenError extends Error {
  constructor(code, message) {
    super(message);
    this.name = "TokenError";
    this.code = code;
  }
}

let ready = null;
let initialized = false;

/**
 * Loads the wasm module (once; later calls return the same promise). By
 * default it is fetched from next to this file; pass a URL, a Response, the
 * bytes or a compiled WebAssembly.Module for unusual setups.
 */
export function init(urlOrBytes) {
  if (!ready) {
    const source = urlOrBytes ?? new URL("./tokenwarden_bg.wasm", import.meta.url);
    ready = initWasm({ module_or_path: source }).then(() => {
      __setErrorClass(TokenError);
      initialized = true;
    });
    // A failed load (offline, wrong URL) may be retried by calling init again.
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

/** Creates a token manager; initialises the wasm module on first use. */
export async function createTokenManager(options) {
  await init();
  return new TokenManager(options);
}

/**
 * Decodes a JWT's payload (no signature check). Needs the wasm module: call
 * after `await init()` or `await createTokenManager(…)`.
 */
export function decodeJwt(token) {
  if (!initialized) {
    throw new TokenError("not_initialized", "tokenwarden is not initialised yet: await init() or createTokenManager() first");
  }
  return wasmDecodeJwt(token);
}
