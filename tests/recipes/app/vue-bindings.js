// The tokenwarden/vue test app: the plugin, useSession and useTokenManager,
// with render functions (the runtime-only build; no template compiler, no eval).
import { createApp, h, ref, watchEffect } from "vue";
import { tokenwarden, useSession, useTokenManager } from "tokenwarden/vue";
import { signIn } from "./common.js";

window.renders = [];

const App = {
  setup() {
    const session = useSession();
    const auth = useTokenManager();
    const tick = ref(0);
    watchEffect(() => {
      const m = auth.value;
      if (!m) return;
      window.app = {
        auth: m,
        login: () => signIn(m),
        rerender: () => tick.value++,
        unmount: () => app.unmount(),
      };
      document.title = "ready";
    });
    return () => {
      const s = session.value;
      window.renders.push(s);
      return h("p", { id: "status", "data-tick": tick.value }, s.status + (s.claims ? ` as ${s.claims.sub}` : ""));
    };
  },
};

const app = createApp(App);
app.use(tokenwarden, { refresh: { url: "/auth/refresh" }, storageKey: "bindings-vue" });
app.mount("#root");
