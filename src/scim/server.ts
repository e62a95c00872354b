import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ConflictError, type DirectoryStore, type ImportMode, type ListQuery, type Page } from '../directory/store.js';
import { hashSecretCode, isRecordValid, verifySecretCode } from '../secrets/code.js';
import { errorBody, invalidSyntax, invalidValue, notFound, ScimError } from './errors.js';
import { parseFilter, parseSort, type ResourceKind } from './filter-grammar.js';
import { applyUserPatch, CORE_GROUP, groupChangeFromPatch, groupFromResource, parsePatchRequest, userFromResource } from './patch.js';
import {
  groupResource,
  listResponse,
  project,
  resourceTypes,
  schemas,
  serviceProviderConfig,
  userResource,
} from './resources.js';

export interface ScimServerOptions {
  store: DirectoryStore;
  /** A function when the mode may change while serving (it is read on every request). */
  importMode: ImportMode | (() => ImportMode);
  host: string;
  port: number;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** One line per request (method, path, status, duration); never a header or a body. */
  log: (line: string) => void;
  now?: () => Date;
  /** The URL Entra reaches (e.g. behind a reverse proxy); used in `meta.location`. Without it, the Host header. */
  publicUrl?: string;
  /** Request bodies over this many bytes get 413 (default 1 MiB). */
  maxBodyBytes?: number;
  /** How an oversize body is read and dropped so that the client reads the 413 (see OversizeBounds). */
  oversize?: Partial<OversizeBounds>;
  /** How often, at most, a code's last use is written to the store (default 60 s). */
  lastUsedIntervalMs?: number;
  /** After close(), how long in-flight requests may take before their connections are cut (default 10 s). */
  shutdownGraceMs?: number;
}

export interface ScimServer {
  /** The server's own URL, e.g. http://127.0.0.1:8080 */
  url: string;
  /** The Tenant URL to give Entra: `${url}/scim/v2` (or under publicUrl). */
  tenantUrl: string;
  port: number;
  /** Stops accepting connections and resolves once in-flight requests have finished. */
  close(): Promise<void>;
}

export const SCIM_PREFIX = '/scim/v2';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_COUNT = 100;
const MAX_COUNT = 1000;
const CONTENT_TYPE = 'application/scim+json; charset=utf-8';

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const AUTH_DETAIL: Record<string, string> = {
  missing: 'No Secret Code: send it as "Authorization: Bearer <Secret Code>" (Entra: the Secret Token field).',
  malformed: 'The bearer token is not a dirsync Secret Code (wrong length, prefix or checksum). Copy the whole code again.',
  unknown: 'The Secret Code is unknown: this directory never issued it. Run `dirsync token renew` and paste the new code into Entra.',
  revoked: 'The Secret Code was revoked. Run `dirsync token renew` and paste the new code into Entra.',
};

function authDetail(reason: string, record?: { expiresAt: string; graceUntil: string | null }): string {
  if (reason === 'expired') {
    return `The Secret Code expired on ${record?.expiresAt ?? 'its expiry date'}. Run \`dirsync token renew\` and paste the new code into Entra.`;
  }
  if (reason === 'replaced') {
    return `The Secret Code was replaced by a renewal and its grace period ended on ${record?.graceUntil ?? 'its end date'}. Paste the current code into Entra.`;
  }
  return AUTH_DETAIL[reason] ?? AUTH_DETAIL.unknown!;
}

/**
 * How an oversize body is handled. A client only reads an answer it is not still busy sending
 * into: answering 413 at once and closing makes most clients fail with EPIPE or a reset and never
 * see the 413. So the rest of the body is read and thrown away, up to `discardBytes` or
 * `discardMs`, and the 413 is sent once it has all arrived. Past either bound (a huge body, a slow
 * sender) the 413 is sent at once and the connection is closed gently: our side is shut after the
 * answer, what still arrives is read and dropped for `lingerMs`, and only then is the socket
 * destroyed, so no reset overtakes the answer.
 */
export interface OversizeBounds {
  /** Bytes of an oversize body read and dropped before answering (default 128 MiB). */
  discardBytes: number;
  /** How long to keep reading an oversize body before answering anyway (default 5 s). */
  discardMs: number;
  /** After a 413 sent mid-body, how long the connection keeps being drained before it is cut (default 5 s). */
  lingerMs: number;
}

export const DEFAULT_OVERSIZE: OversizeBounds = { discardBytes: 128 * 1024 * 1024, discardMs: 5_000, lingerMs: 5_000 };

/** A 413 for a body that was not read to its end: the connection must close (gently) after it. */
class BodyTooLarge extends ScimError {
  constructor(
    limit: number,
    readonly drained: boolean,
  ) {
    super(413, `The request body is larger than ${limit} bytes.`, undefined, { Connection: 'close' });
  }
}

function readBody(req: http.IncomingMessage, limit: number, bounds: OversizeBounds): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let state: 'reading' | 'discarding' | 'done' = 'reading';
    let timer: NodeJS.Timeout | undefined;
    const finish = (error: unknown, body?: Buffer) => {
      if (state === 'done') return;
      state = 'done';
      if (timer) clearTimeout(timer);
      if (error) reject(error);
      else resolve(body!);
    };
    const discard = () => {
      state = 'discarding';
      chunks.length = 0;
      // A body that cannot arrive within the bounds is answered at once (the connection lingers).
      if (Number.isFinite(declared) && declared > bounds.discardBytes) finish(new BodyTooLarge(limit, false));
      else timer = setTimeout(() => finish(new BodyTooLarge(limit, false)), bounds.discardMs);
    };
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (state === 'reading') {
        if (size > limit) discard();
        else chunks.push(chunk);
      } else if (state === 'discarding' && size > bounds.discardBytes) {
        finish(new BodyTooLarge(limit, false));
      }
    });
    req.on('end', () => {
      if (state === 'discarding') finish(new BodyTooLarge(limit, true));
      else finish(null, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (error) => finish(error));
    req.on('close', () => finish(invalidSyntax('The client closed the connection before its request body ended.')));
    if (Number.isFinite(declared) && declared > limit) discard();
  });
}

/**
 * Closes a connection after the answer without a reset overtaking it: our side is shut once the
 * answer is written (node calls destroySoon for a `Connection: close` answer), what the client still
 * sends is read and dropped, and the socket is destroyed when the client closes or after `lingerMs`.
 */
function closeGently(socket: import('node:net').Socket, lingerMs: number): void {
  socket.destroySoon = function destroySoon(this: import('node:net').Socket) {
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), lingerMs);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    this.once('end', () => this.destroy());
    this.resume();
  };
}

async function readJson(req: http.IncomingMessage, limit: number, bounds: OversizeBounds): Promise<unknown> {
  const text = (await readBody(req, limit, bounds)).toString('utf8');
  if (!text.trim()) throw invalidSyntax('The request body is empty; a JSON object was expected.');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidSyntax(`The request body is not valid JSON (${(error as Error).message}).`);
  }
}

function intParam(value: string | null, fallback: number): number {
  if (value === null || value.trim() === '') return fallback;
  const n = Number(value);
  if (!Number.isFinite(n)) throw invalidValue(`"${value.slice(0, 40)}" is not a number.`);
  return Math.trunc(n);
}

function pageOf(params: URLSearchParams): Page {
  const startIndex = Math.max(1, intParam(params.get('startIndex'), 1));
  const count = Math.min(MAX_COUNT, Math.max(0, intParam(params.get('count'), DEFAULT_COUNT)));
  return { startIndex, count };
}

/** `filter`, `sortBy` and `sortOrder` of a list GET. */
function listQuery(params: URLSearchParams, kind: ResourceKind): ListQuery {
  const filter = params.get('filter');
  const sort = parseSort(params.get('sortBy'), params.get('sortOrder'), kind);
  return {
    ...(filter !== null ? { filter: parseFilter(filter, kind) } : {}),
    ...(sort ? { sort } : {}),
  };
}

const listParam = (params: URLSearchParams, name: string) =>
  params.get(name)?.split(',').map((s) => s.trim()).filter(Boolean);

/** Query parameter names are matched case-insensitively (Entra and other clients vary). */
function normalizeParams(search: URLSearchParams): URLSearchParams {
  const known = ['filter', 'startIndex', 'count', 'attributes', 'excludedAttributes', 'sortBy', 'sortOrder'];
  const out = new URLSearchParams();
  for (const [key, value] of search) {
    const name = known.find((k) => k.toLowerCase() === key.toLowerCase()) ?? key;
    out.append(name, value);
  }
  return out;
}

/**
 * The path and query of a request target. The origin form (`/scim/v2/Users?…`, what clients send)
 * is split by hand; anything else (the absolute form a proxy may send) goes through the URL parser.
 */
function requestTarget(target: string): { pathname: string; search: string } {
  if (target.startsWith('/') && !target.startsWith('//')) {
    const q = target.indexOf('?');
    const hash = target.indexOf('#');
    const end = hash < 0 ? target.length : hash;
    return q < 0 || q > end
      ? { pathname: target.slice(0, end), search: '' }
      : { pathname: target.slice(0, q), search: target.slice(q + 1, end) };
  }
  try {
    const url = new URL(target, 'http://localhost');
    return { pathname: url.pathname, search: url.search.slice(1) };
  } catch {
    throw invalidSyntax('The request URL cannot be parsed.');
  }
}

const sanitizePath = (path: string) => path.replace(/[^\x21-\x7e]/g, '?').slice(0, 200);

/**
 * Starts the SCIM 2.0 endpoint Entra's provisioning service talks to (the Tenant URL). No terminal
 * code here: the caller decides where log lines go and when to close.
 */
export async function startScimServer(options: ScimServerOptions): Promise<ScimServer> {
  const { store } = options;
  const now = options.now ?? (() => new Date());
  const mode = typeof options.importMode === 'function' ? options.importMode : () => options.importMode as ImportMode;
  const limit = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const oversize: OversizeBounds = { ...DEFAULT_OVERSIZE, ...options.oversize };
  /** Requests whose `Expect: 100-continue` was not answered: their body is not coming. */
  const notInvited = new WeakSet<http.IncomingMessage>();
  const readRequestJson = (req: http.IncomingMessage) => readJson(req, limit, notInvited.has(req) ? { ...oversize, discardBytes: 0 } : oversize);
  const lastUsedInterval = options.lastUsedIntervalMs ?? 60_000;
  const lastUsedWritten = new Map<number, number>();
  const scheme = options.tls ? 'https' : 'http';
  let closing = false;

  const baseFor = (req: http.IncomingMessage) =>
    options.publicUrl
      ? `${options.publicUrl.replace(/\/+$/, '')}${SCIM_PREFIX}`
      : `${scheme}://${req.headers.host ?? `${options.host}:${options.port}`}${SCIM_PREFIX}`;

  // The hashes of bearer codes that were valid once, so that Entra's requests (always the same
  // code) skip the shape check and the SHA-256. The code's record is still looked up in the store
  // on every request, so a renewal, revocation or expiry applies at once. A handful at most.
  const knownHashes = new Map<string, string>();

  async function verify(presented: string | undefined, at: Date) {
    const hash = presented === undefined ? undefined : knownHashes.get(presented);
    if (hash !== undefined) {
      const record = await store.findSecretCodeByHash(hash);
      if (record) return isRecordValid(record, at);
      knownHashes.delete(presented!);
    }
    const result = await verifySecretCode(store, presented, at);
    if (result.valid && presented !== undefined) {
      if (knownHashes.size >= 8) knownHashes.clear();
      knownHashes.set(presented, hashSecretCode(presented));
    }
    return result;
  }

  async function authenticate(req: http.IncomingMessage, notes: string[]): Promise<void> {
    const header = req.headers.authorization;
    const match = header ? /^\s*bearer\s+(\S+)\s*$/i.exec(header) : null;
    const at = now();
    const result = await verify(match?.[1], at);
    if (!result.valid) {
      const reason = header && !match ? 'malformed' : result.reason;
      notes.push(`auth=${reason}`);
      throw new ScimError(401, authDetail(reason, result.record), undefined, {
        'WWW-Authenticate': 'Bearer realm="dirsync SCIM"',
      });
    }
    const id = result.record.id;
    const last = lastUsedWritten.get(id) ?? 0;
    if (at.getTime() - last >= lastUsedInterval) {
      lastUsedWritten.set(id, at.getTime());
      try {
        await store.markSecretCodeUsed(id, at);
      } catch {
        lastUsedWritten.delete(id); // a busy database must not fail the request; try again next time
      }
    }
  }

  async function users(req: http.IncomingMessage, id: string | undefined, params: URLSearchParams, base: string): Promise<Reply> {
    const write = () => ({ mode: mode(), now: now() });
    const attributes = listParam(params, 'attributes');
    const excluded = listParam(params, 'excludedAttributes');
    const missing = () => notFound(`User ${id} not found.`);
    switch (req.method) {
      case 'GET': {
        if (id) {
          const user = await store.getUser(id, mode());
          if (!user) throw missing();
          return { status: 200, body: project(userResource(user, base), attributes, excluded) };
        }
        const query = listQuery(params, 'User');
        const page = pageOf(params);
        const result = await store.queryUsers(query, page, mode());
        const resources = result.items.map((u) => project(userResource(u, base), attributes, excluded));
        return { status: 200, body: listResponse(resources, result.total, page.startIndex) };
      }
      case 'POST': {
        if (id) break;
        const data = userFromResource(await readRequestJson(req));
        const { record } = await store.createUser(data, write());
        const body = userResource(record, base);
        return {
          status: 201,
          body: project(body, attributes, excluded),
          headers: { Location: (body.meta as { location: string }).location },
        };
      }
      case 'PUT': {
        if (!id) break;
        const data = userFromResource(await readRequestJson(req));
        const user = await store.updateUser(id, () => data, write());
        if (!user) throw missing();
        return { status: 200, body: project(userResource(user, base), attributes, excluded) };
      }
      case 'PATCH': {
        if (!id) break;
        const ops = parsePatchRequest(await readRequestJson(req));
        const user = await store.updateUser(id, (current) => applyUserPatch(current, ops), write());
        if (!user) throw missing();
        return { status: 200, body: project(userResource(user, base), attributes, excluded) };
      }
      case 'DELETE': {
        if (!id) break;
        if (!(await store.deleteUser(id, mode()))) throw missing();
        return { status: 204 };
      }
    }
    throw methodNotAllowed(id ? 'GET, PUT, PATCH, DELETE' : 'GET, POST');
  }

  /** Member ids a group write ignored (no such user or group) go into the request's log line. */
  function noteUnknownMembers(unknown: string[], notes: string[]): void {
    if (!unknown.length) return;
    const shown = unknown.slice(0, 3).map((m) => sanitizePath(m).slice(0, 64));
    notes.push(`members-ignored=${unknown.length} (unknown ids: ${shown.join(', ')}${unknown.length > 3 ? ', …' : ''})`);
  }

  async function groups(
    req: http.IncomingMessage,
    id: string | undefined,
    params: URLSearchParams,
    base: string,
    notes: string[],
  ): Promise<Reply> {
    const write = () => ({ mode: mode(), now: now() });
    const attributes = listParam(params, 'attributes');
    const excluded = listParam(params, 'excludedAttributes');
    const bare = (a: string) => {
      const lower = a.toLowerCase();
      const core = `${CORE_GROUP.toLowerCase()}:`;
      return lower.startsWith(core) ? lower.slice(core.length) : lower;
    };
    const wantsMembers =
      !excluded?.some((a) => bare(a) === 'members') &&
      (!attributes?.length || attributes.some((a) => bare(a).split('.')[0] === 'members'));
    const missing = () => notFound(`Group ${id} not found.`);
    const render = async (g: Awaited<ReturnType<typeof store.getGroup>> & object) =>
      project(groupResource(g, base, wantsMembers ? await store.groupMembers(g.id) : undefined), attributes, excluded);
    switch (req.method) {
      case 'GET': {
        if (id) {
          const group = await store.getGroup(id, mode());
          if (!group) throw missing();
          return { status: 200, body: await render(group) };
        }
        const query = listQuery(params, 'Group');
        const page = pageOf(params);
        const result = await store.queryGroups(query, page, mode());
        const resources = [];
        for (const g of result.items) resources.push(await render(g));
        return { status: 200, body: listResponse(resources, result.total, page.startIndex) };
      }
      case 'POST': {
        if (id) break;
        const { data, members } = groupFromResource(await readRequestJson(req));
        const { record } = await store.createGroup(data, members, write());
        noteUnknownMembers(record.unknownMembers, notes);
        const body = await render(record);
        return { status: 201, body, headers: { Location: `${base}/Groups/${record.id}` } };
      }
      case 'PUT': {
        if (!id) break;
        const { data, members } = groupFromResource(await readRequestJson(req));
        const group = await store.updateGroup(
          id,
          { displayName: data.displayName, externalId: data.externalId ?? null, replaceMembers: members },
          write(),
        );
        if (!group) throw missing();
        noteUnknownMembers(group.unknownMembers, notes);
        return { status: 200, body: await render(group) };
      }
      case 'PATCH': {
        if (!id) break;
        const change = groupChangeFromPatch(parsePatchRequest(await readRequestJson(req)));
        const group = await store.updateGroup(id, change, write());
        if (!group) throw missing();
        noteUnknownMembers(group.unknownMembers, notes);
        return { status: 204 };
      }
      case 'DELETE': {
        if (!id) break;
        if (!(await store.deleteGroup(id, mode()))) throw missing();
        return { status: 204 };
      }
    }
    throw methodNotAllowed(id ? 'GET, PUT, PATCH, DELETE' : 'GET, POST');
  }

  async function route(req: http.IncomingMessage, url: { pathname: string; search: string }, notes: string[]): Promise<Reply> {
    const path = url.pathname.replace(/\/{2,}/g, '/').replace(/\/+$/, '') || '/';
    if (path === '/healthz') {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed('GET, HEAD');
      // Healthy only when the database answers: a load balancer then sends requests elsewhere.
      const health = store.health ? await store.health() : { ok: true as const };
      if (!health.ok) return { status: 503, body: { status: 'unavailable', database: 'unreachable', error: health.error } };
      return { status: 200, body: { status: 'ok', database: 'ok' } };
    }
    if (path.toLowerCase() !== SCIM_PREFIX && !path.toLowerCase().startsWith(`${SCIM_PREFIX}/`)) {
      throw notFound(`Nothing here. The SCIM endpoint (Tenant URL) is ${SCIM_PREFIX}.`);
    }
    await authenticate(req, notes);
    const segments = path.slice(SCIM_PREFIX.length).split('/').filter(Boolean);
    let id: string | undefined;
    try {
      id = segments[1] === undefined ? undefined : decodeURIComponent(segments[1]);
    } catch {
      throw notFound('The resource id is not valid percent-encoding.');
    }
    if (segments.length > 2) throw notFound(`No such resource: ${sanitizePath(path)}.`);
    const params = normalizeParams(new URLSearchParams(url.search));
    const base = baseFor(req);
    const resource = (segments[0] ?? '').toLowerCase();
    const readOnly = () => {
      if (req.method !== 'GET') throw methodNotAllowed('GET');
    };
    switch (resource) {
      case 'users':
        return users(req, id, params, base);
      case 'groups':
        return groups(req, id, params, base, notes);
      case 'serviceproviderconfig':
      case 'serviceproviderconfigs':
        readOnly();
        return { status: 200, body: serviceProviderConfig(base, MAX_COUNT) };
      case 'schemas':
      case 'resourcetypes': {
        readOnly();
        const all = resource === 'schemas' ? schemas(base) : resourceTypes(base);
        if (id) {
          const one = all.find((s) => String(s.id).toLowerCase() === id!.toLowerCase());
          if (!one) throw notFound(`No ${resource === 'schemas' ? 'schema' : 'resource type'} "${id}".`);
          return { status: 200, body: one };
        }
        return { status: 200, body: listResponse(all, all.length, 1) };
      }
      default:
        throw notFound(`No such resource: ${sanitizePath(path)}. Use /Users, /Groups, /ServiceProviderConfig, /Schemas or /ResourceTypes.`);
    }
  }

  function toReply(error: unknown, notes: string[]): Reply {
    if (error instanceof ScimError) return { status: error.status, body: errorBody(error), headers: error.headers };
    if (error instanceof ConflictError) {
      return { status: 409, body: errorBody(new ScimError(409, error.message, 'uniqueness')) };
    }
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
      notes.push('busy');
      return {
        status: 503,
        body: errorBody(new ScimError(503, 'The directory is busy; try again shortly.')),
        headers: { 'Retry-After': '2' },
      };
    }
    notes.push(`error=${(error as Error)?.name ?? 'unknown'}: ${String((error as Error)?.message ?? error).slice(0, 200)}`);
    return { status: 500, body: errorBody(new ScimError(500, 'Internal error in dirsync; see the server log.')) };
  }

  function send(res: http.ServerResponse, reply: Reply, head: boolean): void {
    // Headers as a flat [name, value, …] list: node:http then skips building a header object.
    const headers: string[] = [];
    if (reply.headers) for (const name in reply.headers) headers.push(name, reply.headers[name]!);
    if (closing) headers.push('Connection', 'close');
    if (reply.body === undefined || reply.status === 204) {
      res.writeHead(reply.status, headers);
      res.end();
      return;
    }
    const text = JSON.stringify(reply.body);
    headers.push('Content-Type', CONTENT_TYPE, 'Content-Length', String(Buffer.byteLength(text)));
    res.writeHead(reply.status, headers);
    res.end(head ? undefined : text);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const notes: string[] = [];
    const rawPath = (req.url ?? '/').split('?')[0]!;
    res.on('close', () => {
      const ms = (performance.now() - started).toFixed(1);
      const extra = notes.length ? ` ${notes.join(' ')}` : '';
      try {
        options.log(`${req.method} ${sanitizePath(rawPath)} ${res.statusCode} ${ms}ms${extra}`);
      } catch {
        /* a failing logger must not break serving */
      }
    });
    let reply: Reply;
    try {
      reply = await route(req, requestTarget(req.url ?? '/'), notes);
    } catch (error) {
      reply = toReply(error, notes);
      if (error instanceof BodyTooLarge && !error.drained) {
        notes.push('body-not-drained');
        closeGently(req.socket, oversize.lingerMs);
      }
    }
    // Drain an unread body (GET/DELETE with a body, or an early error) so keep-alive stays healthy.
    if (!req.readableEnded) req.resume();
    if (!res.headersSent) send(res, reply, req.method === 'HEAD');
  }

  const listener = (req: http.IncomingMessage, res: http.ServerResponse) => void handle(req, res);
  const server = options.tls
    ? https.createServer({ cert: options.tls.cert, key: options.tls.key }, listener)
    : http.createServer(listener);
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  server.requestTimeout = 120_000;
  // `Expect: 100-continue` (curl does it for large bodies): a body declared over the limit is not
  // invited; the 413 goes at once and the connection closes gently. Any other is told to continue.
  server.on('checkContinue', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) notInvited.add(req);
    else res.writeContinue();
    listener(req, res);
  });
  server.on('clientError', (_error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
  const url = `${scheme}://${hostPart}:${address.port}`;
  let closed: Promise<void> | undefined;

  return {
    url,
    tenantUrl: `${options.publicUrl ? options.publicUrl.replace(/\/+$/, '') : url}${SCIM_PREFIX}`,
    port: address.port,
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        const force = setTimeout(() => server.closeAllConnections(), options.shutdownGraceMs ?? 10_000);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      return closed;
    },
  };
}

function methodNotAllowed(allow: string): ScimError {
  return new ScimError(405, `Method not allowed here; use ${allow}.`, undefined, { Allow: allow });
}
