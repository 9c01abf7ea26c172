// First load on a slow link (issue 14 item 4): a page whose app JS is a
// fixed-size bundle, loaded in a fresh browser context (empty cache) over a
// throttled network (CDP Network.emulateNetworkConditions: 1.6 Mbit/s down,
// 750 kbit/s up, 150 ms latency — Lighthouse's "slow 4G"), everything served
// gzip -9 like a production server would. Per contender, the median of N
// loads of:
//   appJs  the app bundle has run (first statement of the entry, after its imports)
//   wasm   the wasm response ended (resource timing), tokenwarden only
//   ready  the client is usable (tokenwarden: createTokenManager resolved;
//          peers: their client constructed, as in bench/entries/)
// All times from navigation start (performance.now()). The app bundle is the
// library plus a filler of ~250 KB gzipped (random data: the same bytes in
// every contender), standing for the rest of the app.
//
// tokenwarden is measured without and with the documented preload
// (README, "First load"):
//   <link rel="preload" href="…/tokenwarden_bg.wasm" as="fetch" type="application/wasm" crossorigin>

import { build } from "esbuild";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { gzipSync } from "node:zlib";

export const NETWORK = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8), uploadThroughput: (750e3 / 8) };
const FILLER_BYTES = 340_000; // base64 of random bytes: ~255 KB after gzip -9

const READY_TOKENWARDEN = (dist) => `
import { createTokenManager } from ${JSON.stringify(`${dist}/index.js`)};
mark("appJs");
createTokenManager({ refresh: { url: "/auth/refresh" }, crossTab: false, drafts: false, redirect: false })
  .then((auth) => { window.__auth = auth; mark("ready"); }, (e) => fail(e));
`;

/** name → [entry source, html head extra]. */
function contenders(dist) {
  const preload = '<link rel="preload" href="tokenwarden_bg.wasm" as="fetch" type="application/wasm" crossorigin>';
  return {
    tokenwarden: [READY_TOKENWARDEN(dist), ""],
    "tokenwarden-preload": [READY_TOKENWARDEN(dist), preload],
    "oidc-client-ts": [`
import { UserManager } from "oidc-client-ts";
mark("appJs");
window.__client = new UserManager({ authority: location.origin, client_id: "app", redirect_uri: location.href, automaticSilentRenew: false });
mark("ready");`, ""],
    "auth0-spa-js": [`
import { Auth0Client } from "@auth0/auth0-spa-js";
mark("appJs");
window.__client = new Auth0Client({ domain: "example.auth0.com", clientId: "app" });
mark("ready");`, ""],
    "supabase-auth-js": [`
import { AuthClient } from "@supabase/auth-js";
mark("appJs");
window.__client = new AuthClient({ url: location.origin + "/auth/v1", autoRefreshToken: false, persistSession: false, detectSessionInUrl: false });
mark("ready");`, ""],
    "axios-stack": [`
import axios from "axios";
import createAuthRefreshInterceptor from "axios-auth-refresh";
import { jwtDecode } from "jwt-decode";
mark("appJs");
const api = axios.create();
createAuthRefreshInterceptor(api, () => Promise.resolve());
window.__client = { api, jwtDecode };
mark("ready");`, ""],
  };
}

const PRELUDE = `
import { filler } from "./filler.js";
window.__appData = filler.length;
function mark(name) { (window.__fl ??= {})[name] = performance.now(); if (name === "ready") document.title = "ready"; }
function fail(e) { window.__fl = { ...(window.__fl ?? {}), error: String(e && e.stack || e) }; document.title = "failed"; }
`;

/** Bundles every contender's page into `dir` (once per run). */
export async function buildFirstLoad(root, buildDir, dist) {
  const dir = join(buildDir, "first-load");
  const src = join(dir, "src");
  mkdirSync(src, { recursive: true });
  const filler = join(src, "filler.js");
  if (!existsSync(filler)) writeFileSync(filler, `export const filler = ${JSON.stringify(randomBytes(Math.ceil(FILLER_BYTES * 3 / 4)).toString("base64"))};\n`);
  const pages = [];
  for (const [name, [body, head]] of Object.entries(contenders(dist))) {
    writeFileSync(join(src, `${name}.js`), PRELUDE + body);
    await build({
      entryPoints: [join(src, `${name}.js`)],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      target: "es2022",
      define: { "process.env.NODE_ENV": '"production"' },
      outfile: join(dir, `${name}.js`),
      nodePaths: [join(root, "node_modules")],
      logLevel: "error",
    });
    writeFileSync(join(dir, `${name}.html`),
      `<!doctype html><html><head><meta charset="utf-8"><title>pending</title>${head}<script type="module" src="${name}.js"></script></head><body></body></html>\n`);
    pages.push(name);
  }
  copyFileSync(join(dist, "tokenwarden_bg.wasm"), join(dir, "tokenwarden_bg.wasm"));
  return { dir, pages };
}

const gzCache = new Map();
/** Serves `/first-load/<file>` gzip -9 (null when the path is not ours). */
export function firstLoadFile(dir, path) {
  if (!path.startsWith("/first-load/")) return null;
  const name = path.slice("/first-load/".length);
  if (!/^[\w.-]+$/.test(name)) return null;
  const file = join(dir, name);
  if (!existsSync(file)) return null;
  if (!gzCache.has(file)) gzCache.set(file, gzipSync(readFileSync(file), { level: 9 }));
  return gzCache.get(file);
}

const median = (xs) => {
  const s = xs.filter((x) => x != null).sort((a, b) => a - b);
  if (!s.length) return null;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Loads each page `runs` times in fresh contexts on the throttled link. */
export async function measureFirstLoad(browser, origin, pages, runs, log = () => {}) {
  const out = { network: { ...NETWORK, label: "1.6 Mbit/s down, 750 kbit/s up, 150 ms latency; gzip -9" }, runs, contenders: {} };
  for (let i = 0; i < runs; i++) {
    for (const name of pages) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send("Network.enable");
      await cdp.send("Network.emulateNetworkConditions", NETWORK);
      let wasmRequests = 0;
      page.on("request", (r) => {
        if (r.url().endsWith(".wasm")) wasmRequests++;
      });
      try {
        await page.goto(`${origin}/first-load/${name}.html`);
        await page.waitForFunction(() => document.title !== "pending", null, { timeout: 60_000 });
        const r = await page.evaluate(() => {
          const wasm = performance.getEntriesByType("resource").find((e) => e.name.endsWith(".wasm"));
          const js = performance.getEntriesByType("resource").find((e) => /\/first-load\/[\w-]+\.js$/.test(e.name));
          return { ...window.__fl, wasm: wasm ? wasm.responseEnd : null, jsTransfer: js?.transferSize ?? null, wasmTransfer: wasm?.transferSize ?? null };
        });
        if (r.error) throw new Error(`${name}: ${r.error}`);
        const c = (out.contenders[name] ??= { samples: [] });
        c.samples.push({ ...r, wasmRequests });
      } finally {
        await context.close();
      }
    }
    log(`first load: round ${i + 1}/${runs}`);
  }
  for (const c of Object.values(out.contenders)) {
    for (const k of ["appJs", "wasm", "ready", "jsTransfer", "wasmTransfer", "wasmRequests"]) c[k] = median(c.samples.map((s) => s[k]));
  }
  return out;
}
