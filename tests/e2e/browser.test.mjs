// End-to-end scenarios: the real package (dist/) in headless Chromium against
// the demo auth server. Each test starts its own server on port 0 with short
// token lifetimes, so nothing sleeps for long and tests do not share state.
//
// Scenarios (from issue 6): sign-in → proactive refresh before expiry;
// 50 concurrent 401s → one refresh; server flakiness → backoff then success;
// revoked session → drafts saved → redirect with returnTo → sign in → drafts
// restored; OAuth2 and cookie transports; cross-tab sharing; tokens never sent
// to other origins; renew-header mode. Every scenario ends with
// `env.finish()`: no page error, no wasm panic, no request left pending.
//
// Run: node --test tests/e2e/browser.test.mjs   (after `npm run build`)

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createDemoServer } from "../../www/auth-server.mjs";
import { launchBrowser, runtimeMissingReason, distMissingReason, startEnv, waitFor, closeOpenEnvs } from "./helpers.mjs";

const T = { timeout: 90_000 };
const JSON_REFRESH = { url: "/auth/refresh", format: "json" };
const OAUTH_REFRESH = { url: "/oauth/token", format: "oauth2", clientId: "tokenwarden-demo" };
const COOKIE_REFRESH = { url: "/auth/refresh", format: "cookie" };

let browser;
before(async () => {
  if (!distMissingReason()) browser = await launchBrowser();
});
after(async () => {
  await closeOpenEnvs();
  await browser?.close();
});

/** A harness page with a token manager created from `options`. */
async function harnessPage(env, options, path = "/test/harness.html") {
  const page = await env.newPage(path);
  await page.waitForFunction(() => window.harness !== undefined);
  await page.evaluate((o) => window.harness.create(o), { redirect: false, ...options });
  return page;
}

const snapshot = (page) => page.evaluate(() => window.harness.snapshot());
const events = (page) => page.evaluate(() => window.harness.events);

describe("demo page: the wasm module", { skip: distMissingReason() ?? false }, () => {
  test("the demo page initialises the wasm module and decodes a JWT", T, async () => {
    const env = await startEnv({}, { browser });
    const page = await env.newPage("/");
    await page.waitForFunction(() => document.documentElement.dataset.wasm !== undefined, null, { timeout: 15_000 });
    assert.equal(await page.getAttribute("html", "data-wasm"), "ready");
    assert.equal(await page.textContent("#wasm-status"), "wasm ready");
    await env.finish();
  });
});

describe("browser scenarios", { skip: runtimeMissingReason() ?? false }, () => {
  test("sign-in, then a proactive refresh before the access token expires", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 8 }, { browser });
    const page = await harnessPage(env, { refresh: JSON_REFRESH, leadSeconds: 3, jitterSeconds: 1 });
    await page.evaluate(() => window.harness.login("json"));
    const first = await snapshot(page);
    assert.ok(first.accessToken, "signed in");
    assert.equal(first.claims?.sub, "tester");
    const firstExpiry = first.expiresAt < 1e11 ? first.expiresAt * 1000 : first.expiresAt;
    assert.equal((await env.stats()).refreshCalls, 0, "no refresh right after sign-in");

    // No API traffic at all: only the schedule can trigger this refresh.
    const changedAt = await waitFor(async () => {
      const s = await snapshot(page);
      return s.accessToken && s.accessToken !== first.accessToken ? Date.now() : null;
    }, { timeoutMs: 20_000, what: "a proactive refresh" });
    assert.ok(changedAt < firstExpiry, "refreshed before the old token expired");
    const s = await env.stats();
    assert.equal(s.refreshSuccesses, 1);
    assert.equal(s.api401, 0);
    assert.equal(s.reuseDetections, 0);
    const ev = await events(page);
    assert.ok(ev.some((e) => e.type === "refreshed"), "a refreshed event");

    // The new token is the one used from now on.
    const now = await snapshot(page);
    const me = await page.evaluate(() => window.harness.call("/api/me"));
    assert.equal(me.status, 200);
    assert.equal(me.body.jti, now.claims.jti);
    await env.finish();
  });

  test("50 concurrent 401s cause exactly one refresh and every request is replayed intact", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await harnessPage(env, { refresh: JSON_REFRESH });
    await page.evaluate(() => window.harness.login("json"));
    await env.faults({ expireAccessTokens: true }); // server now rejects the token the client holds
    const before = await env.stats();
    const results = await page.evaluate(() => window.harness.burst(50));
    const after = await env.stats();

    assert.equal(results.length, 50);
    results.forEach((r, i) => {
      assert.equal(r.status, 200, `call ${i}: ${JSON.stringify(r)}`);
      // The replay kept method, headers and body.
      assert.equal(r.body.method, "POST");
      assert.equal(r.body.contentType, "application/json");
      assert.equal(r.body.body, JSON.stringify({ i }));
      assert.equal(r.body.xTest, String(i));
    });
    assert.equal(after.refreshCalls - before.refreshCalls, 1, "single-flight: one refresh");
    assert.equal(after.reuseDetections, 0);
    const rejected = after.api401 - before.api401;
    assert.ok(rejected >= 1 && rejected <= 50, `401s seen: ${rejected}`);
    // Each request reached the API at most twice (first try + one replay).
    assert.equal(after.apiOk - before.apiOk, 50);
    assert.ok(after.apiRequests - before.apiRequests <= 100);

    // A second burst with a valid token needs no refresh at all.
    const again = await page.evaluate(() => window.harness.burst(20, "/api/orders", "GET"));
    assert.ok(again.every((r) => r.status === 200));
    assert.equal((await env.stats()).refreshCalls, after.refreshCalls);
    await env.finish();
  });

  test("a flaky auth server: failures are retried with backoff, then the refresh succeeds", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await harnessPage(env, { refresh: JSON_REFRESH, retryBaseSeconds: 0.2 });
    await page.evaluate(() => window.harness.login("json"));
    await env.faults({ failNext: 1, dropNext: 1, garbageNext: 1, delayMs: 100 });
    await env.faults({ expireAccessTokens: true });
    const r = await page.evaluate(() => window.harness.call("/api/me"));
    assert.equal(r.status, 200, JSON.stringify(r));
    const s = await env.stats();
    assert.equal(s.refreshFaults, 3, "500, dropped connection and garbage were all seen");
    assert.equal(s.refreshCalls, 4, "three failed attempts, then one success");
    assert.equal(s.refreshSuccesses, 1);
    assert.equal(s.reuseDetections, 0);
    const ev = await events(page);
    assert.ok(ev.some((e) => e.type === "error"), "failed attempts are reported as error events");
    assert.ok(!ev.some((e) => e.type === "sessionExpired"), "transient failures do not end the session");
    await env.finish();
  });

  test("an auth server that keeps failing: the request is rejected with a TokenError, never left hanging", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await harnessPage(env, {
      refresh: JSON_REFRESH, retryAttempts: 2, retryBaseSeconds: 0.1, retryCooldownSeconds: 60, queueTimeoutSeconds: 3,
    });
    await page.evaluate(() => window.harness.login("json"));
    await env.faults({ failNext: 1000 });
    await env.faults({ expireAccessTokens: true });
    const r = await page.evaluate(() => window.harness.call("/api/me"));
    assert.equal(r.isTokenError, true, JSON.stringify(r));
    assert.ok(["refresh_failed", "queue_timeout"].includes(r.code), r.code);
    const s = await env.stats();
    assert.ok(s.refreshCalls >= 1 && s.refreshCalls <= 3, `bounded retries: ${s.refreshCalls}`);
    await env.faults({ failNext: 0 });
    await env.finish();
  });

  test("revoked session → drafts saved → login with returnTo → drafts restored (demo SPA)", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await env.newPage("/login?returnTo=%2F");
    const signIn = async () => {
      await page.fill("input[name=username]", "ada");
      await page.fill("input[name=password]", "demo");
      await page.click("#sign-in");
      await page.waitForURL(env.url + "/");
      await page.waitForFunction(() => document.documentElement.dataset.signedIn === "1", null, { timeout: 15_000 });
    };
    await signIn();

    const draft = {
      fullName: "Ada Lovelace",
      email: "ada@example.org",
      street: "12 St James's Square",
      city: "London",
      notes: "Ring twice.\nLeave with the porter.",
    };
    for (const [name, value] of Object.entries(draft)) await page.fill(`#order-form [name=${name}]`, value);
    await page.selectOption("#order-form [name=delivery]", "express");
    await page.check("#order-form [name=gift]");
    await page.fill("#order-form [name=accountPassword]", "hunter2-never-store-me");

    await page.click("#btn-revoke");
    await page.waitForFunction(() => document.getElementById("result").textContent.startsWith("Revoked"));
    await page.click("#btn-call"); // 401 → refresh → invalid_grant → session over
    await page.waitForURL(/\/login\?/, { timeout: 20_000 });
    const url = new URL(page.url());
    assert.equal(url.pathname, "/login");
    assert.equal(url.searchParams.get("returnTo"), "/");

    const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }));
    assert.ok(stored.includes("Ada Lovelace"), "the draft was saved");
    assert.ok(!stored.includes("hunter2-never-store-me"), "the password field was not saved");

    await signIn();
    await waitFor(() => page.inputValue("#order-form [name=fullName]").then((v) => v === draft.fullName), {
      what: "the draft to be restored",
    });
    for (const [name, value] of Object.entries(draft)) {
      assert.equal(await page.inputValue(`#order-form [name=${name}]`), value, name);
    }
    assert.equal(await page.inputValue("#order-form [name=delivery]"), "express");
    assert.equal(await page.isChecked("#order-form [name=gift]"), true);
    assert.equal(await page.inputValue("#order-form [name=accountPassword]"), "");
    await page.waitForFunction(() => document.documentElement.dataset.draftsRestored === "1");
    const s = await env.stats();
    assert.equal(s.reuseDetections, 0);
    assert.equal(s.logins, 2);
    await env.finish();
  });

  test("OAuth2 transport: form-encoded refresh grant, and invalid_grant ends the session", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await harnessPage(env, { refresh: OAUTH_REFRESH });
    await page.evaluate(() => window.harness.login("oauth2"));
    await env.faults({ expireAccessTokens: true });
    const r = await page.evaluate(() => window.harness.call("/api/me"));
    assert.equal(r.status, 200, JSON.stringify(r));
    const log = await env.log();
    assert.deepEqual(log.filter((e) => e.kind === "refresh").map((e) => e.transport), ["oauth2"]);
    assert.equal((await env.stats()).refreshSuccesses, 1);

    // The server revokes the session: the next refresh gets §5.2 invalid_grant.
    await env.faults({ revokeAll: true });
    const r2 = await page.evaluate(() => window.harness.call("/api/me"));
    assert.ok(r2.isTokenError || r2.status === 401, JSON.stringify(r2));
    if (r2.isTokenError) assert.equal(r2.code, "session_expired");
    await waitFor(() => events(page).then((ev) => ev.some((e) => e.type === "sessionExpired")), { what: "sessionExpired" });
    assert.equal((await snapshot(page)).accessToken, null);
    await env.finish();
  });

  test("cookie transport: the refresh token stays in an HttpOnly cookie and still rotates", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await harnessPage(env, { refresh: COOKIE_REFRESH, storage: "local" });
    const login = await page.evaluate(() => window.harness.login("cookie"));
    assert.equal(login.hasRefreshToken, false);
    assert.ok(!(await page.evaluate(() => document.cookie)).includes("tw_refresh"), "HttpOnly: invisible to JS");
    const cookies = await env.context.cookies(env.url + "/auth/refresh");
    const c = cookies.find((x) => x.name === "tw_refresh");
    assert.ok(c && c.httpOnly && c.sameSite === "Strict");

    for (let round = 1; round <= 2; round++) {
      await env.faults({ expireAccessTokens: true });
      const r = await page.evaluate(() => window.harness.call("/api/me"));
      assert.equal(r.status, 200, `round ${round}: ${JSON.stringify(r)}`);
      assert.equal((await env.stats()).refreshSuccesses, round);
    }
    const rotated = (await env.context.cookies(env.url + "/auth/refresh")).find((x) => x.name === "tw_refresh");
    assert.notEqual(rotated.value, c.value, "the cookie was rotated");
    assert.equal((await env.stats()).reuseDetections, 0);
    const log = await env.log();
    assert.ok(log.filter((e) => e.kind === "refresh").every((e) => e.transport === "cookie"));
    const dump = JSON.stringify(await page.evaluate(() => window.harness.storageDump()));
    assert.ok(!dump.includes(rotated.value), "the refresh token never reaches web storage");
    await env.finish();
  });

  test("two tabs: one shared refresh for both, rotated tokens shared, logout synced", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const opts = { refresh: JSON_REFRESH, storage: "local", crossTab: true };
    const a = await harnessPage(env, opts);
    await a.evaluate(() => window.harness.login("json"));
    const b = await harnessPage(env, opts);
    const tokenA = (await snapshot(a)).accessToken;
    await waitFor(async () => (await snapshot(b)).accessToken === tokenA, { what: "tab B to pick up the session" });

    await env.faults({ expireAccessTokens: true });
    const before = await env.stats();
    const [ra, rb] = await Promise.all([
      a.evaluate(() => window.harness.burst(10)),
      b.evaluate(() => window.harness.burst(10)),
    ]);
    assert.ok([...ra, ...rb].every((r) => r.status === 200), JSON.stringify([...ra, ...rb].filter((r) => r.status !== 200)));
    const after = await env.stats();
    assert.equal(after.refreshCalls - before.refreshCalls, 1, "one refresh for both tabs");
    assert.equal(after.reuseDetections, 0, "no tab reused a rotated refresh token");
    await waitFor(async () => (await snapshot(a)).accessToken === (await snapshot(b)).accessToken, { what: "both tabs on the same token" });

    await a.evaluate(() => window.harness.auth.logout());
    await waitFor(async () => (await snapshot(b)).accessToken === null, { what: "logout to reach tab B" });
    assert.ok((await events(b)).some((e) => e.type === "logout"));
    await env.finish();
  });

  test("the token is only sent to allowed origins", T, async () => {
    const other = await createDemoServer({ accessTtlSeconds: 30 });
    const env = await startEnv({ accessTtlSeconds: 30, extraConnectSrc: [other.url] }, { browser });
    other.state.options.corsOrigins.push(env.url);
    try {
      const page = await harnessPage(env, { refresh: JSON_REFRESH });
      await page.evaluate(() => window.harness.login("json"));
      const r = await page.evaluate((u) => window.harness.call(u + "/api/public"), other.url);
      assert.equal(r.status, 200, JSON.stringify(r));
      assert.equal(r.body.sawAuthorization, false, "no token for a foreign origin");
      const own = await page.evaluate(() => window.harness.call("/api/me"));
      assert.equal(own.status, 200);

      const page2 = await harnessPage(env, { refresh: JSON_REFRESH, allowedOrigins: [other.url] });
      await page2.evaluate(() => window.harness.login("json"));
      const r2 = await page2.evaluate((u) => window.harness.call(u + "/api/public"), other.url);
      assert.equal(r2.body.sawAuthorization, true, "allowedOrigins opts an origin in");
      await env.finish();
    } finally {
      await other.close();
    }
  });

  test("renew-header mode: a renewed token in a response replaces the current one without a refresh", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30, renewWithinSeconds: 3600 }, { browser });
    const page = await harnessPage(env, { refresh: JSON_REFRESH, renewHeader: "X-Renewed-Token" });
    await page.evaluate(() => window.harness.login("json"));
    const first = await snapshot(page);
    const r = await page.evaluate(() => window.harness.call("/api/me"));
    assert.equal(r.status, 200);
    await waitFor(async () => (await snapshot(page)).accessToken !== first.accessToken, { what: "the renewed token" });
    const s = await env.stats();
    assert.equal(s.renewedTokens, 1);
    assert.equal(s.refreshCalls, 0);
    // The renewed token is the one sent next.
    const renewed = await snapshot(page);
    const r2 = await page.evaluate(() => window.harness.call("/api/me"));
    assert.equal(r2.body.jti, renewed.claims.jti);
    await env.finish();
  });

  test("demo SPA: flaky-server button → Refresh now recovers after failures; Sign out", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await env.newPage("/login");
    await page.fill("input[name=username]", "bob");
    await page.fill("input[name=password]", "demo");
    await page.click("#sign-in");
    await page.waitForURL(env.url + "/");
    await page.waitForFunction(() => document.documentElement.dataset.signedIn === "1", null, { timeout: 15_000 });
    await page.click("#btn-flaky");
    await page.waitForFunction(() => document.getElementById("result").textContent.startsWith("Flaky"));
    await page.click("#btn-refresh");
    await page.waitForFunction(() => /^Refresh(ed|failed)/.test(document.getElementById("result").textContent), null, { timeout: 30_000 });
    assert.match(await page.textContent("#result"), /^Refreshed/);
    const s = await env.stats();
    assert.equal(s.refreshFaults, 2);
    assert.equal(s.refreshSuccesses, 1);
    assert.ok((await page.locator("#events li.error").count()) >= 1, "the failed attempts are listed");
    await page.click("#btn-flaky"); // reliable again
    await page.click("#sign-out");
    await page.waitForFunction(() => document.documentElement.dataset.signedIn === "0");
    assert.equal(await page.isVisible("#sign-in-link"), true);
    await env.finish();
  });

  test("demo SPA: the 50-call button shows one refresh; screenshots for the README", T, async () => {
    const env = await startEnv({ accessTtlSeconds: 30 }, { browser });
    const page = await env.newPage("/login?returnTo=%2F");
    await page.fill("input[name=username]", "alice");
    await page.fill("input[name=password]", "demo");
    await page.click("#sign-in");
    await page.waitForURL(env.url + "/");
    await page.waitForFunction(() => document.documentElement.dataset.signedIn === "1", null, { timeout: 15_000 });
    await page.click("#btn-burst");
    await page.waitForFunction(() => document.getElementById("result").dataset.ok !== undefined, null, { timeout: 30_000 });
    assert.equal(await page.getAttribute("#result", "data-ok"), "50");
    assert.equal(await page.getAttribute("#result", "data-refresh-calls"), "1");
    await page.fill("#order-form [name=fullName]", "Alice Example");
    await page.fill("#order-form [name=notes]", "Leave it at the door, please.");
    // Let the stats panel poll once more so the picture shows the counts.
    await page.waitForFunction(() => document.getElementById("s-refreshCalls").textContent === "1");
    const { saveScreenshots } = await import("./screenshot.mjs");
    await saveScreenshots(page);
    await env.finish();
  });
});
