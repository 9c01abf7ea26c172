// Entry of the tiny bundled app (Vite and webpack): the package is imported
// by its name, as an app would after `npm install tokenwarden`.
import * as tw from "tokenwarden";
import { check } from "./check.js";

check(tw, typeof __BUNDLER__ === "string" ? __BUNDLER__ : "bundled");
