// The demo SPA: one token manager, a live session timeline, buttons that make
// the auth server misbehave, and a long form protected by drafts. All token
// handling is the package's; this file only calls its public API and draws.

import { demoOptions, currentTransport, TRANSPORTS, toMs } from "/tw-config.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const fmtTime = (ms) => (ms == null ? "–" : new Date(ms).toLocaleTimeString([], { hour12: false }) + "." + String(Math.floor((ms % 1000) / 100)));

/** A syntactically valid JWT (unsigned: decodeJwt never verifies) to prove the wasm works. */
function sampleJwt() {
  const b64 = (o) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: "HS256", typ: "JWT" })}.${b64({ sub: "demo", iat: now, exp: now + 30 })}.c2ln`;
}

function setResult(text, kind = "") {
  const out = $("result");
  out.textContent = text;
  out.className = `result ${kind}`;
}

async function serverStats() {
  return (await fetch("/demo/stats")).json();
}

async function serverFaults(body) {
  const r = await fetch("/demo/faults", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  return r.json();
}

// ----------------------------------------------------------------- timeline

const timeline = {
  lead: 10,
  jitter: 5,
  ttl: 30,
  /** Tokens seen in this tab: {issuedAt, expiresAt, refreshAt}. */
  tokens: [],
  /** Point events: {at, kind, label}. */
  marks: [],
};

function noteToken(auth, refreshAt) {
  const expiresAt = toMs(auth.expiresAt);
  if (!expiresAt) return;
  const iat = toMs(auth.claims?.iat);
  const last = timeline.tokens.at(-1);
  if (last && last.expiresAt === expiresAt) {
    if (refreshAt) last.refreshAt = refreshAt;
    return;
  }
  timeline.tokens.push({ issuedAt: iat ?? Date.now(), expiresAt, refreshAt: refreshAt ?? null });
  if (timeline.tokens.length > 20) timeline.tokens.shift();
}

function mark(kind, label) {
  timeline.marks.push({ at: Date.now(), kind, label });
  if (timeline.marks.length > 200) timeline.marks.shift();
  const li = document.createElement("li");
  li.className = kind;
  li.textContent = `${fmtTime(Date.now())}  ${label}`;
  const list = $("events");
  list.prepend(li);
  while (list.children.length > 12) list.lastChild.remove();
}

function el(name, attrs, text) {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text != null) e.textContent = text;
  return e;
}

function drawTimeline() {
  const svg = $("timeline");
  // One SVG unit per CSS pixel: text stays the same size at any width.
  const W = Math.max(280, Math.round(svg.clientWidth || 640));
  svg.setAttribute("viewBox", `0 0 ${W} 150`);
  const left = 8, right = W - 8;
  const span = Math.max(20, timeline.ttl * 2.2) * 1000;
  const now = Date.now();
  const t0 = now - span * 0.55;
  const x = (t) => left + ((t - t0) / span) * (right - left);
  const clampX = (t) => Math.min(right, Math.max(left, x(t)));
  svg.replaceChildren();
  // Axis with ticks every 5 or 10 s, labelled relative to now.
  const step = timeline.ttl > 20 ? 10_000 : 5_000;
  svg.append(el("line", { x1: left, x2: right, y1: 122, y2: 122, class: "axis" }));
  for (let t = Math.ceil(t0 / step) * step; t < t0 + span; t += step) {
    const rel = Math.round((t - now) / 1000);
    svg.append(el("line", { x1: x(t), x2: x(t), y1: 118, y2: 126, class: "axis" }));
    svg.append(el("text", { x: x(t), y: 142, class: "tick" }, rel === 0 ? "now" : `${rel > 0 ? "+" : ""}${rel}s`));
  }
  svg.append(el("text", { x: left, y: 14, class: "row-label" }, "access token"));
  svg.append(el("text", { x: left, y: 60, class: "row-label" }, "refresh window · scheduled refresh"));
  svg.append(el("text", { x: left, y: 96, class: "row-label" }, "events"));
  timeline.tokens.forEach((tok, i) => {
    if (tok.expiresAt < t0 || tok.issuedAt > t0 + span) return;
    const x1 = clampX(tok.issuedAt), x2 = clampX(tok.expiresAt);
    svg.append(el("rect", { x: x1, y: 20, width: Math.max(1, x2 - x1), height: 18, rx: 4, class: `token t${i % 2}` }));
    const ws = tok.expiresAt - (timeline.lead + timeline.jitter) * 1000;
    const we = tok.expiresAt - timeline.lead * 1000;
    const wx1 = clampX(ws), wx2 = clampX(we);
    svg.append(el("rect", { x: wx1, y: 66, width: Math.max(1, wx2 - wx1), height: 14, rx: 3, class: "window" }));
    if (tok.refreshAt) {
      const rx = x(tok.refreshAt);
      svg.append(el("path", { d: `M${rx} 63 l6 10 l-6 10 l-6 -10 z`, class: "scheduled" }));
    }
  });
  for (const m of timeline.marks) {
    if (m.at < t0) continue;
    svg.append(el("circle", { cx: x(m.at), cy: 106, r: 5, class: `mark ${m.kind}` }));
  }
  svg.append(el("line", { x1: x(now), x2: x(now), y1: 18, y2: 126, class: "now" }));
}

// --------------------------------------------------------------------- main

async function main() {
  let tw;
  try {
    tw = await import("/dist/index.js");
  } catch {
    $("wasm-status").textContent = "package not built: run npm run build";
    $("wasm-status").className = "pill bad";
    return;
  }
  // Prove the module initialised: decode a token in wasm.
  const init = typeof tw.init === "function" ? tw.init : tw.default;
  if (typeof init === "function") await init();
  const decoded = tw.decodeJwt(sampleJwt());
  const ok = JSON.stringify(decoded ?? null).includes("demo");
  $("wasm-status").textContent = ok ? "wasm ready" : "wasm loaded, decode failed";
  $("wasm-status").className = ok ? "pill good" : "pill bad";
  document.documentElement.dataset.wasm = ok ? "ready" : "broken";

  const stats = await serverStats().catch(() => null);
  if (stats) {
    $("ttl").textContent = String(stats.accessTtlSeconds);
    timeline.ttl = stats.accessTtlSeconds;
  }
  if (typeof tw.createTokenManager !== "function") {
    for (const b of document.querySelectorAll("#actions-card button, #order-form button")) b.disabled = true;
    setResult("The wasm module works (decodeJwt ran). The token manager is not in this build yet.", "warn");
    return;
  }

  const options = await demoOptions();
  timeline.lead = options.leadSeconds;
  timeline.jitter = options.jitterSeconds;
  $("f-transport").textContent = TRANSPORTS[currentTransport()].label;
  const auth = await tw.createTokenManager(options);
  window.demoAuth = auth; // handy in the console

  auth.on("refreshed", (e) => {
    noteToken(auth, toMs(e?.refreshAt));
    mark("refreshed", e?.fromTab ? "tokens from another tab" : "refreshed");
  });
  auth.on("expiring", () => mark("expiring", "token expiring: refresh starting"));
  auth.on("error", (e) => mark("error", `refresh failed: ${e?.code ?? ""} ${e?.message ?? e?.detail ?? ""}`.trim()));
  auth.on("warning", (e) => mark("warning", `warning: ${e?.code ?? e}`));
  auth.on("logout", () => mark("logout", "signed out"));
  auth.on("sessionExpired", (e) => {
    mark("over", `session over (${e?.reason ?? "expired"}): drafts saved, going to sign-in`);
    setResult("Session over: your form is saved as a draft; redirecting to sign in…", "bad");
  });
  auth.on("draftsRestored", (e) => {
    const box = $("drafts-restored");
    const n = Array.isArray(e?.keys) ? e.keys.length : Array.isArray(e) ? e.length : e?.count ?? 1;
    box.textContent = `Welcome back: restored ${n} draft${n === 1 ? "" : "s"} you were typing before the session ended.`;
    box.hidden = false;
    document.documentElement.dataset.draftsRestored = "1";
  });

  function refreshUi() {
    const signedIn = Boolean(auth.accessToken);
    $("user").textContent = signedIn ? `signed in as ${auth.claims?.sub ?? "?"}` : "signed out";
    $("user").className = signedIn ? "pill good" : "pill muted";
    $("sign-in-link").hidden = signedIn;
    $("sign-out").hidden = !signedIn;
    for (const b of document.querySelectorAll("#actions-card button")) if (b.id !== "btn-tab") b.disabled = !signedIn;
    if (signedIn) noteToken(auth);
    const tok = timeline.tokens.at(-1);
    $("f-issued").textContent = signedIn && tok ? fmtTime(tok.issuedAt) : "–";
    $("f-expiry").textContent = signedIn && tok ? fmtTime(tok.expiresAt) : "–";
    $("f-refresh").textContent = signedIn && tok
      ? `${tok.refreshAt ? fmtTime(tok.refreshAt) : "scheduled"} (window ${fmtTime(tok.expiresAt - (timeline.lead + timeline.jitter) * 1000)}–${fmtTime(tok.expiresAt - timeline.lead * 1000)})`
      : "–";
    document.documentElement.dataset.signedIn = signedIn ? "1" : "0";
  }

  async function pollStats() {
    try {
      const s = await serverStats();
      for (const k of ["refreshCalls", "reuseDetections", "apiRequests", "api401", "refreshFaults", "logins"]) $(`s-${k}`).textContent = String(s[k]);
    } catch {
      /* server gone: keep the last numbers */
    }
  }

  $("btn-burst").addEventListener("click", async () => {
    setResult("Expiring the access token on the server, then firing 50 calls at once…");
    const before = await serverStats();
    await serverFaults({ expireAccessTokens: true });
    mark("burst", "50 calls with an expired token");
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        auth.fetch("/api/orders", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ line: i }) })
          .then((r) => r.status)
          .catch((e) => e?.code ?? "error")),
    );
    const after = await serverStats();
    const okCount = results.filter((s) => s === 200).length;
    const refreshes = after.refreshCalls - before.refreshCalls;
    setResult(`${okCount}/50 calls succeeded · ${after.api401 - before.api401} got 401 · refresh calls the server saw: ${refreshes}`, okCount === 50 ? "good" : "bad");
    $("result").dataset.ok = String(okCount);
    $("result").dataset.refreshCalls = String(refreshes);
    pollStats();
  });

  $("btn-call").addEventListener("click", async () => {
    try {
      const r = await auth.fetch("/api/me");
      const body = await r.json().catch(() => ({}));
      setResult(`GET /api/me → ${r.status}${body.sub ? ` (you are ${body.sub}, token ${String(body.jti).slice(0, 8)}…)` : ""}`, r.ok ? "good" : "bad");
    } catch (e) {
      setResult(`GET /api/me failed: ${e?.code ?? e?.message ?? e}`, "bad");
    }
  });

  $("btn-refresh").addEventListener("click", async () => {
    setResult("Refreshing…");
    try {
      await auth.refresh();
      setResult("Refreshed: new access token and a rotated refresh token.", "good");
    } catch (e) {
      setResult(`Refresh failed: ${e?.code ?? e?.message ?? e}`, "bad");
    }
  });

  let flaky = false;
  $("btn-flaky").addEventListener("click", async () => {
    flaky = !flaky;
    await serverFaults(flaky ? { failNext: 2, delayMs: 700 } : { failNext: 0, delayMs: 0, dropNext: 0, garbageNext: 0 });
    $("btn-flaky").textContent = flaky ? "Make the auth server reliable" : "Make the auth server flaky";
    setResult(flaky
      ? "Flaky: every refresh takes 0.7 s and the next 2 fail with 500. Press “Refresh now” to watch the backoff, then success."
      : "The auth server is reliable again.", "warn");
  });

  $("btn-revoke").addEventListener("click", async () => {
    const sid = auth.claims?.sid;
    await serverFaults(sid ? { revokeSid: sid } : { revokeAll: true });
    mark("revoked", "session revoked on the server");
    setResult("Revoked on the server. The next API call or refresh ends the session: type in the form, then press “Call the API once”.", "warn");
  });

  $("btn-tab").addEventListener("click", () => window.open("/", "_blank"));

  $("sign-out").addEventListener("click", async () => {
    await auth.logout();
    refreshUi();
  });

  $("order-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    const data = Object.fromEntries([...new FormData(form)].filter(([k]) => k !== "accountPassword"));
    try {
      const r = await auth.fetch("/api/orders", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(data) });
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
      auth.drafts.discard(form);
      form.reset();
      $("drafts-restored").hidden = true;
      setResult("Order placed; its draft was discarded.", "good");
    } catch (e) {
      setResult(`Order failed: ${e?.code ?? e?.message ?? e}`, "bad");
    }
  });

  refreshUi();
  pollStats();
  setInterval(refreshUi, 500);
  setInterval(pollStats, 2000);
  document.documentElement.dataset.app = "ready";
}

setInterval(drawTimeline, 250);
drawTimeline();
main().catch((err) => {
  setResult(`Demo failed to start: ${err?.message ?? err}`, "bad");
  console.error(err);
});
