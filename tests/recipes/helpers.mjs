// Shared plumbing of the recipe and binding tests: the package as a user gets
// it (`npm pack`, unpacked into a scratch app's node_modules), the scratch
// app's other dependencies (linked from the repo's node_modules), esbuild
// bundles of the test apps, and the demo auth server serving them.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createDemoServer } from "../../www/auth-server.mjs";
import { REPO_ROOT, launchBrowser, watchPage } from "../e2e/helpers.mjs";

export { launchBrowser, watchPage, REPO_ROOT };

const HERE = dirname(fileURLToPath(import.meta.url));
export const PKG_ROOT = resolve(process.env.TOKENWARDEN_PACK_ROOT ?? REPO_ROOT);

const BUILT = ["index.js", "index.d.ts", "tokenwarden_bg.wasm", "react.js", "react.d.ts", "vue.js", "vue.d.ts"];

/** Why these tests cannot run (dist/ not built, or built without the bindings), or `false`. */
export function skipReason() {
  const missing = BUILT.filter((f) => !existsSync(join(PKG_ROOT, "dist", f)));
  return missing.length ? `dist/ not built (missing ${missing.join(", ")}): run \`npm run build\`` : false;
}

/**
 * A scratch app directory outside the repo (inside it, bundlers would resolve
 * "tokenwarden" to the repo itself): the test apps of tests/recipes/app, the
 * packed package in node_modules/tokenwarden, and every dev dependency of the
 * repo linked into node_modules (react, vue, axios, …).
 */
export function prepareApp(name) {
  const work = join(tmpdir(), `tokenwarden-${name}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "node_modules"), { recursive: true });
  cpSync(join(HERE, "app"), work, { recursive: true });
  const out = execFileSync("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], {
    cwd: PKG_ROOT,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [info] = JSON.parse(out.slice(out.indexOf("[")));
  const pkgDir = join(work, "node_modules", "tokenwarden");
  mkdirSync(pkgDir, { recursive: true });
  execFileSync("tar", ["-xzf", join(work, info.filename), "-C", pkgDir, "--strip-components=1"]);
  const repoModules = join(REPO_ROOT, "node_modules");
  for (const entry of readdirSync(repoModules)) {
    if (entry.startsWith(".") || entry === "tokenwarden") continue;
    symlinkSync(join(repoModules, entry), join(work, "node_modules", entry));
  }
  return {
    work,
    pkgDir,
    files: info.files.map((f) => f.path),
    cleanup() {
      if (!process.env.KEEP_RECIPE_TMP) rmSync(work, { recursive: true, force: true });
    },
  };
}

/**
 * Bundle test apps with esbuild into <work>/out/, and copy the package's
 * .wasm next to them: esbuild keeps `new URL("./tokenwarden_bg.wasm",
 * import.meta.url)` as it is, so the file must sit beside the bundle (the
 * README's esbuild note).
 */
export async function esbuildApps(work, entries, { development = false } = {}) {
  const { build } = await import("esbuild");
  const outdir = join(work, "out");
  await build({
    absWorkingDir: work,
    entryPoints: entries.map((e) => join(work, e)),
    outdir,
    bundle: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    logLevel: "error",
    define: {
      "process.env.NODE_ENV": JSON.stringify(development ? "development" : "production"),
      __VUE_OPTIONS_API__: "true",
      __VUE_PROD_DEVTOOLS__: "false",
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
    },
  });
  copyFileSync(join(work, "node_modules/tokenwarden/dist/tokenwarden_bg.wasm"), join(outdir, "tokenwarden_bg.wasm"));
}

/** The demo auth server serving the scratch app's files (strict CSP on its pages). */
export function startServer(work, options = {}) {
  return createDemoServer({ wwwDir: work, distDir: join(work, "node_modules/tokenwarden/dist"), ...options });
}

/** Small client for the demo server's knobs and counters. */
export function demoClient(url) {
  const post = async (path, body) => {
    const r = await fetch(url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const text = await r.text();
    assert.equal(r.status, 200, text);
    return JSON.parse(text);
  };
  return {
    stats: async () => (await fetch(url + "/demo/stats")).json(),
    log: async () => (await (await fetch(url + "/demo/log")).json()).recent,
    faults: (f) => post("/demo/faults", f),
    reset: (sessions = true) => post("/demo/reset", { sessions }),
  };
}

/** Wait until the app's title leaves "pending"; fail with the app's own error when it failed. */
export async function waitReady(page) {
  await page.waitForFunction(() => document.title !== "pending" && document.title !== "loading", null, { timeout: 60_000 });
  const title = await page.title();
  if (title !== "ready") assert.fail(`app did not start (${title}): ${await page.evaluate(() => window.recipeError)}`);
}

/**
 * The recipe scenario, the same for every client library: sign in, one
 * authenticated call, then every access token the server issued counts as
 * expired; the next call gets a 401, tokenwarden refreshes once and replays
 * it, and the caller sees the replay's answer.
 */
export async function assertRecipe(browser, demo, url, label, { after } = {}) {
  const knobs = demoClient(demo.url);
  await knobs.reset();
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const w = watchPage(page);
    await page.goto(url);
    await waitReady(page);
    assert.equal(await page.evaluate(() => window.recipe.login()), true, `${label}: signed in`);

    const firstCall = await page.evaluate(() => window.recipe.call());
    assert.equal(firstCall.ok, true, `${label}: first call: ${firstCall.error}`);
    // The request as the server saw it (the recipe's client chose method and path).
    const first = { ...firstCall, ...(await knobs.log()).at(-1) };
    assert.equal(first.data.sub, "recipe", `${label}: the API saw the signed-in user`);
    let s = await knobs.stats();
    assert.equal(s.apiOk, 1, `${label}: one authenticated call`);
    assert.equal(s.refreshCalls, 0);

    await knobs.faults({ expireAccessTokens: true });
    const second = await page.evaluate(() => window.recipe.call());
    assert.equal(second.ok, true, `${label}: call after the token was revoked: ${second.error}`);
    assert.equal(second.data.sub, "recipe");
    assert.notEqual(second.data.jti, first.data.jti, `${label}: the replay carried the new token`);
    s = await knobs.stats();
    assert.equal(s.api401, 1, `${label}: one 401`);
    assert.equal(s.refreshCalls, 1, `${label}: exactly one refresh`);
    assert.equal(s.refreshSuccesses, 1);
    assert.equal(s.apiOk, 2, `${label}: the replay succeeded`);
    const seen = await knobs.log();
    assert.deepEqual(seen.map((e) => (e.kind === "refresh" ? "refresh" : `${e.method} ${e.path} ${e.status}`)),
      [`${first.method} ${first.path} 200`, `${first.method} ${first.path} 401`, "refresh", `${first.method} ${first.path} 200`],
      `${label}: call, 401, one refresh, replay`);
    assert.ok(seen.every((e) => e.kind === "refresh" || e.authorization), `${label}: every API request carried a token`);
    if (after) await after(page, { first, second });
    assert.deepEqual(w.problems, [], `${label}: page errors`);
  } finally {
    await context.close();
  }
}
