// What every recipe app shares: sign in against the demo auth server (as a
// login page would) and expose `window.recipe` for the test to drive:
//   await recipe.login()   // POST /auth/login, then auth.setSession(…)
//   await recipe.call()    // one authenticated API call through the recipe's client
// `document.title` becomes "ready" once the app has set itself up.

export async function signIn(auth, username = "recipe") {
  const res = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password: "demo" }),
  });
  if (!res.ok) throw new Error(`login failed: ${res.status}`);
  const body = await res.json();
  auth.setSession({ accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in });
  return auth.accessToken !== null;
}

/** `call` makes one authenticated request through the recipe's client and resolves to the JSON body. */
export function expose(auth, call, extra = {}) {
  window.recipe = {
    login: () => signIn(auth),
    async call() {
      try {
        return { ok: true, data: await call() };
      } catch (e) {
        return { ok: false, error: String(e?.stack ?? e) };
      }
    },
    ...extra,
  };
  document.title = "ready";
}

/** For the apps that fail before `expose`: show why in the title the test waits on. */
export function fail(e) {
  window.recipeError = String(e?.stack ?? e);
  document.title = "failed";
}
