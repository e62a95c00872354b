import { randomUUID } from 'node:crypto';
import { AuthError, OperationError } from '../errors.js';
import { sleep, type HttpClient, type HttpResponse } from './http.js';

/**
 * A thin Microsoft Graph client: the two reads dirsync needs (the organization, the groups).
 *
 * Plain HTTP on the proxy-aware client rather than @microsoft/microsoft-graph-client 3.0.7: that
 * package is in maintenance, calls the global fetch (which ignores HTTPS_PROXY), withholds the
 * Authorization header from hosts it does not know (DIRSYNC_GRAPH_ENDPOINT) unless told, and its
 * PageIterator takes a synchronous callback — it cannot hand pages to an async consumer with
 * back-pressure, which is what streaming 100k groups to a slow pipe needs. Three URLs do not need it.
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
  /** Retries of 429/503 (and resets of GETs) per request. Default 6. */
  maxRetries?: number;
  /** Upper bound of one Retry-After wait. Default 60 s. */
  maxRetryAfterMs?: number;
  timeoutMs?: number;
  acceptLanguage?: string;
}

export class GraphClient {
  private readonly origin: string;
  constructor(private readonly options: GraphClientOptions) {
    this.origin = new URL(options.baseUrl).origin;
  }

  /** GET a Graph URL (absolute, or a path under the origin) with retries; returns parsed JSON. */
  async get<T>(pathOrUrl: string, headers: Record<string, string> = {}): Promise<T> {
    const url = this.onOrigin(pathOrUrl);
    const o = this.options;
    const maxRetries = o.maxRetries ?? 6;
    let forcedToken = false;
    for (let attempt = 0; ; attempt++) {
      const clientRequestId = randomUUID();
      let res: HttpResponse;
      try {
        res = await o.http(url, {
          headers: {
            Authorization: `Bearer ${await o.getToken(forcedToken)}`,
            Accept: 'application/json',
            // Node's fetch would send "*", which some Graph endpoints reject.
            'Accept-Language': o.acceptLanguage ?? 'en-US',
            'client-request-id': clientRequestId,
            'return-client-request-id': 'true',
            ...headers,
          },
          timeoutMs: o.timeoutMs ?? 60_000,
          signal: o.signal,
        });
      } catch (error) {
        const code = (error as { details?: { code?: string } }).details?.code;
        if (attempt < 2 && (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_TIMEOUT')) {
          o.debug?.(`graph: ${code} on GET ${new URL(url).pathname}; retrying`);
          await sleep(500 * (attempt + 1), o.signal);
          continue;
        }
        throw error;
      }
      const requestId = res.headers['request-id'];
      o.debug?.(`graph: GET ${new URL(url).pathname} → ${res.status} (request-id ${requestId ?? '-'}, client-request-id ${clientRequestId})`);
      if (res.status >= 200 && res.status < 300) return res.json<T>();
      if ((res.status === 429 || res.status === 503 || res.status === 504) && attempt < maxRetries) {
        const wait = retryAfterMs(res.headers['retry-after'], attempt, o.maxRetryAfterMs ?? 60_000);
        o.debug?.(`graph: ${res.status}, retrying in ${wait} ms (attempt ${attempt + 1} of ${maxRetries})`);
        await sleep(wait, o.signal);
        continue;
      }
      if (res.status === 401 && !forcedToken) {
        forcedToken = true;
        continue;
      }
      throw graphError(res, clientRequestId);
    }
  }

  async organization(): Promise<Organization> {
    const body = await this.get<{ value?: Organization[] }>('/v1.0/organization?$select=id,displayName,verifiedDomains');
    const org = body.value?.[0];
    if (!org?.id) throw new OperationError('Microsoft Graph returned no organization for the signed-in tenant.');
    return org;
  }

  /**
   * Every group (id, displayName), page by page ($top=999, following @odata.nextLink), fetching the
   * next page while the current one is consumed. At most two pages are held in memory.
   * `filter` keeps names that contain the text (case-insensitive), like the local `groups list`
   * (Graph's $filter only has startswith, and $search matches word prefixes, not substrings).
   */
  async *groupPages(options: { filter?: string } = {}): AsyncGenerator<EntraGroup[]> {
    const needle = options.filter?.toLowerCase();
    type Page = { value?: EntraGroup[]; '@odata.nextLink'?: string };
    let next: Promise<Page> | undefined = this.get<Page>('/v1.0/groups?$select=id,displayName&$top=999');
    while (next) {
      const page: Page = await next;
      const link = page['@odata.nextLink'];
      next = link ? this.get<Page>(link) : undefined;
      // If the consumer stops early, a prefetched page's failure must not become an unhandled rejection.
      next?.catch(() => undefined);
      const value = page.value ?? [];
      yield needle === undefined ? value : value.filter((g) => (g.displayName ?? '').toLowerCase().includes(needle));
    }
  }

  /** The groups one by one (see groupPages). */
  async *groups(options: { filter?: string } = {}): AsyncGenerator<EntraGroup> {
    for await (const page of this.groupPages(options)) yield* page;
  }

  /** nextLinks are absolute; keep every request (and the bearer token) on our own Graph origin. */
  private onOrigin(pathOrUrl: string): string {
    const u = new URL(pathOrUrl, this.origin);
    return `${this.origin}${u.pathname}${u.search}`;
  }
}

/** Retry-After in seconds or as an HTTP date; else exponential backoff. Bounded. */
export function retryAfterMs(header: string | undefined, attempt: number, max: number): number {
  let ms: number | undefined;
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) ms = seconds * 1000;
    else {
      const at = Date.parse(header);
      if (!Number.isNaN(at)) ms = at - Date.now();
    }
  }
  if (ms === undefined || ms < 0) ms = Math.min(1000 * 2 ** attempt, 30_000);
  return Math.min(Math.max(ms, 0), max);
}

function graphError(res: HttpResponse, clientRequestId: string): Error {
  let code = '';
  let message = '';
  try {
    const body = res.json<{ error?: { code?: string; message?: string } }>();
    code = body.error?.code ?? '';
    message = body.error?.message ?? '';
  } catch {
    // not JSON
  }
  const details = { status: res.status, graphCode: code || undefined, requestId: res.headers['request-id'], clientRequestId };
  const support = `request-id ${res.headers['request-id'] ?? '-'}, client-request-id ${clientRequestId}`;
  if (res.status === 401) {
    return new AuthError(`Microsoft Graph rejected the sign-in (${code || 'HTTP 401'}).`, {
      hint: 'Run `dirsync consent` again (or check the AZURE_* credential in CI); make sure the cloud (--gcc-high) matches the tenant.',
      details,
    });
  }
  if (res.status === 403) {
    return new AuthError(`Microsoft Graph denied access (${code || 'HTTP 403'}): the app lacks a permission or consent.`, {
      hint:
        'Grant admin consent with `dirsync consent`. For app-only (CI) credentials the app needs the Microsoft Graph application permission Group.Read.All, consented for the organisation.',
      details,
    });
  }
  return new OperationError(`Microsoft Graph answered HTTP ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''} (${support}).`, {
    hint: res.status >= 500 || res.status === 429 ? 'Microsoft Graph is busy or unavailable; try again later.' : 'Run again with --debug and report the request-id to support.',
    details,
  });
}
