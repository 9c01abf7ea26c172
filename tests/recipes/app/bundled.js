// Recipe: plain auth.fetch in an app built by Vite (build and dev server) or webpack 5.
import { createTokenManager } from "tokenwarden";
import { expose, fail } from "./common.js";

async function main() {
  const auth = await createTokenManager({ refresh: { url: "/auth/refresh" } });
  expose(auth, async () => {
    const res = await auth.fetch("/api/me");
    if (!res.ok) throw new Error(`status ${res.status}`);
    return res.json();
  }, { bundler: typeof __BUNDLER__ === "string" ? __BUNDLER__ : "unknown" });
}
main().catch(fail);
