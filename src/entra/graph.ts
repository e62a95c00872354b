import { randomUUID } from 'node:crypto';
import {
  AuthenticationHandler,
  Client,
  GraphClientError,
  RetryHandler,
  RetryHandlerOptions,
  type Context as GraphContext,
  type Middleware,
} from '@microsoft/microsoft-graph-client';
import { AuthError, DirsyncError, OperationError } from '../errors.js';
import { sleep, type HttpClient } from './http.js';

/**
 * Microsoft Graph through @microsoft/microsoft-graph-client and its middleware chain:
 *   AuthenticationHandler (bearer token, also for a DIRSYNC_GRAPH_ENDPOINT host: customHosts)
 *   → RetryHandler (429/503/504, honouring Retry-After, bounded)
 *   → a terminal handler of ours on the proxy-aware undici transport (src/entra/http.ts), with a
 *     timeout per attempt, one retry of a reset connection on GETs, and --debug lines that carry
 *     Graph's request-id and our client-request-id (never a header value or a body).
 * Paging is ours: one page at a time, following @odata.nextLink, so a consumer's back-pressure
 * reaches Graph (the SDK's PageIterator takes a synchronous callback and cannot wait).
 */

export interface Organization {
  id: string;
  displayName?: string | null;
  verifiedDomains?: { name: string; isDefault?: boolean; isInitial?: boolean }[];
}

export interface EntraGroup {
  id: string;
  displayName: string;
}

export interface GraphClientOptions {
  /** Origin of Graph (requests go to `${baseUrl}/v1.0/...`). */
  baseUrl: string;
  http: HttpClient;
  /** Called before each request; may refresh. `force` after a 401. */
  getToken(force?: boolean): Promise<string>;
  signal?: AbortSignal;
  debug?: (line: string) => void;
  /** Retries of 429/503/504 per request (the SDK's RetryHandler; at most 10). Default 6. */
  maxRetries?: number;
  /** Upper bound of one Retry-After wait, in seconds. Default 60. */
  maxRetryAfterSeconds?: number;
  /** One attempt, connect to last byte. Default 60 s. */
  timeoutMs?: number;
}

export interface GraphRequestOptions {
  /** The permission a 403 means is missing, for the message (e.g. "Synchronization.ReadWrite.All"). */
  permission?: string;
  /** Statuses that are an answer rather than a failure: resolved as `{ status }` instead of thrown. */
  accept?: number[];
}

/** A Graph answer that `accept` turned into a value (e.g. 404 when looking an object up). */
export interface GraphStatus {
  status: number;
  code?: string;
  message?: string;
}

/** A network failure travels through the SDK inside a GraphClientError, which it rethrows as is. */
type Carried = GraphClientError & { dirsync?: DirsyncError };
const carry = (error: unknown) => (error instanceof DirsyncError ? Object.assign(new GraphClientError(error.message), { dirsync: error }) : error);

class TerminalHandler implements Middleware {
  constructor(private readonly o: GraphClientOptions) {}

  async execute(context: GraphContext): Promise<void> {
    const url = typeof context.request === 'string' ? context.request : context.request.url;
    const init = context.options ?? {};
    const headers: Record<string, string> = {};
    new Headers(init.headers as HeadersInit | undefined).forEach((value, key) => (headers[key] = value));
    const method = (init.method ?? 'GET').toUpperCase() as 'GET';
    const path = new URL(url).pathname;
    for (let attempt = 0; ; attempt++) {
      try {
        const response = await this.o.http.fetch(url, {
          method,
          headers,
          body: typeof init.body === 'string' ? init.body : undefined,
          timeoutMs: this.o.timeoutMs ?? 60_000,
          signal: this.o.signal,
        });
        this.o.debug?.(
          `graph: ${method} ${path} → ${response.status} (request-id ${response.headers.get('request-id') ?? '-'}, client-request-id ${headers['client-request-id'] ?? '-'})`,
        );
        context.response = response as unknown as Response;
        return;
      } catch (error) {
        const code = (error as DirsyncError).details?.code;
        if (method === 'GET' && attempt < 2 && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_TIMEOUT')) {
          this.o.debug?.(`graph: ${code} on GET ${path}; retrying`);
          await sleep(500 * (attempt + 1), this.o.signal);
          continue;
        }
        throw carry(error);
      }
    }
  }
}

export class GraphClient {
  private readonly origin: string;
  private readonly client: Client;
  private forceToken = false;

  constructor(private readonly options: GraphClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
    const auth = new AuthenticationHandler({
      getAccessToken: async () => {
        const force = this.forceToken;
        this.forceToken = false;
        try {
          return await options.getToken(force);
        } catch (error) {
          // A sign-in failure keeps its own message, hint and exit code.
          throw carry(error);
        }
      },
    });
    const retry = new RetryHandler(
      new RetryHandlerOptions(1, Math.min(options.maxRetries ?? 6, 10), (_delay, attempt, _request, _init, response) => {
        options.debug?.(`graph: ${response.status}, retry ${attempt + 1} of ${options.maxRetries ?? 6} after Retry-After ${response.headers.get('retry-after') ?? '-'}`);
        return true;
      }),
    );
    // The SDK waits Math.min(Retry-After, maxDelay) seconds; keep a hostile Retry-After bounded.
    (retry as unknown as { options: RetryHandlerOptions }).options.getMaxDelay = () => options.maxRetryAfterSeconds ?? 60;
    const terminal = new TerminalHandler(options);
    auth.setNext(retry);
    retry.setNext(terminal);
    this.client = Client.initWithMiddleware({
      middleware: auth,
      baseUrl: this.origin,
      defaultVersion: 'v1.0',
      customHosts: new Set([new URL(this.origin).hostname]),
    });
  }

  get<T>(path: string, options?: GraphRequestOptions): Promise<T> {
    return this.request<T>('GET', path, undefined, options);
  }

  post<T = void>(path: string, body: unknown, options?: GraphRequestOptions): Promise<T> {
    return this.request<T>('POST', path, body, options);
  }

  put<T = void>(path: string, body: unknown, options?: GraphRequestOptions): Promise<T> {
    return this.request<T>('PUT', path, body, options);
  }

  /**
   * One Graph request (path under /v1.0, or an absolute Graph URL such as a nextLink, which is kept
   * on our own Graph origin so the bearer token never goes elsewhere). Query values must already
   * be URL-encoded. A 401 refreshes the token once.
   */
  async request<T>(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown, options: GraphRequestOptions = {}): Promise<T> {
    const url = this.onOrigin(path);
    for (let refreshed = false; ; refreshed = true) {
      const clientRequestId = randomUUID();
      const request = this.client
        .api(url)
        .header('Accept', 'application/json')
        // undici's fetch would send "*", which some Graph endpoints reject.
        .header('Accept-Language', 'en-US')
        .header('client-request-id', clientRequestId)
        .header('return-client-request-id', 'true');
      try {
        if (method === 'GET') return (await request.get()) as T;
        if (method === 'POST') return (await request.post(body)) as T;
        return (await request.put(body)) as T;
      } catch (error) {
        const carried = (error as Carried).dirsync;
        if (carried) throw carried;
        const e = error as { statusCode?: number; code?: string; message?: string; requestId?: string };
        if (e.statusCode === 401 && !refreshed) {
          this.forceToken = true;
          continue;
        }
        if (e.statusCode !== undefined && options.accept?.includes(e.statusCode)) {
          return { status: e.statusCode, code: e.code ?? undefined, message: e.message || undefined } as T;
        }
        if (e.statusCode === undefined || e.statusCode < 0) throw error;
        throw graphError({ status: e.statusCode, code: e.code ?? '', message: e.message ?? '', requestId: e.requestId }, clientRequestId, options.permission);
      }
    }
  }

  async organization(): Promise<Organization> {
    const body = await this.get<{ value?: Organization[] }>('/organization?$select=id,displayName,verifiedDomains');
    const org = body.value?.[0];
    if (!org?.id) throw new OperationError('Microsoft Graph returned no organization for the signed-in tenant.');
    return org;
  }

  /**
   * Every page of a Graph collection, following @odata.nextLink, fetching the next page while the
   * current one is consumed: at most two pages are held in memory.
   */
  async *pages<T>(path: string, options?: GraphRequestOptions): AsyncGenerator<T[]> {
    type Page = { value?: T[]; '@odata.nextLink'?: string };
    let next: Promise<Page> | undefined = this.get<Page>(path, options);
    while (next) {
      const page: Page = await next;
      const link = page['@odata.nextLink'];
      next = link ? this.get<Page>(link, options) : undefined;
      // If the consumer stops early, a prefetched page's failure must not become an unhandled rejection.
      next?.catch(() => undefined);
      yield page.value ?? [];
    }
  }

  /**
   * Every group (id, displayName), 999 a page. `filter` keeps names that contain the text
   * (case-insensitive), like the local `groups list` (Graph's $filter only has startswith).
   */
  async *groupPages(options: { filter?: string } = {}): AsyncGenerator<EntraGroup[]> {
    const needle = options.filter?.toLowerCase();
    for await (const value of this.pages<EntraGroup>('/groups?$select=id,displayName&$top=999', { permission: 'Group.Read.All' })) {
      yield needle === undefined ? value : value.filter((g) => (g.displayName ?? '').toLowerCase().includes(needle));
    }
  }

  private onOrigin(pathOrUrl: string): string {
    if (!/^https?:\/\//i.test(pathOrUrl)) return `${this.origin}/v1.0${pathOrUrl.startsWith('/') ? '' : '/'}${pathOrUrl}`;
    const u = new URL(pathOrUrl);
    return `${this.origin}${u.pathname}${u.search}`;
  }
}

/** Graph's OData string literal: single quotes doubled, then URL-encoded for a query. */
export const odataString = (value: string) => encodeURIComponent(`'${value.replace(/'/g, "''")}'`);

function graphError(
  res: { status: number; code: string; message: string; requestId?: string },
  clientRequestId: string,
  permission: string | undefined,
): DirsyncError {
  const { status, code, message } = res;
  const details = { status, graphCode: code || undefined, requestId: res.requestId, clientRequestId };
  const support = `request-id ${res.requestId ?? '-'}, client-request-id ${clientRequestId}`;
  if (status === 401) {
    return new AuthError(`Microsoft Graph rejected the sign-in (${code || 'HTTP 401'}).`, {
      hint: 'Run `dirsync consent` again (or check the AZURE_* credential in CI); make sure the cloud (--gcc-high) matches the tenant.',
      details,
    });
  }
  if (status === 403) {
    const need = permission ?? 'the permission this command needs';
    return new AuthError(
      `Microsoft Graph denied access (${code || 'HTTP 403'}): dirsync's app registration lacks ${need}, or it has not been consented.`,
      {
        hint:
          `In the Microsoft Entra admin center: App registrations → your dirsync app → API permissions → Add a permission → ` +
          `Microsoft Graph → ${need} (Delegated for the signed-in admin, Application for AZURE_* credentials), then run ` +
          '`dirsync consent` again to grant it for the organisation.',
        details: { ...details, permission },
      },
    );
  }
  return new OperationError(`Microsoft Graph answered HTTP ${status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''} (${support}).`, {
    hint: status >= 500 || status === 429 ? 'Microsoft Graph is busy or unavailable; try again later.' : 'Run again with --debug and report the request-id to support.',
    details,
  });
}
