// jwt-decode 4.0.0's own test suite (auth0/jwt-decode, lib/index.test.ts at
// tag v4.0.0), ported case by case and run differentially: each case goes
// through the real jwt-decode (node_modules, in node) and through the built
// package's `decodeJwt` (dist/, in headless Chromium), and the outcomes are
// compared. Then tokenwarden's own "decoder, not a validator" cases, the
// same way.
//
// Agreement: the same decoded value, or both throw — jwt-decode's
// InvalidTokenError, our TokenError `invalid_token` — naming the same part
// ("part #1" = `part: "header"`, "part #2" = `part: "payload"`, "must be a
// string" = `reason: "not_a_string"`). Every divergence is listed in
// DIVERGENCES with its reason and asserted as such; the counts are printed
// and checked at the end.
//
// Run: node --test --test-concurrency=1 tests/e2e/decode.test.mjs   (after scripts/build)

import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { jwtDecode, InvalidTokenError } from "jwt-decode";
import { launchBrowser, distMissingReason, startEnv, closeOpenEnvs } from "./helpers.mjs";

const T = { timeout: 90_000 };

// The suite's tokens, verbatim.
const TOKEN =
  "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJmb28iOiJiYXIiLCJleHAiOjEzOTMyODY4OTMsImlhdCI6MTM5MzI2ODg5M30.4-iaDojEVl0pJQMjrbM1EzUIfAZgsbK_kgnVyVxFSVo";
const UTF8 =
  "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiSm9zw6kiLCJpYXQiOjE0MjU2NDQ5NjZ9.1CfFtdGUPs6q8kT3OGQSVlhEMdbuX0HfNSqum0023a0";
const BINARY =
  "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiSm9z6SIsImlhdCI6MTQyNTY0NDk2Nn0.cpnplCBxiw7Xqz5thkqs4Mo_dymvztnI0CI4BN0d1t8";
const DOUBLE_PADDING =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpvc8OpIiwiaWF0IjoxNTE2MjM5MDIyfQ.7A3F5SUH2gbBSYVon5mas_Y-KCrWojorKQg7UKGVEIA";
const SINGLE_PADDING =
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6Ikpvc8OpZSIsImlhdCI6MTUxNjIzOTAyMn0.tbjJzDAylkKSV0_YGR5xBJBlFK01C82nZPLIcA3JX1g";

/** The 15 cases of jwt-decode 4.0.0's suite, with the suite's own checks. */
const SUITE = [
  { name: "should return default and custom claims", token: TOKEN,
    check: (d) => { assert.equal(d.exp, 1393286893); assert.equal(d.iat, 1393268893); assert.equal(d.foo, "bar"); } },
  { name: "should return header information", token: TOKEN, options: { header: true },
    check: (d) => { assert.equal(d.typ, "JWT"); assert.equal(d.alg, "HS256"); } },
  { name: "should work with utf8 tokens", token: UTF8, check: (d) => assert.equal(d.name, "José") },
  { name: "should work with binary tokens", token: BINARY, check: (d) => assert.equal(d.name, "José") },
  { name: "should work with double padding", token: DOUBLE_PADDING, check: (d) => assert.equal(d.name, "José") },
  { name: "should work with single padding", token: SINGLE_PADDING, check: (d) => assert.equal(d.name, "Josée") },
  { name: "should throw InvalidTokenError on nonstring", token: null, throws: true },
  { name: "should throw InvalidTokenError on string that is not a token", token: "fubar", throws: true },
  { name: "should throw InvalidTokenErrors when token is null", token: null, options: { header: true },
    throws: "Invalid token specified: must be a string" },
  { name: "should throw InvalidTokenErrors when missing part #1", token: ".FAKE_TOKEN", options: { header: true },
    throws: /Invalid token specified: invalid json for part #1/ },
  { name: "should throw InvalidTokenErrors when part #1 is not valid base64", token: "TOKEN", options: { header: true },
    throws: /Invalid token specified: invalid base64 for part #1/ },
  { name: "should throw InvalidTokenErrors when part #1 is not valid JSON", token: "FAKE.TOKEN", options: { header: true },
    throws: /Invalid token specified: invalid json for part #1/ },
  { name: "should throw InvalidTokenErrors when missing part #2", token: "FAKE_TOKEN",
    throws: "Invalid token specified: missing part #2" },
  { name: "should throw InvalidTokenErrors when part #2 is not valid base64", token: "FAKE.TOKEN",
    throws: /Invalid token specified: invalid base64 for part #2/ },
  { name: "should throw InvalidTokenErrors when part #2 is not valid JSON", token: "FAKE.TOKEN2",
    throws: /Invalid token specified: invalid json for part #2/ },
];

/**
 * Where decodeJwt deliberately differs, by case name: what it does instead
 * and why. Only RFC 7519's own requirements justify one.
 */
const DIVERGENCES = {
  "should work with binary tokens": {
    ours: { reason: "invalid_utf8", part: "payload" },
    why: "RFC 7519 §7.2 step 8: the claims set is UTF-8 JSON; jwt-decode falls back to reading the bytes as Latin-1",
  },
};

/**
 * Cases that agree on the outcome and the part, but whose reason differs
 * from jwt-decode's message: their bytes are not UTF-8, which we check first
 * (RFC 7519 §7.2 steps 4 and 8); jwt-decode reads them as Latin-1 and then
 * fails on the JSON.
 */
const REASON_DIFFERS = {
  "should throw InvalidTokenErrors when part #1 is not valid JSON": "invalid_utf8",
  "should throw InvalidTokenErrors when part #2 is not valid JSON": "invalid_utf8",
};

const enc = (s) => Buffer.from(s, "utf8").toString("base64url");
const tok = (payload, header = { alg: "RS256", typ: "JWT" }) => `${enc(JSON.stringify(header))}.${enc(payload)}.c2ln`;

/**
 * tokenwarden's own cases: claims the session's rules refuse (issue 14
 * item 7), and what "only the part asked for" means. All must agree.
 */
const OWN = [
  { name: "numeric sub", token: tok('{"sub":12345,"exp":1700000000}') },
  { name: "exp in milliseconds", token: tok('{"exp":1700000000000}') },
  { name: "exp as a string", token: tok('{"exp":"1700000000","iat":-1,"nbf":null}') },
  { name: "jti an object, aud an array, fractional exp", token: tok('{"jti":{"a":1},"aud":["a","b"],"exp":1.5}') },
  { name: "header of a token with odd claims", token: tok('{"sub":5}', { alg: "none", kid: 7 }), options: { header: true } },
  { name: "a bad header does not stop the payload", token: `!!.${enc('{"sub":"a"}')}.sig` },
  { name: "a two-part token", token: `${enc("{}")}.${enc('{"sub":"a"}')}` },
  { name: "padded base64url", token: `${Buffer.from('{"alg":"none"}').toString("base64url")}.${Buffer.from('{"a":1}').toString("base64url")}==.` },
  { name: "an empty payload", token: `${enc("{}")}..x` },
  { name: "a payload of 1 base64 char", token: `${enc("{}")}.a.x` },
  { name: "options that are not an object", token: TOKEN, options: true },
  { name: "options.header not exactly true", token: TOKEN, options: { header: 1 } },
];

/** Outside the suite, where RFC 7519 makes us refuse what jwt-decode returns. */
const OWN_DIVERGENCES = [
  { name: "a payload that is JSON but not an object", token: tok("[1,2]"), ours: { reason: "not_object", part: "payload" },
    why: "RFC 7519 §7.2 step 10: the claims set is a JSON object" },
  { name: "a header that is JSON but not an object", token: `${enc('"x"')}.${enc("{}")}.`, options: { header: true },
    ours: { reason: "not_object", part: "header" }, why: "RFC 7519 §7.2 step 4 / RFC 7515 §4: the JOSE header is a JSON object" },
  { name: "standard-base64 '+' and '/' in the payload", token: `${enc("{}")}.${Buffer.from('{"a":"\u03ff\ufbff?>"}').toString("base64")}.`,
    ours: { reason: "invalid_base64", part: "payload" }, why: "RFC 7519 §7.2 steps 2 and 7 / RFC 7515 §2: base64url only" },
];

/** jwt-decode's outcome, in node. */
function reference(token, options) {
  try {
    return { ok: jwtDecode(token, options) };
  } catch (e) {
    assert.ok(e instanceof InvalidTokenError, `jwt-decode threw ${e}`);
    const n = /part #(\d)/.exec(e.message)?.[1];
    return {
      threw: e.message,
      part: n === "1" ? "header" : n === "2" ? "payload" : null,
      notAString: /must be a string/.test(e.message),
    };
  }
}

/** decodeJwt's outcome for each case, in Chromium, from the built package. */
async function ours(page, cases) {
  return page.evaluate(async (cases) => {
    const tw = await import("/dist/index.js");
    await tw.init();
    return cases.map(({ token, options }) => {
      try {
        return { ok: tw.decodeJwt(token, options) };
      } catch (e) {
        return {
          threw: e.message, name: e.name, code: e.code, reason: e.reason ?? null, part: e.part ?? null,
          isTokenError: e instanceof tw.TokenError,
        };
      }
    });
  }, cases.map(({ token, options }) => ({ token, options })));
}

/** Whether our outcome agrees with jwt-decode's (see the header comment). */
function agreement(ref, got, name) {
  if ("ok" in ref) {
    assert.ok("ok" in got, `${name}: jwt-decode decoded it, decodeJwt threw ${JSON.stringify(got)}`);
    assert.deepEqual(got.ok, ref.ok, name);
    return;
  }
  assert.ok("threw" in got, `${name}: jwt-decode threw (${ref.threw}), decodeJwt returned ${JSON.stringify(got.ok)}`);
  assert.equal(got.code, "invalid_token", name);
  assert.equal(got.isTokenError, true, name);
  if (ref.notAString) {
    assert.equal(got.reason, "not_a_string", name);
    assert.equal(got.part, null, name);
  } else if (ref.part === "payload" && /missing part/.test(ref.threw)) {
    assert.equal(got.reason, "missing_part", name);
    assert.equal(got.part, "payload", name);
  } else {
    assert.equal(got.part, ref.part, `${name}: jwt-decode: ${ref.threw}; decodeJwt: ${got.reason} ${got.part}`);
  }
}

let browser;
before(async () => {
  if (!distMissingReason()) browser = await launchBrowser();
});
after(async () => {
  await closeOpenEnvs();
  await browser?.close();
});

describe("decodeJwt against jwt-decode 4.0.0's suite", { skip: distMissingReason() ?? false }, () => {
  test("every case of the suite agrees, except the listed divergences", T, async () => {
    const env = await startEnv({}, { browser });
    const page = await env.newPage("/test/harness.html");
    await page.waitForFunction(() => window.harness !== undefined);

    // The suite's own expectations hold for jwt-decode itself (the port is faithful).
    for (const c of SUITE) {
      if (c.throws) {
        const expected = typeof c.throws === "string" ? new InvalidTokenError(c.throws) : c.throws === true ? InvalidTokenError : c.throws;
        assert.throws(() => jwtDecode(c.token, c.options), expected, c.name);
      } else c.check(jwtDecode(c.token, c.options));
    }

    const results = await ours(page, SUITE);
    let agree = 0;
    let reasonDiffers = 0;
    const diverged = [];
    SUITE.forEach((c, i) => {
      const got = results[i];
      const divergence = DIVERGENCES[c.name];
      if (divergence) {
        assert.equal(got.code, "invalid_token", c.name);
        assert.equal(got.reason, divergence.ours.reason, c.name);
        assert.equal(got.part, divergence.ours.part, c.name);
        diverged.push(`${c.name}: ${divergence.ours.reason} (${divergence.why})`);
        return;
      }
      agreement(reference(c.token, c.options), got, c.name);
      // …and the suite's own checks pass on our value too.
      if (!c.throws) c.check(got.ok);
      if (REASON_DIFFERS[c.name]) {
        assert.equal(got.reason, REASON_DIFFERS[c.name], c.name);
        reasonDiffers++;
      }
      agree++;
    });
    console.log(`jwt-decode 4.0.0 suite: ${SUITE.length} cases ported, ${agree} agree ` +
      `(${reasonDiffers} of them with a different reason: invalid_utf8), ${diverged.length} diverge:\n  ${diverged.join("\n  ")}`);
    assert.equal(SUITE.length, 15);
    assert.equal(agree, 14);
    assert.equal(diverged.length, 1);
    await env.finish();
  });

  test("claims the session refuses still decode, as jwt-decode decodes them", T, async () => {
    const env = await startEnv({}, { browser });
    const page = await env.newPage("/test/harness.html");
    await page.waitForFunction(() => window.harness !== undefined);
    const results = await ours(page, OWN);
    OWN.forEach((c, i) => agreement(reference(c.token, c.options), results[i], c.name));
    const divergent = await ours(page, OWN_DIVERGENCES);
    OWN_DIVERGENCES.forEach((c, i) => {
      assert.ok("ok" in reference(c.token, c.options), `${c.name}: jwt-decode decodes it`);
      assert.equal(divergent[i].reason, c.ours.reason, c.name);
      assert.equal(divergent[i].part, c.ours.part, c.name);
    });
    console.log(`tokenwarden's own cases: ${OWN.length} agree with jwt-decode, ${OWN_DIVERGENCES.length} diverge (RFC 7519)`);
    await env.finish();
  });
});
