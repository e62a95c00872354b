// In-process HTTPS helpers that trust the test CA. NODE_EXTRA_CA_CERTS is only read when Node
// starts, so a test process that made its CA at run time cannot make the global fetch trust it;
// child processes get NODE_EXTRA_CA_CERTS instead. Nothing here disables verification.
import { request as httpsRequest } from "node:https";
import { request as httpRequest } from "node:http";

export interface CaFetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Follow 3xx redirects (default false: like fetch's redirect: "manual"). */
  follow?: boolean;
}

/** A small fetch that trusts `ca` (PEM). Returns a standard Response. */
export function caFetch(ca: string): (url: string | URL, init?: CaFetchInit) => Promise<Response> {
  const doFetch = (url: string | URL, init: CaFetchInit = {}, hops = 0): Promise<Response> =>
    new Promise((resolve, reject) => {
      const u = new URL(url);
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers["content-length"] = String(Buffer.byteLength(init.body));
      const opts = { method: init.method ?? "GET", headers };
      const onRes = (res: import("node:http").IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const status = res.statusCode ?? 0;
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const x of v) h.append(k, x);
            else if (v !== undefined) h.set(k, v);
          }
          const location = h.get("location");
          if (init.follow && status >= 300 && status < 400 && location && hops < 20) {
            resolve(doFetch(new URL(location, u), { ...init, method: "GET", body: undefined }, hops + 1));
            return;
          }
          const body = [101, 204, 205, 304].includes(status) ? null : Buffer.concat(chunks);
          resolve(new Response(body, { status, headers: h }));
        });
        res.on("error", reject);
      };
      const req =
        u.protocol === "https:"
          ? httpsRequest(u, { ...opts, ca }, onRes)
          : httpRequest(u, opts, onRes);
      req.on("error", reject);
      if (init.body !== undefined) req.write(init.body);
      req.end();
    });
  return doFetch;
}

/**
 * An msal-node `system.networkClient` that trusts `ca`: for running @azure/msal-node in the test
 * process itself. (The CLI brings its own networkClient for proxies; this one is only for tests.)
 */
export function caNetworkClient(ca: string) {
  const f = caFetch(ca);
  const send = async (url: string, method: string, options?: { headers?: Record<string, string>; body?: string }) => {
    const res = await f(url, { method, headers: options?.headers, body: options?.body });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { headers, body: (await res.json()) as never, status: res.status };
  };
  return {
    sendGetRequestAsync: (url: string, options?: { headers?: Record<string, string> }) => send(url, "GET", options),
    sendPostRequestAsync: (url: string, options?: { headers?: Record<string, string>; body?: string }) => send(url, "POST", options),
  };
}
