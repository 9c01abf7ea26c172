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

// The live wasm instance: { glue, dead, cause, calls, managers: Set<WeakRef<record>> }.
let current = null;
// Promise of `current` while it loads (a failed load clears it: init may be retried).
let ready = null;
// The compiled module of the last load: a fresh instance after a trap needs no download.
let compiled = null;

/** In a browser (window or worker)? Node and SSR have no `location`. */
const inBrowser = () => typeof location !== "undefined" && typeof WebAssembly === "object";

const unsupported = (what) =>
  new TokenError("unsupported_environment", `tokenwarden runs in browsers (${what}): with SSR, create the manager in the browser only (e.g. in an effect)`);

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
  if (typeof WebAssembly !== "object") throw unsupported("no WebAssembly here: disabled by a policy?");
  let input = source ?? compiled;
  let url = null;
  if (input == null) {
    if (typeof location === "undefined") {
      throw unsupported("no URL to fetch the wasm from; in Node, pass the bytes to init() for decodeJwt");
    }
    // A literal, so that bundlers (Vite, webpack 5) copy the file and rewrite the URL.
    url = new URL("./tokenwarden_bg.wasm", import.meta.url);
    input = await fetchWasm(url, true);
  } else if (typeof input === "string" || input instanceof URL || (typeof Request === "function" && input instanceof Request)) {
    url = input instanceof Request ? input.url : String(input);
    input = await fetchWasm(input, false);
  } else {
    input = await input;
  }
  const inst = fresh();
  try {
    await inst.glue.init({ module_or_path: input });
  } catch (e) {
    throw loadError(e, url);
  }
  inst.glue.__setErrorClass(TokenError);
  compiled = inst.glue.module() ?? compiled;
  if (inst.dead) throw internalError(inst.cause); // trapped while starting
  current = inst;
  return inst;
}

/**
 * Fetches the wasm: the Response when it is served as wasm, its bytes when it
 * is wasm served with another type, else `wasm_not_found` naming what came
 * back and the fix. A default URL answering something else is tried once more
 * at the Vite dev server's path (below).
 */
async function fetchWasm(url, isDefault) {
  // Vite's dev server pre-bundles the package into <root>/node_modules/.vite/deps/
  // (or <root>/.vite/deps/) without the wasm (vitejs/vite#8427) and answers
  // index.html for it; the package itself is still served from
  // node_modules/tokenwarden/dist/. (A string, not new URL(…, import.meta.url):
  // bundlers must not see it.)
  const deps = isDefault && /^(.*?\/)(?:node_modules\/)?\.vite\/deps(?:_temp_[^/]*)?\/[^/?#]*(?:[?#].*)?$/.exec(import.meta.url);
  let error;
  for (const u of deps ? [url, `${deps[1]}node_modules/tokenwarden/dist/${WASM_FILE}`] : [url]) {
    let response;
    try {
      response = await fetch(u);
    } catch (e) {
      throw error ?? (String(u).startsWith("file:")
        ? unsupported("no fetch for file: URLs; in Node, pass the bytes to init() for decodeJwt")
        : new TokenError("wasm_load_failed", `could not fetch ${u} (offline? init() again retries): ${e}`, { cause: e }));
    }
    const type = (response.headers.get("content-type") ?? "").split(";")[0].trim();
    if (response.ok && type === "application/wasm") return response;
    if (response.ok) {
      const bytes = await response.arrayBuffer();
      // "\0asm"
      if (new Uint32Array(bytes.slice(0, 4))[0] === 0x6d736100) return bytes;
    }
    error ??= new TokenError(
      "wasm_not_found",
      `tokenwarden could not load its wasm: ${u} answered ${response.ok ? `${type || "no type"}, not wasm` : `HTTP ${response.status}`}. ` +
        (deps
          ? `Vite's dev server pre-bundled tokenwarden without it: add ${VITE_EXCLUDE} to vite.config`
          : `Serve ${WASM_FILE} next to tokenwarden's index.js, or pass its URL to init(url)`),
    );
  }
  throw error;
}

function loadError(e, url) {
  if (e instanceof TokenError) return e;
  const text = String(e?.message ?? e);
  const blocked = e?.name === "EvalError" || /Content.Security.Policy|\bCSP\b|unsafe-eval|wasm-eval/i.test(text);
  return new TokenError(
    blocked ? "wasm_blocked" : /magic/.test(text) ? "wasm_not_found" : "wasm_load_failed",
    blocked
      ? `the page's Content-Security-Policy blocks WebAssembly: use script-src 'self' 'wasm-unsafe-eval' (${text})`
      : `tokenwarden could not load its wasm${url ? ` from ${url}` : ""}: ${text}`,
    { cause: e },
  );
}

// ---------------------------------------------------------------- traps

/** An instance record with its own copy of the glue (not loaded yet). */
function fresh() {
  const inst = { glue: null, dead: false, cause: null, calls: 0, managers: new Set() };
  inst.glue = createGlue((exports) => guard(inst, exports));
  return inst;
}

/**
 * The glue's view of an instance's exports: each function is wrapped so that
 * a trap kills the instance, and a dead instance is never entered again
 * (calls return `undefined`: timers, listeners and finalizers of a dead
 * instance do nothing). A trap inside one of our calls (`enter`) is thrown
 * as `TokenError` code `internal`; one in a callback from the browser (a
 * timer, a listener, a promise reaction) is not thrown into the browser: the
 * `error` events and the rejected requests already say it.
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
        if (!(e instanceof WebAssembly.RuntimeError)) throw e;
        const error = kill(inst, e);
        if (inst.calls > 0) throw error;
        return undefined;
      }
    };
  }
  return out;
}

/**
 * Runs `call` (a call into `inst`'s glue) as one of ours: a trap in it, even
 * in a callback it ran synchronously, ends in `dead()` being thrown.
 */
function enter(inst, call, dead) {
  if (inst.dead) throw dead();
  inst.calls++;
  let value;
  try {
    value = call();
  } finally {
    inst.calls--;
  }
  if (inst.dead) throw dead();
  return value;
}

function internalError(cause) {
  return new TokenError(
    "internal",
    `tokenwarden's wasm trapped (${cause?.message ?? cause}); this manager stopped working: create a new one. Please report this bug`,
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
  if (current) return current;
  if (compiled && !ready) {
    const inst = fresh();
    try {
      inst.glue.initSync({ module: compiled });
    } catch (e) {
      throw new TokenError("not_initialized", "tokenwarden's wasm instance was lost after an internal error: await init() again", { cause: e });
    }
    inst.glue.__setErrorClass(TokenError);
    current = inst;
    ready = Promise.resolve(inst);
    return inst;
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
  const call = (f) => enter(inst, f, deadError);
  const promised = (f) => {
    let p;
    try {
      p = call(f);
    } catch (e) {
      return Promise.reject(e);
    }
    return track(rec, p);
  };
  const read = (get) => (inst.dead ? null : (call(get) ?? null));
  const drafts = Object.freeze({
    list: () => call(() => m.draftsList()),
    restore: (key) => call(() => m.draftsRestore(key)),
    discard: (target) => call(() => m.draftsDiscard(target)),
  });
  return {
    // Inlined `promised` (no closure per request).
    fetch(input, init) {
      if (inst.dead) return Promise.reject(deadError());
      let p;
      inst.calls++;
      try {
        p = m.fetch(input, init);
      } catch (e) {
        return Promise.reject(e);
      } finally {
        inst.calls--;
      }
      return inst.dead ? Promise.reject(deadError()) : track(rec, p);
    },
    setSession: (tokens) => call(() => m.setSession(tokens)),
    on(event, listener) {
      const off = call(() => m.on(event, listener));
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
    // Getters read `null` once the instance is dead.
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
  return wrap(inst, enter(inst, () => new inst.glue.TokenManager(options), () => internalError(inst.cause)));
}

/** `name(...args)` of the live instance's glue, as one of our calls. */
function viaLive(name, args) {
  const inst = live();
  return enter(inst, () => inst.glue[name](...args), () => internalError(inst.cause));
}
const wasmDecodeJwt = (...args) => viaLive("decodeJwt", args);
const wasmReturnTo = (...args) => viaLive("returnTo", args);

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
  if (!current && !compiled) {
    throw new TokenError("not_initialized", "tokenwarden is not initialised yet: await init() or createTokenManager() first");
  }
}
