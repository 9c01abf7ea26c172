// Recipe: ky, with auth.fetch as its fetch.
import ky from "ky";
import { createTokenManager } from "tokenwarden";
import { expose, fail } from "./common.js";

try {
  const auth = await createTokenManager({ refresh: { url: "/auth/refresh" } });
  const api = ky.create({ prefixUrl: "/api", fetch: auth.fetch });
  expose(auth, () => api.get("me").json());
} catch (e) {
  fail(e);
}
