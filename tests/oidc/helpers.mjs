// Plumbing for the suite against an independent, OpenID-certified server:
// `oidc-provider` 9 (a dev dependency) started by the test on loopback, an
// app server for the SPA (the page, the built package from dist/, and a small
// resource server under /api/), and headless Chromium through playwright-core.
//
//   const env = await startOidcEnv(browser, { format: "jwt", accessTtl: 300 });
//   const page = await env.login();          // code + PKCE through the provider's own pages
//   await env.create(page, { leadSeconds: 2 }); await env.setSession(page);
//   ... drive the page, assert on env.idp.calls / env.idp.events ...
//   await env.finish();                      // no page error, nothing pending, no server error
//
// Two origins, as in production: the SPA and its API on one loopback port, the
// provider on another. The token endpoint is reached cross-origin, allowed by
// the provider's `clientBasedCORS` for the SPA's origin only.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { once } from "node:events";
import { readFile, stat } from "node:fs/promises";
import { dirname, extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { exportJWK, generateKeyPair, createLocalJWKSet, jwtVerify } from "jose";
import { DIST_DIR, waitFor, watchPage } from "../e2e/helpers.mjs";

export { launchBrowser, runtimeMissingReason, waitFor } from "../e2e/helpers.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const SPA_DIR = join(HERE, "spa");
export const CLIENT_ID = "tokenwarden-spa";
/** The resource indicator (RFC 8707) of the test API. */
export const RESOURCE = "urn:tokenwarden:test-api";
export const SCOPE = "openid offline_access api:read";

let oidcProviderModule;
/** oidc-provider, or null when the dev dependency is not installed. */
export async function loadProvider() {
  if (oidcProviderModule === undefined) {
    try {
      oidcProviderModule = await import("oidc-provider");
    } catch {
      oidcProviderModule = null;
    }
  }
  return oidcProviderModule;
}

/** One signing key pair for the whole file (the provider's JWKS and the API's verifier). */
let keysPromise;
function signingKeys() {
  keysPromise ??= (async () => {
    const { privateKey, publicKey } = await generateKeyPair("RS256", { extractable: true });
    const priv = { ...(await exportJWK(privateKey)), kid: "test-key", alg: "RS256", use: "sig" };
    const pub = { ...(await exportJWK(publicKey)), kid: "test-key", alg: "RS256", use: "sig" };
    return { priv, pub };
  })();
  return keysPromise;
}

/**
 * The provider's storage: a Map shared by every Provider instance built on it,
 * so that a restarted provider (a new instance on the same port) keeps its
 * grants, sessions and tokens, as a real deployment with a database does.
 * Implements the adapter interface, including revokeByGrantId (used by
 * refresh-token reuse detection and by revocation).
 */
function mapAdapterFactory(store) {
  const grantKey = (grantId) => `grant:${grantId}`;
  return (model) => ({
    key: (id) => `${model}:${id}`,
    async upsert(id, payload, expiresIn) {
      const key = this.key(id);
      store.set(key, { payload, until: typeof expiresIn === "number" ? Date.now() + expiresIn * 1000 : Infinity });
      if (payload.grantId) {
        const members = store.get(grantKey(payload.grantId)) ?? new Set();
        members.add(key);
        store.set(grantKey(payload.grantId), members);
      }
      if (model === "Session") store.set(`sessionUid:${payload.uid}`, id);
    },
    async find(id) {
      const entry = store.get(this.key(id));
      if (!entry || entry.until <= Date.now()) return undefined;
      return entry.payload;
    },
    async findByUid(uid) {
      const id = store.get(`sessionUid:${uid}`);
      return id === undefined ? undefined : this.find(id);
    },
    async findByUserCode() {
      return undefined;
    },
    async consume(id) {
      const entry = store.get(this.key(id));
      if (entry) entry.payload.consumed = Math.floor(Date.now() / 1000);
    },
    async destroy(id) {
      store.delete(this.key(id));
    },
    async revokeByGrantId(grantId) {
      for (const key of store.get(grantKey(grantId)) ?? []) store.delete(key);
      store.delete(grantKey(grantId));
    },
  });
}

/** A promise with its resolver, for gates. */
function deferred() {
  let resolve;
  const promise = new Promise((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * oidc-provider on 127.0.0.1 (a random free port), restartable on the same
 * port with the same storage and keys.
 *
 * Bookkeeping:
 * - `calls`: every POST to the token endpoint, in order: `{ at, grantType,
 *   presented (the refresh token sent), status, error, accessToken,
 *   refreshToken, expiresIn }` (recorded by a middleware around the provider);
 * - `events`: the provider's own events `grant.success`, `grant.error`,
 *   `grant.revoked`, `server_error`, `authorization.success`;
 * - `settings.accessTtl` / `settings.format` ("jwt" | "opaque"): read at every
 *   token issue;
 * - `stripExpiresIn`: drop `expires_in` from successful token responses;
 * - `hold()`: park every token request until the returned `release()`.
 */
async function startIdp({ appOrigin, redirectUri, settings }) {
  const { default: Provider, errors } = await loadProvider();
  const { priv } = await signingKeys();
  const store = new Map();
  const idp = {
    settings,
    calls: [],
    events: [],
    authRequests: [],
    stripExpiresIn: false,
    gate: null,
    held: 0,
    provider: null,
    server: null,
    handler: (_req, res) => res.writeHead(503).end(),
    port: 0,
    url: null,
    running: false,
  };

  const configuration = () => ({
    adapter: mapAdapterFactory(store),
    clients: [
      {
        client_id: CLIENT_ID,
        application_type: "web",
        token_endpoint_auth_method: "none",
        redirect_uris: [redirectUri],
        grant_types: ["authorization_code", "refresh_token"],
        response_types: ["code"],
      },
    ],
    jwks: { keys: [priv] },
    cookies: { keys: ["tokenwarden-oidc-suite-cookie-key"] },
    findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
    scopes: ["openid", "offline_access"],
    // Rotation on every use, and reuse detection (oidc-provider revokes the grant).
    rotateRefreshToken: true,
    // CORS on the token and revocation endpoints for the SPA's origin only.
    clientBasedCORS: (_ctx, origin) => origin === appOrigin,
    pkce: { required: () => true },
    ttl: {
      AccessToken: () => idp.settings.accessTtl,
      RefreshToken: 3600,
      Grant: 3600,
      Session: 3600,
      Interaction: 600,
      IdToken: 3600,
    },
    features: {
      // The provider's own login and consent pages (its development
      // interactions), filled in by Playwright.
      devInteractions: { enabled: true },
      revocation: {
        enabled: true,
        // A public client may revoke its own tokens (the default, made explicit).
        allowedPolicy: (_ctx, client, token) => token.clientId === client.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        // JWT access tokens on refresh: the refresh request names no
        // resource, so use the one granted at sign-in.
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== RESOURCE) throw new errors.InvalidTarget();
          return {
            scope: "api:read",
            audience: RESOURCE,
            accessTokenTTL: idp.settings.accessTtl,
            accessTokenFormat: idp.settings.format,
            ...(idp.settings.format === "jwt" ? { jwt: { sign: { alg: "RS256" } } } : {}),
          };
        },
      },
    },
  });

  function build() {
    const provider = new Provider(idp.url, configuration());
    provider.use(async (ctx, next) => {
      if (ctx.method === "GET" && ctx.path === "/auth") {
        idp.authRequests.push(Object.fromEntries(new URLSearchParams(ctx.querystring)));
      }
      if (!(ctx.method === "POST" && ctx.path === "/token")) return next();
      if (idp.gate) {
        idp.held++;
        await idp.gate.promise;
      }
      await next();
      const params = ctx.oidc?.params ?? {};
      const body = ctx.body && typeof ctx.body === "object" ? ctx.body : {};
      if (idp.stripExpiresIn && ctx.status === 200 && body.access_token) delete body.expires_in;
      idp.calls.push({
        at: Date.now(),
        grantType: params.grant_type,
        presented: params.refresh_token,
        status: ctx.status,
        error: body.error,
        accessToken: body.access_token,
        refreshToken: body.refresh_token,
        expiresIn: body.expires_in,
      });
    });
    for (const name of ["grant.success", "grant.error", "grant.revoked", "server_error", "authorization.success"]) {
      provider.on(name, (ctx, arg) => {
        idp.events.push({
          name,
          at: Date.now(),
          grantType: ctx?.oidc?.params?.grant_type,
          detail: arg instanceof Error ? `${arg.name}: ${arg.message}` : arg,
        });
      });
    }
    return provider;
  }

  async function listen(port) {
    const server = createServer((req, res) => idp.handler(req, res));
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    idp.server = server;
    idp.port = server.address().port;
    idp.running = true;
    return server;
  }

  /** Stop the provider: close the port and every open connection. */
  idp.stop = async () => {
    if (!idp.running) return;
    idp.running = false;
    const closed = once(idp.server, "close");
    idp.server.close();
    idp.server.closeAllConnections();
    await closed;
  };

  /** Start again on the same port: a new Provider instance, same storage and keys. */
  idp.start = async () => {
    idp.provider = build();
    idp.handler = idp.provider.callback();
    await listen(idp.port);
  };

  /** Park every token request until `release()` is called. */
  idp.hold = () => {
    const d = deferred();
    idp.held = 0;
    idp.gate = d;
    return () => {
      idp.gate = null;
      d.resolve();
    };
  };

  /** Token-endpoint calls of the refresh_token grant. */
  idp.refreshCalls = () => idp.calls.filter((c) => c.grantType === "refresh_token");

  // The issuer needs the port: listen first (requests go to whatever
  // `idp.handler` is at the time), then build the provider.
  await listen(0);
  idp.url = `http://127.0.0.1:${idp.port}`;
  idp.provider = build();
  idp.handler = idp.provider.callback();
  return idp;
}

const CONTENT_TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

async function serveFile(res, base, rel) {
  const file = normalize(join(base, rel));
  if (!file.startsWith(base.endsWith(sep) ? base : base + sep)) return send(res, 404, { error: "not_found" });
  try {
    if (!(await stat(file)).isFile()) return send(res, 404, { error: "not_found" });
    const body = await readFile(file);
    res.writeHead(200, {
      "Content-Type": CONTENT_TYPES[extname(file)] ?? "application/octet-stream",
      "Cache-Control": "no-store",
      "Content-Length": body.length,
    });
    res.end(body);
  } catch {
    send(res, 404, { error: "not_found" });
  }
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
  res.end(text);
}

/**
 * The SPA's origin: the page (spa/), the built package under /dist/, and the
 * API under /api/ (a resource server that accepts the provider's access
 * tokens: JWTs by signature, issuer and audience; opaque ones by looking them
 * up in the provider). `burned` access tokens are refused with a Bearer
 * `invalid_token` challenge, which is how the tests make a burst of 401s.
 */
async function startApp() {
  const app = { apiCalls: [], burned: new Set(), verify: null, config: null, inflight: 0 };
  const server = createServer(async (req, res) => {
    app.inflight++;
    res.on("close", () => app.inflight--);
    const url = new URL(req.url, "http://x");
    const path = url.pathname;
    if (path.startsWith("/api/")) {
      const auth = req.headers.authorization ?? "";
      const token = auth.startsWith("Bearer ") ? auth.slice(7) : null;
      const who = token && !app.burned.has(token) ? await app.verify(token) : null;
      app.apiCalls.push({ at: Date.now(), path, token, ok: Boolean(who) });
      if (!who) return send(res, 401, { error: "invalid_token" }, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
      return send(res, 200, { ok: true, sub: who.sub, format: who.format, path });
    }
    if (path === "/config.json") return send(res, 200, app.config);
    if (path.startsWith("/dist/")) return serveFile(res, DIST_DIR, path.slice("/dist/".length));
    if (path === "/" || path === "/callback") return serveFile(res, SPA_DIR, "index.html");
    return serveFile(res, SPA_DIR, path.slice(1));
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  app.server = server;
  app.url = `http://127.0.0.1:${server.address().port}`;
  app.close = async () => {
    const closed = once(server, "close");
    server.close();
    server.closeAllConnections();
    await closed;
  };
  return app;
}

const openEnvs = new Set();
/** Close whatever a failed test left open. */
export async function closeOpenEnvs() {
  await Promise.all([...openEnvs].map((env) => env.close()));
}

/**
 * The app server, the provider and a browser context.
 * `format`: "jwt" | "opaque" access tokens; `accessTtl`: their lifetime (s).
 */
export async function startOidcEnv(browser, { format = "jwt", accessTtl = 300 } = {}) {
  const app = await startApp();
  const idp = await startIdp({ appOrigin: app.url, redirectUri: `${app.url}/callback`, settings: { format, accessTtl } });
  const { pub } = await signingKeys();
  const jwks = createLocalJWKSet({ keys: [pub] });
  app.verify = async (token) => {
    if (token.split(".").length === 3) {
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer: idp.url, audience: RESOURCE });
        return { sub: payload.sub, format: "jwt" };
      } catch {
        return null;
      }
    }
    // Opaque: the resource server asks the provider's store (as introspection would).
    const at = await idp.provider.AccessToken.find(token);
    if (!at || at.aud !== RESOURCE) return null;
    return { sub: at.accountId, format: "opaque" };
  };
  app.config = { issuer: idp.url, clientId: CLIENT_ID, scope: SCOPE, resource: RESOURCE, redirectUri: `${app.url}/callback` };

  const context = await browser.newContext();
  const watched = [];
  const env = {
    app,
    idp,
    context,
    /** Open the SPA in a new tab and wait until its script is ready. */
    async newPage(path = "/") {
      const page = await context.newPage();
      watched.push(watchPage(page));
      await page.goto(app.url + path);
      await page.waitForFunction(() => window.spa?.ready === true);
      return page;
    },
    /**
     * Sign in for real: the SPA sends the browser to the provider's
     * authorization endpoint (code + PKCE S256, prompt=consent for
     * offline_access), Playwright fills the provider's login form and
     * confirms its consent page, the provider redirects back and the SPA
     * exchanges the code at the token endpoint.
     */
    async login(page, { user = "alice" } = {}) {
      page ??= await env.newPage();
      await page.evaluate(() => window.spa.login());
      await page.waitForURL((u) => u.href.startsWith(`${idp.url}/interaction/`));
      await page.fill('input[name="login"]', user);
      await page.fill('input[name="password"]', "any password");
      await page.click('button[type="submit"]');
      await page.waitForSelector('input[name="prompt"][value="consent"]', { state: "attached" });
      await page.click('button[type="submit"]');
      await page.waitForURL((u) => u.href.startsWith(app.url));
      await page.waitForFunction(() => window.spa?.ready === true && window.spa.tokenResponse !== null);
      return page;
    },
    /** createTokenManager in the page: the oauth2 transport against the provider's token endpoint. */
    async create(page, options = {}) {
      await page.evaluate((o) => window.spa.create(o), options);
    },
    /** auth.setSession with the token response of the code exchange. */
    async setSession(page) {
      return page.evaluate(() => window.spa.setSession());
    },
    /** The page's log: manager events and settled background requests. */
    async log(page) {
      // Read sessionStorage directly: after the login redirect the page has no `spa`.
      return page.evaluate(() => JSON.parse(sessionStorage.getItem("spa:log") ?? "[]"));
    },
    /** Every access token issued so far is refused by the API from now on. */
    burnIssuedAccessTokens() {
      for (const c of idp.calls) if (c.accessToken) app.burned.add(c.accessToken);
    },
    /**
     * The API accepts the current token once in each page, then refuses every
     * token issued so far: a token revoked after use. (A 401 on a token that a
     * refresh just produced and nothing has accepted yet means "the API
     * rejects fresh tokens", which deliberately starts no refresh: issue 12
     * item 4. A burst test must not look like that.)
     */
    async burnAfterUse(...pages) {
      for (const page of pages) {
        const res = await page.evaluate(() => window.spa.fetch("/api/me"));
        assert.equal(res.status, 200, `the current token is accepted before it is burned: ${JSON.stringify(res)}`);
      }
      env.burnIssuedAccessTokens();
    },
    /** The refresh token issued most recently. */
    latestRefreshToken() {
      return idp.calls.filter((c) => c.refreshToken).at(-1)?.refreshToken;
    },
    /** POST to a provider endpoint from node (a second client, an admin). */
    async postForm(path, fields) {
      const r = await fetch(idp.url + path, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(fields),
      });
      const text = await r.text();
      let body = null;
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
      return { status: r.status, body };
    },
    /**
     * The refresh chain holds: every refresh presented the refresh token
     * issued just before it, and the provider saw no reuse.
     */
    assertNoReuse() {
      let current = null;
      for (const c of idp.calls) {
        if (c.grantType === "refresh_token") {
          assert.equal(c.presented, current, `refresh #${idp.refreshCalls().indexOf(c) + 1} presented a refresh token other than the newest`);
          assert.equal(c.status, 200, `refresh answered ${c.status} ${c.error}`);
        }
        if (c.refreshToken) current = c.refreshToken;
      }
      assert.deepEqual(idp.events.filter((e) => e.name === "grant.revoked" || e.name === "grant.error"), [], "grant errors or revocations");
    },
    /** End of scenario: no page error or wasm panic, nothing pending, no provider server_error. */
    async finish() {
      try {
        for (const w of watched) {
          await waitFor(() => w.pending().length === 0, { timeoutMs: 5000, what: "no pending requests" }).catch(() => {});
          assert.deepEqual(w.pending(), [], "requests left pending at the end of the scenario");
          if (!w.page.isClosed()) {
            const outstanding = await w.page.evaluate(() => window.spa?.outstanding ?? 0).catch(() => 0);
            assert.equal(outstanding, 0, "auth.fetch calls still unsettled");
          }
          assert.deepEqual(w.problems, [], "page errors / wasm panics");
        }
        assert.deepEqual(idp.events.filter((e) => e.name === "server_error"), [], "provider server errors");
      } finally {
        await env.close();
      }
    },
    async close() {
      if (!openEnvs.delete(env)) return;
      await context.close().catch(() => {});
      await idp.stop().catch(() => {});
      await app.close().catch(() => {});
    },
  };
  openEnvs.add(env);
  return env;
}
