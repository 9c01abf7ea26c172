// Shared by the React and Vue bindings (bundled into each; not a public
// entry): the session snapshot they hand to components. No token logic: it
// only reads the manager's getters and listens to its events.

/**
 * Events after which the manager's tokens may differ (README, "Events"):
 * new tokens, the session over, a logout, and `error` (after an `internal`
 * error the manager is dead and its getters read null; other errors change
 * nothing, and the snapshot then stays the same object).
 */
const EVENTS = ["refreshed", "sessionExpired", "logout", "error"];

/** The snapshot while no manager exists yet (also the server-side one). */
export const LOADING = Object.freeze({
  status: "loading",
  accessToken: null,
  claims: null,
  expiresAt: null,
  error: null,
});

/**
 * The session as `manager` has it now, as a frozen object. Returns `previous`
 * itself when nothing changed, so a component that keeps it sees the same
 * object until the tokens (or the status) really change.
 */
export function readSession(manager, previous, error) {
  let status = "loading";
  let accessToken = null;
  let expiresAt = null;
  if (error != null) {
    status = "error";
  } else if (manager) {
    accessToken = manager.accessToken ?? null;
    expiresAt = accessToken === null ? null : manager.expiresAt ?? null;
    status = accessToken === null ? "signedOut" : "signedIn";
  }
  const err = error ?? null;
  if (
    previous &&
    previous.status === status &&
    previous.accessToken === accessToken &&
    previous.expiresAt === expiresAt &&
    previous.error === err
  ) {
    return previous;
  }
  if (status === "loading") return LOADING;
  // The claims are decoded once per token, not on every read.
  const claims =
    accessToken === null ? null : previous && previous.accessToken === accessToken ? previous.claims : manager.claims ?? null;
  return Object.freeze({ status, accessToken, claims, expiresAt, error: err });
}

/** Calls `onChange` after every event that may change the session; returns the unsubscribe function. */
export function subscribeSession(manager, onChange) {
  const offs = EVENTS.map((name) => manager.on(name, () => onChange()));
  return () => {
    for (const off of offs) {
      try {
        off();
      } catch {
        // Unsubscribing from a disposed manager: nothing left to remove.
      }
    }
  };
}
