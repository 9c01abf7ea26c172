// What an app using Supabase's auth client alone ships: the AuthClient (GoTrueClient).
export { AuthClient } from "@supabase/auth-js";
