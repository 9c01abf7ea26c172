// Options shared by the demo's app page and login page, so both create the
// token manager the same way (same storage, same refresh transport) and a
// session signed in on /login is picked up by / and by every other tab.

/** Which refresh transport the demo uses; chosen on the login page, kept per browser. */
export const TRANSPORTS = {
  json: { label: "JSON (POST /auth/refresh)", refresh: { url: "/auth/refresh", format: "json" } },
  oauth2: {
    label: "OAuth 2.0 (POST /oauth/token, form-encoded)",
    refresh: { url: "/oauth/token", format: "oauth2", clientId: "tokenwarden-demo" },
  },
  cookie: { label: "HttpOnly cookie (refresh token never in JS)", refresh: { url: "/auth/refresh", format: "cookie" } },
};

export function currentTransport() {
  const t = localStorage.getItem("tw-demo-transport");
  return Object.hasOwn(TRANSPORTS, t ?? "") ? t : "json";
}

export function setTransport(t) {
  if (Object.hasOwn(TRANSPORTS, t)) localStorage.setItem("tw-demo-transport", t);
}

/**
 * Refresh lead and jitter scaled to the server's access-token lifetime, so
 * the demo's 30 s tokens refresh visibly at 15–20 s rather than at once.
 */
export async function demoOptions() {
  let ttl = 30;
  try {
    ttl = (await (await fetch("/demo/stats")).json()).accessTtlSeconds ?? 30;
  } catch {
    /* the defaults will do */
  }
  const leadSeconds = Math.max(1, Math.round(ttl / 3));
  const jitterSeconds = Math.max(0, Math.round(ttl / 6));
  return {
    refresh: TRANSPORTS[currentTransport()].refresh,
    leadSeconds,
    jitterSeconds,
    // localStorage so a second tab (opened any way) shares the session; the
    // package's default, "memory", is the safer choice for real apps.
    storage: "local",
    loginUrl: "/login",
    returnParam: "returnTo",
    redirect: true,
    crossTab: true,
    renewHeader: "X-Renewed-Token",
    drafts: { selector: "form[data-draft]", ttlSeconds: 86400 },
  };
}

/** Normalise an expiry as the API reports it (epoch ms, epoch s or Date) to epoch ms. */
export function toMs(t) {
  if (t == null) return null;
  if (t instanceof Date) return t.getTime();
  const n = Number(t);
  if (!Number.isFinite(n)) return null;
  return n < 1e11 ? n * 1000 : n;
}
