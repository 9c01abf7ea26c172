// tokenwarden/react: thin React bindings (React 18 and 19). No token logic:
// a provider that owns one token manager, and hooks that read it.
//
// StrictMode mounts every component, unmounts it and mounts it again (in
// development). A provider that created the manager in its effect and
// disposed it in the cleanup would make two managers: the first is still
// loading when the cleanup runs, so it is either left alive (a second
// channel, lock and refresh schedule on the same session) or created only to
// be thrown away. So the cleanup only schedules the dispose (a macrotask
// later); StrictMode's immediate re-mount of the same component cancels it
// and keeps the one manager, which the component's ref holds. A real unmount
// disposes it.
import { createContext, createElement, useContext, useEffect, useMemo, useRef, useState, useSyncExternalStore } from "react";
import { createTokenManager } from "./index.js";
import { LOADING, readSession, subscribeSession } from "./session.js";

const ManagerContext = createContext(null);

/**
 * Creates one token manager from `options` (read once, on mount; remount
 * with a new `key` to change them) and provides it to `useTokenManager` and
 * `useSession`. While it loads, renders `fallback` when one is given, else the
 * children (which then see `null` and status `"loading"`).
 */
export function TokenManagerProvider({ options, fallback, children }) {
  const [state, setState] = useState({ manager: null, error: null });
  const owner = useRef(null);
  const optionsRef = useRef(options);

  useEffect(() => {
    let current = owner.current;
    if (current && current.disposeTimer !== null) {
      // StrictMode's re-mount (or a hidden <Activity> shown again at once): keep it.
      clearTimeout(current.disposeTimer);
      current.disposeTimer = null;
    }
    if (!current || current.disposed) {
      const replacing = current !== null; // a disposed one, after a long hide
      const mine = { manager: null, disposeTimer: null, disposed: false };
      owner.current = current = mine;
      if (replacing) setState((s) => (s.manager === null && s.error === null ? s : { manager: null, error: null }));
      createTokenManager(optionsRef.current).then(
        (manager) => {
          if (mine.disposed) {
            manager.dispose();
            return;
          }
          mine.manager = manager;
          setState({ manager, error: null });
        },
        (error) => {
          if (!mine.disposed) setState({ manager: null, error });
        },
      );
    }
    const mine = current;
    return () => {
      mine.disposeTimer = setTimeout(() => {
        mine.disposeTimer = null;
        mine.disposed = true;
        const m = mine.manager;
        mine.manager = null;
        if (m) m.dispose();
      }, 0);
    };
  }, []);

  const value = useMemo(() => {
    const { manager, error } = state;
    let snapshot = readSession(manager, null, error);
    return {
      manager,
      subscribe: (onChange) => (manager ? subscribeSession(manager, onChange) : () => {}),
      getSnapshot: () => (snapshot = readSession(manager, snapshot, error)),
    };
  }, [state]);

  const loading = state.manager === null && state.error === null;
  return createElement(ManagerContext.Provider, { value }, loading && fallback !== undefined ? fallback : children);
}

function useProvided(hook) {
  const value = useContext(ManagerContext);
  if (value === null) throw new Error(`tokenwarden/react: ${hook}() must be called inside <TokenManagerProvider>`);
  return value;
}

const serverSnapshot = () => LOADING;

/** The token manager, or `null` while it loads (and when creating it failed). */
export function useTokenManager() {
  return useProvided("useTokenManager").manager;
}

/**
 * The session: `{ status, accessToken, claims, expiresAt, error }`. The same
 * object until the tokens or the status change; read again after the
 * manager's `refreshed`, `sessionExpired`, `logout` and `error` events.
 */
export function useSession() {
  const { subscribe, getSnapshot } = useProvided("useSession");
  return useSyncExternalStore(subscribe, getSnapshot, serverSnapshot);
}
