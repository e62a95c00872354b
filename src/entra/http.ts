import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import { InterruptedError, OperationError } from '../errors.js';

/**
 * The one HTTP client for every Microsoft call (sign-in via msal's networkClient, discovery, Graph).
 *
 * Node 20's built-in fetch ignores HTTPS_PROXY / HTTP_PROXY / NO_PROXY, and undici (which could
 * honour them) is bundled but not importable. So this client uses node:http/node:https directly and,
 * when a proxy applies, opens a CONNECT tunnel through it and runs TLS to the real host inside the
 * tunnel — the proxy never sees the traffic, and the certificate checked is the real host's.
 * Certificates are verified by Node's defaults plus NODE_EXTRA_CA_CERTS; nothing here disables it.
 */

export interface HttpRequestInit {
  method?: 'GET' | 'POST';
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

export type HttpClient = (url: string, init?: HttpRequestInit) => Promise<HttpResponse>;

export const DEFAULT_TIMEOUT_MS = 30_000;

export interface HttpClientOptions {
  /** Called once per request with facts safe for --debug (never headers or bodies). */
  debug?: (line: string) => void;
}

/** The proxy URL for `target`, from HTTPS_PROXY/HTTP_PROXY (either case), unless NO_PROXY matches. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const pick = (...names: string[]) => names.map((n) => env[n]).find((v) => v !== undefined && v !== '');
  const raw =
    target.protocol === 'https:' ? pick('HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy') : pick('HTTP_PROXY', 'http_proxy', 'ALL_PROXY', 'all_proxy');
  if (!raw) return undefined;
  if (noProxyMatches(target, pick('NO_PROXY', 'no_proxy') ?? '')) return undefined;
  try {
    return new URL(raw.includes('://') ? raw : `http://${raw}`);
  } catch {
    throw new OperationError(`The proxy setting "${redactUrl(raw)}" is not a URL.`, {
      hint: 'Set HTTPS_PROXY to a URL such as http://proxy.example.com:3128, or unset it.',
    });
  }
}

/** NO_PROXY: comma/space separated hosts, ".suffix" or "suffix" domain matches, optional :port, or "*". */
export function noProxyMatches(target: URL, noProxy: string): boolean {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  for (const entry of noProxy.split(/[\s,]+/).filter(Boolean)) {
    if (entry === '*') return true;
    let pattern = entry.toLowerCase();
    let entryPort: string | undefined;
    const m = /^(.*?)(?::(\d+))?$/.exec(pattern.replace(/^\[|\](?=:|$)/g, ''));
    if (m && m[2] && !pattern.includes('::')) {
      pattern = m[1]!;
      entryPort = m[2];
    }
    pattern = pattern.replace(/^\*?\./, '.');
    if (entryPort && entryPort !== port) continue;
    if (pattern.startsWith('.') ? host.endsWith(pattern) || host === pattern.slice(1) : host === pattern || host.endsWith(`.${pattern}`)) {
      return true;
    }
  }
  return false;
}

const redactUrl = (value: string) => value.replace(/\/\/[^@/]*@/, '//***@');

const TLS_TRUST_CODES = new Set([
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

/** Turns a socket-level failure into a message that explains the network and what to do. */
export function explainNetworkError(error: unknown, target: URL, proxy: URL | undefined): OperationError {
  const e = error as NodeJS.ErrnoException & { reason?: string };
  const code = e.code ?? '';
  const host = target.host;
  const via = proxy ? ` through the proxy ${redactUrl(proxy.origin)}` : '';
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
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new OperationError(`Cannot resolve ${proxy && code ? proxy.hostname : target.hostname} (DNS ${code}).`, {
      hint: proxy ? 'Check HTTPS_PROXY / HTTP_PROXY.' : 'Check the network and DNS, or set HTTPS_PROXY if this network requires a proxy.',
      details,
      cause: error,
    });
  }
  if (code === 'ECONNREFUSED') {
    return new OperationError(`Connection to ${proxy ? redactUrl(proxy.host) : host} was refused${proxy ? ' (the proxy)' : ''}.`, {
      hint: proxy ? 'Check that the proxy in HTTPS_PROXY is running, or set NO_PROXY for this host.' : 'Check the endpoint and the network (and DIRSYNC_LOGIN_ENDPOINT / DIRSYNC_GRAPH_ENDPOINT if set).',
      details,
      cause: error,
    });
  }
  if (code === 'ETIMEDOUT' || code === 'ERR_TIMEOUT') {
    return new OperationError(`No answer from ${host}${via} in time.`, {
      hint: 'Check the network or firewall (outbound HTTPS to Microsoft must be allowed), or set HTTPS_PROXY.',
      details,
      cause: error,
    });
  }
  if (code === 'ERR_PROXY') {
    return new OperationError(`The proxy ${proxy ? redactUrl(proxy.origin) : ''} refused to connect to ${host}: ${e.reason ?? e.message}.`, {
      hint: 'Check the proxy address and credentials in HTTPS_PROXY, or add the host to NO_PROXY.',
      details,
      cause: error,
    });
  }
  if (code === 'ECONNRESET' || code === 'EPIPE') {
    return new OperationError(`The connection to ${host}${via} was reset.`, {
      hint: 'A proxy or firewall may be closing connections; try again, or check HTTPS_PROXY.',
      details,
      cause: error,
    });
  }
  return new OperationError(`The request to ${host}${via} failed: ${e.message}.`, {
    hint: 'Check the network, proxy settings (HTTPS_PROXY / NO_PROXY) and try again.',
    details,
    cause: error,
  });
}

function tunnel(proxy: URL, target: URL, signal: AbortSignal): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const port = target.port || '443';
    const authority = `${target.hostname.includes(':') ? `[${target.hostname}]` : target.hostname}:${port}`;
    const headers: Record<string, string> = { Host: authority };
    if (proxy.username) {
      headers['Proxy-Authorization'] =
        `Basic ${Buffer.from(`${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`).toString('base64')}`;
    }
    const connect = (proxy.protocol === 'https:' ? https : http).request({
      host: proxy.hostname,
      port: proxy.port || (proxy.protocol === 'https:' ? 443 : 80),
      method: 'CONNECT',
      path: authority,
      headers,
      signal,
    });
    connect.once('connect', (res, socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        reject(Object.assign(new Error(`proxy answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim()), { code: 'ERR_PROXY', reason: `HTTP ${res.statusCode}` }));
        return;
      }
      const secure = tls.connect({
        socket,
        servername: net.isIP(target.hostname) ? undefined : target.hostname,
        ALPNProtocols: ['http/1.1'],
      });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
    connect.once('error', reject);
    connect.end();
  });
}

/**
 * Creates the proxy-aware client. One keep-alive agent per client: Graph paging reuses connections.
 */
export function createHttpClient(env: NodeJS.ProcessEnv, options: HttpClientOptions = {}): HttpClient {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  const plainAgent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  return async (url, init = {}) => {
    const target = new URL(url);
    const proxy = proxyFor(target, env);
    const method = init.method ?? 'GET';
    const timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    options.debug?.(`${method} ${target.origin}${target.pathname}${proxy ? ` via proxy ${redactUrl(proxy.origin)}` : ''}`);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(Object.assign(new Error('timeout'), { code: 'ERR_TIMEOUT' })), timeoutMs);
    timer.unref?.();
    const onAbort = () => controller.abort(init.signal?.reason ?? new InterruptedError());
    if (init.signal?.aborted) onAbort();
    init.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(init.body));
      let request: http.ClientRequest;
      if (proxy && target.protocol === 'https:') {
        const socket = await tunnel(proxy, target, controller.signal);
        request = http.request({
          host: target.hostname,
          port: target.port || 443,
          path: `${target.pathname}${target.search}`,
          method,
          headers: { Host: target.host, ...headers },
          createConnection: () => socket,
          signal: controller.signal,
        });
      } else if (proxy) {
        request = http.request({
          host: proxy.hostname,
          port: proxy.port || 80,
          path: target.href,
          method,
          headers: { Host: target.host, ...headers },
          signal: controller.signal,
        });
      } else {
        request = (target.protocol === 'https:' ? https : http).request(target, {
          method,
          headers,
          agent: target.protocol === 'https:' ? agent : plainAgent,
          signal: controller.signal,
        });
      }
      return await new Promise<HttpResponse>((resolve, reject) => {
        request.once('error', reject);
        request.once('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.once('error', reject);
          res.once('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const hdrs: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) hdrs[k] = Array.isArray(v) ? v.join(', ') : v;
            resolve({
              status: res.statusCode ?? 0,
              headers: hdrs,
              text,
              json<T>() {
                return JSON.parse(text) as T;
              },
            });
          });
        });
        request.end(init.body);
      });
    } catch (error) {
      if (init.signal?.aborted) throw init.signal.reason instanceof Error ? init.signal.reason : new InterruptedError();
      const reason = controller.signal.aborted ? (controller.signal.reason as Error) : error;
      throw explainNetworkError(reason, target, proxy);
    } finally {
      clearTimeout(timer);
      init.signal?.removeEventListener('abort', onAbort);
    }
  };
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
