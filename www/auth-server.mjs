// The tokenwarden demo auth server: a small, honest double-token server on
// node:http, used by the demo SPA (`npm run demo`) and by the end-to-end tests.
//
// What it does, and why each part exists:
// - `POST /auth/login` (any username, password `demo`) issues a short-lived
//   access JWT (HS256, signed with a random per-instance secret through
//   `jose`) and an opaque refresh token. Every login starts a token *family*
//   (`sid` claim), so a stolen-and-reused refresh token can revoke exactly the
//   session it belongs to.
// - Three refresh transports, because the client supports three:
//   `POST /auth/refresh` (JSON), `POST /oauth/token` (RFC 6749 §6 form
//   encoding, §5.2 error responses) and cookie mode (HttpOnly,
//   SameSite=Strict refresh cookie scoped to `/auth`).
// - Rotation on every refresh; presenting an already-used refresh token is
//   "reuse": the whole family is revoked and `reuseDetections` counted.
// - `/api/*` answers 401 with `WWW-Authenticate: Bearer error="invalid_token"`
//   for expired, revoked or forged tokens, 403 `insufficient_scope` for the
//   scope test endpoint, and can renew tokens in a response header.
// - Fault knobs (`POST /demo/faults`) and counters (`GET /demo/stats`) so the
//   demo page and the tests can make the network misbehave and assert on what
//   the server saw.
//
// Usage (tests start one instance per test on port 0):
//
//   import { createDemoServer } from "./www/auth-server.mjs";
//   const demo = await createDemoServer({ accessTtlSeconds: 4 });
//   console.log(demo.url);          // http://127.0.0.1:<port>
//   demo.state.stats.refreshCalls;  // live counters
//   await demo.close();
//
// This is a demo: the `/demo/*` endpoints are unauthenticated on purpose, so
// the server binds to 127.0.0.1 by default.

import { createServer } from "node:http";
import { randomBytes, randomUUID } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT, jwtVerify, errors as joseErrors } from "jose";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = resolve(HERE, "..");

/** Content types for the files the demo serves. `.wasm` must be exact for `instantiateStreaming`. */
const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".map": "application/json; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
};

/** Strict CSP for the demo pages: shows the package needs nothing beyond `'wasm-unsafe-eval'`. */
function pageCsp(extraConnectSrc) {
  const connect = ["'self'", ...extraConnectSrc].join(" ");
  return "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
    `img-src 'self' data:; connect-src ${connect}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'`;
}

const REALM = "tokenwarden-demo";
const DEFAULT_SCOPE = "orders:read orders:write";
const MAX_BODY_BYTES = 1 << 20;
const RECENT_LIMIT = 500;

/** Fresh counters. Every counter only ever goes up until `POST /demo/reset`. */
function freshStats() {
  return {
    requests: 0, // every HTTP request, static files included
    apiRequests: 0, // /api/* requests
    api401: 0, // /api/* answered 401
    api403: 0,
    apiOk: 0,
    logins: 0,
    loginFailures: 0,
    refreshCalls: 0, // every request to a refresh endpoint, faulty ones included
    refreshSuccesses: 0,
    refreshRejections: 0, // invalid_grant & co.
    refreshFaults: 0, // answered by a fault knob (500, drop, garbage)
    reuseDetections: 0,
    refreshAbandoned: 0, // client went away during the delayMs wait: never processed
    graceReuses: 0, // a used refresh token accepted again within reuseGraceSeconds
    revokedFamilies: 0,
    logouts: 0,
    renewedTokens: 0, // access tokens handed out in the renew header
  };
}

/** Fault knobs, all off. */
function freshFaults() {
  return {
    delayMs: 0, // delay every refresh response by this many ms
    reuseGraceSeconds: 0, // > 0: a used refresh token works again for this long (Auth0/Okta-style leeway)
    delayAfterMs: 0, // JSON refresh: rotate first, then hold the response back this long (a lost response)
    failNext: 0, // answer the next N refreshes with 500
    dropNext: 0, // drop the connection of the next N refreshes mid-response
    garbageNext: 0, // answer the next N refreshes with 200 and a non-JSON body
    skewSeconds: 0, // server clock = real clock + skew (tokens' iat/exp and checks)
    renewWithinSeconds: 0, // > 0: /api/* answers carry a renewed token when exp is this close
  };
}

/**
 * Start a demo auth server.
 *
 * @param {object} [options]
 * @param {number} [options.port=0] TCP port (0 = any free port).
 * @param {string} [options.host="127.0.0.1"] Interface to bind.
 * @param {number} [options.accessTtlSeconds=30] Access JWT lifetime.
 * @param {number} [options.refreshTtlSeconds=3600] Lifetime of each refresh token (sliding: a rotation issues a fresh one).
 * @param {number} [options.renewWithinSeconds=0] Renew-header mode (0 = off); see `renewHeader`.
 * @param {string} [options.renewHeader="X-Renewed-Token"] Response header carrying a renewed access token.
 * @param {string} [options.wwwDir] Static files (default: this directory).
 * @param {string} [options.distDir] Served under `/dist/` (default: `<repo>/dist`).
 * @param {string[]} [options.corsOrigins=[]] Origins allowed to call `/api/*` cross-origin (for the token-leak tests).
 * @param {string[]} [options.extraConnectSrc=[]] Origins the pages' CSP lets scripts fetch from besides 'self'.
 * @param {string} [options.oauthClientId="tokenwarden-demo"] The one OAuth2 client id `/oauth/token` accepts.
 * @param {boolean} [options.log=false] Log one line per request to stderr.
 * @returns {Promise<{server: import("node:http").Server, url: string, state: object, close: () => Promise<void>}>}
 */
export async function createDemoServer(options = {}) {
  const opts = {
    port: 0,
    host: "127.0.0.1",
    accessTtlSeconds: 30,
    refreshTtlSeconds: 3600,
    renewWithinSeconds: 0,
    renewHeader: "X-Renewed-Token",
    wwwDir: HERE,
    distDir: join(REPO_ROOT, "dist"),
    corsOrigins: [],
    extraConnectSrc: [],
    oauthClientId: "tokenwarden-demo",
    log: false,
    ...options,
  };
  const secret = randomBytes(32);

  const state = {
    options: opts,
    stats: freshStats(),
    faults: { ...freshFaults(), renewWithinSeconds: opts.renewWithinSeconds },
    accessTtlSeconds: opts.accessTtlSeconds,
    refreshTtlSeconds: opts.refreshTtlSeconds,
    /** sid -> { sub, scope, createdAt, revoked, revokedReason } */
    families: new Map(),
    /** refresh token -> { sid, used, expiresAt } */
    refreshTokens: new Map(),
    /** access-token jti values forced to count as expired (`expireAccessTokens` knob). */
    expiredJtis: new Set(),
    /** jti values of every access token issued (so the knob can expire "all current ones"). */
    issuedJtis: new Set(),
    /** Requests being handled right now (tests check it drops to 0). */
    inflight: 0,
    /** The last few /api and refresh requests, for tests that check replays. */
    recent: [],
  };

  /** Server clock in ms, skewed by the `skewSeconds` knob. */
  const serverNow = () => Date.now() + state.faults.skewSeconds * 1000;

  // ---------------------------------------------------------------- tokens

  async function issueAccessToken(sid) {
    const fam = state.families.get(sid);
    const iat = Math.floor(serverNow() / 1000);
    const jti = randomUUID();
    state.issuedJtis.add(jti);
    const token = await new SignJWT({ sid, scope: fam.scope, name: fam.sub })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setSubject(fam.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + state.accessTtlSeconds)
      .setJti(jti)
      .setIssuer(REALM)
      .sign(secret);
    return { token, expiresIn: state.accessTtlSeconds, jti };
  }

  function issueRefreshToken(sid) {
    const token = randomBytes(32).toString("base64url");
    state.refreshTokens.set(token, {
      sid,
      used: false,
      expiresAt: serverNow() + state.refreshTtlSeconds * 1000,
    });
    return token;
  }

  async function startFamily(sub, scope = DEFAULT_SCOPE) {
    const sid = randomUUID();
    state.families.set(sid, { sub, scope, createdAt: serverNow(), revoked: false, revokedReason: null });
    const access = await issueAccessToken(sid);
    return { sid, access, refreshToken: issueRefreshToken(sid) };
  }

  function revokeFamily(sid, reason) {
    const fam = state.families.get(sid);
    if (!fam || fam.revoked) return false;
    fam.revoked = true;
    fam.revokedReason = reason;
    state.stats.revokedFamilies++;
    return true;
  }

  /**
   * Rotate a refresh token. Returns `{ ok: true, sid, access, refreshToken }`
   * or `{ ok: false, error, description }` with an RFC 6749 §5.2 error code.
   */
  async function rotate(presented, requestedScope) {
    const rec = presented ? state.refreshTokens.get(presented) : undefined;
    if (!rec) return { ok: false, error: "invalid_grant", description: "unknown refresh token" };
    const fam = state.families.get(rec.sid);
    if (rec.used && state.faults.reuseGraceSeconds > 0 && fam && !fam.revoked &&
      serverNow() - rec.usedAt <= state.faults.reuseGraceSeconds * 1000) {
      // Rotation leeway: a client that lost the response may retry with the
      // old token for a short while (the tabs of a tab killed mid-refresh).
      state.stats.graceReuses++;
      const access = await issueAccessToken(rec.sid);
      return { ok: true, sid: rec.sid, access, refreshToken: issueRefreshToken(rec.sid) };
    }
    if (rec.used) {
      // Reuse: someone holds an old token. Kill the whole family, the
      // legitimate holder included: that is the point of rotation.
      state.stats.reuseDetections++;
      revokeFamily(rec.sid, "reuse");
      return { ok: false, error: "invalid_grant", description: "refresh token reuse detected; session revoked" };
    }
    if (!fam || fam.revoked) return { ok: false, error: "invalid_grant", description: "session revoked" };
    if (rec.expiresAt <= serverNow()) return { ok: false, error: "invalid_grant", description: "refresh token expired" };
    if (requestedScope !== undefined) {
      const granted = new Set(fam.scope.split(" "));
      const wanted = requestedScope.split(" ").filter(Boolean);
      if (wanted.some((s) => !granted.has(s))) {
        return { ok: false, error: "invalid_scope", description: "scope exceeds the original grant" };
      }
    }
    rec.used = true;
    rec.usedAt = serverNow();
    const access = await issueAccessToken(rec.sid);
    return { ok: true, sid: rec.sid, access, refreshToken: issueRefreshToken(rec.sid) };
  }

  /**
   * Check a bearer token. Returns `{ ok: true, claims }` or
   * `{ ok: false, error, description }` (error: undefined when no token at all).
   */
  async function verifyAccess(req) {
    const auth = req.headers.authorization;
    if (!auth) return { ok: false, error: undefined, description: "no token" };
    const m = /^Bearer ([A-Za-z0-9\-._~+/]+=*)$/.exec(auth);
    if (!m) return { ok: false, error: "invalid_request", description: "malformed Authorization header" };
    let claims;
    try {
      ({ payload: claims } = await jwtVerify(m[1], secret, {
        algorithms: ["HS256"],
        issuer: REALM,
        currentDate: new Date(serverNow()),
      }));
    } catch (err) {
      const expired = err instanceof joseErrors.JWTExpired;
      return { ok: false, error: "invalid_token", description: expired ? "token expired" : "token invalid" };
    }
    if (state.expiredJtis.has(claims.jti)) return { ok: false, error: "invalid_token", description: "token expired" };
    const fam = state.families.get(claims.sid);
    if (!fam || fam.revoked) return { ok: false, error: "invalid_token", description: "session revoked" };
    return { ok: true, claims };
  }

  // --------------------------------------------------------------- helpers

  function send(res, status, body, headers = {}) {
    const isJson = body !== undefined && typeof body !== "string" && !Buffer.isBuffer(body);
    const payload = body === undefined ? "" : isJson ? JSON.stringify(body) : body;
    const h = { "Cache-Control": "no-store", ...headers };
    if (isJson && !h["Content-Type"]) h["Content-Type"] = "application/json; charset=utf-8";
    res.writeHead(status, h);
    res.end(payload);
  }

  /** OAuth2 §5.1/§5.2 responses must not be cached. */
  function sendOAuth(res, status, body, headers = {}) {
    send(res, status, body, { Pragma: "no-cache", ...headers });
  }

  function readBody(req) {
    return new Promise((ok, fail) => {
      const chunks = [];
      let size = 0;
      req.on("data", (c) => {
        size += c.length;
        if (size > MAX_BODY_BYTES) {
          fail(Object.assign(new Error("body too large"), { status: 413 }));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => ok(Buffer.concat(chunks)));
      req.on("error", fail);
    });
  }

  /** Parse a JSON or form body into a plain object; `null` when it is neither. */
  function parseFields(req, raw) {
    const type = (req.headers["content-type"] || "").split(";")[0].trim().toLowerCase();
    const text = raw.toString("utf8");
    if (type === "application/x-www-form-urlencoded") return Object.fromEntries(new URLSearchParams(text));
    if (type === "application/json" || (type === "" && text.trim().startsWith("{"))) {
      try {
        const v = text.trim() ? JSON.parse(text) : {};
        return v && typeof v === "object" && !Array.isArray(v) ? v : null;
      } catch {
        return null;
      }
    }
    if (text.trim() === "") return {};
    return null;
  }

  function parseCookies(req) {
    const out = {};
    for (const part of (req.headers.cookie || "").split(";")) {
      const i = part.indexOf("=");
      if (i > 0) out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
    }
    return out;
  }

  const COOKIE = "tw_refresh";
  function refreshCookie(value, maxAge) {
    // HttpOnly: script (and so XSS) can't read it. SameSite=Strict: no
    // cross-site request carries it. Path=/auth: only the refresh and logout
    // endpoints see it, never /api/*. No `Secure`: the demo runs on loopback
    // http (a real deployment adds it).
    return `${COOKIE}=${encodeURIComponent(value)}; HttpOnly; SameSite=Strict; Path=/auth; Max-Age=${maxAge}`;
  }

  /** Cookie-carrying endpoints refuse cross-origin requests (CSRF defence on top of SameSite). */
  function sameOrigin(req) {
    const origin = req.headers.origin;
    if (!origin) return true; // same-origin GET/HEAD, curl, node tests
    return origin === `http://${req.headers.host}`;
  }

  function tokenResponse(access, refreshToken, scope) {
    const body = {
      access_token: access.token,
      token_type: "Bearer",
      expires_in: access.expiresIn,
    };
    if (refreshToken) body.refresh_token = refreshToken;
    if (scope) body.scope = scope;
    return body;
  }

  function remember(entry) {
    state.recent.push({ at: Date.now(), ...entry });
    if (state.recent.length > RECENT_LIMIT) state.recent.splice(0, state.recent.length - RECENT_LIMIT);
  }

  /**
   * Apply the refresh fault knobs. Returns true when a fault answered (or
   * dropped) the request, so the caller must stop. Faults fire *before* the
   * token is looked at: the client may retry with the same refresh token.
   */
  async function refreshFaults(req, res) {
    const f = state.faults;
    if (f.delayMs > 0) {
      let gone = false;
      res.once("close", () => (gone = true));
      await new Promise((r) => setTimeout(r, f.delayMs));
      // The delay stands for the network: a client that went away meanwhile
      // (tab closed) never reached the server, so nothing is rotated.
      if (gone || req.socket.destroyed) {
        state.stats.refreshAbandoned++;
        return true;
      }
    }
    if (f.dropNext > 0) {
      f.dropNext--;
      state.stats.refreshFaults++;
      // Drop the connection in the middle of the response. (Closing before
      // the first byte would not reach the app: browsers silently resend a
      // request whose reused keep-alive connection closes with no answer.)
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": "200", "Cache-Control": "no-store" });
      res.write('{"access_token":"');
      res.once("drain", () => {});
      setTimeout(() => req.socket.destroy(), 10);
      return true;
    }
    if (f.failNext > 0) {
      f.failNext--;
      state.stats.refreshFaults++;
      send(res, 500, { error: "server_error", error_description: "injected failure (failNext)" });
      return true;
    }
    if (f.garbageNext > 0) {
      f.garbageNext--;
      state.stats.refreshFaults++;
      send(res, 200, "<html>definitely not a token</html>", { "Content-Type": "application/json" });
      return true;
    }
    return false;
  }

  // ------------------------------------------------------------- endpoints

  async function handleLogin(req, res, fields) {
    const username = typeof fields?.username === "string" ? fields.username.trim() : "";
    if (!username || fields.password !== "demo") {
      state.stats.loginFailures++;
      return send(res, 401, { error: "invalid_credentials", error_description: "any username, password 'demo'" });
    }
    state.stats.logins++;
    const { access, refreshToken } = await startFamily(username);
    if (fields.cookie === true || fields.cookie === "true") {
      if (!sameOrigin(req)) return send(res, 403, { error: "cross_origin" });
      return send(res, 200, tokenResponse(access, null), {
        "Set-Cookie": refreshCookie(refreshToken, state.refreshTtlSeconds),
      });
    }
    return send(res, 200, tokenResponse(access, refreshToken));
  }

  async function handleJsonRefresh(req, res, fields) {
    state.stats.refreshCalls++;
    if (await refreshFaults(req, res)) return;
    const fromBody = fields?.refresh_token ?? fields?.refreshToken;
    const viaCookie = typeof fromBody !== "string" || fromBody === "";
    const presented = viaCookie ? parseCookies(req)[COOKIE] : fromBody;
    if (viaCookie && !sameOrigin(req)) return send(res, 403, { error: "cross_origin" });
    remember({ kind: "refresh", transport: viaCookie ? "cookie" : "json", tokenPresented: Boolean(presented) });
    const r = await rotate(presented, undefined);
    if (!r.ok) {
      state.stats.refreshRejections++;
      const headers = viaCookie && presented ? { "Set-Cookie": refreshCookie("", 0) } : {};
      return send(res, 401, { error: r.error, error_description: r.description }, headers);
    }
    state.stats.refreshSuccesses++;
    // The rotation is done; a client that dies now never learns the new token.
    if (state.faults.delayAfterMs > 0) await new Promise((r) => setTimeout(r, state.faults.delayAfterMs));
    if (viaCookie) {
      return send(res, 200, tokenResponse(r.access, null), {
        "Set-Cookie": refreshCookie(r.refreshToken, state.refreshTtlSeconds),
      });
    }
    return send(res, 200, tokenResponse(r.access, r.refreshToken));
  }

  /** RFC 6749: §4.3 password grant (demo login) and §6 refresh grant; §5.2 errors. */
  async function handleOAuthToken(req, res, raw) {
    const type = (req.headers["content-type"] || "").split(";")[0].trim().toLowerCase();
    const isRefresh = type === "application/x-www-form-urlencoded" &&
      new URLSearchParams(raw.toString("utf8")).get("grant_type") === "refresh_token";
    if (isRefresh) {
      state.stats.refreshCalls++;
      if (await refreshFaults(req, res)) return;
    }
    const oauthError = (status, error, description) => {
      if (isRefresh) state.stats.refreshRejections++;
      return sendOAuth(res, status, { error, error_description: description });
    };
    if (type !== "application/x-www-form-urlencoded") {
      return oauthError(400, "invalid_request", "body must be application/x-www-form-urlencoded");
    }
    const params = new URLSearchParams(raw.toString("utf8"));
    for (const [k] of params) {
      if (params.getAll(k).length > 1) return oauthError(400, "invalid_request", `repeated parameter: ${k}`);
    }
    const grant = params.get("grant_type");
    if (!grant) return oauthError(400, "invalid_request", "missing grant_type");
    const clientId = params.get("client_id");
    if (!clientId) return oauthError(401, "invalid_client", "missing client_id");
    if (clientId !== opts.oauthClientId) return oauthError(401, "invalid_client", "unknown client");
    const scope = params.has("scope") ? params.get("scope") : undefined;

    if (grant === "password") {
      const username = (params.get("username") || "").trim();
      if (!username || params.get("password") !== "demo") {
        state.stats.loginFailures++;
        return oauthError(400, "invalid_grant", "bad credentials (any username, password 'demo')");
      }
      if (scope !== undefined && scope.split(" ").some((s) => s && !DEFAULT_SCOPE.split(" ").includes(s))) {
        return oauthError(400, "invalid_scope", "unknown scope");
      }
      state.stats.logins++;
      const granted = scope ? scope : DEFAULT_SCOPE;
      const { access, refreshToken } = await startFamily(username, granted);
      return sendOAuth(res, 200, tokenResponse(access, refreshToken, granted));
    }
    if (grant !== "refresh_token") return oauthError(400, "unsupported_grant_type", `unsupported grant_type: ${grant}`);
    const presented = params.get("refresh_token");
    if (!presented) return oauthError(400, "invalid_request", "missing refresh_token");
    remember({ kind: "refresh", transport: "oauth2", tokenPresented: true });
    const r = await rotate(presented, scope);
    if (!r.ok) return oauthError(400, r.error, r.description);
    state.stats.refreshSuccesses++;
    return sendOAuth(res, 200, tokenResponse(r.access, r.refreshToken, state.families.get(r.sid).scope));
  }

  async function handleLogout(req, res, fields) {
    state.stats.logouts++;
    const cookies = parseCookies(req);
    const presented = fields?.refresh_token ?? fields?.refreshToken ?? cookies[COOKIE];
    let sid = presented ? state.refreshTokens.get(presented)?.sid : undefined;
    if (!sid) {
      const v = await verifyAccess(req);
      if (v.ok) sid = v.claims.sid;
    }
    if (sid) revokeFamily(sid, "logout");
    const headers = cookies[COOKIE] !== undefined ? { "Set-Cookie": refreshCookie("", 0) } : {};
    send(res, 204, undefined, headers);
  }

  function corsHeaders(req) {
    const origin = req.headers.origin;
    if (!origin || !opts.corsOrigins.includes(origin)) return {};
    return {
      "Access-Control-Allow-Origin": origin,
      "Access-Control-Allow-Headers": "Authorization, Content-Type",
      "Access-Control-Allow-Methods": "GET, POST, PUT, PATCH, DELETE",
      "Access-Control-Expose-Headers": "WWW-Authenticate",
      Vary: "Origin",
    };
  }

  async function handleApi(req, res, path, raw) {
    state.stats.apiRequests++;
    const cors = corsHeaders(req);
    if (req.method === "OPTIONS") return send(res, 204, undefined, cors);
    const entry = {
      kind: "api",
      method: req.method,
      path,
      authorization: Boolean(req.headers.authorization),
      contentType: req.headers["content-type"] || null,
      body: raw.toString("utf8"),
      xTest: req.headers["x-test"] || null,
      origin: req.headers.origin || null,
    };
    if (path === "/api/public") {
      remember({ ...entry, status: 200 });
      state.stats.apiOk++;
      return send(res, 200, { public: true, sawAuthorization: entry.authorization }, cors);
    }
    const v = await verifyAccess(req);
    if (!v.ok) {
      state.stats.api401++;
      remember({ ...entry, status: 401 });
      // RFC 6750 §3.1: no error attribute when the request had no token at all.
      let challenge = `Bearer realm="${REALM}"`;
      if (v.error) challenge += `, error="${v.error}", error_description="${v.description}"`;
      const status = v.error === "invalid_request" ? 400 : 401;
      return send(res, status, { error: v.error ?? "unauthorized", error_description: v.description }, {
        ...cors,
        "WWW-Authenticate": challenge,
      });
    }
    const claims = v.claims;
    const headers = { ...cors };
    const renewWithin = state.faults.renewWithinSeconds;
    if (renewWithin > 0 && claims.exp * 1000 - serverNow() <= renewWithin * 1000) {
      const renewed = await issueAccessToken(claims.sid);
      headers[opts.renewHeader] = renewed.token;
      state.stats.renewedTokens++;
    }
    if (path === "/api/admin") {
      state.stats.api403++;
      remember({ ...entry, status: 403 });
      return send(res, 403, { error: "insufficient_scope" }, {
        ...headers,
        "WWW-Authenticate": `Bearer realm="${REALM}", error="insufficient_scope", scope="admin"`,
      });
    }
    state.stats.apiOk++;
    remember({ ...entry, status: 200, jti: claims.jti });
    if (path === "/api/me") {
      return send(res, 200, { sub: claims.sub, sid: claims.sid, iat: claims.iat, exp: claims.exp, jti: claims.jti, scope: claims.scope }, headers);
    }
    if (path === "/api/graphql") {
      // A one-query GraphQL endpoint (GET or POST) for the urql recipe test:
      // every query is answered as `{ me { sub jti } }`.
      return send(res, 200, { data: { me: { __typename: "User", sub: claims.sub, jti: claims.jti } } }, headers);
    }
    if (path === "/api/orders" && req.method === "GET") {
      return send(res, 200, { orders: [{ id: 1, item: "coffee beans" }, { id: 2, item: "grinder" }], jti: claims.jti }, headers);
    }
    if (path === "/api/slow") {
      const ms = Math.min(10_000, Number(new URL(req.url, "http://x").searchParams.get("ms")) || 1000);
      await new Promise((r) => setTimeout(r, ms));
      return send(res, 200, { slept: ms }, headers);
    }
    // /api/orders (non-GET), /api/echo and anything else: echo what arrived, so
    // tests can check that a replayed request kept its method, headers and body.
    return send(res, 200, {
      method: req.method,
      path,
      contentType: entry.contentType,
      body: entry.body,
      xTest: entry.xTest,
      jti: claims.jti,
      sub: claims.sub,
    }, headers);
  }

  async function handleDemo(req, res, path, fields) {
    if (path === "/demo/stats" && req.method === "GET") {
      let activeFamilies = 0;
      for (const f of state.families.values()) if (!f.revoked) activeFamilies++;
      return send(res, 200, {
        ...state.stats,
        activeFamilies,
        inflight: state.inflight - 1, // minus this very request
        faults: state.faults,
        accessTtlSeconds: state.accessTtlSeconds,
        refreshTtlSeconds: state.refreshTtlSeconds,
        serverTime: serverNow(),
      });
    }
    if (path === "/demo/log" && req.method === "GET") return send(res, 200, { recent: state.recent });
    if (req.method !== "POST") return send(res, 405, { error: "method_not_allowed" }, { Allow: "POST" });
    if (fields === null) return send(res, 400, { error: "invalid_request", error_description: "JSON body expected" });
    if (path === "/demo/reset") {
      state.stats = freshStats();
      state.faults = { ...freshFaults(), renewWithinSeconds: opts.renewWithinSeconds };
      state.accessTtlSeconds = opts.accessTtlSeconds;
      state.refreshTtlSeconds = opts.refreshTtlSeconds;
      state.recent = [];
      if (fields.sessions) {
        state.families.clear();
        state.refreshTokens.clear();
      }
      return send(res, 200, { ok: true });
    }
    if (path === "/demo/faults") {
      const f = state.faults;
      const num = (k, min, max) => {
        if (fields[k] === undefined) return;
        const v = Number(fields[k]);
        if (!Number.isFinite(v) || v < min || v > max) throw Object.assign(new Error(`${k} out of range`), { status: 400 });
        return v;
      };
      const set = (k, min, max, target = f) => {
        const v = num(k, min, max);
        if (v !== undefined) target[k] = v;
      };
      set("delayMs", 0, 60_000);
      set("reuseGraceSeconds", 0, 3600);
      set("delayAfterMs", 0, 60_000);
      set("failNext", 0, 1000);
      set("dropNext", 0, 1000);
      set("garbageNext", 0, 1000);
      set("skewSeconds", -86_400 * 365, 86_400 * 365);
      set("renewWithinSeconds", 0, 86_400);
      set("accessTtlSeconds", 1, 86_400, state);
      set("refreshTtlSeconds", 1, 86_400 * 30, state);
      let revoked = 0;
      if (fields.revokeAll) {
        for (const sid of state.families.keys()) if (revokeFamily(sid, "admin")) revoked++;
      }
      if (typeof fields.revokeSub === "string") {
        for (const [sid, fam] of state.families) if (fam.sub === fields.revokeSub && revokeFamily(sid, "admin")) revoked++;
      }
      if (typeof fields.revokeSid === "string" && revokeFamily(fields.revokeSid, "admin")) revoked++;
      let expired = 0;
      if (fields.expireAccessTokens) {
        // Every access token issued so far now counts as expired on /api/*,
        // while the client still believes it is valid: the "50 calls with an
        // expired token" button.
        for (const j of state.issuedJtis) state.expiredJtis.add(j);
        expired = state.issuedJtis.size;
        state.issuedJtis.clear();
      }
      return send(res, 200, { ok: true, faults: f, accessTtlSeconds: state.accessTtlSeconds, revoked, expired });
    }
    return send(res, 404, { error: "not_found" });
  }

  async function serveStatic(req, res, path) {
    if (req.method !== "GET" && req.method !== "HEAD") return send(res, 405, { error: "method_not_allowed" });
    let base = opts.wwwDir;
    let rel = path;
    if (path === "/dist" || path.startsWith("/dist/")) {
      base = opts.distDir;
      rel = path.slice("/dist".length);
    } else if (path === "/" || path === "") {
      rel = "/index.html";
    } else if (path === "/login") {
      rel = "/login.html";
    }
    let decoded;
    try {
      decoded = decodeURIComponent(rel);
    } catch {
      return send(res, 400, { error: "bad_path" });
    }
    if (decoded.includes("\0")) return send(res, 400, { error: "bad_path" });
    const file = normalize(join(base, decoded));
    if (file !== base && !file.startsWith(base.endsWith(sep) ? base : base + sep)) return send(res, 404, "not found\n");
    // Never serve the server's own code or the e2e artefacts from www/.
    if (base === opts.wwwDir && /(^|[\\/])(auth-server|server)\.mjs$/.test(file)) return send(res, 404, "not found\n");
    let body;
    try {
      const s = await stat(file);
      if (!s.isFile()) return send(res, 404, "not found\n");
      body = await readFile(file);
    } catch {
      const hint = base === opts.distDir ? " (run `npm run build` first)" : "";
      return send(res, 404, `not found${hint}\n`, { "Content-Type": "text/plain; charset=utf-8" });
    }
    const type = CONTENT_TYPES[extname(file).toLowerCase()] || "application/octet-stream";
    const headers = { "Content-Type": type, "X-Content-Type-Options": "nosniff" };
    if (type.startsWith("text/html")) headers["Content-Security-Policy"] = pageCsp(opts.extraConnectSrc);
    res.writeHead(200, { "Cache-Control": "no-store", ...headers, "Content-Length": body.length });
    res.end(req.method === "HEAD" ? undefined : body);
  }

  async function route(req, res) {
    const url = new URL(req.url, "http://localhost");
    const path = url.pathname;
    const raw = req.method === "GET" || req.method === "HEAD" ? Buffer.alloc(0) : await readBody(req);
    if (path === "/oauth/token") {
      if (req.method !== "POST") return sendOAuth(res, 405, { error: "invalid_request" }, { Allow: "POST" });
      return handleOAuthToken(req, res, raw);
    }
    if (path.startsWith("/api/")) return handleApi(req, res, path, raw);
    if (path.startsWith("/auth/") || path.startsWith("/demo/")) {
      const fields = parseFields(req, raw);
      if (path.startsWith("/demo/")) return handleDemo(req, res, path, fields);
      if (req.method !== "POST") return send(res, 405, { error: "method_not_allowed" }, { Allow: "POST" });
      if (fields === null) {
        if (path === "/auth/refresh") {
          state.stats.refreshCalls++;
          state.stats.refreshRejections++;
        }
        return send(res, 400, { error: "invalid_request", error_description: "JSON or form body expected" });
      }
      if (path === "/auth/login") return handleLogin(req, res, fields);
      if (path === "/auth/refresh") return handleJsonRefresh(req, res, fields);
      if (path === "/auth/logout") return handleLogout(req, res, fields);
      return send(res, 404, { error: "not_found" });
    }
    return serveStatic(req, res, path);
  }

  const server = createServer((req, res) => {
    state.stats.requests++;
    state.inflight++;
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        state.inflight--;
      }
    };
    res.on("close", finish);
    if (opts.log) {
      const t0 = Date.now();
      res.on("close", () => process.stderr.write(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - t0}ms\n`));
    }
    route(req, res).catch((err) => {
      if (res.headersSent) return res.destroy();
      const status = err?.status ?? 500;
      send(res, status, { error: status === 500 ? "server_error" : "invalid_request", error_description: err?.message ?? "error" });
    });
  });
  // Keep-alive sockets would make close() wait; tests start many servers.
  server.keepAliveTimeout = 2000;

  await new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(opts.port, opts.host, () => {
      server.off("error", fail);
      ok();
    });
  });
  const { port } = server.address();
  const host = opts.host.includes(":") ? `[${opts.host}]` : opts.host;
  const url = `http://${host}:${port}`;

  return {
    server,
    url,
    state,
    close: () =>
      new Promise((ok) => {
        server.close(() => ok());
        server.closeAllConnections();
      }),
  };
}
