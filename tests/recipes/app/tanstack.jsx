// Recipe: TanStack Query in a React app, with the manager from tokenwarden/react.
import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { TokenManagerProvider, useSession, useTokenManager } from "tokenwarden/react";
import { expose } from "./common.js";

const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });

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
    queryKey: ["me", session.status],
    queryFn: getJson(auth, "/api/me"),
    enabled: session.status === "signedIn",
  });
  return <p id="me">{me.data ? `${me.data.sub} ${me.data.jti}` : session.status}</p>;
}

function Expose() {
  const auth = useTokenManager();
  useEffect(() => {
    if (auth) expose(auth, () => queryClient.fetchQuery({ queryKey: ["me", "call", Date.now()], queryFn: getJson(auth, "/api/me") }));
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
