// Recipe: urql (GraphQL), with auth.fetch as the client's fetch.
import { Client, fetchExchange, gql } from "@urql/core";
import { createTokenManager } from "tokenwarden";
import { expose, fail } from "./common.js";

const ME = gql`
  query Me {
    me {
      sub
      jti
    }
  }
`;

try {
  const auth = await createTokenManager({ refresh: { url: "/auth/refresh" } });
  const client = new Client({ url: "/api/graphql", exchanges: [fetchExchange], fetch: auth.fetch });
  expose(auth, async () => {
    const result = await client.query(ME, {}, { requestPolicy: "network-only" }).toPromise();
    if (result.error) throw result.error;
    return result.data.me;
  });
} catch (e) {
  fail(e);
}
