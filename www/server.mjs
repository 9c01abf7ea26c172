#!/usr/bin/env node
// `npm run demo`: start the demo auth server and static host on PORT.
//
// Environment:
//   PORT          TCP port (default 8080; 0 = any free port)
//   HOST          interface (default 127.0.0.1: the /demo/* knobs are unauthenticated)
//   ACCESS_TTL    access-token lifetime in seconds (default 30, so refreshes are visible)
//   REFRESH_TTL   refresh-token lifetime in seconds (default 3600)
//   RENEW_WITHIN  renew-header mode: seconds before expiry (default 0 = off)
//   LOG=1         one log line per request

import { createDemoServer } from "./auth-server.mjs";
import { existsSync } from "node:fs";

function envNumber(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const v = Number(raw);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`${name} must be a number >= 0, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return v;
}

const demo = await createDemoServer({
  port: envNumber("PORT", 8080),
  host: process.env.HOST || "127.0.0.1",
  accessTtlSeconds: envNumber("ACCESS_TTL", 30),
  refreshTtlSeconds: envNumber("REFRESH_TTL", 3600),
  renewWithinSeconds: envNumber("RENEW_WITHIN", 0),
  log: process.env.LOG === "1",
});

if (!existsSync(demo.state.options.distDir + "/index.js")) {
  console.warn(`warning: ${demo.state.options.distDir}/index.js is missing: run \`npm run build\` first`);
}
console.log(`tokenwarden demo: ${demo.url}/  (access TTL ${demo.state.accessTtlSeconds} s; Ctrl-C to stop)`);

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    await demo.close();
    process.exit(0);
  });
}
