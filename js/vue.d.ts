// Types for tokenwarden/vue: Vue 3 bindings (an optional peer dependency).
import type { App, ComputedRef, Plugin, ShallowRef } from "vue";
import type { TokenManager, TokenManagerOptions } from "./index.js";

/** What `useSession()` holds. */
export interface Session {
  /**
   * `"loading"`: the manager is being created (and always on the server);
   * `"signedIn"`: there is an access token; `"signedOut"`: there is none;
   * `"error"`: creating the manager failed (`error` says why).
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

/** A plugin instance that also exposes its refs, for code outside components. */
export interface TokenwardenPlugin {
  install(app: App): void;
  /** The manager, `null` while it loads, on the server and after `app.unmount()`. */
  readonly manager: Readonly<ShallowRef<TokenManager | null>>;
  /** The session snapshot. */
  readonly session: Readonly<ShallowRef<Session>>;
}

/** `app.use(createTokenwarden(options))`: a plugin whose refs you keep. */
export declare function createTokenwarden(options: TokenManagerOptions): TokenwardenPlugin;

/** `app.use(tokenwarden, options)`: creates the manager in the browser, disposes it on `app.unmount()`. */
export declare const tokenwarden: Plugin<[TokenManagerOptions]>;
export default tokenwarden;

/** The manager (`null` while it loads). Call in `setup()`. */
export declare function useTokenManager(): ComputedRef<TokenManager | null>;

/** The session; `.value` is the same object until the tokens or the status change. Call in `setup()`. */
export declare function useSession(): ComputedRef<Session>;
