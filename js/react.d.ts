// Types for tokenwarden/react: React bindings (React 18 or 19, an optional peer dependency).
import type { ReactNode } from "react";
import type { TokenManager, TokenManagerOptions } from "./index.js";

/** What `useSession()` returns (and `useSession()` of tokenwarden/vue). */
export interface Session {
  /**
   * `"loading"`: the manager is being created (and always during a server
   * render); `"signedIn"`: there is an access token; `"signedOut"`: there is
   * none; `"error"`: creating the manager failed (`error` says why).
   */
  readonly status: "loading" | "signedIn" | "signedOut" | "error";
  /** The current access token, or `null`. */
  readonly accessToken: string | null;
  /** The access token's payload, or `null`. */
  readonly claims: Record<string, unknown> | null;
  /** When the access token expires (epoch ms), or `null`. */
  readonly expiresAt: number | null;
  /** Why the manager could not be created (a `TokenError`, e.g. code `config`), else `null`. */
  readonly error: unknown;
}

export interface TokenManagerProviderProps {
  /** Passed to `createTokenManager` once, on mount. To change them, remount (a new `key`). */
  options: TokenManagerOptions;
  /**
   * Rendered instead of the children while the manager loads. Without it the
   * children render at once and see `useTokenManager() === null`.
   */
  fallback?: ReactNode;
  children?: ReactNode;
}

/**
 * Creates one token manager (safe under StrictMode: one manager, one refresh)
 * and disposes it when unmounted.
 */
export declare function TokenManagerProvider(props: TokenManagerProviderProps): ReactNode;

/** The manager, or `null` while it loads. Throws outside `<TokenManagerProvider>`. */
export declare function useTokenManager(): TokenManager | null;

/**
 * The session snapshot: the same object until the tokens or the status change.
 * Throws outside `<TokenManagerProvider>`.
 */
export declare function useSession(): Session;
