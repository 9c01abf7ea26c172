// Recipes (README, "Recipes"), each in headless Chromium with the package as
// `npm pack` ships it: axios (fetch adapter), ky, ofetch, urql, TanStack
// Query, a plain <script type="module"> page, Vite build and dev server,
// webpack 5, and server-side rendering with Vite SSR. Each one signs in, makes
// an authenticated call through the recipe's client, and after the server
// revoked the access token, gets one 401, exactly one refresh and a replay.
//
// Run: node --test tests/recipes/recipes.test.mjs   (after `npm run build`)

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assertRecipe, esbuildApps, launchBrowser, prepareApp, skipReason, startServer } from "./helpers.mjs";

const T = { timeout: 180_000 };

describe("recipes with the packed package", { skip: skipReason() }, () => {
  let app;
  let browser;
  let demo;

  before(async () => {
    app = prepareApp("recipes");
    await esbuildApps(app.work, ["axios.js", "ky.js", "ofetch.js", "urql.js", "tanstack.jsx"]);
    browser = await launchBrowser();
    demo = await startServer(app.work);
  });

  after(async () => {
    await browser?.close();
    await demo?.close();
    app?.cleanup();
  });

  const run = (path, label, opts) => assertRecipe(browser, demo, demo.url + path, label, opts);

  test("recipe: axios with adapter \"fetch\" and env.fetch = auth.fetch", T, () => run("/axios.html", "axios"));

  test("recipe: ky.create({ fetch: auth.fetch })", T, () => run("/ky.html", "ky"));

  test("recipe: ofetch createFetch({ fetch: auth.fetch })", T, () => run("/ofetch.html", "ofetch"));

  test("recipe: urql Client({ fetch: auth.fetch }) (GraphQL)", T, () => run("/urql.html", "urql"));

  test("recipe: TanStack Query (React) with query functions on auth.fetch", T, () =>
    run("/tanstack.html", "tanstack", {
      after: async (page, { second }) => {
        // The useQuery component shows the refetched data.
        await page.waitForFunction((text) => document.getElementById("me")?.textContent === text, `recipe ${second.data.jti}`, { timeout: 30_000 });
      },
    }));

  test("recipe: plain <script type=module> importing dist/index.js by URL", T, () => run("/plain.html", "plain"));

  test("recipe: Vite 7 build", T, async () => {
    const { build } = await import("vite");
    await build({
      root: app.work,
      configFile: false,
      logLevel: "error",
      base: "./",
      define: { __BUNDLER__: JSON.stringify("vite") },
      build: { outDir: join(app.work, "out-vite"), emptyOutDir: true, rollupOptions: { input: join(app.work, "bundled.html") } },
    });
    const assets = readdirSync(join(app.work, "out-vite", "assets"));
    assert.ok(assets.some((f) => f.endsWith(".wasm")), `Vite emitted the .wasm: ${assets}`);
    await run("/out-vite/bundled.html", "vite build");
  });

  test("recipe: Vite 7 dev server, no wasm configuration (proxying /api and /auth)", T, async () => {
    const { createServer } = await import("vite");
    const dev = await createServer({
      root: app.work,
      configFile: false,
      logLevel: "error",
      define: { __BUNDLER__: JSON.stringify("vite-dev") },
      server: { host: "127.0.0.1", port: 0, proxy: { "/api": demo.url, "/auth": demo.url } },
    });
    await dev.listen();
    try {
      const base = dev.resolvedUrls.local[0].replace(/\/$/, "");
      await assertRecipe(browser, demo, base + "/bundled.html", "vite dev");
    } finally {
      await dev.close();
    }
  });

  test("recipe: webpack 5 build", T, async () => {
    const { default: webpack } = await import("webpack");
    const outDir = join(app.work, "out-webpack");
    const stats = await new Promise((ok, fail) =>
      webpack({
        mode: "production",
        context: app.work,
        entry: "./bundled.js",
        target: "web",
        devtool: false,
        performance: { hints: false },
        output: { path: outDir, filename: "main.js", publicPath: "auto", clean: true },
        plugins: [new webpack.DefinePlugin({ __BUNDLER__: JSON.stringify("webpack") })],
      }, (err, s) => (err ? fail(err) : ok(s))),
    );
    assert.equal(stats.hasErrors(), false, stats.toString({ all: false, errors: true }));
    assert.ok(readdirSync(outDir).some((f) => f.endsWith(".wasm")), "webpack emitted the .wasm");
    writeFileSync(join(outDir, "index.html"),
      '<!doctype html><html><head><meta charset="utf-8"><title>pending</title>' +
      '<script defer src="./main.js"></script></head><body></body></html>\n');
    await run("/out-webpack/index.html", "webpack");
  });

  test("recipe: Vite SSR (React): the server render imports the package, the browser creates the manager", T, async () => {
    const { build } = await import("vite");
    const common = { root: app.work, configFile: false, logLevel: "error", base: "./", esbuild: { jsx: "automatic" } };
    await build({
      ...common,
      build: { outDir: join(app.work, "out-ssr"), emptyOutDir: true, rollupOptions: { input: join(app.work, "ssr.html") } },
    });
    await build({
      ...common,
      build: { ssr: join(app.work, "ssr/entry-server.jsx"), outDir: join(app.work, "out-ssr-server"), emptyOutDir: true },
    });
    // In node: importing the server bundle imports tokenwarden/react and
    // tokenwarden; rendering must not throw and shows the fallback.
    const { render } = await import(pathToFileURL(join(app.work, "out-ssr-server/entry-server.mjs")).href);
    const html = render();
    assert.match(html, /<p id="status">loading<\/p>/);
    const page = join(app.work, "out-ssr/ssr.html");
    writeFileSync(page, readFileSync(page, "utf8").replace("<!--ssr-outlet-->", html));
    await run("/out-ssr/ssr.html", "ssr", {
      after: async (p) => {
        // Hydrated (no mismatch: watchPage reports React's console errors) and live.
        await p.waitForFunction(() => document.getElementById("status")?.textContent === "signedIn as recipe", null, { timeout: 30_000 });
      },
    });
  });
});
