// What an app using Auth0's SPA SDK ships: the client factory (which pulls in the client).
export { createAuth0Client } from "@auth0/auth0-spa-js";
