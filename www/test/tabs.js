// Cross-tab test page (tests/e2e/tabs.test.mjs): one token manager per tab,
// created from the real package in /dist/, with small helpers on
// `window.tabs` that Playwright calls with page.evaluate. No token logic
// here: everything goes through the public API, as an app would use it.

const status = document.getElementById("status");
const tw = await import("/dist/index.js");

const tabs = {
  auth: null,
  /** Every event: {type, at, detail}. */
  events: [],

  /** createTokenManager with JSON-able `options` on top of the defaults. */
  async create(options = {}) {
    tabs.auth = await tw.createTokenManager({
      refresh: { url: "/auth/refresh" },
      fetch: globalThis.fetch.bind(globalThis),
      redirect: false,
      drafts: false,
      ...options,
    });
    for (const type of ["refreshed", "expiring", "sessionExpired", "logout", "error", "warning"]) {
      tabs.auth.on(type, (detail) => {
        let plain = null;
        try {
          plain = JSON.parse(JSON.stringify(detail ?? null));
        } catch {
          plain = String(detail);
        }
        tabs.events.push({ type, at: Date.now(), detail: plain });
      });
    }
    return true;
  },

  /** Sign in through the demo server's JSON login and hand the tokens over. */
  async login(username = "tabs-tester") {
    const res = await fetch("/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password: "demo" }),
    });
    if (!res.ok) throw new Error(`login failed: ${res.status}`);
    const body = await res.json();
    tabs.auth.setSession({ accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in });
    return true;
  },

  /** `n` auth.fetch calls at once; resolves to their statuses (or error codes). */
  async burst(n, path = "/api/orders") {
    const calls = Array.from({ length: n }, () =>
      tabs.auth.fetch(path).then(
        (r) => r.status,
        (e) => e?.code ?? String(e),
      ),
    );
    return Promise.all(calls);
  },

  /** Start a burst without waiting for it; `settled()` collects it later. */
  startBurst(n, path = "/api/orders") {
    tabs.pending = tabs.burst(n, path);
    return true;
  },
  async settled() {
    return tabs.pending;
  },

  /** auth.refresh(); resolves to "ok" or the error code. */
  async refresh() {
    try {
      await tabs.auth.refresh();
      return "ok";
    } catch (e) {
      return e?.code ?? String(e);
    }
  },

  /** Start auth.refresh() without waiting (the lock holder in the kill test). */
  startRefresh() {
    tabs.pendingRefresh = tabs.refresh();
    return true;
  },

  async logout() {
    await tabs.auth.logout();
    return true;
  },

  state() {
    const a = tabs.auth;
    return { accessToken: a?.accessToken ?? null, expiresAt: a?.expiresAt ?? null, refreshAt: a?.refreshAt ?? null };
  },

  count(type, pred = () => true) {
    return tabs.events.filter((e) => e.type === type && pred(e.detail)).length;
  },
};

window.tabs = tabs;
status.textContent = "tabs ready";
document.documentElement.dataset.ready = "1";
