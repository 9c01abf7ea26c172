// A typed usage example, compiled with `tsc --noEmit` against dist/index.d.ts.
// It uses every option, event and error code an app would, and the
// `@ts-expect-error` lines check that mistakes are type errors: if the types
// got looser (e.g. `any`), those lines would stop erroring and tsc fails.

import { createTokenManager, decodeJwt, TokenError } from "tokenwarden";

export async function example(): Promise<void> {
  const auth = await createTokenManager({
    refresh: { url: "/auth/refresh", format: "json" },
    leadSeconds: 60,
    jitterSeconds: 30,
    allowedOrigins: ["https://api.example.com"],
    storage: "session",
    loginUrl: "/login",
    idleTimeoutSeconds: 0,
    maxSessionSeconds: 0,
    renewHeader: null,
    crossTab: true,
    drafts: { selector: "form[data-draft]", ttlSeconds: 86400 },
    redirect: true,
    returnParam: "returnTo",
    fetch: globalThis.fetch,
  });

  // The other transports.
  await createTokenManager({ refresh: { url: "/oauth/token", format: "oauth2", clientId: "spa", scope: "orders:read" } });
  await createTokenManager({ refresh: { url: "/auth/refresh", format: "cookie" }, storage: "memory" });
  // An API that says "expired" with a 419 or a JSON code.
  await createTokenManager({ refresh: { url: "/auth/refresh" }, shouldRefresh: (r) => r.status === 419 });
  await createTokenManager({
    refresh: { url: "/auth/refresh" },
    async shouldRefresh(r) {
      if (r.status !== 400) return;
      return ((await r.json()) as { code?: string }).code === "token_expired";
    },
  });
  await createTokenManager({
    refresh: async (refreshToken) => {
      void refreshToken;
      return { accessToken: "a.b.c", refreshToken: "r", expiresIn: 300 };
    },
    storage: "local",
  });

  auth.setSession({ accessToken: "a.b.c", refreshToken: "r", expiresIn: 300 });
  const res: Response = await auth.fetch("/api/orders", { method: "POST", body: "{}" });
  void res;
  const viaRequest: Response = await auth.fetch(new Request("/api/me"));
  void viaRequest;

  const offs: Array<() => void> = [
    auth.on("refreshed", (e) => void e),
    auth.on("expiring", (e) => void e),
    auth.on("sessionExpired", (e) => void e),
    auth.on("logout", (e) => void e),
    auth.on("error", (e) => void e),
    auth.on("warning", (e) => void e),
    auth.on("draftsRestored", (e) => void e),
  ];
  offs.forEach((off) => off());

  const token: string | null = auth.accessToken;
  void token;
  void auth.expiresAt;
  void auth.claims;
  await auth.refresh();
  await auth.logout();

  void auth.drafts.list();
  auth.drafts.restore();
  auth.drafts.restore("order");
  const form = document.querySelector("form");
  if (form) auth.drafts.discard(form);
  auth.drafts.discard("order");
  auth.dispose();

  void decodeJwt("a.b.c");
  // jwt-decode's overloads: the header with `{ header: true }`, a payload type of your own.
  const header: string | undefined = decodeJwt("a.b.c", { header: true }).alg;
  const exp: number | undefined = decodeJwt("a.b.c").exp;
  const mine = decodeJwt<{ sub: number }>("a.b.c");
  void [header, exp, mine.sub.toFixed()];
  // Per-request control, with a URL and with a Request.
  // @ts-expect-error: a typo in the control member is a type error
  await auth.fetch("/api/x", { tokenwarden: { refesh: false } });
  await auth.fetch("/api/logout", { method: "POST", tokenwarden: { refresh: false } });
  await auth.fetch(new Request("/api/public"), { tokenwarden: { auth: false } });

  try {
    await auth.fetch("/api/me");
  } catch (err) {
    if (err instanceof TokenError) {
      const code: string = err.code;
      const known: TokenError["code"][] = ["session_expired", "refresh_failed", "queue_full", "queue_timeout", "logged_out"];
      void code;
      void known;
    }
  }

  // Detached methods, and auth.fetch where a fetch goes.
  const { fetch: authFetch, refresh, logout, on, setSession, dispose } = auth;
  const asFetch: typeof globalThis.fetch = authFetch;
  void asFetch;
  void [refresh, logout, on, setSession, dispose];
  const envCodes: TokenError["code"][] = ["internal", "wasm_blocked", "wasm_not_found", "wasm_load_failed", "unsupported_environment"];
  void envCodes;

  // ---- mistakes that must not compile ----
  // @ts-expect-error `refresh` is required
  await createTokenManager({ leadSeconds: 1 });
  // @ts-expect-error storage is "memory" | "session" | "local"
  await createTokenManager({ refresh: { url: "/r", format: "json" }, storage: "cookie" });
  // @ts-expect-error unknown refresh format
  await createTokenManager({ refresh: { url: "/r", format: "xml" } });
  // @ts-expect-error numbers, not strings
  await createTokenManager({ refresh: { url: "/r", format: "json" }, leadSeconds: "60" });
  // @ts-expect-error unknown event name
  auth.on("refresh-done", () => {});
  // @ts-expect-error error codes are a closed set
  const bad: TokenError["code"] = "not_a_code";
  void bad;
}
