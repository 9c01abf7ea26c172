// The peers as an app would wire them for bearer tokens, on the stub transport.

import ky from "ky";
import axios, { AxiosError } from "axios";
import createAuthRefreshInterceptor from "axios-auth-refresh";
import { REFRESH_PATH } from "./stub.js";

/**
 * ky with a `beforeRequest` hook that sets the bearer token, and the stub as
 * its `fetch`. Everything else at ky's defaults (10 s timeout, retry policy),
 * since that is what an app gets.
 */
export function makeKy(stub, getToken) {
  return ky.create({
    fetch: stub.fetch,
    hooks: {
      beforeRequest: [
        (request) => {
          request.headers.set("Authorization", `Bearer ${getToken()}`);
        },
      ],
    },
  });
}

/**
 * axios + axios-auth-refresh as its README sets it up: a request interceptor
 * that adds the current token, the refresh interceptor that parks 401s behind
 * one refresh and replays them, and a stub adapter that hands the request to
 * the same stub `fetch` and settles like axios's own adapters (2xx resolves,
 * anything else rejects with an `AxiosError` carrying the response).
 *
 * `refreshOptions` go to createAuthRefreshInterceptor (the bench runs the
 * defaults and `{ deduplicateRefresh: false }`: with the default, 5.x pauses
 * the instance while refreshing, which queues requests *started* during the
 * refresh but rejects 401s of requests that were already in flight).
 *
 * `state.token` is the current access token; the refresh logic calls the stub
 * refresh endpoint (same transport as tokenwarden's refresh) and stores the
 * rotated pair there.
 */
export function makeAxios(stub, state, refreshOptions = {}) {
  const instance = axios.create({
    adapter: (config) =>
      stub.fetch(config.url, { headers: { Authorization: config.headers.get("Authorization") } }).then((res) => {
        const response = {
          data: res,
          status: res.status,
          statusText: res.statusText,
          headers: {},
          config,
          request: null,
        };
        if (res.status >= 200 && res.status < 300) return response;
        throw new AxiosError(
          `Request failed with status code ${res.status}`,
          AxiosError.ERR_BAD_REQUEST,
          config,
          null,
          response,
        );
      }),
  });
  instance.interceptors.request.use((config) => {
    config.headers.set("Authorization", `Bearer ${state.token}`);
    return config;
  });
  createAuthRefreshInterceptor(instance, async () => {
    state.refreshCalls++;
    const res = await stub.fetch(`${location.origin}${REFRESH_PATH}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ refreshToken: state.refreshToken }),
    });
    const tokens = await res.json();
    state.token = tokens.accessToken;
    state.refreshToken = tokens.refreshToken;
  }, refreshOptions);
  return instance;
}
