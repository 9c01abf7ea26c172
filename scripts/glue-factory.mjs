#!/usr/bin/env node
// Turns the wasm-bindgen `--target web` glue into a factory (called by
// scripts/build, after minify-names):
//
//   node scripts/glue-factory.mjs <dir with tokenwarden.js>
//
// The glue keeps its wasm instance, memory views and FinalizationRegistries
// in module-level variables, so one ES module can hold one instance for the
// life of the page. After a trap (`WebAssembly.RuntimeError`) that instance
// is dead (README, "Errors": code `internal`), and a manager created
// afterwards needs a fresh one. Resetting those variables in place would let
// a finalizer of a dead object free a pointer in the new instance, so instead
// every instance gets its own copy of the glue's state:
//
//   export function createGlue(guard) { <the glue>; return { TokenManager, … } }
//
// and `wasm = instance.exports` becomes `wasm = guard(instance.exports)`, so
// that js/index.js sees every call into the instance (it turns a trap into
// `TokenError` code `internal` and, once dead, never enters the instance
// again). The default wasm URL (`import.meta.url`) is dropped: js/index.js
// always passes what to load. Every rewrite is checked; anything unexpected
// in the glue fails the build (exit 1).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: glue-factory.mjs <pkg dir>");
  process.exit(2);
}
const path = join(dir, "tokenwarden.js");
let glue = readFileSync(path, "utf8");

function fail(message) {
  console.error(`glue-factory: ${message}`);
  process.exit(1);
}

/** Replaces exactly one match of `re` (fails otherwise). */
function replaceOnce(re, by, what) {
  const hits = glue.match(new RegExp(re.source, re.flags.includes("g") ? re.flags : re.flags + "g"))?.length ?? 0;
  if (hits !== 1) fail(`${what}: ${hits} matches, expected 1`);
  glue = glue.replace(re, by);
}

if (/createGlue/.test(glue)) fail("already a factory");
if (/^\s*import\b/m.test(glue)) fail("the glue imports other modules (inline_js snippets?); not supported");

const names = [];
glue = glue.replace(/^export (class|function) ([A-Za-z_$][\w$]*)/gm, (_, kind, name) => {
  names.push(name);
  return `${kind} ${name}`;
});
for (const needed of ["TokenManager", "decodeJwt", "returnTo", "__setErrorClass"]) {
  if (!names.includes(needed)) fail(`export ${needed} not found (exports: ${names.join(", ")})`);
}
replaceOnce(/^export \{ initSync, __wbg_init as default \};\s*$/m, "", "the loader exports");
replaceOnce(/\bwasm = instance\.exports;/, "wasm = guard(instance.exports);", "the instance's exports");
replaceOnce(
  /if \(module_or_path === undefined\) \{\s*module_or_path = new URL\('tokenwarden_bg\.wasm', import\.meta\.url\);\s*\}/,
  "",
  "the default wasm URL",
);
if (!/\bwasmModule = module;/.test(glue)) fail("wasmModule is not kept by the glue");
if (/^\s*export\b/m.test(glue)) fail("an export form this script does not know is left");
if (/import\.meta/.test(glue)) fail("import.meta is still used");

const out =
  "// wasm-bindgen glue as a factory: one copy of its state per wasm instance\n" +
  "// (scripts/glue-factory.mjs).\n" +
  "export function createGlue(guard) {\n" +
  glue +
  `\nreturn { ${names.join(", ")}, initSync, init: __wbg_init, module: () => wasmModule };\n}\n`;
writeFileSync(path, out);
console.log(`glue-factory: ${names.length} exports (${names.join(", ")}) + initSync, init, module`);
