// Shared plumbing for the browser tests: headless Chromium through
// playwright-core, a demo server per test on port 0, page-error and
// pending-request bookkeeping, and polling helpers.
//
// Every browser scenario follows the same shape:
//
//   const env = await startEnv({ accessTtlSeconds: 4 });
//   const page = await env.newPage("/test/harness.html");
//   ... drive the page, assert on env.stats() ...
//   await env.finish();   // asserts: no page errors, no wasm panic, no request pending
//
// `finish()` is the "no request left pending at the end of any scenario"
// check: every request the page started must have finished or failed.

import { chromium } from "playwright-core";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname, join, resolve } from "node:path";
import { createDemoServer } from "../../www/auth-server.mjs";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** The built package to test: dist/, or TOKENWARDEN_DIST (e.g. a private build). */
export const DIST_DIR = resolve(process.env.TOKENWARDEN_DIST ?? join(REPO_ROOT, "dist"));

/** Chromium flags that work as root on a machine with only loopback networking. */
export const CHROMIUM_ARGS = [
  "--headless=new",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

/** Launch headless Chromium (the system one; never downloads a browser). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: true,
  });
}

/**
 * Why the browser scenarios cannot run, or `null` when they can: the built
 * package must exist and export the token manager.
 */
export function runtimeMissingReason() {
  const entry = join(DIST_DIR, "index.js");
  if (!existsSync(entry)) return "dist/index.js not built (run `npm run build`)";
  const src = readFileSync(entry, "utf8");
  // A minified ESM bundle still exports the name verbatim.
  if (!/\bcreateTokenManager\b/.test(src)) return "dist/index.js does not export createTokenManager yet (runtime not landed)";
  return null;
}

/** Whether dist/ has the wasm module at all (enough for the init/decodeJwt checks). */
export function distMissingReason() {
  for (const f of ["index.js", "tokenwarden_bg.wasm"]) {
    if (!existsSync(join(DIST_DIR, f))) return `dist/${f} not built (run \`npm run build\`)`;
  }
  return null;
}

/** Poll `fn` until it returns a truthy value; fail with `what` after `timeoutMs`. */
export async function waitFor(fn, { timeoutMs = 15_000, intervalMs = 50, what = "condition" } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * Attach bookkeeping to a page: uncaught errors, console errors, wasm panics,
 * and the set of requests that have started but not finished.
 */
export function watchPage(page, { allowConsoleErrors = [] } = {}) {
  const problems = [];
  const pending = new Map();
  const requests = [];
  page.on("pageerror", (err) => problems.push(`pageerror: ${err.message}`));
  page.on("console", (msg) => {
    const text = msg.text();
    if (/unreachable|RuntimeError|panicked/i.test(text)) problems.push(`wasm panic? console.${msg.type()}: ${text}`);
    else if (msg.type() === "error" && !allowConsoleErrors.some((re) => re.test(text))) {
      // Failed loads (our own 401/500/dropped responses) are logged by Chromium
      // as console errors: expected in these scenarios, not a bug.
      if (!/Failed to load resource|net::ERR_/.test(text)) problems.push(`console.error: ${text}`);
    }
  });
  page.on("request", (req) => {
    pending.set(req, `${req.method()} ${req.url()}`);
    requests.push(req);
  });
  // A request stops being pending once its response arrived (or it failed).
  // Not "requestfinished": Chromium reports that only when the page reads the
  // body, and a body nobody reads is not a hanging request.
  page.on("response", (res) => pending.delete(res.request()));
  page.on("requestfinished", (req) => pending.delete(req));
  page.on("requestfailed", (req) => pending.delete(req));
  return {
    page,
    problems,
    requests,
    /** Requests started and not finished/failed, as "METHOD url". */
    pending: () => [...pending.values()],
  };
}

/**
 * A demo server plus a browser context. `options` go to createDemoServer;
 * `contextOptions` to browser.newContext.
 */
// Every env not yet closed. A test that fails an assertion never reaches
// `env.finish()`; its server and context would then keep node alive, so the
// test files close whatever is left in their `after` hooks.
const openEnvs = new Set();

/** Close every env a failed test left open (servers, contexts). */
export async function closeOpenEnvs() {
  await Promise.all([...openEnvs].map((env) => env.close()));
}

export async function startEnv(options = {}, { contextOptions = {}, browser: sharedBrowser } = {}) {
  const demo = await createDemoServer({ distDir: DIST_DIR, ...options });
  const browser = sharedBrowser ?? (await launchBrowser());
  const context = await browser.newContext({ viewport: { width: 1100, height: 900 }, ...contextOptions });
  const watched = [];

  const env = {
    demo,
    url: demo.url,
    browser,
    context,
    watched,
    /** Open `path` on the demo server in a new tab, with bookkeeping attached. */
    async newPage(path = "/", watchOpts) {
      const page = await context.newPage();
      const w = watchPage(page, watchOpts);
      watched.push({ page, w });
      page.watch = w;
      if (path !== null) await page.goto(demo.url + path);
      return page;
    },
    /** The server's counters. */
    async stats() {
      return (await fetch(demo.url + "/demo/stats")).json();
    },
    /** Set fault knobs (see POST /demo/faults). */
    async faults(f) {
      const r = await fetch(demo.url + "/demo/faults", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(f),
      });
      const text = await r.text();
      assert.equal(r.status, 200, text);
      return JSON.parse(text);
    },
    /** The server's log of recent /api and refresh requests. */
    async log() {
      return (await (await fetch(demo.url + "/demo/log")).json()).recent;
    },
    /** Log in over HTTP from node (for tests that inject tokens). */
    async login(username = "tester") {
      const r = await fetch(demo.url + "/auth/login", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ username, password: "demo" }),
      });
      assert.equal(r.status, 200);
      return r.json();
    },
    /**
     * End of scenario: no uncaught page error or wasm panic, no request left
     * pending in any page, nothing in flight on the server. Then tear down.
     */
    async finish({ checkPending = true } = {}) {
      try {
        if (checkPending) {
          // Give responses that are already on the wire a moment to be
          // reported, then require zero.
          for (const { w } of watched) {
            await waitFor(() => w.pending().length === 0, { timeoutMs: 5000, what: "no pending requests" }).catch(() => {});
            assert.deepEqual(w.pending(), [], "requests left pending at the end of the scenario");
            // Every auth.fetch the harness started has settled.
            if (!w.page.isClosed()) {
              const outstanding = await w.page.evaluate(() => window.harness?.outstanding ?? 0).catch(() => 0);
              assert.equal(outstanding, 0, "auth.fetch calls still unsettled");
            }
          }
          await waitFor(async () => (await env.stats()).inflight === 0, { timeoutMs: 5000, what: "server idle" }).catch(() => {});
          assert.equal((await env.stats()).inflight, 0, "server still has requests in flight");
        }
        for (const { w } of watched) assert.deepEqual(w.problems, [], "page errors / wasm panics");
      } finally {
        await env.close();
      }
    },
    async close() {
      if (!openEnvs.delete(env)) return; // closed already
      await context.close().catch(() => {});
      if (!sharedBrowser) await browser.close().catch(() => {});
      await demo.close();
    },
  };
  openEnvs.add(env);
  return env;
}
