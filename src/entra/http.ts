import { createRequire } from 'node:module';
import type { Dispatcher, fetch as UndiciFetch, Response as UndiciResponse } from 'undici';
import { InterruptedError, OperationError } from '../errors.js';

/**
 * The one HTTP transport for every Microsoft call: sign-in (msal's networkClient), tenant discovery
 * and Microsoft Graph (the graph client's terminal handler).
 *
 * undici's fetch (Node's own, or with a proxy the undici package's with its EnvHttpProxyAgent):
 * HTTPS_PROXY / HTTP_PROXY / NO_PROXY (either case) are honoured the way undici documents them, HTTPS goes through a CONNECT tunnel so the proxy never sees
 * the traffic, and certificates are verified by Node's defaults plus NODE_EXTRA_CA_CERTS. Nothing
 * here turns verification off. Every request has a timeout; failures are explained in words.
 */

export interface HttpRequestInit {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
  /** The whole request, connect to last byte. Default 30 s. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Lower-case header names. */
  headers: Record<string, string>;
  text: string;
  json<T = unknown>(): T;
}

/** Buffered requests (discovery, sign-in); `fetch` streams the body (Graph). */
export interface HttpClient {
  (url: string, init?: HttpRequestInit): Promise<HttpResponse>;
  fetch(url: string, init?: HttpRequestInit): Promise<UndiciResponse>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface HttpClientOptions {
  /** Called once per request with facts safe for --debug (never headers or bodies). */
  debug?: (line: string) => void;
}

const redactUrl = (value: string) => value.replace(/\/\/[^@/]*@/, '//***@');

/** The proxy settings of `env` (not process.env: tests hand in their own), normalised for undici. */
export function proxySettings(env: NodeJS.ProcessEnv): { httpProxy: string; httpsProxy: string; noProxy: string } {
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '') ?? '';
  const url = (raw: string, variable: string) => {
    if (!raw) return '';
    const value = raw.includes('://') ? raw : `http://${raw}`;
    try {
      return new URL(value).href;
    } catch {
      throw new OperationError(`The proxy setting ${variable}="${redactUrl(raw)}" is not a URL.`, {
        hint: `Set ${variable} to a URL such as http://proxy.example.com:3128, or unset it.`,
      });
    }
  };
  return {
    httpProxy: url(pick('http_proxy', 'HTTP_PROXY'), 'HTTP_PROXY'),
    httpsProxy: url(pick('https_proxy', 'HTTPS_PROXY'), 'HTTPS_PROXY'),
    noProxy: pick('no_proxy', 'NO_PROXY'),
  };
}

export const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** The innermost error with a code: undici wraps socket errors in "fetch failed". */
function rootCause(error: unknown): NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string } {
  let e = error as NodeJS.ErrnoException & { cause?: unknown };
  for (let i = 0; i < 5 && e && !e.code && e.cause; i++) e = e.cause as typeof e;
  return e as NodeJS.ErrnoException & { address?: string; port?: number; hostname?: string };
}

/** Turns a socket-level failure into a message that explains the network and what to do. */
export function explainNetworkError(error: unknown, target: URL, env: NodeJS.ProcessEnv): OperationError {
  const e = rootCause(error);
  const code = e?.code ?? '';
  const host = target.host;
  const proxies = proxySettings(env);
  const proxyUrl = target.protocol === 'https:' ? proxies.httpsProxy || proxies.httpProxy : proxies.httpProxy;
  const proxy = proxyUrl ? new URL(proxyUrl) : undefined;
  const atProxy = Boolean(proxy && e?.address && String(e.port) === (proxy.port || '80') && (e.address === proxy.hostname || proxy.hostname === 'localhost'));
  const details = { host, code: code || undefined, proxy: proxy ? redactUrl(proxy.origin) : undefined };
  if (TLS_TRUST_CODES.has(code)) {
    return new OperationError(`The TLS certificate of ${host} is not trusted (${code}).`, {
      hint:
        'A proxy or TLS inspection appliance may be intercepting HTTPS. Give Node its CA certificate with ' +
        'NODE_EXTRA_CA_CERTS=/path/to/ca.pem (TLS verification is never switched off).',
      details,
      cause: error,
    });
  }
  if (/Proxy response \((\d+)\)/.test(e?.message ?? '') || code === 'UND_ERR_PRX_TLS') {
    const status = /Proxy response \((\d+)\)/.exec(e?.message ?? '')?.[1];
    return new OperationError(`The proxy ${proxy ? redactUrl(proxy.origin) : ''} refused to connect to ${host}${status ? ` (HTTP ${status})` : ''}.`, {
      hint: 'Check the proxy address and credentials in HTTPS_PROXY, or add the host to NO_PROXY.',
      details,
      cause: error,
    });
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new OperationError(`Cannot resolve ${e.hostname ?? target.hostname} (DNS ${code}).`, {
      hint: proxy ? 'Check HTTPS_PROXY / HTTP_PROXY.' : 'Check the network and DNS, or set HTTPS_PROXY if this network requires a proxy.',
      details,
      cause: error,
    });
  }
  if (code === 'ECONNREFUSED') {
    return new OperationError(`Connection to ${atProxy ? `${redactUrl(proxy!.host)} (the proxy)` : host} was refused.`, {
      hint: atProxy
        ? 'Check that the proxy in HTTPS_PROXY is running, or set NO_PROXY for this host.'
        : 'Check the endpoint and the network (and DIRSYNC_LOGIN_ENDPOINT / DIRSYNC_GRAPH_ENDPOINT if set).',
      details,
      cause: error,
    });
  }
  const via = proxy ? ` (proxy ${redactUrl(proxy.origin)} configured)` : '';
  if (code === 'ETIMEDOUT' || code === 'ERR_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT') {
    return new OperationError(`No answer from ${host}${via} in time.`, {
      hint: 'Check the network or firewall (outbound HTTPS to Microsoft must be allowed), or set HTTPS_PROXY.',
      details,
      cause: error,
    });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET') {
    return new OperationError(`The connection to ${host}${via} was reset.`, {
      hint: 'A proxy or firewall may be closing connections; try again, or check HTTPS_PROXY.',
      details: { ...details, code: code === 'UND_ERR_SOCKET' ? 'ECONNRESET' : code },
      cause: error,
    });
  }
  return new OperationError(`The request to ${host}${via} failed: ${e?.message ?? String(error)}.`, {
    hint: 'Check the network, proxy settings (HTTPS_PROXY / NO_PROXY) and try again.',
    details,
    cause: error,
  });
}

/**
 * The fetch to use. With a proxy configured: the undici package's fetch with its EnvHttpProxyAgent
 * (one dispatcher per client, so Graph paging reuses its connections). Without one: Node's own
 * fetch — the same undici, bundled in Node — which spares loading a second copy of undici (about
 * 10 MiB and a tenth of a second at every start; see test/bench/groups-entra.mjs).
 */
function transport(env: NodeJS.ProcessEnv, debug?: (line: string) => void): { fetch: typeof UndiciFetch; dispatcher?: Dispatcher } {
  const proxies = proxySettings(env);
  if (!proxies.httpsProxy && !proxies.httpProxy) return { fetch: globalThis.fetch as unknown as typeof UndiciFetch };
  debug?.(`proxy: ${redactUrl(proxies.httpsProxy || proxies.httpProxy)}${proxies.noProxy ? ` (NO_PROXY: ${proxies.noProxy})` : ''}`);
  const undici = createRequire(import.meta.url)('undici') as typeof import('undici');
  return { fetch: undici.fetch, dispatcher: new undici.EnvHttpProxyAgent({ ...proxies, connections: 8 }) };
}

/** Creates the client for every Microsoft call of one command. */
export function createHttpClient(env: NodeJS.ProcessEnv, options: HttpClientOptions = {}): HttpClient {
  const { fetch: undiciFetch, dispatcher } = transport(env, options.debug);

  const send = async (url: string, init: HttpRequestInit = {}): Promise<UndiciResponse> => {
    const target = new URL(url);
    const method = init.method ?? 'GET';
    options.debug?.(`${method} ${target.origin}${target.pathname}`);
    const controller = new AbortController();
    const timer = setTimeout(
      () => controller.abort(Object.assign(new Error('timeout'), { code: 'ERR_TIMEOUT' })),
      init.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    timer.unref?.();
    const onAbort = () => controller.abort(init.signal?.reason ?? new InterruptedError());
    if (init.signal?.aborted) onAbort();
    init.signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
    };
    try {
      const response = await undiciFetch(target, {
        method,
        headers: init.headers,
        body: init.body,
        ...(dispatcher ? { dispatcher } : {}),
        signal: controller.signal,
        redirect: 'manual',
      });
      // The timeout keeps running until the body has been read (or the stream is dropped).
      return wrapBody(response, done, (error) => fail(error, target, init, controller));
    } catch (error) {
      done();
      throw fail(error, target, init, controller);
    }
  };

  const fail = (error: unknown, target: URL, init: HttpRequestInit, controller: AbortController): Error => {
    if (init.signal?.aborted) return init.signal.reason instanceof Error ? init.signal.reason : new InterruptedError();
    const reason = controller.signal.aborted ? (controller.signal.reason as Error) : error;
    return explainNetworkError(reason, target, env);
  };

  const client = (async (url: string, init: HttpRequestInit = {}): Promise<HttpResponse> => {
    const response = await send(url, init);
    const text = await response.text();
    const headers: Record<string, string> = {};
    response.headers.forEach((value, key) => (headers[key] = value));
    return {
      status: response.status,
      headers,
      text,
      json<T>() {
        return JSON.parse(text) as T;
      },
    };
  }) as HttpClient;
  client.fetch = send;
  return client;
}

/** Calls `done` once the body is consumed or fails, and explains a failure while reading it. */
function wrapBody(response: UndiciResponse, done: () => void, explain: (error: unknown) => Error): UndiciResponse {
  const read = <K extends 'text' | 'json' | 'arrayBuffer'>(key: K) => {
    const original = (response[key] as () => Promise<unknown>).bind(response);
    return async () => {
      try {
        return await original();
      } catch (error) {
        throw explain(error);
      } finally {
        done();
      }
    };
  };
  if (!response.body) done();
  return Object.assign(response, { text: read('text'), json: read('json'), arrayBuffer: read('arrayBuffer') }) as UndiciResponse;
}

/** Waits `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
