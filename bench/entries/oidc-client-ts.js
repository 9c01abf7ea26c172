// What an app using oidc-client-ts ships: the UserManager (sign-in, silent renew, token storage).
export { UserManager } from "oidc-client-ts";
