// The in-page benchmark (issue 7): every measurement of tokenwarden and its
// peers runs here, in one headless Chromium page, in one run. bench/run.mjs
// serves this file (bundled with the peers by esbuild) next to dist/ and
// calls `window.__bench.run(config)`; it returns plain JSON.
//
// Method, per section:
// - overhead: N sequential awaited requests per contender per round, all on
//   the same stub transport (stub.js); rounds rotate the contender order;
//   the first round is a warm-up and is dropped; ratios are per round.
// - decode: N decodes per contender per round over 64 distinct tokens.
// - burst: 1000 concurrent requests while the server rejects the current
//   token; the stub refresh answers after `refreshDelayMs`; added latency =
//   burst wall time - the round trip of one refresh call measured in the
//   same round.
// - memory: wasm linear memory (the instance's exported memory) and
//   `performance.memory.usedJSHeapSize` after `gc()`, before and after the
//   long run.
// - start-up: import + init + createTokenManager, cold (first import in the
//   page) and fresh re-imports (new module instance, wasm re-fetched: the
//   server sends `Cache-Control: no-store`).

import { jwtDecode } from "jwt-decode";
import { StubServer, makeJwt, smallPayload, largePayload, REFRESH_PATH } from "./stub.js";
import { makeKy, makeAxios } from "./peers.js";

// Record every wasm instance the page creates, to read its exported memory
// (wasm-bindgen's `--target web` glue instantiates through one of these).
const wasmInstances = [];
{
  const streaming = WebAssembly.instantiateStreaming;
  if (streaming) {
    WebAssembly.instantiateStreaming = async function (...args) {
      const result = await streaming.apply(this, args);
      wasmInstances.push(result.instance);
      return result;
    };
  }
  const instantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async function (...args) {
    const result = await instantiate.apply(this, args);
    wasmInstances.push(result instanceof WebAssembly.Instance ? result : result.instance);
    return result;
  };
}

const now = () => performance.now();
const API = `${location.origin}/api/orders`;
const REFRESH_URL = `${location.origin}${REFRESH_PATH}`;
const DIST = `${location.origin}/dist/index.js`;
let sink = 0; // keeps results alive so that no loop is optimised away

/** Median of numbers. */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return null;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

function summary(samples) {
  return {
    median: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples,
  };
}

function log(...args) {
  console.log("[bench]", ...args);
}

function forceGc() {
  if (typeof globalThis.gc === "function") {
    globalThis.gc();
    globalThis.gc();
  }
}

/** The manager options used throughout: no cross-tab, drafts or redirects; stub transport. */
function managerOptions(stub) {
  return {
    refresh: { url: REFRESH_URL, format: "json" },
    storage: "memory",
    crossTab: false,
    drafts: false,
    redirect: false,
    fetch: stub.fetch,
  };
}

/** Imports dist/ (with a cache-busting query) and creates a manager; times each step. */
async function loadAndCreate(url, stub) {
  const t0 = now();
  const mod = await import(url);
  const tImported = now();
  if (typeof mod.init === "function") await mod.init();
  const tInit = now();
  let auth = null;
  if (typeof mod.createTokenManager === "function") {
    auth = await mod.createTokenManager(managerOptions(stub));
  }
  const tReady = now();
  return {
    mod,
    auth,
    importMs: tImported - t0,
    initMs: tInit - tImported,
    createMs: tReady - tInit,
    totalMs: tReady - t0,
  };
}

async function createManager(tw, stub) {
  return tw.createTokenManager(managerOptions(stub));
}

/** One awaited call through `send`, checking that the stub saw an accepted bearer token. */
async function verifyContender(name, stub, send) {
  const before = { ok: stub.ok, withAuth: stub.withAuth, requests: stub.requests };
  try {
    await send();
  } catch (e) {
    return `${name}: call threw ${e && e.message}`;
  }
  if (stub.requests - before.requests !== 1) return `${name}: ${stub.requests - before.requests} transport calls for one request`;
  if (stub.ok - before.ok !== 1) return `${name}: the stub did not accept the request (no or wrong Authorization header)`;
  return null;
}

// ---------------------------------------------------------------- overhead

async function benchOverhead(tw, cfg) {
  const stub = new StubServer();
  const session = stub.issue();
  const token = session.accessToken;
  const contenders = [];

  contenders.push({
    id: "stub",
    label: "stub fetch, header set by hand",
    run: async (n) => {
      for (let i = 0; i < n; i++) await stub.fetch(API, { headers: { Authorization: `Bearer ${token}` } });
    },
    one: () => stub.fetch(API, { headers: { Authorization: `Bearer ${token}` } }),
  });
  // Context, not a target: the same call with a Request built by hand, as a
  // wrapper that keeps a replayable Request would do (real `fetch` builds
  // one internally anyway; the stub does not).
  contenders.push({
    id: "stub-request",
    label: "stub fetch, `new Request` with the header built by hand",
    run: async (n) => {
      for (let i = 0; i < n; i++) await stub.fetch(new Request(API, { headers: { Authorization: `Bearer ${token}` } }));
    },
    one: () => stub.fetch(new Request(API, { headers: { Authorization: `Bearer ${token}` } })),
  });
  let auth = null;
  if (tw) {
    auth = await createManager(tw, stub);
    auth.setSession(session);
    contenders.push({
      id: "tokenwarden",
      label: "tokenwarden auth.fetch",
      run: async (n) => {
        for (let i = 0; i < n; i++) await auth.fetch(API);
      },
      one: () => auth.fetch(API),
    });
  }
  const api = makeKy(stub, () => token);
  contenders.push({
    id: "ky",
    label: "ky + beforeRequest hook",
    run: async (n) => {
      for (let i = 0; i < n; i++) await api.get(API);
    },
    one: () => api.get(API),
  });
  const axState = { token, refreshToken: session.refreshToken, refreshCalls: 0 };
  const ax = makeAxios(stub, axState);
  contenders.push({
    id: "axios",
    label: "axios + axios-auth-refresh (stub adapter)",
    run: async (n) => {
      for (let i = 0; i < n; i++) await ax.get(API);
    },
    one: () => ax.get(API),
  });

  const errors = [];
  const active = [];
  for (const c of contenders) {
    const err = await verifyContender(c.id, stub, c.one);
    if (err) errors.push(err);
    else active.push(c);
  }

  const n = cfg.overheadCalls;
  const samples = Object.fromEntries(active.map((c) => [c.id, []]));
  const badCounts = [];
  for (let round = 0; round <= cfg.rounds; round++) {
    for (let k = 0; k < active.length; k++) {
      const c = active[(k + round) % active.length];
      const okBefore = stub.ok;
      const t0 = now();
      await c.run(n);
      const dt = now() - t0;
      if (stub.ok - okBefore !== n) badCounts.push(`${c.id}: ${stub.ok - okBefore}/${n} accepted in round ${round}`);
      if (round > 0) samples[c.id].push((dt * 1000) / n); // µs per call
    }
  }
  if (auth) auth.dispose();

  const results = {};
  for (const c of active) {
    results[c.id] = { label: c.label, usPerCall: summary(samples[c.id]) };
    if (c.id !== "stub") {
      const ratios = samples[c.id].map((v, i) => v / samples.stub[i]);
      results[c.id].ratioToStub = summary(ratios);
    }
  }
  if (results.tokenwarden) {
    for (const peer of ["ky", "axios"]) {
      if (!results[peer]) continue;
      const ratios = samples.tokenwarden.map((v, i) => v / samples[peer][i]);
      results.tokenwarden[`ratioTo_${peer}`] = summary(ratios);
    }
  }
  return { callsPerRound: n, rounds: cfg.rounds, contenders: results, errors: errors.concat(badCounts) };
}

// ---------------------------------------------------------------- decode

function makeTokens(kind, count) {
  const exp = Math.floor(Date.now() / 1000) + 3600;
  const tokens = [];
  for (let i = 0; i < count; i++) {
    tokens.push(makeJwt(kind === "small" ? smallPayload(exp + i) : largePayload(exp + i, 4096)));
  }
  return tokens;
}

// Two separate loops (not one loop taking a function) so that each call site
// stays monomorphic and neither contender is penalised by the other.
function loopTokenwarden(decodeJwt, tokens, n) {
  let acc = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) acc += decodeJwt(tokens[i & 63]).exp;
  const dt = now() - t0;
  sink += acc;
  return dt;
}

function loopJwtDecode(tokens, n) {
  let acc = 0;
  const t0 = now();
  for (let i = 0; i < n; i++) acc += jwtDecode(tokens[i & 63]).exp;
  const dt = now() - t0;
  sink += acc;
  return dt;
}

async function benchDecode(tw, cfg) {
  const out = { rounds: cfg.rounds, sizes: {}, errors: [] };
  for (const kind of ["small", "large"]) {
    const tokens = makeTokens(kind, 64);
    const payloadBytes = Math.round(
      tokens.reduce((s, t) => s + JSON.stringify(jwtDecode(t)).length, 0) / tokens.length,
    );
    const n = kind === "small" ? cfg.decodeSmall : cfg.decodeLarge;
    const decodeJwt = tw && typeof tw.decodeJwt === "function" ? tw.decodeJwt : null;
    if (decodeJwt) {
      for (const t of tokens.slice(0, 4)) {
        const a = JSON.stringify(decodeJwt(t));
        const b = JSON.stringify(jwtDecode(t));
        if (a !== b) out.errors.push(`${kind}: decodeJwt and jwtDecode disagree`);
      }
    }
    const tw_ = [];
    const jd = [];
    for (let round = 0; round <= cfg.rounds; round++) {
      const order = round % 2 ? ["jd", "tw"] : ["tw", "jd"];
      for (const who of order) {
        if (who === "tw" && !decodeJwt) continue;
        const dt = who === "tw" ? loopTokenwarden(decodeJwt, tokens, n) : loopJwtDecode(tokens, n);
        if (round > 0) (who === "tw" ? tw_ : jd).push(n / (dt / 1000)); // ops/s
      }
      await new Promise((r) => setTimeout(r, 0)); // let GC and timers run between rounds
    }
    const entry = {
      tokenBytes: tokens[0].length,
      payloadBytes,
      decodesPerRound: n,
      jwtDecodeOpsPerSec: summary(jd),
    };
    if (decodeJwt) {
      entry.tokenwardenOpsPerSec = summary(tw_);
      entry.speedup = summary(tw_.map((v, i) => v / jd[i]));
    }
    out.sizes[kind] = entry;
  }
  return out;
}

// ---------------------------------------------------------------- bursts

async function refreshRoundTrip(stub) {
  const t0 = now();
  const res = await stub.fetch(REFRESH_URL, { method: "POST", body: "{}" });
  await res.json();
  return now() - t0;
}

function statusOf(promise) {
  return promise.then(
    (r) => r.status,
    (e) => (e && e.response && e.response.status) || -1,
  );
}

async function burstOnce(kind, ctx, cfg) {
  const { stub } = ctx;
  const count = cfg.burstRequests;
  if (kind === "floor") {
    // Context: the same number of concurrent requests straight to the stub
    // with a valid header set by hand — no wrapper, no refresh.
    const session = stub.issue();
    const header = `Bearer ${session.accessToken}`;
    const promises = new Array(count);
    stub.reset();
    const t0 = now();
    for (let i = 0; i < count; i++) promises[i] = statusOf(stub.fetch(API, { headers: { Authorization: header } }));
    const tIssued = now();
    const statuses = await Promise.all(promises);
    const t1 = now();
    return {
      refreshCalls: 0,
      success: statuses.filter((x) => x === 200).length,
      requests: count,
      transportCalls: stub.requests,
      unauthorized: stub.unauthorized,
      totalMs: t1 - t0,
      issueMs: tIssued - t0,
      refreshRttMs: 0,
      addedMs: t1 - t0,
    };
  }
  stub.refreshDelayMs = cfg.refreshDelayMs;
  const rtt = await refreshRoundTrip(stub);
  const session = stub.issue();
  const promises = new Array(count);
  let t0;
  if (kind === "tokenwarden-401") {
    ctx.auth.setSession(session);
    stub.acceptedHeader = "revoked"; // the server no longer accepts the token the client holds
    stub.reset();
    t0 = now();
    for (let i = 0; i < count; i++) promises[i] = statusOf(ctx.auth.fetch(API));
  } else if (kind === "tokenwarden-expired") {
    const expired = makeJwt(smallPayload(Math.floor(Date.now() / 1000) - 60));
    stub.acceptedHeader = "revoked";
    stub.reset();
    t0 = now();
    ctx.auth.setSession({ accessToken: expired, refreshToken: session.refreshToken });
    for (let i = 0; i < count; i++) promises[i] = statusOf(ctx.auth.fetch(API));
  } else {
    const ax = kind === "axios" ? ctx.ax : ctx.axNoDedup;
    ctx.axState.token = session.accessToken;
    ctx.axState.refreshToken = session.refreshToken;
    stub.acceptedHeader = "revoked";
    stub.reset();
    t0 = now();
    for (let i = 0; i < count; i++) promises[i] = statusOf(ax.get(API));
  }
  const tIssued = now();
  const statuses = await Promise.all(promises);
  const t1 = now();
  stub.refreshDelayMs = 0;
  const success = statuses.filter((s) => s === 200).length;
  return {
    refreshCalls: stub.refreshCalls,
    success,
    requests: count,
    transportCalls: stub.requests,
    unauthorized: stub.unauthorized,
    totalMs: t1 - t0,
    issueMs: tIssued - t0,
    refreshRttMs: rtt,
    addedMs: t1 - t0 - rtt,
  };
}

async function benchBurst(tw, cfg) {
  const kinds = [];
  const ctx = { stub: new StubServer() };
  if (tw) {
    ctx.auth = await createManager(tw, ctx.stub);
    kinds.push("tokenwarden-401", "tokenwarden-expired");
  }
  ctx.axState = { token: null, refreshToken: null, refreshCalls: 0 };
  ctx.ax = makeAxios(ctx.stub, ctx.axState);
  ctx.axNoDedup = makeAxios(ctx.stub, ctx.axState, { deduplicateRefresh: false });
  kinds.push("axios", "axios-nodedup", "floor");
  const runs = Object.fromEntries(kinds.map((k) => [k, []]));
  const errors = [];
  for (let round = 0; round <= cfg.burstRounds; round++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + round) % kinds.length];
      let r;
      try {
        r = await burstOnce(kind, ctx, cfg);
      } catch (e) {
        errors.push(`${kind}: ${e && e.message}`);
        continue;
      }
      if (round > 0) runs[kind].push(r);
      await new Promise((res) => setTimeout(res, 5));
    }
  }
  if (ctx.auth) ctx.auth.dispose();
  const out = { requests: cfg.burstRequests, refreshDelayMs: cfg.refreshDelayMs, rounds: cfg.burstRounds, errors };
  const labels = {
    "tokenwarden-401": "tokenwarden: token rejected by the server (401 → single refresh → replay)",
    "tokenwarden-expired": "tokenwarden: token already expired (refresh first, then send)",
    axios: "axios + axios-auth-refresh (defaults): token rejected by the server",
    "axios-nodedup": "axios + axios-auth-refresh `{ deduplicateRefresh: false }`: token rejected by the server",
    floor: "context: the same requests straight to the stub, valid token set by hand (no wrapper, no refresh)",
  };
  for (const kind of kinds) {
    const rs = runs[kind];
    if (rs.length === 0) continue;
    out[kind] = {
      label: labels[kind],
      // Correctness must hold in every round, so report the worst round.
      refreshCallsMax: Math.max(...rs.map((r) => r.refreshCalls)),
      refreshCallsMin: Math.min(...rs.map((r) => r.refreshCalls)),
      successMin: Math.min(...rs.map((r) => r.success)),
      transportCalls: median(rs.map((r) => r.transportCalls)),
      unauthorized: median(rs.map((r) => r.unauthorized)),
      totalMs: summary(rs.map((r) => r.totalMs)),
      issueMs: summary(rs.map((r) => r.issueMs)),
      refreshRttMs: summary(rs.map((r) => r.refreshRttMs)),
      addedMs: summary(rs.map((r) => r.addedMs)),
    };
  }
  return out;
}

// ---------------------------------------------------------------- memory

function memorySnapshot(memory) {
  forceGc();
  return {
    wasmBytes: memory ? memory.buffer.byteLength : null,
    jsHeapBytes: performance.memory ? performance.memory.usedJSHeapSize : null,
  };
}

async function benchMemory(tw, cfg) {
  const instance = wasmInstances[0];
  // By kind, not by name: the size build minifies the wasm's export names.
  const memory = instance ? (Object.values(instance.exports).find((e) => e instanceof WebAssembly.Memory) ?? null) : null;
  const stub = new StubServer();
  const auth = await createManager(tw, stub);
  auth.setSession(stub.issue());
  const start = memorySnapshot(memory);
  const t0 = now();
  for (let i = 0; i < cfg.memoryFetches; i++) await auth.fetch(API);
  const fetchMs = now() - t0;
  const fetchOk = stub.ok;
  const afterFetches = memorySnapshot(memory);
  const t1 = now();
  let refreshErrors = 0;
  for (let i = 0; i < cfg.memoryRefreshes; i++) {
    try {
      await auth.refresh();
    } catch {
      refreshErrors++;
    }
  }
  const refreshMs = now() - t1;
  const refreshCalls = stub.refreshCalls;
  const afterRefreshes = memorySnapshot(memory);
  auth.dispose();
  return {
    wasmMemorySource: memory ? "exported memory of the module's wasm instance" : "not found",
    jsHeapSource: performance.memory ? "performance.memory.usedJSHeapSize after gc()" : "not available",
    fetches: cfg.memoryFetches,
    fetchOk,
    fetchMs,
    refreshes: cfg.memoryRefreshes,
    refreshCalls,
    refreshErrors,
    refreshMs,
    start,
    afterFetches,
    afterRefreshes,
    wasmGrowthBytes: memory ? afterRefreshes.wasmBytes - start.wasmBytes : null,
    jsHeapGrowthBytes: performance.memory ? afterRefreshes.jsHeapBytes - start.jsHeapBytes : null,
  };
}

// ---------------------------------------------------------------- start-up

async function benchStartupFresh(cfg) {
  const samples = { importMs: [], initMs: [], createMs: [], totalMs: [] };
  for (let i = 0; i < cfg.startupRuns; i++) {
    const stub = new StubServer();
    const r = await loadAndCreate(`${DIST}?fresh=${i}-${Date.now()}`, stub);
    if (r.auth) r.auth.dispose();
    for (const k of Object.keys(samples)) samples[k].push(r[k]);
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summary(v)]));
}

// ---------------------------------------------------------------- driver

let loaded = null; // { mod, cold } after the first import

async function loadOnce() {
  if (loaded) return loaded;
  try {
    const r = await loadAndCreate(DIST, new StubServer());
    const mod = r.mod;
    if (r.auth) r.auth.dispose();
    loaded = {
      mod,
      exports: Object.keys(mod).sort(),
      hasManager: typeof mod.createTokenManager === "function",
      hasDecode: typeof mod.decodeJwt === "function",
      cold: { importMs: r.importMs, initMs: r.initMs, createMs: r.createMs, totalMs: r.totalMs },
    };
  } catch (e) {
    loaded = { mod: null, error: String(e && e.stack ? e.stack : e), exports: [], hasManager: false, hasDecode: false };
  }
  return loaded;
}

/** Runs every section; `cfg` comes from bench/run.mjs. */
async function run(cfg) {
  const started = now();
  const tw = await loadOnce();
  const env = {
    userAgent: navigator.userAgent,
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    gcExposed: typeof globalThis.gc === "function",
    preciseMemory: !!performance.memory,
    hardwareConcurrency: navigator.hardwareConcurrency,
  };
  const out = {
    env,
    tokenwarden: {
      loaded: !!tw.mod,
      error: tw.error ?? null,
      exports: tw.exports,
      hasManager: tw.hasManager,
      hasDecode: tw.hasDecode,
      wasmInstances: wasmInstances.length,
    },
  };
  const managerMod = tw.hasManager ? tw.mod : null;
  const decodeMod = tw.hasDecode ? tw.mod : null;

  log("overhead");
  out.overhead = await benchOverhead(managerMod, cfg);
  log("decode");
  out.decode = await benchDecode(decodeMod, cfg);
  log("burst");
  out.burst = await benchBurst(managerMod, cfg);
  if (managerMod) {
    log("memory");
    out.memory = await benchMemory(managerMod, cfg);
  }
  if (tw.hasManager) {
    log("start-up");
    out.startup = { cold: tw.cold, fresh: await benchStartupFresh(cfg) };
  }
  out.sink = sink;
  out.elapsedMs = now() - started;
  return out;
}

const profileTokens = {};

/** A workload to run under the CPU profiler (bench/run.mjs starts and stops it). */
async function profileWorkload(kind, n) {
  const tw = await loadOnce();
  if (kind === "fetch") {
    if (!tw.hasManager) return false;
    const stub = new StubServer();
    const auth = await createManager(tw.mod, stub);
    auth.setSession(stub.issue());
    for (let i = 0; i < n; i++) await auth.fetch(API);
    auth.dispose();
    return true;
  }
  if (kind === "decode-small" || kind === "decode-large") {
    if (!tw.hasDecode) return false;
    // Tokens are made once (in the un-profiled warm-up call), so that the
    // profile holds decoding only.
    profileTokens[kind] ??= makeTokens(kind === "decode-small" ? "small" : "large", 64);
    loopTokenwarden(tw.mod.decodeJwt, profileTokens[kind], n);
    return true;
  }
  if (kind === "burst-401" || kind === "burst-expired") {
    if (!tw.hasManager) return false;
    const ctx = { stub: new StubServer() };
    ctx.auth = await createManager(tw.mod, ctx.stub);
    const which = kind === "burst-401" ? "tokenwarden-401" : "tokenwarden-expired";
    // Same burst as measured, minus the 20 ms of idle waiting for the refresh.
    for (let i = 0; i < n; i++) await burstOnce(which, ctx, { burstRequests: 1000, refreshDelayMs: 0 });
    ctx.auth.dispose();
    return true;
  }
  return false;
}

window.__bench = { run, profileWorkload, loadOnce: async () => (await loadOnce()).exports };
