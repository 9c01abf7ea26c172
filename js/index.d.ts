// Types for tokenwarden: a client-side token manager for single-page apps
// (proactive JWT refresh, single-flight 401 handling, cross-tab sync, form
// drafts), implemented in Rust/WebAssembly.

/** Tokens as a login or refresh response delivers them. */
export interface TokenSet {
  /** The access token: a JWT, or an opaque string when `expiresIn` is given. */
  accessToken: string;
  /** The refresh token; omit in cookie mode (it lives in an HttpOnly cookie). */
  refreshToken?: string | null;
  /** Lifetime of the access token in seconds, from now. Needed for opaque tokens. */
  expiresIn?: number | null;
}

/**
 * What a custom refresh function returns. `snake_case` names
 * (`access_token`, `refresh_token`, `expires_in`) are accepted too.
 */
export type RefreshResult =
  | TokenSet
  | { access_token: string; refresh_token?: string | null; expires_in?: number | string | null };

/** Options shared by the HTTP refresh transports. */
interface HttpRefreshBase {
  /** The refresh endpoint (absolute, or relative to the page). */
  url: string;
  /** Extra request headers for the refresh request (e.g. a CSRF header). */
  headers?: Record<string, string>;
  /** `fetch` credentials mode. Default: `"include"` for `cookie`, else `"same-origin"`. */
  credentials?: "omit" | "same-origin" | "include";
  /** Abort the refresh request after this many seconds (0 = never). Default 30. */
  timeoutSeconds?: number;
}

/** POST `{"refreshToken": …}` as JSON; the response is `{accessToken, refreshToken?, expiresIn?}`. */
export interface JsonRefresh extends HttpRefreshBase {
  /** Default. */
  format?: "json";
}

/** RFC 6749 §6: form-encoded `grant_type=refresh_token`; `invalid_grant` ends the session. */
export interface OAuth2Refresh extends HttpRefreshBase {
  format: "oauth2";
  /** Sent as `client_id`. */
  clientId: string;
  /** Sent as `scope` when given. */
  scope?: string;
}

/** The refresh token is an HttpOnly cookie: POST with credentials; it never enters JS. */
export interface CookieRefresh extends HttpRefreshBase {
  format: "cookie";
}

/**
 * Any other refresh flow. Receives the current refresh token (`null` when
 * there is none). To end the session, throw or reject with an object whose
 * `status` is 400, 401 or 403 or whose `error` is `"invalid_grant"`; anything
 * else thrown is a transient failure and is retried with backoff.
 */
export type RefreshFunction = (refreshToken: string | null) => RefreshResult | Promise<RefreshResult>;

/** How tokens are refreshed. */
export type RefreshOption = JsonRefresh | OAuth2Refresh | CookieRefresh | RefreshFunction;

/** Form drafts (saved when the session ends, restored after sign-in). */
export interface DraftsOptions {
  /** Which forms are saved. Default `"form[data-draft]"`. */
  selector?: string;
  /** How long a saved draft can be restored, in seconds. Default 86400. */
  ttlSeconds?: number;
  /** Also save while typing (debounced). */
  autosave?: boolean;
  /** Debounce of the autosave, in seconds. */
  autosaveDelaySeconds?: number;
  /** `"auto"` restores after sign-in; `"manual"` waits for `auth.drafts.restore()`. */
  restore?: "auto" | "manual";
}

/** Options of {@link createTokenManager}. Unknown keys throw `TokenError` code `config`. */
export interface TokenManagerOptions {
  /** How to refresh: an endpoint description or an async function. Required. */
  refresh: RefreshOption;
  /** Refresh this many seconds before the access token expires. Default 60. */
  leadSeconds?: number;
  /** Plus a random 0…jitter seconds, so tabs and clients spread out. Default 30. */
  jitterSeconds?: number;
  /**
   * Other origins that receive `Authorization: Bearer …` (the page's own
   * origin always does), e.g. `["https://api.example.com"]`. Bare origins only.
   */
  allowedOrigins?: string[];
  /** Where tokens live between page loads. Default `"memory"`. */
  storage?: "memory" | "session" | "local";
  /** Namespace for storage keys (`<storageKey>:session`). Default `"tokenwarden"`. */
  storageKey?: string;
  /** Login page for the redirect when the session ends. Default: no redirect. */
  loginUrl?: string | null;
  /** Stop refreshing after this many seconds without user activity (0 = off, default). */
  idleTimeoutSeconds?: number;
  /** End the session this many seconds after sign-in, whatever the refreshes (0 = off, default). */
  maxSessionSeconds?: number;
  /** Response header that carries a renewed access token (e.g. `"X-Renewed-Token"`). Default `null`. */
  renewHeader?: string | null;
  /** Coordinate refreshes and logout across tabs of this origin. Default `true`. */
  crossTab?: boolean;
  /** Save form drafts when the session ends; `false` turns it off. Default on. */
  drafts?: DraftsOptions | boolean;
  /** When the session ends: save drafts and go to `loginUrl`. Default `true`. */
  redirect?: boolean;
  /** Query parameter carrying the page to come back to. Default `"returnTo"`. */
  returnParam?: string;
  /** The `fetch` used for every request the manager makes (API and refresh). Default `globalThis.fetch`. */
  fetch?: typeof globalThis.fetch;
  /** Most requests that may wait for a refresh; more are rejected (`queue_full`). Default 1000. */
  queueLimit?: number;
  /** Longest a request waits for a refresh, in seconds (`queue_timeout`). Default 30. */
  queueTimeoutSeconds?: number;
  /** Refresh before sending when the token expires within this many seconds. Default 5. */
  expiryMarginSeconds?: number;
  /** Refresh attempts per burst of transient failures. Default 4. */
  retryAttempts?: number;
  /** First backoff delay in seconds; doubles per attempt, capped at 5. Default 0.5. */
  retryBaseSeconds?: number;
  /** Pause after a failed burst before trying again, in seconds. Default 30. */
  retryCooldownSeconds?: number;
}

/** Why a session ended. */
export type SessionEndReason = "refresh_rejected" | "idle" | "max_session" | "expired" | "logout";

/** Stable `TokenError.code` values. */
export type TokenErrorCode =
  /** An option or argument is invalid (`option` names it). */
  | "config"
  /** A token does not decode (`part`, `reason`). */
  | "invalid_token"
  /** The session ended while the request waited for a refresh. */
  | "session_expired"
  /** The refresh kept failing; the request was not sent again. */
  | "refresh_failed"
  /** Too many requests waiting for a refresh. */
  | "queue_full"
  /** The request waited longer than `queueTimeoutSeconds`. */
  | "queue_timeout"
  /** The user logged out while the request waited. */
  | "logged_out"
  /** The manager was disposed. */
  | "disposed"
  /** `auth.refresh()` without a session. */
  | "no_session"
  /** `decodeJwt` before the wasm module was loaded. */
  | "not_initialized"
  /** Draft storage is unavailable. */
  | "drafts_storage_unavailable"
  /** Draft storage is full. */
  | "drafts_quota"
  /** `auth.drafts.discard` got neither a form nor a key. */
  | "drafts_discard_argument"
  /** `loginUrl` does not parse. */
  | "login_url_invalid"
  /** `loginUrl` is on an origin the redirect may not go to. */
  | "redirect_not_allowed"
  /** `returnParam` is not usable. */
  | "return_param_invalid"
  /** No `location` to redirect (worker). */
  | "redirect_no_location";

/** The one error type tokenwarden throws or rejects with. */
export declare class TokenError extends Error {
  constructor(code: TokenErrorCode, message: string);
  readonly name: "TokenError";
  /** Stable code; see {@link TokenErrorCode}. */
  readonly code: TokenErrorCode;
  /** For `config`: the option at fault (`leadSeconds`, `refresh.url`, …). */
  readonly option?: string;
  /** For `invalid_token`: the part at fault, or `null` for the overall shape. */
  readonly part?: "header" | "payload" | "signature" | null;
  /**
   * For `invalid_token`: `wrong_part_count`, `empty_part`, `invalid_base64`,
   * `invalid_utf8`, `invalid_json`, `not_object`, `bad_claim`, `exp_in_milliseconds`.
   */
  readonly reason?: string;
  /** For `invalid_token` with reason `bad_claim`: the claim (`exp`, `iat`, …). */
  readonly claim?: string;
}

/** A saved form draft. */
export interface DraftInfo {
  key: string;
  /** The page it was saved on. */
  url: string;
  /** Epoch ms. */
  savedAt: number;
  /** Epoch ms. */
  expiresAt: number;
  /** Number of saved fields. */
  fields: number;
}

/** A draft put back into a form. */
export interface RestoredDraft extends DraftInfo {
  form: HTMLFormElement;
}

/** Payloads of {@link TokenManager.on} events. */
export interface TokenManagerEvents {
  /** New tokens are in place (sign-in, refresh, renew header, another tab). */
  refreshed: { expiresAt: number; refreshAt: number | null; fromTab: boolean };
  /** The access token expires soon; a refresh is starting (unless idle). */
  expiring: { expiresAt: number };
  /** The session is over (not by logout); requests waiting get `session_expired`. */
  sessionExpired: { reason: SessionEndReason };
  /** `auth.logout()` here or in another tab. */
  logout: Record<string, never>;
  /** A refresh attempt failed (it may be retried), or a drafts operation failed. */
  error: { code: TokenErrorCode | string; message: string; error?: TokenError };
  /** Something odd but handled (storage fallback, lead longer than the token lifetime, …). */
  warning: { code: string; message: string };
  /** Drafts were put back into forms after sign-in. */
  draftsRestored: RestoredDraft[];
}

/** Names accepted by {@link TokenManager.on}. */
export type TokenManagerEventName = keyof TokenManagerEvents;

/** Saved form drafts of this page. */
export interface DraftsApi {
  /** The drafts saved for the signed-in user. */
  list(): DraftInfo[];
  /** Restore all drafts for this page, or the one with `key`. */
  restore(key?: string): RestoredDraft[];
  /** Forget the draft of a form (element or key). Returns how many were removed. */
  discard(target: HTMLFormElement | string): number;
}

/** A token manager; create it with {@link createTokenManager}. */
export interface TokenManager {
  /** Start a session after sign-in. Throws `TokenError` (`invalid_token`) for an unusable token. */
  setSession(tokens: TokenSet): void;
  /**
   * `fetch` with `Authorization: Bearer …` for the page's origin and
   * `allowedOrigins`, one shared refresh on 401, and an exact replay of the
   * request. Resolves to the real `Response` (of the retry, if there was one).
   */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Subscribe to an event; returns the function that unsubscribes. */
  on<K extends TokenManagerEventName>(event: K, listener: (payload: TokenManagerEvents[K]) => void): () => void;
  /** Refresh now, or join the refresh in flight. */
  refresh(): Promise<void>;
  /** Clear the tokens (memory and storage); `{ redirect: true }` also goes to `loginUrl`. */
  logout(options?: { redirect?: boolean }): Promise<void>;
  /** Stop timers and listeners, reject waiting requests (`disposed`), free the state. */
  dispose(): void;
  /** The current access token, or `null` when signed out. */
  readonly accessToken: string | null;
  /** When the access token expires (epoch ms, corrected for clock skew), or `null`. */
  readonly expiresAt: number | null;
  /** When the next proactive refresh is planned (epoch ms), or `null`. */
  readonly refreshAt: number | null;
  /** The access token's payload, or `null`. */
  readonly claims: Record<string, unknown> | null;
  /** The storage in effect (`"memory"` after a storage failure), or `null` once disposed. */
  readonly storage: "memory" | "session" | "local" | null;
  /** Saved form drafts. */
  readonly drafts: DraftsApi;
}

/**
 * Create a token manager. Loads the wasm module on first use. Throws
 * `TokenError` code `config` for invalid options.
 */
export declare function createTokenManager(options: TokenManagerOptions): Promise<TokenManager>;

/**
 * Load the wasm module explicitly (once). By default it is fetched from next
 * to the JS entry; pass a URL, a `Response`, the bytes or a compiled module.
 */
export declare function init(
  urlOrBytes?: string | URL | Request | Response | BufferSource | WebAssembly.Module,
): Promise<void>;

/**
 * Decode a JWT's payload (no signature verification). Throws `TokenError`
 * code `invalid_token` (with `part` and `reason`) when it does not decode, or
 * `not_initialized` before the wasm module is loaded.
 */
export declare function decodeJwt(token: string): Record<string, unknown>;
