// tokenwarden/react and tokenwarden/vue in headless Chromium, with real
// React 19 (development build, so StrictMode double-mounts) and Vue 3 builds
// bundled from the packed package.
//
// Run: node --test tests/recipes/bindings.test.mjs   (after `npm run build`)

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { demoClient, esbuildApps, launchBrowser, prepareApp, skipReason, startServer, waitReady, watchPage } from "./helpers.mjs";

const T = { timeout: 180_000 };

// Counts, in the page, the managers' BroadcastChannels that are open and the
// Web Lock requests they make (what a second, orphaned manager would add).
function instrument() {
  const tw = (window.__tw = { channelsOpen: 0, channelsCreated: 0, lockRequests: [] });
  const Native = window.BroadcastChannel;
  window.BroadcastChannel = class extends Native {
    constructor(name) {
      super(name);
      if (String(name).startsWith("tokenwarden:")) {
        this.__counted = true;
        tw.channelsOpen++;
        tw.channelsCreated++;
      }
    }
    close() {
      if (this.__counted && !this.__closed) {
        this.__closed = true;
        tw.channelsOpen--;
      }
      return super.close();
    }
  };
  if (navigator.locks) {
    const request = navigator.locks.request.bind(navigator.locks);
    navigator.locks.request = (name, ...rest) => {
      tw.lockRequests.push(String(name));
      return request(name, ...rest);
    };
  }
}

/** The distinct session objects the app's renders saw, in order, as plain data. */
const sessions = (page) =>
  page.evaluate(() => {
    const distinct = [];
    for (const s of window.renders) if (distinct[distinct.length - 1] !== s) distinct.push(s);
    return { renders: window.renders.length, distinct: distinct.map((s) => ({ status: s.status, accessToken: s.accessToken, sub: s.claims?.sub ?? null, expiresAt: s.expiresAt })) };
  });

const statusText = (page) => page.evaluate(() => document.getElementById("status")?.textContent ?? null);

describe("framework bindings with the packed package", { skip: skipReason() }, () => {
  let app;
  let browser;
  let demo;
  let knobs;

  before(async () => {
    app = prepareApp("bindings");
    await esbuildApps(app.work, ["react-bindings.jsx", "vue-bindings.js"], { development: true });
    browser = await launchBrowser();
    demo = await startServer(app.work);
    knobs = demoClient(demo.url);
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    app?.cleanup();
  });

  async function open(context, path) {
    const page = await context.newPage();
    const w = watchPage(page);
    await page.goto(demo.url + path);
    return { page, w };
  }

  test("the package ships both bindings with their types; React and Vue are optional peers the main entry never imports", () => {
    for (const f of ["dist/react.js", "dist/react.d.ts", "dist/vue.js", "dist/vue.d.ts"]) assert.ok(app.files.includes(f), f);
    const pkg = JSON.parse(readFileSync(join(app.pkgDir, "package.json"), "utf8"));
    for (const [sub, file] of [["./react", "react"], ["./vue", "vue"]]) {
      assert.deepEqual(Object.keys(pkg.exports[sub]), ["types", "default"], `${sub}: types first`);
      assert.equal(pkg.exports[sub].default, `./dist/${file}.js`);
      assert.equal(pkg.peerDependenciesMeta[file].optional, true, `${file} is an optional peer`);
    }
    const imports = (file) => [...readFileSync(join(app.pkgDir, "dist", file), "utf8").matchAll(/\bfrom\s*["']([^"']+)["']|\bimport\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1] ?? m[2]);
    assert.deepEqual(imports("index.js"), [], "the main entry imports nothing");
    // Each binding imports its framework and the package's own entry (one wasm instance).
    assert.deepEqual(imports("react.js").sort(), ["./index.js", "react"]);
    assert.deepEqual(imports("vue.js").sort(), ["./index.js", "vue"]);
  });

  test("react: the fallback is shown while the manager loads, then the children", T, async () => {
    await knobs.reset();
    const context = await browser.newContext();
    try {
      await context.addInitScript(instrument);
      let release;
      const gate = new Promise((r) => (release = r));
      await context.route("**/*.wasm", async (route) => {
        await gate;
        await route.continue();
      });
      const { page, w } = await open(context, "/react-bindings.html");
      await page.waitForSelector("#fallback", { timeout: 30_000 });
      assert.equal(await statusText(page), null, "children not rendered while loading");
      release();
      await waitReady(page);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "signedOut");
      assert.equal(await page.$("#fallback"), null, "fallback gone");
      const { distinct } = await sessions(page);
      assert.deepEqual(distinct.map((s) => s.status), ["signedOut"], "children rendered only once ready");
      assert.deepEqual(w.problems, []);
    } finally {
      await context.close();
    }
  });

  test("react: a manager that cannot be created gives status \"error\" with the TokenError, not the fallback forever", T, async () => {
    const context = await browser.newContext();
    try {
      const { page, w } = await open(context, "/react-bindings.html?bad");
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "error (config)", null, { timeout: 30_000 });
      assert.equal(await page.$("#fallback"), null);
      assert.equal(await page.evaluate(() => window.renders.at(-1).error.option), "noSuchOption");
      assert.deepEqual(w.problems, []);
    } finally {
      await context.close();
    }
  });

  test("react: StrictMode makes one manager and one refresh of an expired stored session", T, async () => {
    await knobs.reset();
    const context = await browser.newContext();
    try {
      await context.addInitScript(instrument);
      // 1. Sign in with 2-second access tokens (storage "local"), then leave.
      await knobs.faults({ accessTtlSeconds: 2 });
      const first = await open(context, "/react-bindings.html");
      await waitReady(first.page);
      const expiresAt = await first.page.evaluate(async () => {
        await window.app.login();
        return window.app.auth.expiresAt;
      });
      await first.page.close();
      // 2. Wait until that access token has expired; count from here.
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAt - Date.now()) + 300));
      await knobs.faults({ accessTtlSeconds: 30 });
      const before = await knobs.stats();
      // 3. Come back: the (double-mounted) provider finds the stored session and refreshes it.
      const { page, w } = await open(context, "/react-bindings.html");
      await waitReady(page);
      await page.waitForFunction(() => /^signedIn as recipe$/.test(document.getElementById("status")?.textContent ?? ""), null, { timeout: 30_000 });
      await page.waitForFunction(() => window.app.auth.expiresAt > Date.now() + 20_000, null, { timeout: 30_000 });
      await page.waitForFunction(async () => {
        const q = await navigator.locks.query();
        return q.held.length === 0 && q.pending.length === 0;
      });
      const after = await knobs.stats();
      assert.equal(after.refreshCalls - before.refreshCalls, 1, "exactly one refresh at the server");
      assert.equal(after.reuseDetections, 0, "no refresh token presented twice");
      const tw = await page.evaluate(() => window.__tw);
      assert.equal(tw.channelsCreated, 1, "the double mount created one manager, not a second one");
      assert.equal(tw.channelsOpen, 1, "one live manager");
      assert.deepEqual(tw.lockRequests.filter((n) => n.startsWith("tokenwarden:refresh:")), ["tokenwarden:refresh:bindings"], "one manager took the refresh lock, once");
      assert.deepEqual(w.problems, []);
    } finally {
      await context.close();
    }
  });

  test("react: useSession keeps its object until a refresh, then gives a new one; options read once; unmount disposes", T, async () => {
    await knobs.reset();
    const context = await browser.newContext();
    try {
      await context.addInitScript(instrument);
      const { page, w } = await open(context, "/react-bindings.html");
      await waitReady(page);
      await page.evaluate(() => {
        window.__firstAuth = window.app.auth;
        return window.app.login();
      });
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "signedIn as recipe");
      const signedIn = await sessions(page);
      assert.deepEqual(signedIn.distinct.map((s) => s.status), ["signedOut", "signedIn"]);

      // Unrelated re-renders: the same session object every time.
      for (let i = 1; i <= 3; i++) {
        await page.evaluate(() => window.app.rerender());
        await page.waitForFunction((n) => document.getElementById("status").dataset.tick === String(n), i);
      }
      // The provider re-rendered with a new options object: still the same manager.
      for (let i = 1; i <= 2; i++) {
        await page.evaluate(() => window.rerenderRoot());
        await page.waitForFunction((n) => document.getElementById("root-renders").dataset.n === String(n), i);
      }
      const rerendered = await sessions(page);
      assert.ok(rerendered.renders > signedIn.renders, "the component re-rendered");
      assert.deepEqual(rerendered.distinct, signedIn.distinct, "the same snapshot object across re-renders");
      assert.equal(await page.evaluate(() => window.__tw.channelsCreated), 1, "options are read once: no second manager");
      assert.equal(await page.evaluate(() => window.app.auth === window.__firstAuth), true);

      // A refresh on 401 through the library: one new snapshot with the new token.
      await knobs.faults({ expireAccessTokens: true });
      const res = await page.evaluate(async () => (await window.app.auth.fetch("/api/me")).status);
      assert.equal(res, 200);
      await page.waitForFunction((n) => {
        const d = new Set(window.renders);
        return d.size >= n;
      }, signedIn.distinct.length + 1);
      const refreshed = await sessions(page);
      assert.equal(refreshed.distinct.length, 3);
      const [, old, fresh] = refreshed.distinct;
      assert.equal(fresh.status, "signedIn");
      assert.notEqual(fresh.accessToken, old.accessToken, "the new snapshot has the new token");
      assert.equal(fresh.accessToken, await page.evaluate(() => window.app.auth.accessToken));
      assert.ok(fresh.expiresAt >= old.expiresAt);
      assert.equal(fresh.sub, "recipe");
      assert.equal((await knobs.stats()).refreshCalls, 1);

      // A real unmount disposes the manager (after StrictMode's grace tick).
      assert.equal(await page.evaluate(() => window.__tw.channelsOpen), 1);
      await page.evaluate(() => window.app.unmount());
      await page.waitForFunction(() => window.__tw.channelsOpen === 0, null, { timeout: 10_000 });
      const code = await page.evaluate(() => window.app.auth.fetch("/api/me").then(() => "resolved", (e) => e.code));
      assert.equal(code, "disposed");
      assert.deepEqual(w.problems, []);
    } finally {
      await context.close();
    }
  });

  test("vue: the plugin creates the manager; useSession is reactive and stable; unmount disposes", T, async () => {
    await knobs.reset();
    const context = await browser.newContext();
    try {
      await context.addInitScript(instrument);
      const { page, w } = await open(context, "/vue-bindings.html");
      await waitReady(page);
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "signedOut");
      await page.evaluate(() => window.app.login());
      await page.waitForFunction(() => document.getElementById("status")?.textContent === "signedIn as recipe");
      const signedIn = await sessions(page);
      assert.deepEqual(signedIn.distinct.map((s) => s.status), ["loading", "signedOut", "signedIn"]);

      for (let i = 1; i <= 3; i++) {
        await page.evaluate(() => window.app.rerender());
        await page.waitForFunction((n) => document.getElementById("status").dataset.tick === String(n), i);
      }
      const rerendered = await sessions(page);
      assert.ok(rerendered.renders > signedIn.renders, "the component re-rendered");
      assert.deepEqual(rerendered.distinct, signedIn.distinct, "the same snapshot object across re-renders");

      await knobs.faults({ expireAccessTokens: true });
      assert.equal(await page.evaluate(async () => (await window.app.auth.fetch("/api/me")).status), 200);
      await page.waitForFunction((n) => new Set(window.renders).size >= n, signedIn.distinct.length + 1);
      const refreshed = await sessions(page);
      assert.equal(refreshed.distinct.length, 4);
      const [, , old, fresh] = refreshed.distinct;
      assert.notEqual(fresh.accessToken, old.accessToken);
      assert.equal(fresh.accessToken, await page.evaluate(() => window.app.auth.accessToken));
      assert.equal((await knobs.stats()).refreshCalls, 1);
      assert.equal(await page.evaluate(() => window.__tw.channelsCreated), 1, "one manager");

      await page.evaluate(() => window.app.unmount());
      await page.waitForFunction(() => window.__tw.channelsOpen === 0, null, { timeout: 10_000 });
      assert.equal(await page.evaluate(() => window.app.auth.fetch("/api/me").then(() => "resolved", (e) => e.code)), "disposed");
      assert.deepEqual(w.problems, []);
    } finally {
      await context.close();
    }
  });

  test("vue: server-side render with the plugin creates no manager and renders \"loading\"", T, async () => {
    // In node, from the scratch app: "vue", "vue/server-renderer" and "tokenwarden/vue" by name.
    const { render } = await import(pathToFileURL(join(app.work, "vue-ssr.mjs")).href);
    assert.equal(await render(), "<p>loading true</p>");
  });
});
