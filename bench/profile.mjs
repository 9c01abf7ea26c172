// Summarises a V8 CPU profile (CDP `Profiler.stop`) into self time per
// category and the hottest functions, for the "what the profile shows" part
// of the report.

/** Which part of the stack a profile node belongs to. */
export function categoryOf(frame) {
  const { functionName: name, url } = frame;
  if (name === "(garbage collector)") return "garbage collector";
  if (name === "(program)") return "engine (program)";
  if (name === "(idle)") return "idle";
  if (name === "(root)") return "root";
  // Chromium names wasm frames by the name section (Rust paths, `a::b::h<hash>`)
  // or `$func<N>` / `wasm-function[<N>]` once wasm-opt has stripped it; their
  // url is the module's (`wasm://wasm/<hash>` or the .wasm URL).
  if (url.startsWith("wasm://") || url.endsWith(".wasm") || /^\$|^wasm-function|::/.test(name)) return "tokenwarden wasm";
  if (url.includes("/dist/index.js")) return "tokenwarden JS glue";
  if (url.includes("/bench.js")) return "bench page (stub transport, loops)";
  if (url === "") return "browser built-ins";
  return "other";
}

/** Rust symbol without its hash suffix and crate disambiguators (`::h0123…`, `[0123…]`). */
export function shortName(name) {
  return name.replace(/::h[0-9a-f]{16}$/, "").replace(/\[[0-9a-f]{16}\]/g, "");
}

/**
 * `{ sampledMs, categories: [{category, ms, pct}], top: [{name, category, ms, pct}] }`
 * (idle time excluded from the percentages).
 */
export function summarizeProfile(profile, topN = 15) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // A sample's duration is the gap to the next sample.
    const dt = (i + 1 < timeDeltas.length ? timeDeltas[i + 1] : 0) / 1000;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  const otherUrls = new Set();
  const categories = new Map();
  const functions = new Map();
  let total = 0;
  for (const [id, ms] of self) {
    const node = byId.get(id);
    if (!node) continue;
    const category = categoryOf(node.callFrame);
    if (category === "idle" || category === "root") continue;
    if (category === "other" && otherUrls.size < 5) otherUrls.add(node.callFrame.url);
    total += ms;
    categories.set(category, (categories.get(category) ?? 0) + ms);
    const name = shortName(node.callFrame.functionName || "(anonymous)");
    const key = `${category}\u0000${name}`;
    functions.set(key, (functions.get(key) ?? 0) + ms);
  }
  const pct = (ms) => (total > 0 ? Math.round((ms / total) * 1000) / 10 : 0);
  const round = (ms) => Math.round(ms * 10) / 10;
  return {
    sampledMs: round(total),
    otherUrls: [...otherUrls],
    categories: [...categories]
      .sort((a, b) => b[1] - a[1])
      .map(([category, ms]) => ({ category, ms: round(ms), pct: pct(ms) })),
    top: [...functions]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topN)
      .map(([key, ms]) => {
        const [category, name] = key.split("\u0000");
        return { name, category, ms: round(ms), pct: pct(ms) };
      }),
  };
}
