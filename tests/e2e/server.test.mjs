// Tests of the demo auth server itself, over real HTTP (no browser, no wasm).
// The browser scenarios rely on this server telling the truth: rotation,
// reuse detection, the 401 challenge, the fault knobs and the counters.
//
// Run: node --test tests/e2e/server.test.mjs

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createDemoServer } from "../../www/auth-server.mjs";

/** Start a server for one describe block; `h.url`, `h.state`, helpers. */
function useServer(options = {}) {
  const h = {};
  before(async () => {
    const demo = await createDemoServer({ accessTtlSeconds: 30, ...options });
    Object.assign(h, demo);
  });
  after(async () => {
    await h.close();
  });
  h.post = (path, body, headers = {}) =>
    fetch(h.url + path, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body ?? {}),
    });
  h.form = (path, params, headers = {}) =>
    fetch(h.url + path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...headers },
      body: new URLSearchParams(params).toString(),
    });
  h.login = async (username = "alice") => {
    const r = await h.post("/auth/login", { username, password: "demo" });
    assert.equal(r.status, 200);
    return r.json();
  };
  h.refresh = (token) => h.post("/auth/refresh", { refresh_token: token });
  h.api = (path, token, init = {}) =>
    fetch(h.url + path, { ...init, headers: { ...(init.headers ?? {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) } });
  h.stats = async () => (await fetch(h.url + "/demo/stats")).json();
  h.faults = async (f) => {
    const r = await h.post("/demo/faults", f);
    assert.equal(r.status, 200, await r.clone().text());
    return r.json();
  };
  return h;
}

/** Poll until `fn()` is truthy (at most 5 s). */
async function waitUntil(fn) {
  const deadline = Date.now() + 5000;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error("condition not reached within 5 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

function claimsOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));
}

describe("login", () => {
  const h = useServer();

  test("any username with password 'demo' gets an access JWT and an opaque refresh token", async () => {
    const body = await h.login("bob");
    assert.equal(body.token_type, "Bearer");
    assert.equal(body.expires_in, 30);
    assert.match(body.refresh_token, /^[A-Za-z0-9_-]{40,}$/);
    const c = claimsOf(body.access_token);
    assert.equal(c.sub, "bob");
    assert.equal(c.exp - c.iat, 30);
    assert.ok(c.jti && c.sid);
  });

  test("a wrong password is 401 and issues nothing", async () => {
    const r = await h.post("/auth/login", { username: "bob", password: "hunter2" });
    assert.equal(r.status, 401);
    const body = await r.json();
    assert.equal(body.error, "invalid_credentials");
    assert.equal(body.access_token, undefined);
  });

  test("an empty username is refused", async () => {
    const r = await h.post("/auth/login", { username: "  ", password: "demo" });
    assert.equal(r.status, 401);
  });
});

describe("JSON refresh: rotation and reuse detection", () => {
  const h = useServer();

  test("each refresh rotates the refresh token and keeps the family", async () => {
    const login = await h.login();
    const r1 = await h.refresh(login.refresh_token);
    assert.equal(r1.status, 200);
    const b1 = await r1.json();
    assert.notEqual(b1.refresh_token, login.refresh_token);
    assert.notEqual(b1.access_token, login.access_token);
    assert.equal(claimsOf(b1.access_token).sid, claimsOf(login.access_token).sid);
    const r2 = await h.refresh(b1.refresh_token);
    assert.equal(r2.status, 200);
  });

  test("reusing a rotated refresh token revokes the whole family", async () => {
    const before = await h.stats();
    const login = await h.login();
    const b1 = await (await h.refresh(login.refresh_token)).json();
    // The old token again: reuse.
    const reuse = await h.refresh(login.refresh_token);
    assert.equal(reuse.status, 401);
    assert.equal((await reuse.json()).error, "invalid_grant");
    // The newest token of the family is dead too ...
    const after1 = await h.refresh(b1.refresh_token);
    assert.equal(after1.status, 401);
    // ... and so is its access token on the API.
    const api = await h.api("/api/me", b1.access_token);
    assert.equal(api.status, 401);
    assert.match(api.headers.get("www-authenticate"), /error="invalid_token"/);
    const s = await h.stats();
    assert.equal(s.reuseDetections - before.reuseDetections, 1);
    assert.equal(s.revokedFamilies - before.revokedFamilies, 1);
  });

  test("reuse in one family leaves other families alone", async () => {
    const a = await h.login("a");
    const b = await h.login("b");
    await h.refresh(a.refresh_token);
    await h.refresh(a.refresh_token); // reuse in a's family
    assert.equal((await h.refresh(b.refresh_token)).status, 200);
    assert.equal((await h.api("/api/me", b.access_token)).status, 200);
  });

  test("the camelCase body field works as well", async () => {
    const login = await h.login();
    const r = await h.post("/auth/refresh", { refreshToken: login.refresh_token });
    assert.equal(r.status, 200);
  });

  test("an unknown refresh token is invalid_grant and not counted as reuse", async () => {
    const before = await h.stats();
    const r = await h.refresh("nope");
    assert.equal(r.status, 401);
    assert.equal((await r.json()).error, "invalid_grant");
    const s = await h.stats();
    assert.equal(s.reuseDetections, before.reuseDetections);
    assert.equal(s.refreshCalls - before.refreshCalls, 1);
    assert.equal(s.refreshRejections - before.refreshRejections, 1);
  });

  test("a body that is neither JSON nor a form is 400", async () => {
    const r = await h.post("/auth/refresh", "{not json");
    assert.equal(r.status, 400);
  });
});

describe("refresh-token TTL", () => {
  const h = useServer({ refreshTtlSeconds: 1 });

  test("an expired refresh token is rejected", async () => {
    const login = await h.login();
    await h.faults({ skewSeconds: 5 }); // jump the server clock past the refresh TTL
    const r = await h.refresh(login.refresh_token);
    assert.equal(r.status, 401);
    assert.match((await r.json()).error_description, /expired/);
    await h.faults({ skewSeconds: 0 });
  });
});

describe("/api/*", () => {
  const h = useServer({ accessTtlSeconds: 2 });

  test("no token: 401 with a bare Bearer challenge (RFC 6750 §3.1)", async () => {
    const r = await h.api("/api/me");
    assert.equal(r.status, 401);
    const www = r.headers.get("www-authenticate");
    assert.match(www, /^Bearer realm="tokenwarden-demo"$/);
  });

  test("a valid token is accepted and /api/me shows its claims", async () => {
    const login = await h.login("carol");
    const r = await h.api("/api/me", login.access_token);
    assert.equal(r.status, 200);
    const me = await r.json();
    assert.equal(me.sub, "carol");
    assert.equal(me.jti, claimsOf(login.access_token).jti);
  });

  test("an expired token is 401 with error=\"invalid_token\"", async () => {
    const login = await h.login();
    await h.faults({ skewSeconds: 10 }); // server clock past exp: no sleeping
    const r = await h.api("/api/me", login.access_token);
    await h.faults({ skewSeconds: 0 });
    assert.equal(r.status, 401);
    const www = r.headers.get("www-authenticate");
    assert.match(www, /^Bearer /);
    assert.match(www, /error="invalid_token"/);
    assert.match(www, /token expired/);
  });

  test("a forged token is 401 invalid_token", async () => {
    const login = await h.login();
    const [hd, , sig] = login.access_token.split(".");
    const forged = [hd, Buffer.from(JSON.stringify({ sub: "admin", exp: 9e9 })).toString("base64url"), sig].join(".");
    const r = await h.api("/api/me", forged);
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate"), /error="invalid_token"/);
  });

  test("a malformed Authorization header is 400 invalid_request", async () => {
    const r = await fetch(h.url + "/api/me", { headers: { Authorization: "Basic abc" } });
    assert.equal(r.status, 400);
    assert.match(r.headers.get("www-authenticate"), /error="invalid_request"/);
  });

  test("expireAccessTokens makes every current access token count as expired", async () => {
    const login = await h.login();
    const res = await h.faults({ expireAccessTokens: true });
    assert.ok(res.expired >= 1);
    const r = await h.api("/api/orders", login.access_token);
    assert.equal(r.status, 401);
    assert.match(r.headers.get("www-authenticate"), /error="invalid_token"/);
    // A token issued afterwards is fine.
    const fresh = await (await h.refresh(login.refresh_token)).json();
    assert.equal((await h.api("/api/orders", fresh.access_token)).status, 200);
  });

  test("POST /api/orders echoes method, content type, body and headers", async () => {
    const login = await h.login();
    const r = await h.api("/api/orders", login.access_token, {
      method: "POST",
      headers: { "Content-Type": "text/plain", "X-Test": "42" },
      body: "two espressos",
    });
    assert.equal(r.status, 200);
    const echo = await r.json();
    assert.deepEqual(
      { method: echo.method, contentType: echo.contentType, body: echo.body, xTest: echo.xTest },
      { method: "POST", contentType: "text/plain", body: "two espressos", xTest: "42" },
    );
    const log = await (await fetch(h.url + "/demo/log")).json();
    const last = log.recent.at(-1);
    assert.equal(last.body, "two espressos");
    assert.equal(last.authorization, true);
  });

  test("/api/admin is 403 insufficient_scope", async () => {
    const login = await h.login();
    const r = await h.api("/api/admin", login.access_token);
    assert.equal(r.status, 403);
    assert.match(r.headers.get("www-authenticate"), /error="insufficient_scope"/);
  });

  test("/api/public needs no token and reports whether one was sent", async () => {
    const r = await h.api("/api/public");
    assert.equal(r.status, 200);
    assert.equal((await r.json()).sawAuthorization, false);
  });
});

describe("renew-header mode", () => {
  const h = useServer({ accessTtlSeconds: 30 });

  test("off by default; when on, tokens close to expiry come back renewed", async () => {
    const login = await h.login();
    const plain = await h.api("/api/me", login.access_token);
    assert.equal(plain.headers.get("x-renewed-token"), null);
    await h.faults({ renewWithinSeconds: 60 });
    const r = await h.api("/api/me", login.access_token);
    await h.faults({ renewWithinSeconds: 0 });
    const renewed = r.headers.get("x-renewed-token");
    assert.ok(renewed, "renewed token header expected");
    assert.equal(claimsOf(renewed).sid, claimsOf(login.access_token).sid);
    assert.notEqual(claimsOf(renewed).jti, claimsOf(login.access_token).jti);
    assert.equal((await h.api("/api/me", renewed)).status, 200);
  });
});

describe("OAuth2 token endpoint (RFC 6749 §6, §5.2)", () => {
  const h = useServer();
  const client = { client_id: "tokenwarden-demo" };

  async function passwordLogin(extra = {}) {
    const r = await h.form("/oauth/token", { grant_type: "password", username: "dora", password: "demo", ...client, ...extra });
    assert.equal(r.status, 200);
    return r.json();
  }

  test("password grant then refresh grant, both no-store", async () => {
    const login = await passwordLogin();
    assert.equal(login.token_type, "Bearer");
    assert.equal(login.scope, "orders:read orders:write");
    const r = await h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: login.refresh_token, ...client });
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("cache-control"), "no-store");
    assert.equal(r.headers.get("pragma"), "no-cache");
    const body = await r.json();
    assert.ok(body.access_token && body.refresh_token);
    assert.notEqual(body.refresh_token, login.refresh_token);
    assert.equal(body.expires_in, 30);
  });

  test("a narrower scope is allowed, a wider one is invalid_scope", async () => {
    const login = await passwordLogin({ scope: "orders:read" });
    const wider = await h.form("/oauth/token", {
      grant_type: "refresh_token", refresh_token: login.refresh_token, scope: "orders:read orders:write", ...client,
    });
    assert.equal(wider.status, 400);
    assert.equal((await wider.json()).error, "invalid_scope");
    const same = await h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: login.refresh_token, scope: "orders:read", ...client });
    assert.equal(same.status, 200);
  });

  const cases = [
    ["JSON body", () => h.post("/oauth/token", { grant_type: "refresh_token", refresh_token: "x", ...client }), 400, "invalid_request"],
    ["no grant_type", () => h.form("/oauth/token", { refresh_token: "x", ...client }), 400, "invalid_request"],
    ["unknown grant_type", () => h.form("/oauth/token", { grant_type: "client_credentials", ...client }), 400, "unsupported_grant_type"],
    ["no client_id", () => h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: "x" }), 401, "invalid_client"],
    ["wrong client_id", () => h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: "x", client_id: "evil" }), 401, "invalid_client"],
    ["no refresh_token", () => h.form("/oauth/token", { grant_type: "refresh_token", ...client }), 400, "invalid_request"],
    ["unknown refresh_token", () => h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: "x", ...client }), 400, "invalid_grant"],
    ["repeated parameter", () => h.form("/oauth/token", "grant_type=refresh_token&refresh_token=a&refresh_token=b&client_id=tokenwarden-demo"), 400, "invalid_request"],
    ["bad password", () => h.form("/oauth/token", { grant_type: "password", username: "x", password: "no", ...client }), 400, "invalid_grant"],
  ];
  for (const [name, call, status, error] of cases) {
    test(`§5.2: ${name} → ${status} ${error}`, async () => {
      const r = await call();
      assert.equal(r.status, status);
      assert.match(r.headers.get("content-type"), /^application\/json/);
      assert.equal(r.headers.get("cache-control"), "no-store");
      const body = await r.json();
      assert.equal(body.error, error);
      assert.equal(typeof body.error_description, "string");
    });
  }

  test("reuse over OAuth2 revokes the family too", async () => {
    const before = await h.stats();
    const login = await passwordLogin();
    const ok = await h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: login.refresh_token, ...client });
    const next = await ok.json();
    const reuse = await h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: login.refresh_token, ...client });
    assert.equal(reuse.status, 400);
    assert.equal((await reuse.json()).error, "invalid_grant");
    const dead = await h.form("/oauth/token", { grant_type: "refresh_token", refresh_token: next.refresh_token, ...client });
    assert.equal(dead.status, 400);
    assert.equal((await h.stats()).reuseDetections - before.reuseDetections, 1);
  });
});

describe("cookie mode", () => {
  const h = useServer();

  function cookieOf(res) {
    const sc = res.headers.get("set-cookie");
    assert.ok(sc, "Set-Cookie expected");
    return sc;
  }

  test("login sets an HttpOnly, SameSite=Strict refresh cookie and no refresh_token in the body", async () => {
    const r = await h.post("/auth/login", { username: "erin", password: "demo", cookie: true });
    assert.equal(r.status, 200);
    const body = await r.json();
    assert.equal(body.refresh_token, undefined);
    assert.ok(body.access_token);
    const sc = cookieOf(r);
    assert.match(sc, /^tw_refresh=[A-Za-z0-9_-]{40,};/);
    assert.match(sc, /; HttpOnly/);
    assert.match(sc, /; SameSite=Strict/);
    assert.match(sc, /; Path=\/auth/);
  });

  test("refresh with the cookie rotates the cookie; the old cookie is reuse", async () => {
    const r = await h.post("/auth/login", { username: "erin", password: "demo", cookie: true });
    const c1 = cookieOf(r).split(";")[0];
    const r1 = await h.post("/auth/refresh", {}, { Cookie: c1 });
    assert.equal(r1.status, 200);
    const b1 = await r1.json();
    assert.equal(b1.refresh_token, undefined);
    const c2 = cookieOf(r1).split(";")[0];
    assert.notEqual(c2, c1);
    const again = await h.post("/auth/refresh", {}, { Cookie: c1 });
    assert.equal(again.status, 401);
    assert.match(cookieOf(again), /Max-Age=0/); // cleared
    assert.equal((await h.post("/auth/refresh", {}, { Cookie: c2 })).status, 401);
  });

  test("a cross-origin cookie refresh is refused (CSRF)", async () => {
    const r = await h.post("/auth/login", { username: "erin", password: "demo", cookie: true });
    const c1 = cookieOf(r).split(";")[0];
    const x = await h.post("/auth/refresh", {}, { Cookie: c1, Origin: "http://evil.example" });
    assert.equal(x.status, 403);
    // The token was not consumed.
    assert.equal((await h.post("/auth/refresh", {}, { Cookie: c1 })).status, 200);
  });

  test("logout revokes the family and clears the cookie", async () => {
    const r = await h.post("/auth/login", { username: "erin", password: "demo", cookie: true });
    const c1 = cookieOf(r).split(";")[0];
    const out = await h.post("/auth/logout", {}, { Cookie: c1 });
    assert.equal(out.status, 204);
    assert.match(cookieOf(out), /Max-Age=0/);
    assert.equal((await h.post("/auth/refresh", {}, { Cookie: c1 })).status, 401);
  });
});

describe("logout (JSON)", () => {
  const h = useServer();

  test("logout by refresh token revokes the family", async () => {
    const login = await h.login();
    assert.equal((await h.post("/auth/logout", { refresh_token: login.refresh_token })).status, 204);
    assert.equal((await h.refresh(login.refresh_token)).status, 401);
    assert.equal((await h.api("/api/me", login.access_token)).status, 401);
  });

  test("logout by bearer access token revokes the family", async () => {
    const login = await h.login();
    const r = await fetch(h.url + "/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${login.access_token}` } });
    assert.equal(r.status, 204);
    assert.equal((await h.refresh(login.refresh_token)).status, 401);
  });
});

describe("fault knobs and counters", () => {
  const h = useServer();

  test("failNext answers 500 that many times, without consuming the token", async () => {
    await h.post("/demo/reset", {});
    const login = await h.login();
    await h.faults({ failNext: 2 });
    assert.equal((await h.refresh(login.refresh_token)).status, 500);
    assert.equal((await h.refresh(login.refresh_token)).status, 500);
    assert.equal((await h.refresh(login.refresh_token)).status, 200);
    const s = await h.stats();
    assert.equal(s.refreshCalls, 3);
    assert.equal(s.refreshFaults, 2);
    assert.equal(s.refreshSuccesses, 1);
    assert.equal(s.reuseDetections, 0);
  });

  test("dropNext drops the connection in the middle of the response", async () => {
    const login = await h.login();
    await h.faults({ dropNext: 1 });
    await assert.rejects(async () => {
      const r = await h.refresh(login.refresh_token);
      await r.text();
    }, TypeError);
    assert.equal((await h.refresh(login.refresh_token)).status, 200);
  });

  test("garbageNext answers 200 with a body that is not JSON", async () => {
    const login = await h.login();
    await h.faults({ garbageNext: 1 });
    const r = await h.refresh(login.refresh_token);
    assert.equal(r.status, 200);
    await assert.rejects(r.json(), SyntaxError);
    assert.equal((await h.refresh(login.refresh_token)).status, 200);
  });

  test("delayMs holds the refresh response back", async () => {
    const login = await h.login();
    await h.faults({ delayMs: 300 });
    let settled = false;
    const p = h.refresh(login.refresh_token).then((r) => {
      settled = true;
      return r;
    });
    // While delayed, the server reports the request in flight.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(settled, false);
    assert.equal((await h.stats()).inflight, 1);
    assert.equal((await p).status, 200);
    await h.faults({ delayMs: 0 });
  });

  test("skewSeconds moves the server clock used for iat/exp", async () => {
    await h.faults({ skewSeconds: 3600 });
    const login = await h.login();
    await h.faults({ skewSeconds: 0 });
    const c = claimsOf(login.access_token);
    assert.ok(c.iat * 1000 > Date.now() + 3500_000);
    // Now the token is "from the future" but not expired: still accepted.
    assert.equal((await h.api("/api/me", login.access_token)).status, 200);
  });

  test("revokeSub revokes every family of that user", async () => {
    const a1 = await h.login("victim");
    const a2 = await h.login("victim");
    const other = await h.login("bystander");
    const res = await h.faults({ revokeSub: "victim" });
    assert.equal(res.revoked, 2);
    assert.equal((await h.refresh(a1.refresh_token)).status, 401);
    assert.equal((await h.api("/api/me", a2.access_token)).status, 401);
    assert.equal((await h.api("/api/me", other.access_token)).status, 200);
  });

  test("revokeAll revokes everything", async () => {
    const a = await h.login();
    await h.faults({ revokeAll: true });
    assert.equal((await h.refresh(a.refresh_token)).status, 401);
    assert.equal((await h.stats()).activeFamilies, 0);
  });

  test("reuseGraceSeconds lets a just-used refresh token through once more, without a reuse detection", async () => {
    await h.post("/demo/reset", {});
    const login = await h.login();
    await h.faults({ reuseGraceSeconds: 30 });
    assert.equal((await h.refresh(login.refresh_token)).status, 200);
    assert.equal((await h.refresh(login.refresh_token)).status, 200); // within the grace period
    await h.faults({ reuseGraceSeconds: 0 });
    assert.equal((await h.refresh(login.refresh_token)).status, 401); // grace off: reuse
    const s = await h.stats();
    assert.equal(s.graceReuses, 1);
    assert.equal(s.reuseDetections, 1);
  });

  test("delayAfterMs rotates first, then holds the response back", async () => {
    const login = await h.login();
    await h.faults({ delayAfterMs: 300 });
    const before = await h.stats();
    const p = h.refresh(login.refresh_token);
    // The rotation is already done while the response is held back.
    await waitUntil(async () => (await h.stats()).refreshSuccesses > before.refreshSuccesses);
    assert.equal((await h.stats()).inflight, 1);
    assert.equal((await p).status, 200);
    await h.faults({ delayAfterMs: 0 });
  });

  test("a refresh abandoned by its client during delayMs is not processed", async () => {
    const login = await h.login();
    await h.faults({ delayMs: 300 });
    const before = await h.stats();
    const ac = new AbortController();
    const p = fetch(h.url + "/auth/refresh", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ refresh_token: login.refresh_token }),
      signal: ac.signal,
    }).catch((e) => e);
    await waitUntil(async () => (await h.stats()).inflight === 1);
    ac.abort();
    await p;
    await waitUntil(async () => (await h.stats()).refreshAbandoned > before.refreshAbandoned);
    await h.faults({ delayMs: 0 });
    // The token was never consumed.
    assert.equal((await h.refresh(login.refresh_token)).status, 200);
    assert.equal((await h.stats()).reuseDetections, before.reuseDetections);
  });

  test("out-of-range knob values are 400", async () => {
    const r = await h.post("/demo/faults", { failNext: -1 });
    assert.equal(r.status, 400);
    const r2 = await h.post("/demo/faults", { delayMs: "soon" });
    assert.equal(r2.status, 400);
  });

  test("reset zeroes counters and faults", async () => {
    await h.faults({ failNext: 5, delayMs: 10 });
    await h.post("/demo/reset", {});
    const s = await h.stats();
    assert.equal(s.refreshCalls, 0);
    assert.equal(s.faults.failNext, 0);
    assert.equal(s.faults.delayMs, 0);
    assert.equal(s.inflight, 0);
  });

  test("counters count requests and API requests", async () => {
    await h.post("/demo/reset", {});
    const login = await h.login();
    await h.api("/api/me", login.access_token);
    await h.api("/api/me");
    const s = await h.stats();
    assert.equal(s.apiRequests, 2);
    assert.equal(s.api401, 1);
    assert.equal(s.logins, 1);
    assert.ok(s.requests >= 4);
  });
});

describe("static files", () => {
  const h = useServer();

  test("/ serves the demo page with a strict CSP", async () => {
    const r = await fetch(h.url + "/");
    assert.equal(r.status, 200);
    assert.match(r.headers.get("content-type"), /^text\/html/);
    assert.match(r.headers.get("content-security-policy"), /script-src 'self' 'wasm-unsafe-eval'/);
  });

  test("/login serves the login page", async () => {
    const r = await fetch(h.url + "/login");
    assert.equal(r.status, 200);
    assert.match(await r.text(), /<form/);
  });

  test("path traversal and the server's own source are not served", async () => {
    for (const p of ["/..%2fpackage.json", "/%2e%2e/package.json", "/auth-server.mjs", "/server.mjs", "/dist/..%2f..%2fpackage.json"]) {
      const r = await fetch(h.url + p);
      assert.equal(r.status, 404, p);
    }
  });
});

describe("/dist/ is served from the repo's dist directory", () => {
  let tmp;
  const h = {};
  before(async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    tmp = await mkdtemp(join(tmpdir(), "tw-dist-"));
    await writeFile(join(tmp, "tokenwarden_bg.wasm"), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
    await writeFile(join(tmp, "index.js"), "export const x = 1;\n");
    Object.assign(h, await createDemoServer({ distDir: tmp }));
  });
  after(async () => {
    await h.close();
    const { rm } = await import("node:fs/promises");
    await rm(tmp, { recursive: true, force: true });
  });

  test("the .wasm has the application/wasm content type", async () => {
    const r = await fetch(h.url + "/dist/tokenwarden_bg.wasm");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("content-type"), "application/wasm");
    assert.deepEqual([...new Uint8Array(await r.arrayBuffer())].slice(0, 4), [0, 0x61, 0x73, 0x6d]);
  });

  test("JS modules have a JavaScript content type", async () => {
    const r = await fetch(h.url + "/dist/index.js");
    assert.match(r.headers.get("content-type"), /^text\/javascript/);
  });
});
