// Recipe: server-side rendering (Vite SSR). The same App renders on the
// server (where TokenManagerProvider creates no manager: effects do not run
// there, so the fallback is rendered) and hydrates in the browser, where the
// manager is created.
import { useEffect } from "react";
import { TokenManagerProvider, useSession, useTokenManager } from "tokenwarden/react";
import { expose } from "../common.js";

const options = { refresh: { url: "/auth/refresh" } };

function Status() {
  const session = useSession();
  const auth = useTokenManager();
  useEffect(() => {
    if (auth) {
      expose(auth, async () => (await auth.fetch("/api/me")).json());
    }
  }, [auth]);
  return <p id="status">{session.status}{session.claims ? ` as ${session.claims.sub}` : ""}</p>;
}

export function App() {
  return (
    <TokenManagerProvider options={options} fallback={<p id="status">loading</p>}>
      <Status />
    </TokenManagerProvider>
  );
}
