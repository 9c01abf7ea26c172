// Recipe: a plain <script type="module"> page, no bundler.
import { createTokenManager } from "./node_modules/tokenwarden/dist/index.js";
import { expose, fail } from "./common.js";

try {
  const auth = await createTokenManager({ refresh: { url: "/auth/refresh" } });
  expose(auth, async () => (await auth.fetch("/api/me")).json());
} catch (e) {
  fail(e);
}
