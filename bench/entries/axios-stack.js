// The common hand-rolled stack: axios + axios-auth-refresh (401 single refresh) + jwt-decode (exp).
export { default as axios } from "axios";
export { default as createAuthRefreshInterceptor } from "axios-auth-refresh";
export { jwtDecode } from "jwt-decode";
