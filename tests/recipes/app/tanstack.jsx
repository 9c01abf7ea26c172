// Recipe: TanStack Query in a React app, with the manager from tokenwarden/react.
import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { TokenManagerProvider, useSession, useTokenManager } from "tokenwarden/react";
import { expose } from "./common.js";

// staleTime: Infinity: data is refetched when invalidated, not on every mount.
const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false, staleTime: Infinity } } });
const ME = ["me"];

/** A query function that fetches JSON through the manager. */
const getJson = (auth, url) => async () => {
  const res = await auth.fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status}`);
  return res.json();
};

function Me() {
  const auth = useTokenManager();
  const session = useSession();
  const me = useQuery({
    queryKey: ME,
    queryFn: getJson(auth, "/api/me"),
    enabled: session.status === "signedIn",
  });
  return <p id="me">{me.data ? `${me.data.sub} ${me.data.jti}` : session.status}</p>;
}

function Expose() {
  const auth = useTokenManager();
  useEffect(() => {
    if (!auth) return;
    let calls = 0;
    expose(auth, async () => {
      // First: the data the <Me> query fetched (or is fetching) after sign-in.
      if (calls++ === 0) return queryClient.ensureQueryData({ queryKey: ME, queryFn: getJson(auth, "/api/me") });
      // Then: invalidate, so the mounted query fetches again.
      await queryClient.invalidateQueries({ queryKey: ME });
      const state = queryClient.getQueryState(ME);
      if (state.status === "error") throw state.error;
      return state.data;
    });
  }, [auth]);
  return null;
}

createRoot(document.getElementById("root")).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <TokenManagerProvider options={{ refresh: { url: "/auth/refresh" } }} fallback={<p>loading…</p>}>
        <Expose />
        <Me />
      </TokenManagerProvider>
    </QueryClientProvider>
  </StrictMode>,
);
