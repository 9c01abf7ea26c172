// tokenwarden package entry: loads the wasm module once, defines TokenError,
// re-exports the API. No token logic lives here; it is all in Rust/wasm.
import initWasm, {
  TokenManager,
  decodeJwt as wasmDecodeJwt,
  returnTo as wasmReturnTo,
  __setErrorClass,
} from "./tokenwarden.js";

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

// `auth.drafts`: the three drafts methods of the wasm class under one name
// (a wasm-bindgen getter cannot cheaply return an object with methods).
Object.defineProperty(TokenManager.prototype, "drafts", {
  configurable: true,
  get() {
    return {
      list: () => this.draftsList(),
      restore: (key) => this.draftsRestore(key),
      discard: (target) => this.draftsDiscard(target),
    };
  },
});

/** Creates a token manager; initialises the wasm module on first use. */
export async function createTokenManager(options) {
  await init();
  return new TokenManager(options);
}

/**
 * Decodes a JWT's payload — or its header with `{ header: true }` — without
 * checking the signature or the claims. Needs the wasm module: call after
 * `await init()` or `await createTokenManager(…)`.
 */
export function decodeJwt(token, options) {
  ensureInitialized();
  return wasmDecodeJwt(token, options);
}

/**
 * On the login page: where to go back to after sign-in — the `param` query
 * parameter (default `"returnTo"`) of the current URL if it is a safe
 * same-origin path, else `null`. Needs the wasm module (`await init()`).
 */
export function returnTo(param) {
  ensureInitialized();
  return wasmReturnTo(param);
}

function ensureInitialized() {
  if (!initialized) {
    throw new TokenError("not_initialized", "tokenwarden is not initialised yet: await init() or createTokenManager() first");
  }
}
