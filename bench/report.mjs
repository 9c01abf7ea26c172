// Targets of issue 7 and the Markdown report (bench/RESULTS.md, also printed).
//
// Every target is judged on the figure the issue names: medians over rounds
// for times and ratios (ratios are taken per round, within the same run),
// and the worst round for correctness (refresh count, successes).
// KB = 1000 bytes, KiB = 1024 bytes.

const SIZE_TARGET_BYTES = 14_000;
const OVERHEAD_TARGET_RATIO = 1.3;
const DECODE_TARGET_SPEEDUP = 5;
const BURST_ADDED_TARGET_MS = 5;
const WASM_GROWTH_TARGET_BYTES = 64 * 1024;

const kb = (b) => `${(b / 1000).toFixed(1)} KB`;
const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
const f1 = (x) => (x == null ? "–" : x.toFixed(1));
const f2 = (x) => (x == null ? "–" : x.toFixed(2));
const x2 = (x) => (x == null ? "–" : `${x.toFixed(2)}×`);
const ops = (x) => (x == null ? "–" : `${Math.round(x).toLocaleString("en-US")}/s`);
const status = (ok) => (ok ? "met" : "**MISSED**");

/** `[{ id, target, measured, status: "met" | "missed" | "not measured", profile? }]` */
export function evaluateTargets(r) {
  const out = [];
  const notMeasured = (id, target, why) => out.push({ id, target, measured: why, status: "not measured" });
  const twMissing = r.tokenwarden.loaded
    ? "dist/index.js has no createTokenManager yet"
    : "tokenwarden not built or failed to load";

  if (r.size.tokenwarden.available) {
    const s = r.size.tokenwarden;
    out.push({
      id: "size",
      target: `total gzipped size ≤ ${kb(SIZE_TARGET_BYTES)}`,
      measured: `${kb(s.gzipBytes)} (wasm ${kb(s.wasmGzip)} + JS ${kb(s.jsGzip)})`,
      status: s.gzipBytes <= SIZE_TARGET_BYTES ? "met" : "missed",
    });
  } else notMeasured("size", `total gzipped size ≤ ${kb(SIZE_TARGET_BYTES)}`, "dist/ not built");

  const tw = r.overhead.contenders.tokenwarden;
  if (tw) {
    const ratio = tw.ratioToStub.median;
    out.push({
      id: "overhead-stub",
      target: `auth.fetch ≤ ${OVERHEAD_TARGET_RATIO}× the stub fetch time`,
      measured: `${x2(ratio)} (${f2(tw.usPerCall.median)} µs vs ${f2(r.overhead.contenders.stub.usPerCall.median)} µs)`,
      status: ratio <= OVERHEAD_TARGET_RATIO ? "met" : "missed",
      profile: "fetch",
    });
    const ky = tw.ratioTo_ky?.median;
    const ax = tw.ratioTo_axios?.median;
    out.push({
      id: "overhead-peers",
      target: "auth.fetch below ky and axios-auth-refresh",
      measured: `${x2(ky)} of ky, ${x2(ax)} of axios`,
      status: ky != null && ax != null && ky < 1 && ax < 1 ? "met" : "missed",
      profile: "fetch",
    });
  } else {
    notMeasured("overhead-stub", `auth.fetch ≤ ${OVERHEAD_TARGET_RATIO}× the stub fetch time`, twMissing);
    notMeasured("overhead-peers", "auth.fetch below ky and axios-auth-refresh", twMissing);
  }

  for (const kind of ["small", "large"]) {
    const d = r.decode.sizes[kind];
    const label = `decodeJwt ≥ ${DECODE_TARGET_SPEEDUP}× jwt-decode (${kind === "small" ? "small" : "4 KB"} payload)`;
    if (d && d.speedup) {
      out.push({
        id: `decode-${kind}`,
        target: label,
        measured: `${x2(d.speedup.median)} (${ops(d.tokenwardenOpsPerSec.median)} vs ${ops(d.jwtDecodeOpsPerSec.median)})`,
        status: d.speedup.median >= DECODE_TARGET_SPEEDUP ? "met" : "missed",
        profile: `decode-${kind}`,
      });
    } else notMeasured(`decode-${kind}`, label, "dist/ has no decodeJwt");
  }

  for (const kind of ["tokenwarden-401", "tokenwarden-expired"]) {
    const b = r.burst[kind];
    const what = kind === "tokenwarden-401" ? "401 burst" : "expired-token burst";
    const target = `${what}: 1 refresh, ${r.burst.requests}/${r.burst.requests} ok, ≤ refresh RTT + ${BURST_ADDED_TARGET_MS} ms`;
    if (!b) {
      notMeasured(`burst-${kind}`, target, twMissing);
      continue;
    }
    const oneRefresh = b.refreshCallsMin === 1 && b.refreshCallsMax === 1;
    const allOk = b.successMin === r.burst.requests;
    const fast = b.addedMs.median <= BURST_ADDED_TARGET_MS;
    const refreshes = b.refreshCallsMin === b.refreshCallsMax ? `${b.refreshCallsMax}` : `${b.refreshCallsMin}–${b.refreshCallsMax}`;
    out.push({
      id: `burst-${kind}`,
      target,
      measured: `${refreshes} refresh, ${b.successMin}/${r.burst.requests} ok (worst round), +${f1(b.addedMs.median)} ms over a ${f1(b.refreshRttMs.median)} ms refresh`,
      status: oneRefresh && allOk && fast ? "met" : "missed",
      profile: kind === "tokenwarden-401" ? "burst-401" : "burst-expired",
    });
  }

  const m = r.memory;
  const memTarget = `wasm memory growth ≤ ${kib(WASM_GROWTH_TARGET_BYTES)} after ${m ? m.fetches.toLocaleString("en-US") : "100,000"} fetches + ${m ? m.refreshes.toLocaleString("en-US") : "10,000"} refreshes`;
  if (m && m.wasmGrowthBytes != null) {
    out.push({
      id: "memory",
      target: memTarget,
      measured: `${kib(m.wasmGrowthBytes)} (${kib(m.start.wasmBytes)} → ${kib(m.afterRefreshes.wasmBytes)})`,
      status: m.wasmGrowthBytes <= WASM_GROWTH_TARGET_BYTES ? "met" : "missed",
    });
  } else notMeasured("memory", memTarget, m ? "wasm memory not found" : twMissing);
  return out;
}

function table(head, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function profileNote(p) {
  if (!p) return "no profile taken";
  const cats = p.categories
    .slice(0, 5)
    .map((c) => `${c.category} ${c.pct}%`)
    .join(", ");
  const top = p.top
    .slice(0, 6)
    .map((t) => `\`${t.name}\` (${t.category}) ${t.pct}%`)
    .join(", ");
  return `self time by part: ${cats}; hottest functions: ${top}`;
}

/** The whole of bench/RESULTS.md. */
export function renderMarkdown(r) {
  const e = r.environment;
  const parts = [];
  parts.push("# tokenwarden benchmark results");
  parts.push("");
  parts.push(
    `Generated by \`npm run bench\` on ${r.date.slice(0, 10)}${r.quick ? " (**--quick run: indicative only**)" : ""}: ` +
      `Chromium ${e.chromium} (headless), Node ${e.node}, ${e.cpu ?? "unknown CPU"} × ${e.cores}, ${e.os}` +
      `${e.loadAverageStart ? ` (1-min load average ${e.loadAverageStart[0]} at start, ${e.loadAverageEnd[0]} at end)` : ""}. ` +
      `One page, one run; figures are medians over ${r.config.rounds} rounds (after a warm-up round), ratios are per round. ` +
      `tokenwarden at ${e.git.commit ? e.git.commit.slice(0, 10) : "unknown commit"}${e.git.runtimeSourcesDirty ? " (with uncommitted runtime changes)" : ""}.`,
  );
  if (r.note) parts.push(`\n> **Build measured:** ${r.note}`);
  parts.push("");

  parts.push("## Targets");
  parts.push("");
  parts.push(table(["Target", "Measured", "Result"], r.targets.map((t) => [t.target, t.measured, t.status === "missed" ? "**MISSED**" : t.status])));
  parts.push("");

  // 1. size
  parts.push("## Package size (what an app ships, gzip -9)");
  parts.push("");
  const sizeRows = [];
  const st = r.size.tokenwarden;
  if (st.available) {
    sizeRows.push([
      "**tokenwarden** (wasm + JS glue)",
      `${st.minBytes.toLocaleString("en-US")} B`,
      `**${kb(st.gzipBytes)}** (wasm ${kb(st.wasmGzip)} + JS ${kb(st.jsGzip)})`,
    ]);
  } else sizeRows.push(["tokenwarden", "not built", "–"]);
  for (const p of r.size.peers) {
    const v = Object.entries(p.versions)
      .map(([n, ver]) => `${n}@${ver}`)
      .join(", ");
    sizeRows.push([`${p.label} <sub>${v}</sub>`, `${p.minBytes.toLocaleString("en-US")} B`, kb(p.gzipBytes)]);
  }
  parts.push(table(["Package", "Minified", "gzip -9"], sizeRows));
  parts.push("");
  parts.push("Peers: esbuild `--bundle --minify --format=esm --platform=browser` of an entry that imports what an app uses (bench/entries/). tokenwarden: `dist/index.js` + `dist/tokenwarden_bg.wasm`, gzipped separately and added.");
  parts.push("");

  // 2. overhead
  const o = r.overhead;
  parts.push(`## Per-request overhead with a valid token (${o.callsPerRound.toLocaleString("en-US")} sequential awaited requests per round)`);
  parts.push("");
  const oRows = [];
  for (const [id, c] of Object.entries(o.contenders)) {
    oRows.push([
      id === "tokenwarden" ? `**${c.label}**` : c.label,
      f2(c.usPerCall.median),
      `${f2(c.usPerCall.min)}–${f2(c.usPerCall.max)}`,
      id === "stub" ? "1.00×" : x2(c.ratioToStub.median),
    ]);
  }
  parts.push(table(["Contender", "µs/request (median)", "range over rounds", "× stub fetch"], oRows));
  parts.push("");
  parts.push("All contenders call the same stub `fetch` (reads the Authorization header, compares it with the accepted token, resolves with a new `Response`); the difference to the first row is each wrapper's own cost.");
  if (o.errors.length) parts.push(`\nHarness errors: ${o.errors.join("; ")}`);
  parts.push("");

  // 3. decode
  parts.push("## decodeJwt vs jwt-decode (same tokens)");
  parts.push("");
  const dRows = [];
  for (const [kind, d] of Object.entries(r.decode.sizes)) {
    dRows.push([
      `${kind === "small" ? "small" : "large"} (${d.payloadBytes} B payload, ${d.tokenBytes} B token)`,
      ops(d.tokenwardenOpsPerSec?.median),
      ops(d.jwtDecodeOpsPerSec.median),
      d.speedup ? x2(d.speedup.median) : "–",
    ]);
  }
  parts.push(table(["Payload", "tokenwarden decodeJwt", "jwt-decode", "speed-up"], dRows));
  if (r.decode.errors.length) parts.push(`\nHarness errors: ${r.decode.errors.join("; ")}`);
  parts.push("");

  // 4. burst
  const b = r.burst;
  parts.push(`## Bursts: ${b.requests} concurrent requests, refresh endpoint answering after ${b.refreshDelayMs} ms`);
  parts.push("");
  const bRows = [];
  for (const kind of ["tokenwarden-401", "tokenwarden-expired", "axios", "axios-nodedup", "floor"]) {
    const x = b[kind];
    if (!x) continue;
    const refreshes = x.refreshCallsMin === x.refreshCallsMax ? `${x.refreshCallsMax}` : `${x.refreshCallsMin}–${x.refreshCallsMax}`;
    const floor = kind === "floor";
    bRows.push([
      x.label,
      refreshes,
      `${x.successMin}/${b.requests}`,
      f1(x.totalMs.median),
      floor ? "–" : f1(x.refreshRttMs.median),
      floor ? "–" : `+${f1(x.addedMs.median)}`,
      f1(x.issueMs.median),
      String(x.transportCalls),
    ]);
  }
  parts.push(
    table(
      ["Scenario", "refresh calls", "ok (worst round)", "wall ms", "1 refresh RTT ms", "added ms", "issuing the 1000 calls ms", "transport calls"],
      bRows,
    ),
  );
  parts.push("");
  parts.push(`Added latency = burst wall time (first call to last response) − the round trip of one refresh call measured in the same round. "Issuing" is the synchronous loop that starts the ${b.requests} calls. The last row is the floor that any wrapper adds to: ${b.requests} concurrent calls of the stub alone.`);
  if (b.errors.length) parts.push(`\nHarness errors: ${b.errors.join("; ")}`);
  parts.push("");

  // 5. memory
  const m = r.memory;
  parts.push("## Memory");
  parts.push("");
  if (m) {
    const mem = (s) => [s.wasmBytes == null ? "–" : kib(s.wasmBytes), s.jsHeapBytes == null ? "–" : kib(s.jsHeapBytes)];
    parts.push(
      table(
        ["Point", "wasm linear memory", "JS heap (used, after gc)"],
        [
          ["new manager, session set", ...mem(m.start)],
          [`after ${m.fetches.toLocaleString("en-US")} auth.fetch (${m.fetchOk.toLocaleString("en-US")} ok, ${(m.fetchMs / 1000).toFixed(1)} s)`, ...mem(m.afterFetches)],
          [`after ${m.refreshes.toLocaleString("en-US")} refreshes (${m.refreshCalls.toLocaleString("en-US")} refresh calls, ${m.refreshErrors} errors, ${(m.refreshMs / 1000).toFixed(1)} s)`, ...mem(m.afterRefreshes)],
          [
            "**growth**",
            m.wasmGrowthBytes == null ? "–" : `**${kib(m.wasmGrowthBytes)}**`,
            m.jsHeapGrowthBytes == null ? "–" : `${m.jsHeapGrowthBytes >= 0 ? "+" : ""}${kib(m.jsHeapGrowthBytes)}`,
          ],
        ],
      ),
    );
  } else parts.push("Not measured (the runtime is not built yet).");
  parts.push("");

  // 6. start-up
  parts.push("## Start-up (import → ready manager)");
  parts.push("");
  if (r.startup) {
    const c = r.startup.cold;
    const f = r.startup.fresh;
    parts.push(
      table(
        ["", "import (JS)", "init (fetch + compile + instantiate wasm)", "createTokenManager", "total ms"],
        [
          ["first load in the page", f1(c.importMs), f1(c.initMs), f1(c.createMs), `**${f1(c.totalMs)}**`],
          [`fresh re-import, median of ${r.config.startupRuns}`, f1(f.importMs.median), f1(f.initMs.median), f1(f.createMs.median), `**${f1(f.totalMs.median)}**`],
        ],
      ),
    );
    parts.push("");
    parts.push("Served from 127.0.0.1 with `Cache-Control: no-store`, so every load fetches and compiles the wasm again.");
  } else parts.push("Not measured (the runtime is not built yet).");
  parts.push("");

  // 7. first load
  parts.push("## First load on a slow link (navigation → ready)");
  parts.push("");
  const fl = r.firstLoad;
  if (fl) {
    const ms = (v) => (v == null ? "–" : `${Math.round(v)}`);
    const kb = (v) => (v == null ? "–" : `${(v / 1000).toFixed(1)}`);
    const order = ["tokenwarden", "tokenwarden-preload", "oidc-client-ts", "auth0-spa-js", "supabase-auth-js", "axios-stack"];
    const names = [...order.filter((n) => fl.contenders[n]), ...Object.keys(fl.contenders).filter((n) => !order.includes(n))];
    parts.push(
      table(
        ["page", "app JS done ms", "wasm done ms", "**ready ms**", "JS kB (gzip)", "wasm kB (gzip)", "wasm requests"],
        names.map((n) => {
          const c = fl.contenders[n];
          return [n === "tokenwarden-preload" ? "tokenwarden + `<link rel=preload>`" : n, ms(c.appJs), ms(c.wasm), `**${ms(c.ready)}**`, kb(c.jsTransfer), kb(c.wasmTransfer), c.wasmRequests ?? "–"];
        }),
      ),
    );
    parts.push("");
    parts.push(`Medians of ${fl.runs} loads per page, each in a fresh browser context (empty cache), ${fl.network.label}. ` +
      "Every page is one bundle: the library, a filler of ~250 kB gzipped standing for the rest of the app, and the code that creates the client " +
      "(tokenwarden: `createTokenManager`; peers: their client's constructor). Times from navigation start (bench/first-load.mjs).");
  } else parts.push("Not measured in this run (`node bench/run.mjs --first-load`).");
  parts.push("");

  // closing note
  parts.push("## Notes");
  parts.push("");
  const missed = r.targets.filter((t) => t.status === "missed");
  const unmeasured = r.targets.filter((t) => t.status === "not measured");
  if (missed.length === 0 && unmeasured.length === 0) parts.push("All targets met in this run.");
  for (const t of missed) {
    parts.push(`- **Missed: ${t.target}** — measured ${t.measured}.${t.profile ? ` Profile (${t.profile} workload): ${profileNote(r.profiles[t.profile])}.` : ""}`);
  }
  for (const t of unmeasured) parts.push(`- Not measured: ${t.target} — ${t.measured}.`);
  if (r.tokenwarden.error) parts.push(`- tokenwarden failed to load: \`${r.tokenwarden.error.split("\n")[0]}\``);
  if (r.pageErrors.length) parts.push(`- Page errors during the run: ${r.pageErrors.length} (see results.json).`);
  parts.push("");
  return `${parts.join("\n")}\n`;
}

/** The compact table for the "Performance" section of docs/performance.md. */
export function renderSummary(r) {
  const t = Object.fromEntries(r.targets.map((x) => [x.id, x]));
  const res = (...ids) => {
    const ts = ids.map((id) => t[id]).filter(Boolean);
    if (ts.some((x) => x.status === "missed")) return "**missed**";
    if (ts.some((x) => x.status === "not measured")) return "not measured";
    return "met";
  };
  const rows = [];
  const st = r.size.tokenwarden;
  const peerSize = r.size.peers.map((p) => `${p.label} ${kb(p.gzipBytes)}`).join("; ");
  rows.push(["Size, gzip -9 (wasm + JS)", st.available ? kb(st.gzipBytes) : "–", peerSize, `≤ ${kb(SIZE_TARGET_BYTES)}`, res("size")]);

  const c = r.overhead.contenders;
  const us = (x) => (x ? `${f2(x.usPerCall.median)} µs` : "–");
  rows.push([
    "Per-request overhead, valid token",
    c.tokenwarden ? `${us(c.tokenwarden)} (${x2(c.tokenwarden.ratioToStub.median)} stub)` : "–",
    `stub fetch ${us(c.stub)}; ky ${us(c.ky)} (${x2(c.ky?.ratioToStub.median)}); axios + axios-auth-refresh ${us(c.axios)} (${x2(c.axios?.ratioToStub.median)})`,
    `≤ ${OVERHEAD_TARGET_RATIO}× stub, below ky and axios`,
    res("overhead-stub", "overhead-peers"),
  ]);
  for (const kind of ["small", "large"]) {
    const d = r.decode.sizes[kind];
    rows.push([
      `decodeJwt, ${kind === "small" ? `small token (${d.payloadBytes} B payload)` : "4 KB payload"}`,
      d.tokenwardenOpsPerSec ? `${ops(d.tokenwardenOpsPerSec.median)} (${x2(d.speedup.median)})` : "–",
      `jwt-decode ${ops(d.jwtDecodeOpsPerSec.median)}`,
      `≥ ${DECODE_TARGET_SPEEDUP}×`,
      res(`decode-${kind}`),
    ]);
  }
  const b = r.burst;
  const burstCell = (x) =>
    x
      ? `${x.refreshCallsMin === x.refreshCallsMax ? x.refreshCallsMax : `${x.refreshCallsMin}–${x.refreshCallsMax}`} refresh, ${x.successMin}/${b.requests} ok, +${f1(x.addedMs.median)} ms`
      : "–";
  rows.push([
    `Burst of ${b.requests}, token rejected (401)`,
    burstCell(b["tokenwarden-401"]),
    `axios-auth-refresh defaults: ${burstCell(b.axios)}; \`deduplicateRefresh: false\`: ${burstCell(b["axios-nodedup"])}${b.floor ? `; stub alone, no refresh: ${f1(b.floor.totalMs.median)} ms` : ""}`,
    `1 refresh, ${b.requests}/${b.requests}, ≤ +${BURST_ADDED_TARGET_MS} ms`,
    res("burst-tokenwarden-401"),
  ]);
  rows.push([
    `Burst of ${b.requests}, token already expired`,
    burstCell(b["tokenwarden-expired"]),
    "–",
    `1 refresh, ${b.requests}/${b.requests}, ≤ +${BURST_ADDED_TARGET_MS} ms`,
    res("burst-tokenwarden-expired"),
  ]);
  const m = r.memory;
  rows.push([
    m ? `Memory growth, ${m.fetches.toLocaleString("en-US")} fetches + ${m.refreshes.toLocaleString("en-US")} refreshes` : "Memory growth",
    m && m.wasmGrowthBytes != null
      ? `wasm ${kib(m.wasmGrowthBytes)}, JS heap ${m.jsHeapGrowthBytes >= 0 ? "+" : ""}${kib(m.jsHeapGrowthBytes)}`
      : "–",
    "–",
    `wasm ≤ ${kib(WASM_GROWTH_TARGET_BYTES)}`,
    res("memory"),
  ]);
  rows.push([
    "Start-up, import → ready manager",
    r.startup ? `${f1(r.startup.cold.totalMs)} ms first load, ${f1(r.startup.fresh.totalMs.median)} ms re-import` : "–",
    "–",
    "–",
    "–",
  ]);
  const fl = r.firstLoad;
  if (fl?.contenders?.tokenwarden) {
    const c = fl.contenders;
    const peers = ["oidc-client-ts", "auth0-spa-js", "supabase-auth-js", "axios-stack"].filter((n) => c[n]).map((n) => `${n} ${Math.round(c[n].ready)}`).join(", ");
    rows.push([
      "First load, 1.6 Mbit/s, navigation → ready",
      `${Math.round(c.tokenwarden.ready)} ms; with the wasm preload ${c["tokenwarden-preload"] ? Math.round(c["tokenwarden-preload"].ready) : "–"} ms`,
      `${peers} (ms)`,
      "–",
      "–",
    ]);
  }
  const e = r.environment;
  const head = `Measured ${r.date.slice(0, 10)}${r.quick ? " (quick run)" : ""} in headless Chromium ${e.chromium} on ${e.cpu ?? "unknown CPU"} × ${e.cores} (1-min load average ${e.loadAverageStart?.[0] ?? "?"}); medians of ${r.config.rounds} rounds.`;
  const note = r.note ? `\n\n> **Build measured:** ${r.note}` : "";
  return `${head}${note}\n\n${table(["Measure", "tokenwarden", "Alternatives (same run)", "Target", "Result"], rows)}\n`;
}
