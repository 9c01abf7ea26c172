// ky: a small fetch wrapper; token refresh is left to hooks written by the app.
export { default as ky } from "ky";
