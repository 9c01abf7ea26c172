#!/usr/bin/env node
// Shortens the names the wasm module and its wasm-bindgen glue use for each
// other (called by scripts/build, after wasm-opt):
//
//   node scripts/minify-names.mjs <dir with tokenwarden_bg.wasm + tokenwarden.js>
//
// wasm-bindgen names every import `__wbg_<name>_<16 hex digits>` under the
// module "./tokenwarden_bg.js" and exports closure shims under names of
// 100-300 characters. They are about 7 KB of the wasm and 5 KB of the glue,
// hashes included, that gzip cannot shrink much. binaryen's
// --minify-imports-and-exports-and-modules renames them in the wasm (module
// "a", names "a", "b", …) and prints the mapping; this script applies the
// same mapping to the glue:
//   - imports: the keys of the import object (`__wbg_x_123: function(…)`)
//     and the module key ("./tokenwarden_bg.js": import0);
//   - exports: every `wasm.<name>` property read.
// Then it checks the result: every import of the new wasm is a key of the
// glue's import object, every `wasm.<name>` is an export of the new wasm, and
// no old name is left. Any mismatch fails the build (exit 1) rather than
// shipping a module that fails to link or a glue calling an undefined export.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: minify-names.mjs <pkg dir>");
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wasmOpt = join(root, "node_modules/.bin/wasm-opt");
const wasmPath = join(dir, "tokenwarden_bg.wasm");
const gluePath = join(dir, "tokenwarden.js");
const MODULE = "./tokenwarden_bg.js";

function fail(message) {
  console.error(`minify-names: ${message}`);
  process.exit(1);
}

const features = [
  "--enable-reference-types", "--enable-multivalue", "--enable-bulk-memory",
  "--enable-nontrapping-float-to-int", "--enable-sign-ext", "--enable-mutable-globals",
];
const tmp = wasmPath + ".min";
const mapText = execFileSync(
  wasmOpt,
  [...features, "--minify-imports-and-exports-and-modules", wasmPath, "-o", tmp],
  { encoding: "utf8", maxBuffer: 64 << 20 },
);
// The mapping is the JSON object binaryen prints: { imports: [[module, old, new]…],
// exports: [[old, new]…] }.
let map;
try {
  map = JSON.parse(mapText.slice(mapText.indexOf("{")));
} catch (e) {
  fail(`could not read wasm-opt's mapping: ${e.message}`);
}

const escape = (s) => s.replace(/[$]/g, "\\$&");
const ident = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
let glue = readFileSync(gluePath, "utf8");

for (const [module, oldName, newName] of map.imports) {
  if (module !== MODULE) fail(`unexpected import module ${module}`);
  if (!ident.test(newName)) fail(`minified name ${newName} is not an identifier`);
  // An import is a key of the import object: `        <old>: function(`.
  const key = new RegExp(`(^|[{,\\s])${escape(oldName)}(\\s*:)`, "gm");
  const hits = glue.match(key)?.length ?? 0;
  if (hits !== 1) fail(`import ${oldName}: ${hits} keys in the glue, expected 1`);
  glue = glue.replace(key, (_, before, colon) => before + newName + colon);
}
const moduleKey = `"${MODULE}": import0`;
if (glue.split(moduleKey).length !== 2) fail(`module key ${moduleKey} not found once`);
glue = glue.replace(moduleKey, `"a": import0`);

for (const [oldName, newName] of map.exports) {
  if (!ident.test(newName)) fail(`minified name ${newName} is not an identifier`);
  const read = new RegExp(`\\bwasm\\.${escape(oldName)}(?![A-Za-z0-9_$])`, "g");
  glue = glue.replace(read, () => `wasm.${newName}`);
}

// Check the result against the new module.
const module = new WebAssembly.Module(readFileSync(tmp));
const imports = WebAssembly.Module.imports(module);
const exports = new Set(WebAssembly.Module.exports(module).map((e) => e.name));
for (const { module: m, name } of imports) {
  if (m !== "a") fail(`import module ${m} was not renamed`);
  if (!new RegExp(`(^|[{,\\s])${escape(name)}\\s*:`, "m").test(glue)) {
    fail(`import ${name} has no key in the glue`);
  }
}
for (const [, name] of glue.matchAll(/\bwasm\.([A-Za-z0-9_$]+)/g)) {
  if (!exports.has(name)) fail(`the glue reads wasm.${name}, which the module does not export`);
}
for (const [, oldName] of map.imports) {
  if (glue.includes(oldName)) fail(`old import name ${oldName} is still in the glue`);
}
for (const [oldName] of map.exports) {
  if (glue.includes(`wasm.${oldName}`)) fail(`old export name ${oldName} is still read`);
}

writeFileSync(gluePath, glue);
renameSync(tmp, wasmPath);
console.log(
  `minify-names: ${map.imports.length} imports, ${map.exports.length} exports renamed`,
);
