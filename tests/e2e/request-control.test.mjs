// Request-level control through the libraries that hand `auth.fetch` their
// own `init` (issue 14 item 8), with the built package (dist/) in headless
// Chromium: ky 1.x forwards unknown options to its `fetch`, axios's fetch
// adapter forwards `fetchOptions` — both next to a `Request`. The API is an
// injected `fetch` in the page that answers 419 (or 401) to a stale token and
// records what each call received; ky and axios are the real packages from
// node_modules, served to the page.
//
// Run: node --test --test-concurrency=1 tests/e2e/request-control.test.mjs   (after scripts/build)

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join, normalize } from "node:path";
import { launchBrowser, runtimeMissingReason, startEnv, closeOpenEnvs, REPO_ROOT } from "./helpers.mjs";

const T = { timeout: 90_000 };

let browser;
before(async () => {
  if (!runtimeMissingReason()) browser = await launchBrowser();
});
after(async () => {
  await closeOpenEnvs();
  await browser?.close();
});

/** Serves ky's and axios's ESM builds under /vendor/ to the page. */
async function vendorRoutes(page) {
  const roots = {
    "/vendor/ky/": join(REPO_ROOT, "node_modules/ky/distribution/"),
    "/vendor/axios/": join(REPO_ROOT, "node_modules/axios/dist/esm/"),
  };
  await page.route("**/vendor/**", async (route) => {
    const path = new URL(route.request().url()).pathname;
    const prefix = Object.keys(roots).find((p) => path.startsWith(p));
    const file = prefix && normalize(join(roots[prefix], path.slice(prefix.length)));
    if (!file || !file.startsWith(roots[prefix])) return route.fulfill({ status: 404 });
    const body = await readFile(file).catch(() => null);
    if (body === null) return route.fulfill({ status: 404 });
    await route.fulfill({ status: 200, contentType: "text/javascript", body });
  });
}

/** In the page: the package, ky, axios, and an API stub (mode "419" or "401"). */
async function setUp(page, mode) {
  await page.evaluate(async (mode) => {
    const tw = await import("/dist/index.js");
    const { default: ky } = await import("/vendor/ky/index.js");
    const { default: axios } = await import("/vendor/axios/axios.js");
    const enc = (s) => btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    let serial = 0;
    const jwt = () => {
      const now = Math.floor(Date.now() / 1000);
      return enc('{"alg":"HS256"}') + "." + enc(JSON.stringify({ sub: "u", iat: now, exp: now + 300, jti: "j" + ++serial })) + ".c2ln";
    };
    const api = { current: jwt(), refreshes: 0, seen: [] };
    const stub = async (input, init) => {
      const req = input instanceof Request ? input : new Request(input, init);
      const path = new URL(req.url).pathname;
      if (path === "/auth/refresh") {
        api.refreshes++;
        api.current = jwt();
        return Response.json({ access_token: api.current, refresh_token: "r" + serial, expires_in: 300 });
      }
      const authorization = req.headers.get("authorization");
      api.seen.push({ path, authorization, fresh: authorization === "Bearer " + api.current,
        initKeys: init && typeof init === "object" ? Object.keys(init) : [] });
      if (authorization === "Bearer " + api.current) return Response.json({ ok: path });
      return mode === "419" ? new Response("expired", { status: 419 }) : new Response("no", { status: 401 });
    };
    const auth = await tw.createTokenManager({
      refresh: { url: "/auth/refresh" }, fetch: stub, crossTab: false, redirect: false, drafts: false,
      shouldRefresh: mode === "419" ? (r) => r.status === 419 : undefined,
    });
    auth.setSession({ accessToken: api.current, refreshToken: "r0" });
    // Detached, as the libraries take it.
    const fetch = auth.fetch;
    window.rc = { tw, ky, axios, api, auth, fetch, revoke: () => { api.current = "revoked" + ++serial; } };
  }, mode);
}

describe("request control through ky and axios", { skip: runtimeMissingReason() ?? false }, () => {
  test("ky: shouldRefresh on a 419 refreshes once; tokenwarden: { auth: false } reaches auth.fetch and no further", T, async () => {
    const env = await startEnv({}, { browser });
    const page = await env.newPage("/test/harness.html");
    await page.waitForFunction(() => window.harness !== undefined);
    await vendorRoutes(page);
    await setUp(page, "419");
    const r = await page.evaluate(async () => {
      const { ky, fetch, api, revoke } = window.rc;
      const client = ky.create({ fetch, prefixUrl: location.origin, throwHttpErrors: false, retry: 0 });
      revoke();
      const burst = await Promise.all([1, 2, 3].map((i) => client.get(`api/items/${i}`).then((res) => res.status)));
      const refreshesAfterBurst = api.refreshes;
      revoke();
      const optedOut = await client.get("api/public", { tokenwarden: { auth: false } });
      return { burst, refreshesAfterBurst, optedOut: optedOut.status, refreshes: api.refreshes, seen: api.seen };
    });
    assert.deepEqual(r.burst, [200, 200, 200]);
    assert.equal(r.refreshesAfterBurst, 1, "one refresh for three 419s");
    // 3 first attempts (419) + 3 replays (200).
    assert.equal(r.seen.filter((s) => s.path.startsWith("/api/items/")).length, 6);
    assert.equal(r.optedOut, 419, "delivered as is");
    assert.equal(r.refreshes, 1, "no refresh for the opted-out request");
    const publicCall = r.seen.find((s) => s.path === "/api/public");
    assert.equal(publicCall.authorization, null, "no token");
    for (const s of r.seen) assert.ok(!s.initKeys.includes("tokenwarden"), JSON.stringify(s));
    await env.finish();
  });

  test("axios (fetch adapter): fetchOptions.tokenwarden { refresh: false } carries the token, its 401 comes back without a refresh", T, async () => {
    const env = await startEnv({}, { browser });
    const page = await env.newPage("/test/harness.html");
    await page.waitForFunction(() => window.harness !== undefined);
    await vendorRoutes(page);
    await setUp(page, "401");
    const r = await page.evaluate(async () => {
      const { axios, auth, fetch, api, revoke } = window.rc;
      const client = axios.create({ adapter: "fetch", env: { fetch }, validateStatus: () => true });
      const token = auth.accessToken;
      revoke();
      const skipped = await client.post("/api/logout", { bye: true }, { fetchOptions: { tokenwarden: { refresh: false } } });
      const refreshesAfterSkip = api.refreshes;
      const normal = await client.get("/api/me");
      return { token, skipped: skipped.status, refreshesAfterSkip, normal: normal.status, refreshes: api.refreshes, seen: api.seen };
    });
    assert.equal(r.skipped, 401);
    assert.equal(r.refreshesAfterSkip, 0);
    const logout = r.seen.find((s) => s.path === "/api/logout");
    assert.equal(logout.authorization, `Bearer ${r.token}`, "still carries the token");
    assert.equal(r.normal, 200, "an ordinary request refreshes and is replayed");
    assert.equal(r.refreshes, 1);
    for (const s of r.seen) assert.ok(!s.initKeys.includes("tokenwarden"), JSON.stringify(s));
    await env.finish();
  });
});
