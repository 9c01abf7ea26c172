// Stub transports shared by every contender, so that each measurement
// isolates the wrapper's own cost: the same function answers tokenwarden's
// injected `fetch`, ky's `fetch` option, the axios stub adapter and the
// hand-written baseline. Per call it reads the Authorization header (in
// whatever form the caller passes it), compares it with the one token the
// "server" accepts and resolves at once with a fresh `Response`.

/** Path of the refresh endpoint (JSON format: `{accessToken, refreshToken, expiresIn}`). */
export const REFRESH_PATH = "/auth/refresh";

const encoder = new TextEncoder();

/** base64url of a string's UTF-8 bytes, without padding. */
export function b64url(text) {
  const bytes = encoder.encode(text);
  let bin = "";
  for (let i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

const HEADER = b64url(JSON.stringify({ alg: "HS256", typ: "JWT", kid: "bench-1" }));
// 32 bytes, like an HS256 signature; nobody checks it on the client.
const SIGNATURE = b64url("0123456789abcdef0123456789abcdef");

/** An unsigned-looking JWT with the given payload. */
export function makeJwt(payload) {
  return `${HEADER}.${b64url(JSON.stringify(payload))}.${SIGNATURE}`;
}

let jti = 0;

/** A typical access-token payload (about 230 bytes of JSON). */
export function smallPayload(expSeconds) {
  return {
    iss: "https://auth.example.com/",
    sub: "user-8f14e45f-ceea-467f-a0e6",
    aud: "https://api.example.com",
    iat: Math.floor(Date.now() / 1000),
    exp: expSeconds,
    jti: `t-${++jti}`,
    scope: "openid profile orders:read orders:write",
    name: "Zoë Example",
  };
}

/** A payload padded with permissions to `bytes` of JSON (e.g. 4096). */
export function largePayload(expSeconds, bytes) {
  const payload = smallPayload(expSeconds);
  payload.permissions = [];
  let i = 0;
  while (JSON.stringify(payload).length < bytes - 32) {
    payload.permissions.push(`tenant-${i % 17}:resource-${i}:read`);
    i++;
  }
  payload.pad = "x".repeat(Math.max(0, bytes - JSON.stringify(payload).length - 10));
  return payload;
}

/** The stub "server": one accepted access token at a time, refresh rotates it. */
export class StubServer {
  constructor() {
    /** `Bearer <token>` accepted by the API; anything else gets a 401. */
    this.acceptedHeader = null;
    /** Delay of the refresh endpoint in ms (0: resolves in the same task). */
    this.refreshDelayMs = 0;
    /** Access-token lifetime issued by refresh, in seconds. */
    this.ttlSeconds = 3600;
    this.reset();
    // Bound once so that every contender receives the same function object.
    this.fetch = this.fetch.bind(this);
  }

  /** Zeroes the counters. */
  reset() {
    this.requests = 0;
    this.withAuth = 0;
    this.ok = 0;
    this.unauthorized = 0;
    this.refreshCalls = 0;
  }

  /** Issues a new token pair and makes its access token the accepted one. */
  issue(ttlSeconds = this.ttlSeconds) {
    const accessToken = makeJwt(smallPayload(Math.floor(Date.now() / 1000) + ttlSeconds));
    this.acceptedHeader = `Bearer ${accessToken}`;
    return { accessToken, refreshToken: `rt-${jti}-${Math.random().toString(36).slice(2)}`, expiresIn: ttlSeconds };
  }

  /** The refresh endpoint's response (after `refreshDelayMs`). */
  refreshResponse() {
    this.refreshCalls++;
    const respond = () =>
      new Response(JSON.stringify(this.issue()), { headers: { "content-type": "application/json" } });
    if (this.refreshDelayMs <= 0) return Promise.resolve(respond());
    return new Promise((resolve) => setTimeout(() => resolve(respond()), this.refreshDelayMs));
  }

  /** `fetch(input, init)`: `input` a URL string or a `Request`. */
  fetch(input, init) {
    let url;
    let auth = null;
    if (typeof input === "string") {
      url = input;
      const headers = init === undefined ? undefined : init.headers;
      if (headers !== undefined) {
        auth =
          headers instanceof Headers
            ? headers.get("authorization")
            : (headers.Authorization ?? headers.authorization ?? null);
      }
    } else {
      url = input.url;
      auth = input.headers.get("authorization");
    }
    this.requests++;
    if (url.endsWith(REFRESH_PATH)) return this.refreshResponse();
    if (auth !== null) this.withAuth++;
    if (auth !== null && auth === this.acceptedHeader) {
      this.ok++;
      return Promise.resolve(new Response("ok"));
    }
    this.unauthorized++;
    return Promise.resolve(
      new Response("", { status: 401, headers: { "www-authenticate": 'Bearer error="invalid_token"' } }),
    );
  }
}
