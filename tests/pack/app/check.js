// The packaging check every test app runs: initialise the wasm module, decode
// a JWT with it, and (when the build has it) create and dispose a token
// manager. The outcome lands in `window.packResult` and `document.title`.

// header {"alg":"HS256","typ":"JWT"}, payload {"sub":"pack-test","iat":1700000000,"exp":1700000300}
const SAMPLE =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." +
  "eyJzdWIiOiJwYWNrLXRlc3QiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6MTcwMDAwMDMwMH0." +
  "c2ln";

export async function check(tw, label) {
  const out = { label, exports: Object.keys(tw).sort() };
  try {
    const init = typeof tw.init === "function" ? tw.init : tw.default;
    if (typeof init === "function") await init();
    out.decoded = JSON.parse(JSON.stringify(tw.decodeJwt(SAMPLE)));
    out.ok = JSON.stringify(out.decoded).includes("pack-test");
    if (typeof tw.createTokenManager === "function") {
      const auth = await tw.createTokenManager({ refresh: { url: "/auth/refresh", format: "json" } });
      out.manager = typeof auth.fetch === "function" && auth.accessToken == null;
      auth.dispose();
    }
  } catch (e) {
    out.ok = false;
    out.error = String(e?.stack ?? e);
  }
  window.packResult = out;
  document.getElementById("out").textContent = JSON.stringify(out, null, 2);
  document.title = out.ok ? "ok" : "failed";
}
