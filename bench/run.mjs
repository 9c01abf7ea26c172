#!/usr/bin/env node
// `npm run bench` (after scripts/setup && scripts/build): measures tokenwarden
// next to the libraries an app would pick instead, in ONE headless Chromium
// page in ONE run, and writes bench/results.json + bench/RESULTS.md.
//
//   node bench/run.mjs            full run (about a minute)
//   node bench/run.mjs --quick    fewer rounds/calls, for checking the harness
//   node bench/run.mjs --no-write print only, keep the committed results
//   node bench/run.mjs --dist DIR measure another build of the package (default dist/)
//   node bench/run.mjs --no-profile skip the CPU profiles
//   node bench/run.mjs --render   re-render RESULTS.md and the table in docs/performance.md from results.json
//   node bench/run.mjs --note TEXT  a remark about the build measured, shown in the report
//   node bench/run.mjs --build-only bundle the peers and the page, no browser (a check for CI)
//   node bench/run.mjs --dist D --clean-commit SHA   D was built from a clean export of SHA
//   node bench/run.mjs --first-load  only the first-load section (throttled link, bench/first-load.mjs),
//                                    merged into the committed results.json
//
// Steps: package sizes (esbuild + gzip -9, bench/sizes.mjs); bundle the page
// (bench/page/*.js + ky, axios, axios-auth-refresh, jwt-decode) into
// bench/.build/; serve it with dist/ from node:http on 127.0.0.1:0 with
// cross-origin isolation (5 µs `performance.now()` resolution) and
// `Cache-Control: no-store`; run `window.__bench.run(config)`; take CPU
// profiles of the tokenwarden workloads through CDP; report.

import { build } from "esbuild";
import { chromium } from "playwright-core";
import { createServer } from "node:http";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem, release, platform } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { measureSizes, packageVersion } from "./sizes.mjs";
import { evaluateTargets, renderMarkdown, renderSummary } from "./report.mjs";
import { summarizeProfile } from "./profile.mjs";
import { CHROMIUM_ARGS as BASE_CHROMIUM_ARGS } from "../tests/e2e/helpers.mjs";
import { buildFirstLoad, firstLoadFile, measureFirstLoad } from "./first-load.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BENCH = join(ROOT, "bench");
const BUILD = join(BENCH, ".build");

const argv = process.argv.slice(2);
const args = new Set(argv);
const distArg = argv.indexOf("--dist");
const DIST = resolve(distArg >= 0 && argv[distArg + 1] ? argv[distArg + 1] : join(ROOT, "dist"));
const quick = args.has("--quick");
const write = !args.has("--no-write");
const profile = !args.has("--no-profile");
const renderOnly = args.has("--render");
const buildOnly = args.has("--build-only");
const firstLoadOnly = args.has("--first-load");
const noteArg = argv.indexOf("--note");
const NOTE = noteArg >= 0 ? (argv[noteArg + 1] ?? null) : null;
// `--dist` built from a clean export of this commit (not from the work tree).
const cleanArg = argv.indexOf("--clean-commit");
const CLEAN_COMMIT = cleanArg >= 0 ? (argv[cleanArg + 1] ?? null) : null;

/** Rounds and sizes of every section (the full run stays well under 3 minutes). */
const CONFIG = quick
  ? {
      rounds: 3,
      overheadCalls: 500,
      decodeSmall: 2000,
      decodeLarge: 500,
      burstRounds: 3,
      burstRequests: 1000,
      refreshDelayMs: 20,
      memoryFetches: 10_000,
      memoryRefreshes: 1_000,
      startupRuns: 3,
      firstLoadRuns: 3,
    }
  : {
      rounds: 11,
      overheadCalls: 3000,
      decodeSmall: 10_000,
      decodeLarge: 1000,
      burstRounds: 11,
      burstRequests: 1000,
      refreshDelayMs: 20,
      memoryFetches: 100_000,
      memoryRefreshes: 10_000,
      startupRuns: 9,
      firstLoadRuns: 5,
    };

// The e2e tests' flags (root, loopback-only network), plus bench-only ones.
const CHROMIUM_ARGS = [
  ...BASE_CHROMIUM_ARGS,
  // Bench-only: unrounded performance.memory and a callable gc().
  "--enable-precise-memory-info",
  "--js-flags=--expose-gc",
];

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".json": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

function step(msg) {
  process.stdout.write(`bench: ${msg}\n`);
}

/** Static server: / (page), /bench.js (bundle), /dist/* (the package), /first-load/* (gzip). */
function serve(firstLoadDir) {
  const routes = {
    "/": join(BENCH, "page", "index.html"),
    "/bench.js": join(BUILD, "page", "bench.js"),
  };
  const noContent = new Set(["/favicon.ico"]);
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
    if (noContent.has(path)) {
      res.writeHead(204);
      res.end();
      return;
    }
    const gz = firstLoadDir ? firstLoadFile(firstLoadDir, path) : null;
    if (gz) {
      res.writeHead(200, {
        "cache-control": "no-store",
        "content-encoding": "gzip",
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "content-length": gz.length,
      });
      res.end(gz);
      return;
    }
    let file = routes[path];
    if (!file && path.startsWith("/dist/")) {
      const candidate = normalize(join(DIST, path.slice("/dist/".length)));
      if (candidate.startsWith(`${DIST}/`)) file = candidate;
    }
    const headers = {
      "cache-control": "no-store",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-embedder-policy": "require-corp",
      "cross-origin-resource-policy": "same-origin",
    };
    if (!file || !existsSync(file)) {
      res.writeHead(404, { ...headers, "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    res.writeHead(200, { ...headers, "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
    res.end(readFileSync(file));
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

async function bundlePage() {
  await build({
    entryPoints: [join(BENCH, "page", "bench.js")],
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    define: { "process.env.NODE_ENV": '"production"' },
    outfile: join(BUILD, "page", "bench.js"),
    logLevel: "warning",
    // Function names stay readable in the CPU profiles.
    keepNames: true,
  });
}

function gitInfo() {
  if (CLEAN_COMMIT) return { commit: CLEAN_COMMIT, runtimeSourcesDirty: false, cleanExport: true };
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "js", "Cargo.toml", "Cargo.lock"], {
      cwd: ROOT,
      encoding: "utf8",
    }).trim();
    return { commit, runtimeSourcesDirty: dirty.length > 0 };
  } catch {
    return { commit: null, runtimeSourcesDirty: null };
  }
}

async function profileWorkloads(page, hasManager, hasDecode) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 50 });
  const workloads = [];
  if (hasManager) workloads.push(["fetch", 10_000], ["burst-401", 5], ["burst-expired", 5]);
  if (hasDecode) workloads.push(["decode-small", 50_000], ["decode-large", 5000]);
  if (quick) for (const w of workloads) w[1] = Math.max(1, Math.ceil(w[1] / 10));
  const out = {};
  for (const [kind, n] of workloads) {
    await page.evaluate(([k, c]) => window.__bench.profileWorkload(k, Math.ceil(c / 4)), [kind, n]); // warm up
    await cdp.send("Profiler.start");
    const ran = await page.evaluate(([k, c]) => window.__bench.profileWorkload(k, c), [kind, n]);
    const { profile } = await cdp.send("Profiler.stop");
    if (ran) out[kind] = { iterations: n, ...summarizeProfile(profile) };
  }
  await cdp.send("Profiler.disable");
  await cdp.detach();
  return out;
}

/** Replaces the generated summary between the markers in docs/performance.md ("Performance"). */
function updateDocs(results) {
  const file = join(ROOT, "docs", "performance.md");
  if (!existsSync(file)) return;
  const text = readFileSync(file, "utf8");
  const start = "<!-- bench:summary:start -->";
  const end = "<!-- bench:summary:end -->";
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return;
  writeFileSync(file, `${text.slice(0, i + start.length)}\n${renderSummary(results)}${text.slice(j)}`);
}

function writeOutputs(results) {
  const markdown = renderMarkdown(results);
  if (write) {
    writeFileSync(join(BENCH, "results.json"), `${JSON.stringify(results, null, 2)}\n`);
    writeFileSync(join(BENCH, "RESULTS.md"), markdown);
    updateDocs(results);
    step("wrote bench/results.json, bench/RESULTS.md and the table in docs/performance.md");
  }
  return markdown;
}

async function main() {
  if (renderOnly) {
    const results = JSON.parse(readFileSync(join(BENCH, "results.json"), "utf8"));
    results.targets = evaluateTargets(results);
    process.stdout.write(`${writeOutputs(results)}\n`);
    return;
  }
  if (firstLoadOnly) return firstLoadMain();
  const t0 = Date.now();
  const loadAverageStart = loadavg().map((x) => Math.round(x * 100) / 100);
  mkdirSync(BUILD, { recursive: true });

  step("package sizes (esbuild --bundle --minify --format=esm --platform=browser, gzip -9)");
  const sizes = await measureSizes(ROOT, BUILD, DIST);

  step("bundling the bench page");
  await bundlePage();
  if (buildOnly) {
    step(`bench page and ${sizes.peers.length} peer bundles built in bench/.build/`);
    return;
  }

  step("bundling the first-load pages");
  const firstLoad = await buildFirstLoad(ROOT, BUILD, DIST);
  const server = await serve(firstLoad.dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_ARGS,
    headless: true,
  });
  let page;
  let results;
  try {
    page = await browser.newPage();
    const pageErrors = [];
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => {
      const text = m.text();
      if (text.startsWith("[bench]")) step(`in page: ${text.slice(8)}`);
      else if (m.type() === "error") pageErrors.push(text);
    });
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => window.__bench !== undefined);

    step(`running in Chromium ${browser.version()} (${quick ? "quick" : `${CONFIG.rounds} rounds`})`);
    const measured = await page.evaluate((cfg) => window.__bench.run(cfg), CONFIG);
    step(`first load on a throttled link (${CONFIG.firstLoadRuns} loads per page)`);
    measured.firstLoad = await measureFirstLoad(browser, origin, firstLoad.pages, CONFIG.firstLoadRuns, step);
    let profiles = {};
    if (profile) {
      step("CPU profiles of the tokenwarden workloads");
      profiles = await profileWorkloads(page, measured.tokenwarden.hasManager, measured.tokenwarden.hasDecode);
    }

    results = {
      schema: 1,
      date: new Date().toISOString(),
      quick,
      note: NOTE,
      config: CONFIG,
      environment: {
        chromium: browser.version(),
        node: process.version,
        os: `${platform()} ${release()}`,
        cpu: cpus()[0]?.model ?? null,
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
        // Other work on the machine during the run (1, 5, 15 min), at start and end.
        loadAverageStart,
        loadAverageEnd: loadavg().map((x) => Math.round(x * 100) / 100),
        chromiumFlags: CHROMIUM_ARGS,
        page: measured.env,
        git: gitInfo(),
        dist: DIST.startsWith(`${ROOT}/`) ? DIST.slice(ROOT.length + 1) : DIST,
        versions: Object.fromEntries(
          ["@auth0/auth0-spa-js", "oidc-client-ts", "@supabase/auth-js", "axios", "axios-auth-refresh", "jwt-decode", "ky", "esbuild", "playwright-core"].map(
            (p) => [p, packageVersion(ROOT, p)],
          ),
        ),
      },
      tokenwarden: measured.tokenwarden,
      size: sizes,
      overhead: measured.overhead,
      decode: measured.decode,
      burst: measured.burst,
      memory: measured.memory ?? null,
      startup: measured.startup ?? null,
      firstLoad: measured.firstLoad ?? null,
      profiles,
      pageErrors,
      pageElapsedMs: measured.elapsedMs,
    };
  } finally {
    await browser.close();
    server.close();
  }

  results.targets = evaluateTargets(results);
  results.totalElapsedMs = Date.now() - t0;
  // A package that does not load is a broken build, not a result: print the
  // report but keep the committed results, and fail the run.
  const broken = !results.tokenwarden.loaded;
  const markdown = broken ? renderMarkdown(results) : writeOutputs(results);
  process.stdout.write(`\n${markdown}\n`);
  step(`done in ${(results.totalElapsedMs / 1000).toFixed(1)} s`);
  if (results.tokenwarden.error) process.stderr.write(`bench: tokenwarden failed to load: ${results.tokenwarden.error}\n`);
  if (results.pageErrors.length) {
    process.stderr.write(`bench: page errors:\n  ${results.pageErrors.join("\n  ")}\n`);
  }
  if (broken) {
    process.stderr.write(`bench: tokenwarden did not load from ${DIST}; results not written\n`);
    process.exitCode = 1;
  }
}

/** `--first-load`: that section alone, merged into the committed results. */
async function firstLoadMain() {
  const file = join(BENCH, "results.json");
  const results = existsSync(file) ? JSON.parse(readFileSync(file, "utf8")) : null;
  mkdirSync(BUILD, { recursive: true });
  step("bundling the first-load pages");
  const firstLoad = await buildFirstLoad(ROOT, BUILD, DIST);
  const server = await serve(firstLoad.dir);
  const origin = `http://127.0.0.1:${server.address().port}`;
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", args: CHROMIUM_ARGS, headless: true });
  let measured;
  try {
    step(`first load on a throttled link (${CONFIG.firstLoadRuns} loads per page)`);
    measured = await measureFirstLoad(browser, origin, firstLoad.pages, CONFIG.firstLoadRuns, step);
    measured.date = new Date().toISOString();
    measured.git = gitInfo();
    measured.chromium = browser.version();
  } finally {
    await browser.close();
    server.close();
  }
  if (results) {
    results.firstLoad = measured;
    results.config.firstLoadRuns = CONFIG.firstLoadRuns;
    results.targets = evaluateTargets(results);
    process.stdout.write(`\n${writeOutputs(results)}\n`);
  } else {
    process.stdout.write(`${JSON.stringify(measured, null, 2)}\n`);
  }
}

main().catch((e) => {
  process.stderr.write(`bench: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
