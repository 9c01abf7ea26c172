// Typed use of the framework bindings, compiled with `tsc --noEmit` against
// dist/react.d.ts and dist/vue.d.ts. The `@ts-expect-error` lines check that
// mistakes are type errors (if the types got looser, tsc fails).

import type { TokenManager } from "tokenwarden";
import { TokenManagerProvider, useSession, useTokenManager, type Session } from "tokenwarden/react";
import * as vueBindings from "tokenwarden/vue";
import { createApp, h } from "vue";

export function Profile() {
  const session: Session = useSession();
  const auth: TokenManager | null = useTokenManager();
  const name = typeof session.claims?.name === "string" ? session.claims.name : "?";
  if (session.status === "loading") return <p>loading…</p>;
  // @ts-expect-error: not a status
  if (session.status === "ready") return null;
  const expires: number | null = session.expiresAt;
  return (
    <button onClick={() => auth?.logout()}>
      {name} {session.accessToken === null ? "signed out" : `until ${expires}`}
    </button>
  );
}

export function Root() {
  return (
    <TokenManagerProvider options={{ refresh: { url: "/auth/refresh" }, storage: "session" }} fallback={<p>…</p>}>
      <Profile />
    </TokenManagerProvider>
  );
}

export function Broken() {
  // @ts-expect-error: options are required
  return <TokenManagerProvider fallback={null} />;
}

export function vueApp(): void {
  const app = createApp({
    setup() {
      const session = vueBindings.useSession();
      const auth = vueBindings.useTokenManager();
      return () => h("p", `${session.value.status} ${auth.value?.accessToken ?? ""}`);
    },
  });
  app.use(vueBindings.tokenwarden, { refresh: { url: "/auth/refresh" } });
  // @ts-expect-error: the plugin needs options
  app.use(vueBindings.tokenwarden);
  const plugin = vueBindings.createTokenwarden({ refresh: { url: "/auth/refresh", format: "cookie" } });
  app.use(plugin);
  const status: Session["status"] = plugin.session.value.status;
  void status;
}
