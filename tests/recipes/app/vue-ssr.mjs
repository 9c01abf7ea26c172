// Server side of a Vue SSR app, imported by the test in node: the plugin is
// installed as in the browser, but creates no manager on the server.
import { createSSRApp, h } from "vue";
import { renderToString } from "vue/server-renderer";
import { tokenwarden, useSession, useTokenManager } from "tokenwarden/vue";

export function render() {
  const app = createSSRApp({
    setup() {
      const session = useSession();
      const auth = useTokenManager();
      return () => h("p", `${session.value.status} ${auth.value === null}`);
    },
  });
  app.use(tokenwarden, { refresh: { url: "/auth/refresh" } });
  return renderToString(app);
}
