// The demo's login page: signs in with the chosen transport, hands the tokens
// to the token manager (which persists them and tells other tabs), then goes
// back to `returnTo` — only ever a same-origin path, never an absolute URL
// (an open redirect would let a phishing link bounce users anywhere).

import { TRANSPORTS, currentTransport, setTransport, demoOptions } from "/tw-config.js";

const form = document.getElementById("login-form");
const errorBox = document.getElementById("error");
const params = new URLSearchParams(location.search);

/** `returnTo` if it is a same-origin path, else "/". */
export function safeReturnPath(raw) {
  if (typeof raw !== "string" || !raw.startsWith("/") || raw.startsWith("//") || raw.includes("\\")) return "/";
  try {
    const u = new URL(raw, location.origin);
    return u.origin === location.origin ? u.pathname + u.search + u.hash : "/";
  } catch {
    return "/";
  }
}

if (params.has("returnTo")) {
  const reason = document.getElementById("reason");
  reason.textContent = "Your session ended. Sign in again: your unsaved form input is kept and will be restored.";
  reason.hidden = false;
}
form.transport.value = currentTransport();

async function signIn(username, password, transport) {
  if (transport === "oauth2") {
    const res = await fetch("/oauth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "password", username, password, client_id: TRANSPORTS.oauth2.refresh.clientId }),
    });
    return [res, res.ok ? await res.json() : null];
  }
  const res = await fetch("/auth/login", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username, password, cookie: transport === "cookie" }),
  });
  return [res, res.ok ? await res.json() : null];
}

form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  errorBox.hidden = true;
  const transport = form.transport.value;
  setTransport(transport);
  const button = document.getElementById("sign-in");
  button.disabled = true;
  try {
    const [res, body] = await signIn(form.username.value, form.password.value, transport);
    if (!body) throw new Error(res.status === 401 || res.status === 400 ? "Wrong password: it is “demo”." : `Sign-in failed (${res.status}).`);
    const { createTokenManager } = await import("/dist/index.js");
    const auth = await createTokenManager({ ...(await demoOptions()), redirect: false });
    auth.setSession({ accessToken: body.access_token, refreshToken: body.refresh_token, expiresIn: body.expires_in });
    auth.dispose();
    location.replace(safeReturnPath(params.get("returnTo")));
  } catch (err) {
    errorBox.textContent = err?.message ?? String(err);
    errorBox.hidden = false;
    button.disabled = false;
  }
});
