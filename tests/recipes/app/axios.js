// Recipe: axios with its fetch adapter, sending every request through auth.fetch.
import axios from "axios";
import { createTokenManager } from "tokenwarden";
import { expose, fail } from "./common.js";

try {
  const auth = await createTokenManager({ refresh: { url: "/auth/refresh" } });
  const api = axios.create({ baseURL: "/api", adapter: "fetch", env: { fetch: auth.fetch } });
  expose(auth, async () => (await api.get("/me")).data);
} catch (e) {
  fail(e);
}
