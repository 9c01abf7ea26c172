// Package size (issue 7, measure 1): gzip -9 of what an app ships.
//
// tokenwarden: dist/index.js (JS glue, already bundled and minified by
// scripts/build) + dist/tokenwarden_bg.wasm, each gzipped on its own (that is
// how a server sends them). Peers: a tiny entry in bench/entries/ that
// re-exports what an app would import, bundled by esbuild with
// `--bundle --minify --format=esm --platform=browser` into bench/.build/, then
// gzipped. Every figure uses node's zlib at level 9.

import { build } from "esbuild";
import { existsSync, readFileSync, mkdirSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

/** The peers measured, in table order: id, label, entry file, npm packages (for versions). */
export const SIZE_PEERS = [
  { id: "auth0-spa-js", label: "@auth0/auth0-spa-js", entry: "auth0-spa-js.js", packages: ["@auth0/auth0-spa-js"] },
  { id: "oidc-client-ts", label: "oidc-client-ts", entry: "oidc-client-ts.js", packages: ["oidc-client-ts"] },
  { id: "supabase-auth-js", label: "@supabase/auth-js", entry: "supabase-auth-js.js", packages: ["@supabase/auth-js"] },
  {
    id: "axios-stack",
    label: "axios + axios-auth-refresh + jwt-decode",
    entry: "axios-stack.js",
    packages: ["axios", "axios-auth-refresh", "jwt-decode"],
  },
  { id: "ky", label: "ky", entry: "ky.js", packages: ["ky"] },
  { id: "jwt-decode", label: "jwt-decode", entry: "jwt-decode.js", packages: ["jwt-decode"] },
];

/** gzip -9 byte count. */
export function gzipSize(buf) {
  return gzipSync(buf, { level: 9 }).length;
}

/** Installed version of an npm package (from node_modules), or null. */
export function packageVersion(root, name) {
  try {
    return JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8")).version;
  } catch {
    return null;
  }
}

/**
 * Measures every row. Returns `{ tokenwarden, peers: [...] }`; `tokenwarden`
 * is `{ available: false, reason }` when dist/ is not built.
 */
export async function measureSizes(root, buildDir, distDir = join(root, "dist")) {
  const sizeDir = join(buildDir, "size");
  mkdirSync(sizeDir, { recursive: true });

  const js = join(distDir, "index.js");
  const wasm = join(distDir, "tokenwarden_bg.wasm");
  let tokenwarden;
  if (existsSync(js) && existsSync(wasm)) {
    const jsBuf = readFileSync(js);
    const wasmBuf = readFileSync(wasm);
    const jsGz = gzipSize(jsBuf);
    const wasmGz = gzipSize(wasmBuf);
    tokenwarden = {
      available: true,
      jsBytes: jsBuf.length,
      jsGzip: jsGz,
      wasmBytes: wasmBuf.length,
      wasmGzip: wasmGz,
      minBytes: jsBuf.length + wasmBuf.length,
      gzipBytes: jsGz + wasmGz,
    };
  } else {
    tokenwarden = { available: false, reason: "dist/ not built (run `npm run build`)" };
  }

  const peers = [];
  for (const peer of SIZE_PEERS) {
    const outfile = join(sizeDir, `${peer.id}.min.js`);
    const result = await build({
      entryPoints: [join(root, "bench", "entries", peer.entry)],
      bundle: true,
      minify: true,
      format: "esm",
      platform: "browser",
      // What a production app bundle gets (React/Vite/webpack set this too).
      define: { "process.env.NODE_ENV": '"production"' },
      outfile,
      write: false,
      logLevel: "silent",
      legalComments: "none",
    });
    const out = result.outputFiles[0].contents;
    writeFileSync(outfile, out);
    peers.push({
      id: peer.id,
      label: peer.label,
      versions: Object.fromEntries(peer.packages.map((p) => [p, packageVersion(root, p)])),
      minBytes: out.length,
      gzipBytes: gzipSize(out),
    });
  }
  return { tokenwarden, peers };
}
