// jwt-decode alone: what an app ships just to read a token's `exp`.
export { jwtDecode } from "jwt-decode";
