// tokenwarden package entry: loads the wasm module, defines TokenError, and
// wraps each wasm TokenManager in a plain object whose methods work detached
// (`const { fetch } = auth`, `ky.create({ fetch: auth.fetch })`). No token
// logic lives here; it is all in Rust/wasm. What this file adds is only
// about the environment: clear errors when the wasm cannot load (CSP, a
// bundler serving HTML for it, Node), and containment of a wasm trap (the
// instance is dead: calls reject with `internal`, an `error` event says so,
// the next manager gets a fresh instance).
import { createGlue } from "./tokenwarden.js";

/** The one error type tokenwarden throws or rejects with; see `code`. */
export class TokenError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = "TokenError";
    this.code = code;
  }
}

const WASM_FILE = "tokenwarden_bg.wasm";
const VITE_EXCLUDE = 'optimizeDeps: { exclude: ["tokenwarden"] }';

// The live wasm instance: { glue, dead, cause, managers: Set<WeakRef<record>> }.
let current = null;
// Promise of `current` while it loads (a failed load clears it: init may be retried).
let ready = null;
// The compiled module of the last load: a fresh instance after a trap needs no download.
let compiled = null;

/** In a browser (window or worker)? Node and SSR have no `location`. */
const inBrowser = () => typeof location !== "undefined" && typeof WebAssembly === "object";

function unsupported(what) {
  return new TokenError(
    "unsupported_environment",
    `tokenwarden runs in browsers: ${what} (Node/SSR: import it anywhere, but create the manager in the browser only, e.g. in useEffect/onMounted or a client-only module)`,
  );
}

/**
 * Loads the wasm module (once; later calls return the same promise). By
 * default it is fetched from next to this file with the same request a
 * `<link rel="preload" as="fetch" type="application/wasm" crossorigin>`
 * makes, so a preload started by the HTML is reused; pass a URL, a Response,
 * the bytes or a compiled WebAssembly.Module for unusual setups (in Node:
 * the bytes, for `decodeJwt`).
 */
export function init(urlOrBytes) {
  return start(urlOrBytes).then(() => {});
}

function start(source) {
  if (!ready) {
    ready = load(source);
    // A failed load (offline, wrong URL) may be retried by calling init again.
    ready.catch(() => {
      ready = null;
    });
  }
  return ready;
}

async function load(source) {
  if (typeof WebAssembly !== "object") throw unsupported("WebAssembly is not available here (disabled by a browser policy such as Lockdown Mode, or a JS engine without it)");
  let input = source ?? compiled;
  let url = null;
  if (input == null) {
    if (typeof location === "undefined") {
      throw unsupported("no wasm URL to fetch here; to use decodeJwt in Node, pass the bytes: init(readFileSync(fileURLToPath(import.meta.resolve(\"tokenwarden/tokenwarden_bg.wasm\"))))");
    }
    // A literal, so that bundlers (Vite, webpack 5) copy the file and rewrite the URL.
    url = new URL("./tokenwarden_bg.wasm", import.meta.url);
    input = await fetchWasm(url, true);
  } else if (typeof input === "string" || input instanceof URL || (typeof Request === "function" && input instanceof Request)) {
    url = input instanceof Request ? input.url : String(input);
    input = await fetchWasm(input, false);
  } else {
    input = await input;
    if (typeof Response === "function" && input instanceof Response) input = await checkResponse(input, input.url, null);
  }
  const inst = { glue: null, dead: false, cause: null, managers: new Set() };
  inst.glue = createGlue((exports) => guard(inst, exports));
  try {
    await inst.glue.init({ module_or_path: input });
  } catch (e) {
    throw loadError(e, url);
  }
  inst.glue.__setErrorClass(TokenError);
  compiled = inst.glue.module() ?? compiled;
  current = inst;
  return inst;
}

/** Fetches the wasm; a non-wasm answer is retried once at the Vite dev server's path. */
async function fetchWasm(url, isDefault) {
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw fetchFailed(e, url);
  }
  // Vite's dev server pre-bundles the package into node_modules/.vite/deps/
  // without the wasm (vitejs/vite#8427) and answers index.html for it; the
  // package itself is still served from node_modules/tokenwarden/dist/.
  // (A string, not new URL(…, import.meta.url): bundlers must not see it.)
  // (cacheDir: <root>/node_modules/.vite, or <root>/.vite without a package.json.)
  const deps = isDefault ? /^(.*?\/)(?:node_modules\/)?\.vite\/deps(?:_temp_[^/]*)?\/[^/?#]*(?:[?#].*)?$/.exec(import.meta.url) : null;
  const vite = deps ? `${deps[1]}node_modules/tokenwarden/dist/${WASM_FILE}` : null;
  try {
    return await checkResponse(response, String(url), vite);
  } catch (e) {
    if (!vite || e.code !== "wasm_not_found") throw e;
    let retry;
    try {
      retry = await fetch(vite);
    } catch {
      throw e;
    }
    try {
      return await checkResponse(retry, String(vite), vite);
    } catch {
      throw e;
    }
  }
}

function fetchFailed(e, url) {
  if (typeof location === "undefined" || String(url).startsWith("file:")) {
    return unsupported(`could not fetch ${url} (${e?.message ?? e}); in Node, pass the bytes to init(), for decodeJwt only`);
  }
  return new TokenError("wasm_load_failed", `could not fetch ${url}: ${e?.message ?? e} (offline? calling init() again retries)`, { cause: e });
}

/**
 * The Response if it is served as wasm; its bytes if it is wasm served with
 * another type; else `wasm_not_found` naming what came back and the fix.
 */
async function checkResponse(response, url, viteRetry) {
  const type = (response.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
  if (response.ok && type === "application/wasm") return response;
  let bytes = null;
  if (response.ok) {
    bytes = await response.arrayBuffer();
    const head = new Uint8Array(bytes, 0, Math.min(4, bytes.byteLength));
    if (head.length === 4 && head[0] === 0 && head[1] === 0x61 && head[2] === 0x73 && head[3] === 0x6d) return bytes;
  }
  const got = response.ok ? `${type || "no content type"} instead of wasm` : `HTTP ${response.status}`;
  const vite = viteRetry || /\/\.vite\//.test(url)
    ? `Vite's dev server pre-bundled tokenwarden without its wasm: add ${VITE_EXCLUDE} to vite.config`
    : `serve ${WASM_FILE} next to tokenwarden's index.js (bundlers copy it when they see new URL("./${WASM_FILE}", import.meta.url)), or pass its URL to init(url)`;
  return Promise.reject(new TokenError("wasm_not_found", `tokenwarden could not load its wasm: ${url} answered ${got}. ${vite}`));
}

function loadError(e, url) {
  if (e instanceof TokenError) return e;
  const text = String(e?.message ?? e);
  if (e?.name === "EvalError" || /Content.Security.Policy|\bCSP\b|unsafe-eval|wasm-eval/i.test(text)) {
    return new TokenError(
      "wasm_blocked",
      `the page's Content-Security-Policy blocks WebAssembly: add 'wasm-unsafe-eval' to script-src (script-src 'self' 'wasm-unsafe-eval'). Browser error: ${text}`,
      { cause: e },
    );
  }
  if (/magic word|expected magic/i.test(text)) {
    return new TokenError("wasm_not_found", `tokenwarden could not load its wasm${url ? ` from ${url}` : ""}: it is not a wasm file (${text}). In Vite's dev server add ${VITE_EXCLUDE} to vite.config`, { cause: e });
  }
  return new TokenError("wasm_load_failed", `tokenwarden could not load its wasm: ${text}`, { cause: e });
}

// ---------------------------------------------------------------- traps

/**
 * The glue's view of an instance's exports: each function is wrapped so that
 * a trap kills the instance (and is thrown as `TokenError` code `internal`),
 * and a dead instance is never entered again (calls return `undefined`:
 * timers, listeners and finalizers of a dead instance do nothing).
 */
function guard(inst, exports) {
  const out = {};
  for (const name of Object.keys(exports)) {
    const f = exports[name];
    out[name] = typeof f !== "function" ? f : function () {
      if (inst.dead) return undefined;
      try {
        return f.apply(undefined, arguments);
      } catch (e) {
        if (e instanceof WebAssembly.RuntimeError) throw kill(inst, e);
        throw e;
      }
    };
  }
  return out;
}

function internalError(cause) {
  return new TokenError(
    "internal",
    `tokenwarden's wasm module trapped (${cause?.message ?? cause}); this token manager stopped working: create a new one (createTokenManager loads a fresh instance). Please report this bug`,
    { cause },
  );
}

/** Marks `inst` dead, fails what its managers have in flight, emits `error` events. */
function kill(inst, cause) {
  if (!inst.dead) {
    inst.dead = true;
    inst.cause = cause;
    if (current === inst) {
      current = null;
      ready = null;
    }
    for (const ref of inst.managers) {
      const rec = ref.deref();
      if (!rec) continue;
      const error = internalError(cause);
      for (const reject of rec.pending) reject(error);
      rec.pending.clear();
      const listeners = [...rec.errorListeners];
      queueMicrotask(() => {
        const payload = { code: "internal", message: error.message, error };
        for (const { listener } of listeners) {
          try {
            listener(payload);
          } catch (e) {
            setTimeout(() => {
              throw e;
            });
          }
        }
      });
    }
    inst.managers.clear();
  }
  return internalError(inst.cause);
}

/** The live instance for decodeJwt/returnTo; after a trap, a fresh one from the compiled module. */
function live() {
  if (current) return current.glue;
  if (compiled && !ready) {
    const inst = { glue: null, dead: false, cause: null, managers: new Set() };
    inst.glue = createGlue((exports) => guard(inst, exports));
    try {
      inst.glue.initSync({ module: compiled });
    } catch (e) {
      throw new TokenError("not_initialized", "tokenwarden's wasm instance was lost after an internal error: await init() again", { cause: e });
    }
    inst.glue.__setErrorClass(TokenError);
    current = inst;
    ready = Promise.resolve(inst);
    return inst.glue;
  }
  throw new TokenError("not_initialized", "tokenwarden is not initialised yet: await init() or createTokenManager() first");
}

// ---------------------------------------------------------------- managers

const forget = typeof FinalizationRegistry === "function" ? new FinalizationRegistry(({ set, ref }) => set.delete(ref)) : null;

/** Settles like `p`, or rejects with `internal` when the instance dies first. */
function track(rec, p) {
  return new Promise((resolve, reject) => {
    const pending = rec.pending;
    pending.add(reject);
    p.then(
      (value) => {
        pending.delete(reject);
        resolve(value);
      },
      (error) => {
        pending.delete(reject);
        reject(error);
      },
    );
  });
}

/** The manager object handed to the app: every method is a closure over the wasm object. */
function wrap(inst, m) {
  const rec = { pending: new Set(), errorListeners: new Set(), disposed: false };
  const ref = typeof WeakRef === "function" ? new WeakRef(rec) : { deref: () => rec };
  inst.managers.add(ref);
  forget?.register(rec, { set: inst.managers, ref });
  const deadError = () => (rec.disposed ? new TokenError("disposed", "the token manager was disposed") : internalError(inst.cause));
  const check = () => {
    if (inst.dead) throw deadError();
  };
  const promised = (call) => {
    if (inst.dead) return Promise.reject(deadError());
    let p;
    try {
      p = call();
    } catch (e) {
      return Promise.reject(e);
    }
    return track(rec, p);
  };
  const read = (get) => (inst.dead ? null : (get() ?? null));
  const drafts = Object.freeze({
    list: () => (check(), m.draftsList()),
    restore: (key) => (check(), m.draftsRestore(key)),
    discard: (target) => (check(), m.draftsDiscard(target)),
  });
  return {
    fetch(input, init) {
      if (inst.dead) return Promise.reject(deadError());
      let p;
      try {
        p = m.fetch(input, init);
      } catch (e) {
        return Promise.reject(e);
      }
      return track(rec, p);
    },
    setSession(tokens) {
      check();
      m.setSession(tokens);
    },
    on(event, listener) {
      check();
      const off = m.on(event, listener);
      if (event !== "error") return off;
      // Kept here too: after a trap the wasm cannot deliver the `internal` event.
      const entry = { listener };
      rec.errorListeners.add(entry);
      return () => {
        rec.errorListeners.delete(entry);
        off();
      };
    },
    refresh: () => promised(() => m.refresh()),
    logout: (options) => promised(() => m.logout(options)),
    dispose() {
      if (rec.disposed) return;
      rec.disposed = true;
      inst.managers.delete(ref);
      if (!inst.dead) m.dispose();
    },
    get accessToken() {
      return read(() => m.accessToken);
    },
    get expiresAt() {
      return read(() => m.expiresAt);
    },
    get refreshAt() {
      return read(() => m.refreshAt);
    },
    get claims() {
      return read(() => m.claims);
    },
    get storage() {
      return read(() => m.storage);
    },
    drafts,
  };
}

/** Creates a token manager; initialises the wasm module on first use. */
export async function createTokenManager(options) {
  if (!inBrowser()) throw unsupported("there is no browser here (no `location`)");
  const inst = await start();
  if (inst.dead) return createTokenManager(options);
  return wrap(inst, new inst.glue.TokenManager(options));
}

const wasmDecodeJwt = (...args) => live().decodeJwt(...args);
const wasmReturnTo = (...args) => live().returnTo(...args);

/**
 * Decodes a JWT's payload (no signature check). Needs the wasm module: call
 * after `await init()` or `await createTokenManager(…)`.
 */
export function decodeJwt(token) {
  ensureInitialized();
  return wasmDecodeJwt(token);
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
  if (!current && !compiled) {
    throw new TokenError("not_initialized", "tokenwarden is not initialised yet: await init() or createTokenManager() first");
  }
}
