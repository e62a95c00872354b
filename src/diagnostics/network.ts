import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { DirsyncError, OperationError } from '../errors.js';
import { describeDuration } from '../util/duration.js';
import { proxySettings, TLS_TRUST_CODES, type HttpClient } from '../entra/http.js';
import type { Diagnosis } from './types.js';

/**
 * doctor's network probes: one HTTPS request to a host through dirsync's own transport (proxy,
 * NODE_EXTRA_CA_CERTS — exactly what every other command would meet), and, when that fails, the
 * facts that tell the causes apart: is the proxy reachable, which issuer did the TLS peer present.
 */

/** Runs `fn` with a signal that aborts after `ms`; the whole promise is bounded too. */
export async function bounded<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const timeout = new OperationError(`No answer within ${describeDuration(ms)}.`, { details: { code: 'ERR_TIMEOUT' } });
  const timer = setTimeout(() => controller.abort(timeout), ms);
  const onOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  outer?.addEventListener('abort', onOuter, { once: true });
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(controller.signal.reason);
    if (controller.signal.aborted) onAbort();
    else controller.signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => undefined);
  try {
    return await Promise.race([fn(controller.signal), aborted]);
  } finally {
    clearTimeout(timer);
    outer?.removeEventListener('abort', onOuter);
  }
}

export interface HostProbe {
  ok: boolean;
  status?: number;
  /** The server's Date header, for the clock check. */
  date?: string;
  error?: unknown;
}

/** GET <origin>/ through the transport: any HTTP answer proves DNS, TCP, the proxy and TLS trust. */
export async function probeHost(client: HttpClient, origin: string, timeoutMs: number, signal?: AbortSignal): Promise<HostProbe> {
  try {
    const res = await bounded(timeoutMs, (s) => client(`${origin}/`, { timeoutMs, signal: s, headers: { Accept: 'text/html' } }), signal);
    return { ok: true, status: res.status, date: res.headers.date };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The socket-level code behind an error (undici and our own errors wrap it). */
export function rootCode(error: unknown): string {
  if (error instanceof DirsyncError && typeof error.details?.code === 'string') return error.details.code;
  let e = error as { code?: unknown; cause?: unknown } | undefined;
  for (let i = 0; i < 6 && e; i++) {
    if (typeof e.code === 'string' && !(e instanceof DirsyncError)) return e.code;
    e = e.cause as typeof e;
  }
  return '';
}

function rootMessage(error: unknown): string {
  let e = error as { message?: string; cause?: unknown } | undefined;
  let message = '';
  for (let i = 0; i < 6 && e; i++) {
    if (e.message) message = e.message;
    e = e.cause as typeof e;
  }
  return message;
}

/** The proxy undici would use for `target`, unless NO_PROXY exempts the host. */
export function proxyFor(target: URL, env: NodeJS.ProcessEnv): URL | undefined {
  const p = proxySettings(env);
  const raw = target.protocol === 'https:' ? p.httpsProxy || p.httpProxy : p.httpProxy;
  if (!raw) return undefined;
  const host = target.hostname.toLowerCase();
  const exempt = p.noProxy
    .split(/[\s,]+/)
    .filter(Boolean)
    .some((entry) => {
      const e = entry.toLowerCase().replace(/:\d+$/, '');
      if (e === '*') return true;
      const bare = e.replace(/^\*?\./, '');
      return host === bare || host.endsWith(`.${bare}`);
    });
  return exempt ? undefined : new URL(raw);
}

const proxyLabel = (proxy: URL) => `${proxy.protocol}//${proxy.host}`;

/** Can a TCP connection to host:port be opened within `ms`? */
export function tcpReachable(host: string, port: number, ms: number): Promise<{ ok: boolean; code?: string }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: { ok: boolean; code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => done({ ok: false, code: 'ETIMEDOUT' }), ms);
    socket.once('connect', () => done({ ok: true }));
    socket.once('error', (error: NodeJS.ErrnoException) => done({ ok: false, code: error.code }));
  });
}

/**
 * The issuer of the certificate `target` presents — to name it when it is not trusted (typically a
 * TLS inspection appliance). The handshake only reads the certificate: nothing is sent over it,
 * and no request of dirsync ever runs with verification off.
 */
export async function presentedIssuer(target: URL, env: NodeJS.ProcessEnv, ms: number): Promise<string | undefined> {
  const port = Number(target.port || 443);
  const proxy = proxyFor(target, env);
  let socket: net.Socket | undefined;
  if (proxy) {
    socket = await new Promise<net.Socket | undefined>((resolve) => {
      const req = http.request({ host: proxy.hostname, port: Number(proxy.port || 80), method: 'CONNECT', path: `${target.hostname}:${port}`, timeout: ms });
      req.once('connect', (res, s) => resolve(res.statusCode === 200 ? s : (s.destroy(), undefined)));
      req.once('error', () => resolve(undefined));
      req.once('timeout', () => (req.destroy(), resolve(undefined)));
      req.end();
    });
    if (!socket) return undefined;
  }
  return new Promise((resolve) => {
    const servername = net.isIP(target.hostname) ? undefined : target.hostname;
    const conn = tls.connect({ host: target.hostname, port, servername, socket, rejectUnauthorized: false });
    const done = (value: string | undefined) => {
      clearTimeout(timer);
      conn.destroy();
      resolve(value);
    };
    const timer = setTimeout(() => done(undefined), ms);
    conn.once('secureConnect', () => {
      const cert = conn.getPeerCertificate();
      done(cert && cert.issuer ? describeName(cert.issuer) : undefined);
    });
    conn.once('error', () => done(undefined));
  });
}

function describeName(name: tls.Certificate): string {
  const parts = [name.CN && `CN=${name.CN}`, name.O && `O=${name.O}`, name.C && `C=${name.C}`].filter(Boolean);
  return parts.join(', ') || 'an unnamed issuer';
}

export type HostRole = 'login' | 'graph';

/**
 * Classifies a failed request to `target` into one doctor cause: TLS not trusted (naming the
 * presented issuer), the proxy unreachable, or the host unreachable.
 */
export async function diagnoseNetwork(error: unknown, target: URL, role: HostRole, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<Diagnosis> {
  const code = rootCode(error);
  const message = rootMessage(error);
  const host = target.host;
  const what = role === 'login' ? `the Microsoft Entra sign-in service ${host}` : `Microsoft Graph at ${host}`;
  const variable = role === 'login' ? 'DIRSYNC_LOGIN_ENDPOINT' : 'DIRSYNC_GRAPH_ENDPOINT';
  if (TLS_TRUST_CODES.has(code)) {
    const issuer = await presentedIssuer(target, env, Math.min(timeoutMs, 5_000));
    return {
      cause: 'tls-untrusted',
      summary: `The TLS certificate of ${host} is not trusted (${code})${issuer ? `: it was issued by "${issuer}"` : ''} — typically TLS inspection by a proxy or firewall.`,
      fix: `Give Node that issuer's CA certificate: NODE_EXTRA_CA_CERTS=/path/to/${issuer ? 'its-ca' : 'inspection-ca'}.pem (ask the network team for it). dirsync never turns TLS verification off.`,
    };
  }
  const proxy = proxyFor(target, env);
  if (proxy) {
    const refused = /Proxy response \((\d+)\)/.exec(message);
    if (refused || code === 'UND_ERR_PRX_TLS') {
      return {
        cause: 'proxy-unreachable',
        summary: `The proxy ${proxyLabel(proxy)} refused to connect to ${host}${refused ? ` (HTTP ${refused[1]})` : ''}.`,
        fix: `Check the proxy URL and its credentials in HTTPS_PROXY (http://user:password@proxy:port), or add ${target.hostname} to NO_PROXY.`,
      };
    }
    const reach = await tcpReachable(proxy.hostname, Number(proxy.port || 80), Math.min(timeoutMs, 5_000));
    if (!reach.ok) {
      return {
        cause: 'proxy-unreachable',
        summary: `The proxy ${proxyLabel(proxy)} (HTTPS_PROXY) does not accept connections (${reach.code ?? 'no answer'}), so ${host} cannot be reached.`,
        fix: `Fix HTTPS_PROXY (and HTTP_PROXY) to name a running proxy, unset it if this network needs none, or add ${target.hostname} to NO_PROXY.`,
      };
    }
  }
  const why =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN'
      ? `DNS cannot resolve ${target.hostname} (${code})`
      : code === 'ECONNREFUSED'
        ? 'the connection was refused'
        : code === 'ERR_TIMEOUT' || code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || code === 'UND_ERR_HEADERS_TIMEOUT'
          ? `no answer within ${describeDuration(timeoutMs)}`
          : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET'
            ? 'the connection was reset'
            : `${message || 'the request failed'}${code ? ` (${code})` : ''}`;
  return {
    cause: role === 'login' ? 'login-unreachable' : 'graph-unreachable',
    summary: `Cannot reach ${what}: ${why}${proxy ? ` (through the proxy ${proxyLabel(proxy)})` : ''}.`,
    fix: proxy
      ? `The proxy ${proxyLabel(proxy)} answers but cannot reach ${host}: ask the network team to allow it, or check ${variable} if it is set.`
      : `Allow outbound HTTPS (port ${target.port || 443}) to ${target.hostname}, or set HTTPS_PROXY=http://proxy.example.com:3128 if this network requires a proxy` +
        ` (NO_PROXY for exceptions)${env[variable] ? `; check ${variable}` : ''}.`,
  };
}
