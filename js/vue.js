// tokenwarden/vue: thin Vue 3 bindings. No token logic: a plugin that owns
// one token manager, and composables that read it.
//
//   app.use(tokenwarden, { refresh: { url: "/auth/refresh" } });
//   const session = useSession();   // in setup(): session.value.status, …
//
// On the server (SSR) the plugin creates no manager: the session stays
// "loading", which is also what the browser renders first, so hydration
// matches; the manager is created in the browser.
import { computed, inject, shallowRef } from "vue";
import { createTokenManager } from "./index.js";
import { LOADING, readSession, subscribeSession } from "./session.js";

const KEY = Symbol.for("tokenwarden/vue");

/**
 * A plugin instance with its own manager: `app.use(createTokenwarden(options))`.
 * `.manager` and `.session` are the same refs the composables return, for use
 * outside components (router guards, stores).
 */
export function createTokenwarden(options) {
  const manager = shallowRef(null);
  const session = shallowRef(LOADING);
  return {
    manager,
    session,
    install(app) {
      app.provide(KEY, { manager, session });
      if (typeof window === "undefined") return; // SSR: no manager on the server
      let disposed = false;
      let created = null;
      let unsubscribe = null;
      const update = () => {
        session.value = readSession(created, session.value, null);
      };
      createTokenManager(options).then(
        (m) => {
          if (disposed) {
            m.dispose();
            return;
          }
          created = m;
          manager.value = m;
          unsubscribe = subscribeSession(m, update);
          update();
        },
        (error) => {
          if (!disposed) session.value = readSession(null, session.value, error);
        },
      );
      onAppUnmount(app, () => {
        disposed = true;
        if (unsubscribe) unsubscribe();
        const m = created;
        created = null;
        manager.value = null;
        session.value = LOADING;
        if (m) m.dispose();
      });
    },
  };
}

/** The plugin: `app.use(tokenwarden, options)`. */
export const tokenwarden = {
  install(app, options) {
    createTokenwarden(options).install(app);
  },
};
export default tokenwarden;

function onAppUnmount(app, fn) {
  if (typeof app.onUnmount === "function") {
    app.onUnmount(fn); // Vue 3.5+
    return;
  }
  const unmount = app.unmount;
  app.unmount = function (...args) {
    const result = unmount.apply(this, args);
    fn();
    return result;
  };
}

function provided(name) {
  const state = inject(KEY, null);
  if (state === null) throw new Error(`tokenwarden/vue: ${name}() needs app.use(tokenwarden, options)`);
  return state;
}

/** The token manager as a read-only ref: `null` while it loads (and on the server). */
export function useTokenManager() {
  const { manager } = provided("useTokenManager");
  return computed(() => manager.value);
}

/**
 * The session as a read-only ref of `{ status, accessToken, claims, expiresAt,
 * error }`: a new object when the tokens or the status change, else the same.
 */
export function useSession() {
  const { session } = provided("useSession");
  return computed(() => session.value);
}
