// tokenwarden against an independent, OpenID-certified server: oidc-provider 9
// (dev dependency), started here on loopback, driven through headless
// Chromium with the built package (dist/). See helpers.mjs for the set-up and
// the README ("Tests") for the list and the running time.
//
// Every wait is on a condition (a provider call, a page event, a URL), never
// on a fixed sleep. Token lifetimes are short only where a proactive refresh
// is the point; elsewhere they are long, so that no timer interferes with a
// count.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { closeOpenEnvs, launchBrowser, loadProvider, RESOURCE, runtimeMissingReason, startOidcEnv, waitFor } from "./helpers.mjs";

const missing = runtimeMissingReason() ?? ((await loadProvider()) ? null : "oidc-provider is not installed (npm install)");

/** The payload of a JWT (test-side check of what the provider issued). */
function jwtPayload(token) {
  return JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString("utf8"));
}

/** Options for a manager whose timers stay out of the way unless a test wants them. */
// With 9 s tokens: refresh 9 - 4 = 5 s after they arrive (tokenwarden's
// minimum interval), 4 s before they expire, so a loaded machine has room.
const QUIET = { leadSeconds: 4, jitterSeconds: 0, expiryMarginSeconds: 1 };

describe("oidc-provider 9", { skip: missing ?? false }, () => {
  let browser;
  before(async () => {
    browser = await launchBrowser();
  });
  after(async () => {
    await closeOpenEnvs();
    await browser?.close();
  });

  test("login: authorization code + PKCE through the provider's login and consent pages, then auth.fetch with its token", async () => {
    const env = await startOidcEnv(browser, { format: "jwt" });
    const page = await env.login();
    const [authRequest] = env.idp.authRequests;
    assert.equal(authRequest.code_challenge_method, "S256");
    assert.equal(authRequest.prompt, "consent");
    const [code] = env.idp.calls;
    assert.equal(code.grantType, "authorization_code");
    assert.equal(code.status, 200);
    assert.ok(code.refreshToken, "offline_access granted: a refresh token was issued");
    assert.ok(env.idp.events.some((e) => e.name === "authorization.success"));

    await env.create(page, QUIET);
    const session = await env.setSession(page);
    assert.equal(session.accessToken, code.accessToken);
    assert.ok(session.refreshAt > Date.now(), "a proactive refresh is planned");
    const res = await page.evaluate(() => window.spa.fetch("/api/me"));
    assert.deepEqual(res, { status: 200, body: { ok: true, sub: "alice", format: "jwt", path: "/api/me" } });
    assert.equal(env.app.apiCalls.at(-1).token, code.accessToken, "the API got the provider's access token");
    await env.finish();
  });

  test("JWT access tokens (resource indicator): proactive refreshes before expiry rotate the refresh token, then 50 concurrent 401s make exactly one refresh", async () => {
    const env = await startOidcEnv(browser, { format: "jwt", accessTtl: 9 });
    const page = await env.login();
    await env.create(page, QUIET);
    await env.setSession(page);
    const first = jwtPayload(env.idp.calls[0].accessToken);
    assert.equal(first.aud, RESOURCE, "a JWT for the resource server");
    assert.equal(first.exp - first.iat, 9);

    // Two proactive refreshes, each before the token it replaces expires.
    await waitFor(() => env.idp.refreshCalls().length >= 2, { timeoutMs: 30_000, what: "two proactive refreshes" });
    const calls = env.idp.calls.slice(0, 3);
    for (let i = 1; i < calls.length; i++) {
      assert.equal(calls[i].grantType, "refresh_token");
      assert.equal(calls[i].status, 200);
      const replaced = jwtPayload(calls[i - 1].accessToken);
      assert.ok(calls[i].at < replaced.exp * 1000, `refresh ${i} came after the token expired`);
      const fresh = jwtPayload(calls[i].accessToken);
      assert.equal(fresh.aud, RESOURCE, "the refreshed token is still for the resource (useGrantedResource)");
      assert.notEqual(calls[i].refreshToken, calls[i - 1].refreshToken, "rotated");
    }
    const log = await env.log(page);
    assert.ok(log.filter((e) => e.type === "expiring").length >= 2, "expiring events");

    // Burst: a long-lived token first, so that no proactive refresh can fall
    // into the burst; then the API refuses every token issued so far.
    await waitFor(async () => (await page.evaluate(() => window.spa.state().accessToken)) === env.idp.calls.at(-1).accessToken, { what: "new token in place" });
    env.idp.settings.accessTtl = 300;
    assert.deepEqual(await page.evaluate(() => window.spa.refresh().then((r) => r.ok)), true);
    assert.ok((await page.evaluate(() => window.spa.state().refreshAt)) > Date.now() + 200_000, "no proactive refresh during the burst");
    const before = env.idp.refreshCalls().length;
    await env.burnAfterUse(page);
    const results = await page.evaluate(() => window.spa.fetchMany(50, "/api/orders"));
    assert.equal(env.idp.refreshCalls().length - before, 1, "exactly one refresh for 50 401s");
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
    const newest = env.idp.calls.at(-1).accessToken;
    assert.equal(env.app.apiCalls.filter((c) => c.ok).slice(-50).every((c) => c.token === newest), true, "every request replayed with the new token");
    env.assertNoReuse();
    await env.finish();
  });

  test("opaque access tokens: proactive refresh from expires_in, then 50 concurrent 401s make exactly one refresh", async () => {
    const env = await startOidcEnv(browser, { format: "opaque", accessTtl: 9 });
    const page = await env.login();
    const [code] = env.idp.calls;
    assert.equal(code.accessToken.split(".").length, 1, "an opaque access token");
    assert.equal(code.expiresIn, 9);
    await env.create(page, QUIET);
    await env.setSession(page);
    assert.deepEqual((await page.evaluate(() => window.spa.fetch("/api/me"))).body.format, "opaque");

    await waitFor(() => env.idp.refreshCalls().length >= 1, { timeoutMs: 30_000, what: "a proactive refresh" });
    const [refresh] = env.idp.refreshCalls();
    assert.equal(refresh.status, 200);
    assert.ok(refresh.at < code.at + 9000, "refreshed before the access token expired");
    await waitFor(async () => (await page.evaluate(() => window.spa.state().accessToken)) === refresh.accessToken, { what: "new token in place" });

    env.idp.settings.accessTtl = 300;
    assert.equal(await page.evaluate(() => window.spa.refresh().then((r) => r.ok)), true);
    assert.ok((await page.evaluate(() => window.spa.state().refreshAt)) > Date.now() + 200_000, "no proactive refresh during the burst");
    const before = env.idp.refreshCalls().length;
    await env.burnAfterUse(page);
    const results = await page.evaluate(() => window.spa.fetchMany(50, "/api/orders"));
    assert.equal(env.idp.refreshCalls().length - before, 1, "exactly one refresh for 50 401s");
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set([200]));
    assert.ok(results.every((r) => r.body.format === "opaque"));
    const warnings = (await env.log(page)).filter((e) => e.type === "warning" && e.detail.code === "token_without_exp");
    assert.deepEqual(warnings, [], "expires_in was given: no token_without_exp warning");
    env.assertNoReuse();
    await env.finish();
  });

  test("rotation across two tabs: 20 rotations, racing refreshes and a two-tab 401 burst, zero reuse", async () => {
    const env = await startOidcEnv(browser, { format: "jwt", accessTtl: 300 });
    const a = await env.login();
    await env.create(a, QUIET);
    await env.setSession(a);
    const b = await env.newPage();
    await env.create(b, QUIET);
    // The second tab is signed in by the first (memory storage, crossTab).
    const sameToken = async () => {
      const [ta, tb] = await Promise.all([a, b].map((p) => p.evaluate(() => window.spa.state().accessToken)));
      return ta !== null && ta === tb && ta === env.idp.calls.at(-1).accessToken;
    };
    await waitFor(sameToken, { what: "tab B signed in by tab A" });

    // 20 sequential rotations, alternating tabs; after each one both tabs hold the new tokens.
    for (let i = 0; i < 20; i++) {
      const tab = i % 2 === 0 ? a : b;
      const r = await tab.evaluate(() => window.spa.refresh());
      assert.equal(r.ok, true, `rotation ${i + 1}: ${JSON.stringify(r)}`);
      assert.equal(env.idp.refreshCalls().length, i + 1);
      await waitFor(sameToken, { what: `both tabs on rotation ${i + 1}` });
    }

    // Racing refreshes: tab A's refresh is held at the provider while tab B
    // asks for one too; B waits for the lock, then takes A's tokens.
    for (let round = 0; round < 3; round++) {
      const before = env.idp.refreshCalls().length;
      const release = env.idp.hold();
      await a.evaluate(() => window.spa.refreshInBackground());
      await waitFor(() => env.idp.held === 1, { what: "tab A's refresh at the provider" });
      await b.evaluate(() => window.spa.refreshInBackground());
      release();
      for (const tab of [a, b]) {
        await waitFor(async () => (await env.log(tab)).filter((e) => e.type === "refreshDone").length === round + 1, { what: "both refresh() calls settled" });
      }
      for (const tab of [a, b]) assert.equal((await env.log(tab)).filter((e) => e.type === "refreshDone").at(-1).detail.ok, true);
      assert.equal(env.idp.refreshCalls().length - before, 1, `race ${round + 1}: one refresh for two tabs`);
      await waitFor(sameToken, { what: "both tabs on the raced rotation" });
    }

    // A 401 burst in both tabs at once: one refresh for all of them.
    const before = env.idp.refreshCalls().length;
    await env.burnAfterUse(a, b);
    const [ra, rb] = await Promise.all([a, b].map((p) => p.evaluate(() => window.spa.fetchMany(10, "/api/orders"))));
    assert.deepEqual(new Set([...ra, ...rb].map((r) => r.status)), new Set([200]));
    assert.equal(env.idp.refreshCalls().length - before, 1, "one refresh for a burst of 401s in two tabs");

    env.assertNoReuse();
    for (const tab of [a, b]) {
      const log = await env.log(tab);
      assert.deepEqual(log.filter((e) => e.type === "sessionExpired" || e.type === "error"), [], "no error, no session end");
    }
    await env.finish();
  });

  test("reuse detection: a replayed old refresh token revokes the grant; tokenwarden ends the session cleanly (sessionExpired, draft saved, login redirect)", async () => {
    const env = await startOidcEnv(browser, { format: "jwt", accessTtl: 300 });
    const page = await env.login();
    await env.create(page, QUIET);
    await env.setSession(page);
    const old = env.idp.calls[0].refreshToken;
    assert.equal((await page.evaluate(() => window.spa.refresh())).ok, true);
    assert.equal(env.idp.refreshCalls()[0].presented, old);

    // An attacker (or a buggy second client) replays the rotated token.
    const replay = await env.postForm("/token", { grant_type: "refresh_token", refresh_token: old, client_id: "tokenwarden-spa" });
    assert.equal(replay.status, 400);
    assert.equal(replay.body.error, "invalid_grant");
    await waitFor(() => env.idp.events.some((e) => e.name === "grant.revoked"), { what: "grant.revoked" });

    // The user is typing when the session ends.
    await page.fill('input[name="title"]', "half-written note");
    await page.fill('input[name="password"]', "s3cret");
    const refreshesBefore = env.idp.refreshCalls().length;
    await env.burnAfterUse(page);
    await page.evaluate(() => window.spa.fetchInBackground(1, "/api/orders"));
    await page.waitForURL((u) => u.pathname === "/login.html");
    const url = new URL(page.url());
    assert.equal(url.searchParams.get("returnTo"), "/");

    const log = await env.log(page);
    const ended = log.filter((e) => e.type === "sessionExpired");
    assert.deepEqual(ended.map((e) => e.detail.reason), ["refresh_rejected"]);
    // The request whose 401 started the refresh waited for it, and was
    // rejected before the page left.
    const settled = log.filter((e) => e.type === "settled");
    assert.deepEqual(settled.map((s) => s.detail.error?.code), ["session_expired"]);
    // One refresh with the (revoked) current token, refused, not retried.
    const after = env.idp.refreshCalls().slice(refreshesBefore);
    assert.equal(after.length, 1);
    assert.equal(after[0].status, 400);
    assert.equal(after[0].error, "invalid_grant");

    const drafts = await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith("tokenwarden:draft:")).map((k) => localStorage.getItem(k)));
    assert.equal(drafts.length, 1, "the form was saved as a draft");
    assert.match(drafts[0], /half-written note/);
    assert.doesNotMatch(drafts[0], /s3cret/, "never the password");
    await env.finish();
  });

  test("revocation endpoint: a revoked refresh token makes the next refresh end the session (redirect: false keeps the page)", async () => {
    const env = await startOidcEnv(browser, { format: "opaque", accessTtl: 300 });
    const page = await env.login();
    await env.create(page, { ...QUIET, redirect: false });
    await env.setSession(page);
    assert.equal((await page.evaluate(() => window.spa.refresh())).ok, true);
    assert.equal((await page.evaluate(() => window.spa.fetch("/api/me"))).status, 200);

    const revoked = await env.postForm("/token/revocation", {
      token: env.latestRefreshToken(),
      token_type_hint: "refresh_token",
      client_id: "tokenwarden-spa",
    });
    assert.equal(revoked.status, 200);
    await waitFor(() => env.idp.events.some((e) => e.name === "grant.revoked"), { what: "grant.revoked" });

    // Revoking the refresh token revoked its grant, and with it the opaque
    // access token: the API now answers 401 by itself.
    const before = env.idp.refreshCalls().length;
    const results = await page.evaluate(() => window.spa.fetchMany(5, "/api/orders"));
    // The request(s) that waited for the refresh are rejected; a 401 that
    // comes back after the session ended is handed over as it is. Nothing
    // hangs, nothing is replayed.
    for (const r of results) assert.ok(r.error?.code === "session_expired" || r.status === 401, JSON.stringify(r));
    assert.ok(results.some((r) => r.error?.code === "session_expired"), "the waiting requests are rejected with session_expired");
    const after = env.idp.refreshCalls().slice(before);
    assert.deepEqual(after.map((c) => [c.status, c.error]), [[400, "invalid_grant"]]);
    const log = await env.log(page);
    assert.deepEqual(log.filter((e) => e.type === "sessionExpired").map((e) => e.detail.reason), ["refresh_rejected"]);
    assert.equal(new URL(page.url()).pathname, "/", "redirect: false stays on the page");
    assert.equal(await page.evaluate(() => window.spa.state().accessToken), null, "tokens cleared");
    // Signed out: a request goes out without a token and is not queued.
    const plain = await page.evaluate(() => window.spa.fetch("/api/orders"));
    assert.equal(plain.status, 401);
    assert.equal(env.idp.refreshCalls().length - before, 1, "no refresh after the session ended");
    await env.finish();
  });

  test("provider restart: refreshes during the downtime are retried, requests wait and succeed after, no session loss", async () => {
    const env = await startOidcEnv(browser, { format: "jwt", accessTtl: 300 });
    const page = await env.login();
    await env.create(page, { ...QUIET, retryAttempts: 50, retryBaseSeconds: 0.2, queueTimeoutSeconds: 60 });
    await env.setSession(page);
    assert.equal((await page.evaluate(() => window.spa.refresh())).ok, true);

    await env.burnAfterUse(page);
    await env.idp.stop();
    await page.evaluate(() => window.spa.fetchInBackground(5, "/api/orders"));
    // The refresh fails while the provider is down, and is retried.
    await waitFor(async () => (await env.log(page)).filter((e) => e.type === "error" && e.detail.code === "refresh_failed").length >= 2, {
      timeoutMs: 30_000,
      what: "two failed refresh attempts during the downtime",
    });
    assert.equal((await env.log(page)).filter((e) => e.type === "settled").length, 0, "the requests are still waiting");

    await env.idp.start();
    await waitFor(async () => (await env.log(page)).filter((e) => e.type === "settled").length === 5, { timeoutMs: 30_000, what: "the waiting requests" });
    const settled = (await env.log(page)).filter((e) => e.type === "settled");
    assert.deepEqual(new Set(settled.map((s) => s.detail.status)), new Set([200]));

    // Same storage and keys: the session carries on with the restarted provider.
    assert.equal((await page.evaluate(() => window.spa.refresh())).ok, true);
    assert.equal((await page.evaluate(() => window.spa.fetch("/api/me"))).status, 200);
    const log = await env.log(page);
    assert.deepEqual(log.filter((e) => e.type === "sessionExpired"), []);
    env.assertNoReuse();
    await env.finish();
  });

  test("issue 12 item 6: a 200 refresh with a new refresh_token and an opaque access token without expires_in is used, not retried with the old refresh token; setSession likewise", async () => {
    const env = await startOidcEnv(browser, { format: "opaque", accessTtl: 300 });
    const page = await env.login();
    await env.create(page, { ...QUIET, retryBaseSeconds: 0.1, retryAttempts: 2 });
    await env.setSession(page);

    env.idp.stripExpiresIn = true;
    const r = await page.evaluate(() => window.spa.refresh());
    env.idp.stripExpiresIn = false;
    const [first] = env.idp.refreshCalls();
    assert.equal(first.status, 200);
    assert.equal(first.expiresIn, undefined, "the response had no expires_in");
    const trail = env.idp.calls.map((c, i) => `${c.grantType} ${c.status}${c.error ? ` ${c.error}` : ""}${i > 0 && c.presented === env.idp.calls[i - 1].presented ? " (same refresh token again)" : ""}`);
    assert.equal(r.ok, true, `auth.refresh() after an incomplete 2xx: ${JSON.stringify(r)}; token endpoint: ${trail.join(", ")}; provider events: ${env.idp.events.map((e) => e.name).join(", ")}`);
    assert.equal(r.accessToken, first.accessToken, "the new opaque access token is in use");
    const log = await env.log(page);
    assert.ok(log.some((e) => e.type === "warning" && e.detail.code === "token_without_exp"), "token_without_exp warning");

    // The rotated refresh token is the current one: the next refresh presents it.
    assert.equal((await page.evaluate(() => window.spa.refresh())).ok, true);
    assert.equal(env.idp.refreshCalls().length, 2);
    env.assertNoReuse();
    assert.equal((await page.evaluate(() => window.spa.fetch("/api/me"))).status, 200);

    // Likewise setSession with the provider's opaque access token and no
    // expiresIn: accepted, with the same warning.
    const latest = env.idp.calls.at(-1);
    const warningsBefore = (await env.log(page)).filter((e) => e.type === "warning" && e.detail.code === "token_without_exp").length;
    const set = await page.evaluate((s) => window.spa.setSessionWith(s), { accessToken: latest.accessToken, refreshToken: latest.refreshToken });
    assert.equal(set.ok, true, `setSession with an opaque token and no expiresIn: ${JSON.stringify(set)}`);
    assert.equal(set.accessToken, latest.accessToken);
    const warningsAfter = (await env.log(page)).filter((e) => e.type === "warning" && e.detail.code === "token_without_exp").length;
    assert.equal(warningsAfter, warningsBefore + 1, "token_without_exp warning for setSession");
    assert.equal((await page.evaluate(() => window.spa.fetch("/api/me"))).status, 200);
    await env.finish();
  });
});
