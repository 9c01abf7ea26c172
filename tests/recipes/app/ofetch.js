// Recipe: ofetch, with auth.fetch as the fetch of its instance.
import { createFetch } from "ofetch";
import { createTokenManager } from "tokenwarden";
import { expose, fail } from "./common.js";

try {
  const auth = await createTokenManager({ refresh: { url: "/auth/refresh" } });
  const api = createFetch({ fetch: auth.fetch }).create({ baseURL: "/api" });
  expose(auth, () => api("/me"));
} catch (e) {
  fail(e);
}
