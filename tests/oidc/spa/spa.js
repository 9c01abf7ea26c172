// The SPA of the oidc-provider suite. It signs in the way a public client
// does (authorization code + PKCE S256, discovery, cross-origin token
// endpoint), then hands the token response to tokenwarden (the built package
// from /dist/) and refreshes through the `oauth2` transport. No token logic
// here beyond the sign-in itself: everything else is the package's public API.
//
// The log (manager events, settled background requests) lives in
// sessionStorage so that it survives the login redirect at the session end.

const LOG_KEY = "spa:log";
const PKCE_KEY = "spa:pkce";
const EVENTS = ["refreshed", "expiring", "sessionExpired", "logout", "error", "warning", "draftsRestored"];

function record(type, detail) {
  const log = JSON.parse(sessionStorage.getItem(LOG_KEY) ?? "[]");
  log.push({ type, at: Date.now(), detail });
  sessionStorage.setItem(LOG_KEY, JSON.stringify(log));
}

/** A JSON-safe copy of an event payload or error. */
function plain(value) {
  if (value instanceof Error) return { name: value.name, message: value.message, code: value.code };
  if (value && typeof value === "object" && value.error instanceof Error) return { ...plain({ ...value, error: undefined }), error: plain(value.error) };
  try {
    return JSON.parse(JSON.stringify(value ?? null));
  } catch {
    return String(value);
  }
}

function base64url(bytes) {
  return btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const config = await (await fetch("/config.json")).json();
const discovery = await (await fetch(`${config.issuer}/.well-known/openid-configuration`)).json();
const tw = await import("/dist/index.js");

const spa = {
  ready: false,
  config,
  discovery,
  auth: null,
  /** The token endpoint's answer to the code exchange. */
  tokenResponse: null,
  /** auth.fetch calls started and not settled. */
  outstanding: 0,

  /** Go to the authorization endpoint: code flow, PKCE S256, state, prompt=consent (offline_access). */
  async login() {
    const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)));
    const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
    const state = base64url(crypto.getRandomValues(new Uint8Array(16)));
    sessionStorage.setItem(PKCE_KEY, JSON.stringify({ verifier, state }));
    const url = new URL(discovery.authorization_endpoint);
    url.search = new URLSearchParams({
      response_type: "code",
      client_id: config.clientId,
      redirect_uri: config.redirectUri,
      scope: config.scope,
      resource: config.resource,
      prompt: "consent",
      code_challenge: challenge,
      code_challenge_method: "S256",
      state,
    }).toString();
    location.assign(url.href);
  },

  /** The redirect back from the provider: check state, exchange the code. */
  async callback() {
    const params = new URLSearchParams(location.search);
    const { verifier, state } = JSON.parse(sessionStorage.getItem(PKCE_KEY) ?? "{}");
    sessionStorage.removeItem(PKCE_KEY);
    if (!params.get("code") || params.get("state") !== state) throw new Error(`bad callback: ${location.search}`);
    const res = await fetch(discovery.token_endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "authorization_code",
        code: params.get("code"),
        redirect_uri: config.redirectUri,
        client_id: config.clientId,
        code_verifier: verifier,
      }),
    });
    const body = await res.json();
    if (!res.ok) throw new Error(`code exchange failed: ${res.status} ${JSON.stringify(body)}`);
    history.replaceState(null, "", "/");
    spa.tokenResponse = body;
  },

  /** createTokenManager with the oauth2 transport against the provider's token endpoint. */
  async create(options = {}) {
    const auth = await tw.createTokenManager({
      refresh: { url: discovery.token_endpoint, format: "oauth2", clientId: config.clientId },
      loginUrl: "/login.html",
      ...options,
    });
    for (const type of EVENTS) auth.on(type, (detail) => record(type, plain(detail)));
    spa.auth = auth;
    return true;
  },

  /** Hand the code exchange's token response to tokenwarden. */
  setSession() {
    const b = spa.tokenResponse;
    spa.auth.setSession({ accessToken: b.access_token, refreshToken: b.refresh_token, expiresIn: b.expires_in });
    return { accessToken: spa.auth.accessToken, expiresAt: spa.auth.expiresAt, refreshAt: spa.auth.refreshAt };
  },

  /** auth.setSession(session) → { ok } or { error } (a TokenError's code, reason, part). */
  setSessionWith(session) {
    try {
      spa.auth.setSession(session);
      return { ok: true, accessToken: spa.auth.accessToken, expiresAt: spa.auth.expiresAt };
    } catch (err) {
      return { error: { ...plain(err), reason: err.reason, part: err.part } };
    }
  },

  /** auth.fetch → { status, body } or { error: { name, code, message } }. */
  async fetch(path, init) {
    spa.outstanding++;
    try {
      const res = await spa.auth.fetch(path, init);
      const text = await res.text();
      let body = text;
      try {
        body = JSON.parse(text);
      } catch {}
      return { status: res.status, body };
    } catch (err) {
      return { error: plain(err) };
    } finally {
      spa.outstanding--;
    }
  },

  /** `n` concurrent auth.fetch calls. */
  fetchMany(n, path) {
    return Promise.all(Array.from({ length: n }, (_, i) => spa.fetch(`${path}?i=${i}`)));
  },

  /** Start auth.fetch calls without waiting; each outcome goes to the log ("settled"). */
  fetchInBackground(n, path) {
    for (let i = 0; i < n; i++) spa.fetch(`${path}?bg=${i}`).then((r) => record("settled", { i, ...r }));
  },

  /** auth.refresh() → { ok } or { error }. */
  async refresh() {
    try {
      await spa.auth.refresh();
      return { ok: true, accessToken: spa.auth.accessToken };
    } catch (err) {
      return { error: plain(err) };
    }
  },

  /** Start auth.refresh() without waiting; its outcome goes to the log ("refreshDone"). */
  refreshInBackground() {
    spa.refresh().then((r) => record("refreshDone", r));
  },

  state() {
    const a = spa.auth;
    return { accessToken: a?.accessToken ?? null, expiresAt: a?.expiresAt ?? null, refreshAt: a?.refreshAt ?? null };
  },

  log() {
    return JSON.parse(sessionStorage.getItem(LOG_KEY) ?? "[]");
  },
};
window.spa = spa;

const status = document.getElementById("status");
try {
  if (location.pathname === "/callback") await spa.callback();
  spa.ready = true;
  status.textContent = "ready";
} catch (err) {
  status.textContent = String(err);
  throw err;
}
