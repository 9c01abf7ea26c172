// Types for tokenwarden: a client-side token manager for single-page apps
// (proactive JWT refresh, single-flight 401 handling, cross-tab sync, form
// drafts), implemented in Rust/WebAssembly.

/** Tokens as a login or refresh response delivers them. */
export interface TokenSet {
  /**
   * The access token: a JWT or an opaque string; visible ASCII, at most 16 KiB.
   * An opaque token without `expiresIn` has no known expiry (warning
   * `token_without_exp`): no proactive refresh, a 401 refreshes.
   */
  accessToken: string;
  /** The refresh token (at most 16 KiB); omit in cookie mode (it lives in an HttpOnly cookie). */
  refreshToken?: string | null;
  /** Lifetime of the access token in seconds, from now. Recommended for opaque tokens. */
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
  /**
   * RFC 8707 resource indicator(s): each an absolute URI without fragment
   * (e.g. `"https://api.example.com/"`), sent as one `resource` form
   * parameter each. At most 16.
   */
  resource?: string | string[];
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
  /**
   * Login page for the redirect when the session ends (relative, or absolute
   * on this origin or an origin in `allowedOrigins`; anything else is refused
   * with an `error` event `redirect_not_allowed`). Default: no redirect.
   */
  loginUrl?: string | null;
  /** Stop refreshing after this many seconds without user activity (0 = off, default). */
  idleTimeoutSeconds?: number;
  /** End the session this many seconds after sign-in, whatever the refreshes (0 = off, default). */
  maxSessionSeconds?: number;
  /**
   * Response header that carries a renewed access token (e.g. `"X-Renewed-Token"`). Read only
   * when the request carried the token and the response's final URL (after redirects) is on
   * this origin or in `allowedOrigins`. Default `null`.
   */
  renewHeader?: string | null;
  /** Coordinate refreshes and logout across tabs of this origin. Default `true`. */
  crossTab?: boolean;
  /** Save form drafts when the session ends; `false` turns it off. Default on. */
  drafts?: DraftsOptions | boolean;
  /**
   * When the session ends, go to `loginUrl?<returnParam>=<current path>`.
   * Default `true`. Drafts are saved either way.
   */
  redirect?: boolean;
  /** Query parameter carrying the page to come back to. Default `"returnTo"`. */
  returnParam?: string;
  /**
   * Called when the session ends (not on `logout()`), after drafts were saved,
   * the tokens cleared and the `sessionExpired` listeners ran, just before the
   * login redirect. Return `false` (synchronously) to stay on the page, e.g. to
   * show your own login dialog. A handler that throws does not stop the redirect.
   */
  onSessionExpired?: (info: SessionExpiredInfo) => boolean | void;
  /**
   * For APIs that signal an expired token their own way (a 419, a JSON error
   * code). Called with a clone of each response to a request that carried the
   * token (read its body freely; the caller's response is untouched). `true`:
   * the token was rejected (one refresh, then a replay, as for a 401); `false`:
   * delivered as it is, even a 401; anything else: the built-in 401 rule. A
   * throw or rejection delivers the response as it is and emits an `error`
   * event `should_refresh_failed`.
   */
  shouldRefresh?: (response: Response) => boolean | void | Promise<boolean | void>;
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

/** What `onSessionExpired` receives. */
export interface SessionExpiredInfo {
  /** Why the session ended (never `"logout"`: logouts do not call the handler). */
  reason: Exclude<SessionEndReason, "logout">;
  /**
   * Where the redirect will go (`loginUrl` with the return parameter), or
   * `null` when there is no redirect: `redirect: false`, no `loginUrl`, or a
   * `loginUrl` that was refused.
   */
  redirectUrl: string | null;
}

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
  /** `error` event: `localStorage` is unavailable; drafts were not saved. */
  | "drafts_storage_unavailable"
  /** `error` event: `localStorage` stayed full; a draft was not saved. */
  | "drafts_quota"
  /** `auth.drafts.discard` got neither a form nor a key (`code` of the `TypeError` it throws). */
  | "drafts_discard_argument"
  /** `error` event: `loginUrl` does not parse; no redirect. */
  | "login_url_invalid"
  /** `error` event: `loginUrl` is not http(s) on this origin or an allowed origin; no redirect. */
  | "redirect_not_allowed"
  /** `error` event: `returnParam` is not a plain parameter name; no redirect. */
  | "return_param_invalid"
  /** `error` event: no `location` to redirect (worker). */
  | "redirect_no_location"
  /** `error` event: `shouldRefresh` threw or rejected (`error.cause`); the response was delivered as it is. */
  | "should_refresh_failed"
  /**
   * The wasm module trapped (a bug): the call that hit it rejects with this,
   * every manager of that module instance emits an `error` event with it and
   * fails every later call with it; a manager created afterwards works.
   */
  | "internal"
  /** The page's CSP blocks WebAssembly: add `'wasm-unsafe-eval'` to `script-src`. */
  | "wasm_blocked"
  /**
   * The wasm URL answered an error status or something that is not wasm
   * (e.g. `index.html` from Vite's dev server or an SPA fallback).
   */
  | "wasm_not_found"
  /** The wasm could not be fetched or instantiated otherwise (offline: `init()` again retries). */
  | "wasm_load_failed"
  /** Not a browser (Node, SSR) or no WebAssembly: create the manager in the browser only. */
  | "unsupported_environment";

/** The one error type tokenwarden throws or rejects with. */
export declare class TokenError extends Error {
  constructor(code: TokenErrorCode, message: string, options?: { cause?: unknown });
  readonly name: "TokenError";
  /** Stable code; see {@link TokenErrorCode}. */
  readonly code: TokenErrorCode;
  /** For `config`: the option at fault (`leadSeconds`, `refresh.url`, …). */
  readonly option?: string;
  /** For `invalid_token`: the part at fault, or `null` for the overall shape. */
  readonly part?: "header" | "payload" | "signature" | null;
  /**
   * For `invalid_token` from `decodeJwt`: `not_a_string`, `missing_part`,
   * `wrong_part_count`, `empty_part`, `invalid_base64`, `invalid_utf8`,
   * `invalid_json`, `not_object`. From `setSession`: `not_an_object`,
   * `missing_access_token`, `token_too_large` (over 16 KiB),
   * `invalid_characters`, `invalid_refresh_token`, `invalid_expires_in`.
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
/**
 * `warning` event codes: something odd but handled. (`string & {}` keeps the
 * union open for codes added in later versions.)
 */
export type WarningCode =
  | "storage_unavailable"
  | "storage_corrupt"
  | "tab_message_invalid"
  | "lead_exceeds_lifetime"
  | "lifetime_below_min_interval"
  | "token_without_exp"
  | "exp_in_milliseconds"
  | "token_claims_invalid"
  | "invalid_expires_in"
  | "clock_skew_clamped"
  | "renewed_token_ignored"
  | "refresh_token_rejected"
  | "refresh_unavailable"
  | "fresh_token_rejected"
  | (string & {});

export interface TokenManagerEvents {
  /** New tokens are in place (sign-in, refresh, renew header, another tab). */
  refreshed: { expiresAt: number; refreshAt: number | null; fromTab: boolean };
  /** The access token expires soon; a refresh is starting (unless idle). */
  expiring: { expiresAt: number };
  /** The session is over (not by logout); requests waiting get `session_expired`. */
  sessionExpired: { reason: SessionEndReason };
  /** `auth.logout()` here or in another tab. */
  logout: Record<string, never>;
  /** A refresh attempt failed (it may be retried), a draft could not be saved, or the login redirect was refused. */
  error: { code: TokenErrorCode | string; message: string; error?: TokenError };
  /** Something odd but handled (storage fallback, lead longer than the token lifetime, …). */
  warning: { code: WarningCode; message: string };
  /**
   * Drafts were put back into forms after sign-in (`restore: "auto"`). Drafts
   * restored while the manager was created are delivered to the first listener.
   */
  draftsRestored: RestoredDraft[];
}

/** Names accepted by {@link TokenManager.on}. */
export type TokenManagerEventName = keyof TokenManagerEvents;

/** Saved form drafts (`auth.drafts`). With `drafts: false`: `[]`, `[]`, `0`. */
export interface DraftsApi {
  /** The signed-in user's unexpired drafts on any page of this origin, oldest first (`[]` when signed out). */
  list(): DraftInfo[];
  /**
   * Restore this page's drafts of the signed-in user now (only the one with
   * `key` when given), e.g. once an SPA form has mounted with `restore: "manual"`.
   * Returns what was put back; no `draftsRestored` event.
   */
  restore(key?: string): RestoredDraft[];
  /**
   * Forget the draft of a form (element or draft key; other keys are never
   * touched). Returns how many were removed (0 or 1). Throws a `TypeError`
   * (code `drafts_discard_argument`) for anything else.
   */
  discard(target: HTMLFormElement | string): number;
}

/**
 * Per-request control, as the `tokenwarden` member of `auth.fetch`'s `init`
 * (with a `Request` input: in the `init` beside it). Removed before your
 * `fetch` is called. Anything else rejects with a `TypeError`.
 */
export interface RequestControl {
  /** `false`: no `Authorization` header and no refresh handling. Default `true` (own origin and `allowedOrigins` only). */
  auth?: boolean;
  /** `false`: the token as usual, but no refresh handling: never waits for a refresh, a 401 is delivered as it is. Default `true`. */
  refresh?: boolean;
}

/** `auth.fetch`'s `init`: a `RequestInit` plus {@link RequestControl}. */
export interface TokenwardenRequestInit extends RequestInit {
  tokenwarden?: RequestControl | null;
}

/**
 * A token manager; create it with {@link createTokenManager}. Every method
 * works detached (`const { fetch } = auth`, `ky.create({ fetch: auth.fetch })`).
 */
export interface TokenManager {
  /** Start a session after sign-in. Throws `TokenError` (`invalid_token`) for an unusable token. */
  setSession(tokens: TokenSet): void;
  /**
   * `fetch` with `Authorization: Bearer …` for the page's origin and
   * `allowedOrigins`, one shared refresh on a 401 with a Bearer challenge (or
   * none), and an exact replay of the request to the URL resolved at the call.
   * Resolves to the real `Response` (of the retry, if there was one).
   */
  fetch(input: RequestInfo | URL, init?: TokenwardenRequestInit): Promise<Response>;
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
  /** The access token's payload (as `decodeJwt` reads it), or `null` (opaque token, signed out). */
  readonly claims: Record<string, unknown> | null;
  /** The storage in effect (`"memory"` after a storage failure), or `null` once disposed. */
  readonly storage: "memory" | "session" | "local" | null;
  /** Saved form drafts. */
  readonly drafts: DraftsApi;
}

/**
 * Create a token manager. Loads the wasm module on first use. Rejects with
 * `TokenError` code `config` for invalid options, `unsupported_environment`
 * outside a browser (Node, SSR), or the load's code (`wasm_blocked`,
 * `wasm_not_found`, `wasm_load_failed`).
 */
export declare function createTokenManager(options: TokenManagerOptions): Promise<TokenManager>;

/**
 * Load the wasm module explicitly (once; later calls share the load). By
 * default it is fetched from next to the JS entry, with the same request as
 * `<link rel="preload" as="fetch" type="application/wasm" crossorigin>`, so a
 * preload is reused; call it at the top of the entry module to start the
 * download early. Pass a URL, a `Response`, the bytes or a compiled module
 * for other setups (in Node: the bytes, for `decodeJwt`). Rejects with
 * `TokenError` code `wasm_blocked`, `wasm_not_found`, `wasm_load_failed` or
 * `unsupported_environment`.
 */
export declare function init(
  urlOrBytes?: string | URL | Request | Response | BufferSource | WebAssembly.Module,
): Promise<void>;

/** A JWT's header as `decodeJwt(token, { header: true })` returns it. */
export interface JwtHeader {
  typ?: string;
  alg?: string;
  kid?: string;
  [member: string]: unknown;
}

/**
 * A JWT's payload as `decodeJwt` returns it. The registered claims are typed
 * as RFC 7519 has them; `decodeJwt` does not check them (a numeric `sub`
 * decodes as a number): pass your own type to narrow.
 */
export interface JwtPayload {
  iss?: string;
  sub?: string;
  aud?: string[] | string;
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  [claim: string]: unknown;
}

/** `decodeJwt`'s options (as jwt-decode's). */
export interface DecodeJwtOptions {
  /** `true`: decode the header instead of the payload. */
  header?: boolean;
}

/**
 * Decode a JWT's header (no signature verification, no checks of its
 * members). Throws `TokenError` code `invalid_token` (with `part` and
 * `reason`) when the header is not base64url of a UTF-8 JSON object or
 * `token` is not a string (`not_a_string`), or `not_initialized` before the
 * wasm module is loaded.
 */
export declare function decodeJwt<T = JwtHeader>(token: string, options: DecodeJwtOptions & { header: true }): T;
/**
 * Decode a JWT's payload: a decoder, not a validator (no signature check, no
 * claim checks). Throws `TokenError` code `invalid_token` (with `part` and
 * `reason`) when the payload is not base64url of a UTF-8 JSON object or
 * `token` is not a string (`not_a_string`), or `not_initialized` before the
 * wasm module is loaded.
 */
export declare function decodeJwt<T = JwtPayload>(token: string, options?: DecodeJwtOptions): T;

/**
 * On the login page: where to go back to after sign-in. The `param` query
 * parameter (default `"returnTo"`) of the current URL when it is a safe
 * same-origin path (`/orders/7?step=2`), else `null` (missing,
 * `//evil.example`, `https://…`, `javascript:…`, backslashes, …). Throws
 * `not_initialized` before the wasm module is loaded.
 */
export declare function returnTo(param?: string): string | null;
