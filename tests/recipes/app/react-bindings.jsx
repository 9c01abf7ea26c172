// The tokenwarden/react test app: TokenManagerProvider under StrictMode (the
// development build double-mounts), useSession and useTokenManager. The test
// drives it through `window.app` and reads `window.renders` (the session
// object every render saw).
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { TokenManagerProvider, useSession, useTokenManager } from "tokenwarden/react";
import { signIn } from "./common.js";

const options = {
  refresh: { url: "/auth/refresh" },
  storage: "local",
  storageKey: "bindings",
  leadSeconds: 0,
  jitterSeconds: 0,
};
// ?bad: an unknown option, so creating the manager fails (TokenError `config`).
if (new URLSearchParams(location.search).has("bad")) options.noSuchOption = true;

window.renders = [];

function Session() {
  const session = useSession();
  const auth = useTokenManager();
  const [tick, setTick] = useState(0);
  window.renders.push(session);
  useEffect(() => {
    if (!auth) return;
    window.app = {
      auth,
      login: () => signIn(auth),
      rerender: () => setTick((t) => t + 1),
      unmount: () => root.unmount(),
    };
    document.title = "ready";
  }, [auth]);
  return (
    <p id="status" data-tick={tick}>
      {session.status}
      {session.claims ? ` as ${session.claims.sub}` : ""}
      {session.error ? ` (${session.error.code})` : ""}
    </p>
  );
}

// Re-renders the provider with a new options object each time (as an inline
// literal would): the provider reads its options once and keeps its manager.
function Root() {
  const [n, setN] = useState(0);
  window.rerenderRoot = () => setN((x) => x + 1);
  return (
    <div id="root-renders" data-n={n}>
      <TokenManagerProvider options={{ ...options }} fallback={<p id="fallback">loading…</p>}>
        <Session />
      </TokenManagerProvider>
    </div>
  );
}

const root = createRoot(document.getElementById("root"));
root.render(
  <StrictMode>
    <Root />
  </StrictMode>,
);
