// The no-bundler case: a plain <script type="module"> importing dist/index.js
// by URL. The wasm must be found next to it with no configuration.
import * as tw from "./node_modules/tokenwarden/dist/index.js";
import { check } from "./check.js";

check(tw, "plain");
