// Test harness page for the end-to-end tests: loads the real package from
// /dist/ and exposes small helpers on `window.harness` that Playwright calls
// with page.evaluate. No token logic here: everything goes through the
// package's public API, exactly as an app would use it.

const status = document.getElementById("status");
const EVENTS = ["refreshed", "expiring", "sessionExpired", "logout", "error", "warning", "draftsRestored"];

/** A JSON-safe copy of an event payload (payloads may hold Errors or class instances). */
function plain(value) {
  if (value instanceof Error) return { name: value.name, message: value.message, code: value.code };
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return String(value);
  }
}

let tw;
try {
  tw = await import("/dist/index.js");
} catch (err) {
  status.textContent = `import failed: ${err}`;
  throw err;
}

/** auth.fetch, counting calls that have not settled yet (`harness.outstanding`). */
function tracked(input, init) {
  harness.outstanding++;
  const settle = () => {
    harness.outstanding--;
  };
  const p = harness.auth.fetch(input, init);
  p.then(settle, settle);
  return p;
}

const harness = {
  module: tw,
  auth: null,
  /** auth.fetch calls started here and not settled. */
  outstanding: 0,
  /** Every event from every manager created here: {type, at, detail}. */
  events: [],

  /** createTokenManager with `options` (JSON-able); listens to every event. */
  async create(options = {}) {
    const auth = await tw.createTokenManager({ fetch: globalThis.fetch.bind(globalThis), ...options });
    for (const type of EVENTS) auth.on(type, (detail) => harness.events.push({ type, at: Date.now(), detail: plain(detail) }));
    harness.auth = auth;
    return true;
  },

  /**
   * Sign in through one of the demo server's login endpoints and hand the
   * tokens to the manager, like the demo's login page does.
   * transport: "json" | "oauth2" | "cookie".
   */
  async login(transport = "json", username = "tester") {
    let res;
    if (transport === "oauth2") {
      res = await fetch("/oauth/token", {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ grant_type: "password", username, password: "demo", client_id: "tokenwarden-demo" }),
      });
    } else {
      res = await fetch("/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password: "demo", cookie: transport === "cookie" }),
      });
    }
    if (!res.ok) throw new Error(`login failed: ${res.status}`);
    const body = await res.json();
    harness.auth.setSession({ accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in });
    return { expiresIn: body.expires_in, hasRefreshToken: Boolean(body.refresh_token) };
  },

  /**
   * Fire `n` auth.fetch calls at once. Each POST carries its own body so the
   * test can check every replay kept it. Returns [{status, body} | {error, code}].
   */
  async burst(n, path = "/api/orders", method = "POST") {
    const calls = Array.from({ length: n }, (_, i) =>
      tracked(path, method === "GET" ? {} : {
          method,
          headers: { "Content-Type": "application/json", "X-Test": String(i) },
          body: JSON.stringify({ i }),
        })
        .then(async (r) => ({ status: r.status, body: await r.json().catch(() => null) }))
        .catch((e) => ({ error: e?.name ?? String(e), code: e?.code ?? null, message: e?.message ?? "" })),
    );
    return Promise.all(calls);
  },

  /** One auth.fetch; returns {status, body, headers} or {error, code}. */
  async call(path, init = {}) {
    try {
      const r = await tracked(path, init);
      const text = await r.text();
      let body = text;
      try { body = JSON.parse(text); } catch { /* keep the text */ }
      return { status: r.status, body };
    } catch (e) {
      return { error: e?.name ?? String(e), code: e?.code ?? null, message: e?.message ?? "", isTokenError: e instanceof tw.TokenError };
    }
  },

  /** The manager's public state. */
  snapshot() {
    const a = harness.auth;
    return { accessToken: a?.accessToken ?? null, expiresAt: a?.expiresAt ?? null, claims: plain(a?.claims ?? null) };
  },

  /** Everything in web storage, to check what the package persisted. */
  storageDump() {
    const dump = {};
    for (const s of [localStorage, sessionStorage]) {
      for (let i = 0; i < s.length; i++) dump[s.key(i)] = s.getItem(s.key(i));
    }
    return dump;
  },
};

window.harness = harness;
status.textContent = "harness ready";
document.documentElement.dataset.ready = "1";
