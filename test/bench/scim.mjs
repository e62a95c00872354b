#!/usr/bin/env node
/**
 * SCIM benchmark (issue 4): an Entra-shaped provisioning load against the real `dirsync serve`
 * (bin/dirsync.js in a child process, built dist/ — run `npx tsc -p .` first) and, in the same run
 * and under the identical load generator, a bare node:http server that answers 200 to the same
 * requests. Prints requests/s for both, their ratio, p50/p99/p99.9/max latency and peak memory (VmHWM).
 *
 *   node test/bench/scim.mjs                 # full: 100k users, 5k groups, one 50k-member group
 *   node test/bench/scim.mjs --quick         # 10k users, 500 groups, 5k-member group
 *   node test/bench/scim.mjs --users 20000 --groups 1000 --big 10000 --batch 1 --concurrency 8
 *   node test/bench/scim.mjs --cpu-prof /tmp/prof   # also write .cpuprofiles of both servers (bare/ below it)
 *   node test/bench/scim.mjs --client http   # generate the load with node:http instead of the raw client
 *   node test/bench/scim.mjs --only dirsync  # one part only: bare | store | dirsync (no ratio then)
 *   node test/bench/scim.mjs --quick --database postgres   # the same load on dirsync serve with SQLite,
 *                                            # then on one and on two replicas sharing one PostgreSQL
 * Every option also reads BENCH_<NAME> from the environment (BENCH_USERS=10000 …).
 *
 * --database postgres (issue 12) starts a throwaway PostgreSQL cluster (initdb into a temp dir, its
 * own port on 127.0.0.1; as the `postgres` user when run as root) and runs the load three times:
 * `dirsync serve` on SQLite, one replica on PostgreSQL, two replicas on one PostgreSQL database
 * (the load's connections split between them). It prints requests/s, p50/p99 and peak memory of
 * each; PostgreSQL, the replicas and the generator share the cores, so throughput is reported, not
 * judged; judged: p99 < 50 ms with one and with two replicas, and no failed request.
 *
 * The load, per server (Entra's initial cycle):
 *   1. users:   for each user, a filter GET `userName eq "…"` (Entra's matching query, no hit), then
 *               POST /Users;
 *   2. groups:  for each group, a filter GET `displayName eq "…"` with excludedAttributes=members,
 *               then POST /Groups;
 *   3. members: one group gets --big members through PATCH `Add members` requests of --batch
 *               members each (aadOptscim062020 shape), with a filter GET that finds an existing user
 *               or group (`excludedAttributes=members`) interleaved after every --filter-every PATCHes.
 * --concurrency workers, each with its own keep-alive connection, pull the next task in order.
 * Targets (issue 11): with --client http (Entra's way of talking: keep-alive, one request at a time
 * per connection, concurrency 8), dirsync >= 50% of the bare server's requests/s; p99 < 50 ms,
 * p99.9 < 20 ms and max < 50 ms under the full load.
 *
 * Which load generator is the fair one. Entra is remote: in production the generator costs the
 * server's machine nothing. Here it shares 2 cores with the server, and the ratio only means
 * "dirsync vs the HTTP floor" if the bare server is the bottleneck of its own run. The raw client
 * (the default) costs ~15 µs a request, so the bare node:http server runs CPU-bound (~95-100% busy,
 * ~35-50k req/s on the 2-core dev box); with --client http the generator itself costs as much as the
 * bare server (a node:http request + response parse each), the bare run is held back by the
 * generator (12-19k req/s, the bare server partly idle) and the ratio comes out 2-3x kinder than it
 * is. So the raw client's ratio is the one to hold against the target; --client http is reported as
 * an upper bound. The report also prints each server's CPU busy share and CPU time per request, and
 * their ratio, which depends on the generator much less (a server under less load also does less
 * work per request — fewer requests per epoll wake-up — so even this favours --client http).
 *
 * The store alone. In the same run, a child process makes exactly the store calls those requests
 * make (the code lookup, the filter query, the insert or member add, group commit alike) with no
 * HTTP at all, and the report prints its CPU per request and the ceiling that follows for a server
 * on one core: bare HTTP + store, i.e. what dirsync could reach if parsing, validating, rendering
 * and logging SCIM cost nothing. On the 2-core dev box that ceiling is ~55% with the raw client, so
 * the 50% target leaves the whole SCIM layer ~5 µs a request; see the issue's closing notes.
 *
 * Linux only (peak memory is read from /proc/<pid>/status). Only 127.0.0.1 traffic. The whole run
 * is bounded by --timeout (seconds, default 900): past it, the servers are killed and it exits 1.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

const self = fileURLToPath(import.meta.url);
const loadAtStart = os.loadavg();
const root = path.resolve(path.dirname(self), '../..');
const BIN = path.join(root, 'bin', 'dirsync.js');

// --- the bare server (a child process of its own, like dirsync serve) -----------------------------

function bareServer() {
  let n = 0;
  const server = http.createServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      const body = `{"id":"${++n}"}`;
      res.writeHead(200, { 'Content-Type': 'application/scim+json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}` })}\n`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
  process.on('SIGTERM', () => server.closeAllConnections());
}


// --- the store alone (a child process): the same operations, no HTTP at all ------------------------
// What dirsync serve costs beyond HTTP is mostly its SQLite work, which the issue's design fixes
// (indexed tables, one durable transaction per write). Running exactly the store calls a request
// makes, with the same concurrency (so group commit batches alike), gives the ceiling: even with a
// free SCIM layer, a server on one core costs at least the bare server's HTTP work plus this.

async function storeAlone(file, o) {
  const { openSqliteDirectory } = await import(path.join(root, 'dist/directory/sqlite.js'));
  const { userFromResource, groupFromResource, groupChangeFromPatch, parsePatchRequest } = await import(path.join(root, 'dist/scim/patch.js'));
  const { hashSecretCode } = await import(path.join(root, 'dist/secrets/code.js'));
  const { parseFilter } = await import(path.join(root, 'dist/scim/filter-grammar.js'));
  const store = openSqliteDirectory(file);
  const code = process.env.BENCH_SECRET_CODE;
  const hash = hashSecretCode(code);
  const mode = 'new-only';
  const page = { startIndex: 1, count: 100 };
  // Parsed up front: only store calls are timed.
  const users = Array.from({ length: o.users }, (_, i) => userFromResource(JSON.parse(user(i))));
  const groups = Array.from({ length: o.groups }, (_, i) => groupFromResource(JSON.parse(group(i))));
  const auth = async () => {
    if (!(await store.findSecretCodeByHash(hash))) throw new Error('the bench code is unknown to the store');
  };
  const pool = async (count, task) => {
    let next = 0;
    await Promise.all(Array.from({ length: o.concurrency }, async () => {
      while (next < count) await task(next++);
    }));
  };
  let requests = 0;
  const userIds = [];
  const groupIds = [];
  const cpu0 = process.cpuUsage();
  const started = performance.now();
  await pool(o.users, async (i) => {
    await auth();
    await store.queryUsers({ filter: parseFilter(`userName eq ${JSON.stringify(users[i].userName)}`, 'User') }, page, mode);
    await auth();
    userIds[i] = (await store.createUser(users[i], { mode, now: new Date() })).record.id;
    requests += 2;
  });
  await pool(o.groups, async (i) => {
    await auth();
    await store.queryGroups({ filter: parseFilter(`displayName eq ${JSON.stringify(groups[i].data.displayName)}`, 'Group') }, page, mode);
    await auth();
    groupIds[i] = (await store.createGroup(groups[i].data, groups[i].members, { mode, now: new Date() })).record.id;
    requests += 2;
  });
  let patches = 0;
  await pool(Math.ceil(o.big / o.batch), async (b) => {
    const members = [];
    for (let i = b * o.batch; i < Math.min(o.big, (b + 1) * o.batch); i++) members.push({ value: userIds[i] });
    const change = groupChangeFromPatch(parsePatchRequest({ Operations: [{ op: 'Add', path: 'members', value: members }] }));
    await auth();
    await store.updateGroup(groupIds[0], change, { mode, now: new Date() });
    requests++;
    if (++patches % o.filterEvery === 0) {
      await auth();
      const n = (b * 7919) % o.users;
      if (b % 2) await store.queryUsers({ filter: parseFilter(`userName eq ${JSON.stringify(users[n].userName)}`, 'User') }, page, mode);
      else await store.queryGroups({ filter: parseFilter(`displayName eq ${JSON.stringify(groups[(b * 31) % o.groups].data.displayName)}`, 'Group') }, page, mode);
      requests++;
    }
  });
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpu0);
  store.close();
  process.stdout.write(`${JSON.stringify({ requests, seconds, rps: requests / seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`);
}

// --- options ---------------------------------------------------------------------------------------

function options() {
  const argv = process.argv.slice(2);
  const flags = new Map();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const [name, inline] = a.slice(2).split('=', 2);
    if (name === 'quick' || name === 'help') flags.set(name, 'true');
    else flags.set(name, inline ?? argv[++i]);
  }
  if (flags.has('help')) {
    console.log(fs.readFileSync(self, 'utf8').split('*/')[0]);
    process.exit(0);
  }
  const quick = flags.has('quick') || process.env.BENCH_QUICK === '1';
  const get = (name, full, small) => {
    const raw = flags.get(name) ?? process.env[`BENCH_${name.toUpperCase().replace(/-/g, '_')}`];
    if (raw === undefined) return quick ? small : full;
    return raw;
  };
  const num = (name, full, small) => {
    const v = Number(get(name, full, small));
    if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} must be a number`);
    return Math.trunc(v);
  };
  const users = num('users', 100_000, 10_000);
  return {
    users,
    groups: Math.max(1, num('groups', 5_000, 500)),
    big: Math.min(num('big', 50_000, 5_000), users),
    batch: Math.max(1, num('batch', 10, 10)),
    filterEvery: Math.max(1, num('filter-every', 4, 4)),
    concurrency: Math.max(1, num('concurrency', 8, 8)),
    timeout: num('timeout', 900, 300),
    cpuProf: get('cpu-prof', undefined, undefined),
    only: get('only', undefined, undefined), // 'bare' | 'store' | 'dirsync'
    database: get('database', undefined, undefined), // 'postgres': SQLite, then one and two replicas on PostgreSQL
    client: get('client', 'raw', 'raw'), // 'raw' (a minimal keep-alive client) | 'http' (node:http with an Agent)
  };
}

// --- a small keep-alive HTTP/1.1 client -------------------------------------------------------------
// Much cheaper per request than http.request, so that the generator (on the same 2 cores) takes less
// from the server under test. Enough HTTP for these two servers: Content-Length bodies, or none.

class Connection {
  constructor(port) {
    this.port = port;
    this.socket = undefined;
    this.pending = undefined;
    this.buffer = Buffer.alloc(0);
  }

  connect() {
    const socket = net.connect(this.port, '127.0.0.1');
    socket.setNoDelay(true);
    socket.on('data', (chunk) => this.onData(chunk));
    const fail = (error) => {
      if (this.socket === socket) this.socket = undefined;
      const p = this.pending;
      this.pending = undefined;
      p?.reject(error ?? new Error('connection closed'));
    };
    socket.on('error', fail);
    socket.on('close', () => fail());
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
  }

  request(method, path, headers, body) {
    if (!this.socket) this.connect();
    let head = `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${this.port}\r\n${headers}`;
    if (body !== undefined) head += `Content-Type: application/scim+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
    head += '\r\n';
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject, method };
      this.socket.write(body === undefined ? head : head + body);
    });
  }

  onData(chunk) {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const p = this.pending;
    if (!p) return;
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0) return;
    const head = this.buffer.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const lengthMatch = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    if (!lengthMatch && /\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      p.reject(new Error('chunked responses are not supported by the bench client'));
      this.pending = undefined;
      return;
    }
    const length = lengthMatch ? Number(lengthMatch[1]) : 0;
    if (this.buffer.length < end + 4 + length) return;
    const text = this.buffer.toString('utf8', end + 4, end + 4 + length);
    this.buffer = this.buffer.subarray(end + 4 + length);
    this.pending = undefined;
    if (/\r\nconnection:\s*close/i.test(head)) {
      this.socket?.destroy();
      this.socket = undefined;
    }
    p.resolve({ status, text });
  }

  close() {
    this.socket?.destroy();
    this.socket = undefined;
  }
}

/** The same interface over node:http (one keep-alive socket per worker), for comparison: --client http. */
class HttpConnection {
  constructor(port) {
    this.port = port;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  }

  request(method, path, headers, body) {
    const h = {};
    for (const line of headers.split('\r\n')) {
      const i = line.indexOf(':');
      if (i > 0) h[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    if (body !== undefined) {
      h['Content-Type'] = 'application/scim+json';
      h['Content-Length'] = Buffer.byteLength(body);
    }
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, headers: h, agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  close() {
    this.agent.destroy();
  }
}

// --- the load ---------------------------------------------------------------------------------------

const user = (i) =>
  JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    externalId: `0a1b2c3d-0000-4000-8000-${String(i).padStart(12, '0')}`,
    userName: `user${i}@bench.contoso.com`,
    active: true,
    displayName: `User ${i}`,
    emails: [{ primary: true, type: 'work', value: `user${i}@mail.bench.contoso.com` }],
    name: { formatted: `Given${i} Family${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
    title: 'Engineer',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: `Dept ${i % 50}`, employeeNumber: String(i) },
    roles: [],
  });

const group = (i) =>
  JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
    externalId: `9f8e7d6c-0000-4000-8000-${String(i).padStart(12, '0')}`,
    displayName: `Group ${i}`,
    meta: { resourceType: 'Group' },
  });

const FLAG = 'aadOptscim062020';
const filterPath = (resource, filter, extra = '') => `/scim/v2/${resource}?${FLAG}&${extra}filter=${encodeURIComponent(filter)}`;
const idOf = (text) => /"id"\s*:\s*"([^"]+)"/.exec(text)?.[1];

async function runLoad(label, portOrPorts, code, o) {
  const ports = Array.isArray(portOrPorts) ? portOrPorts : [portOrPorts];
  const auth = `Authorization: Bearer ${code}\r\nAccept: application/scim+json\r\n`;
  const kinds = new Map(); // kind → latencies
  const patchLatencies = []; // in order, to compare an early PATCH with a late one (group size grows)
  let requests = 0;
  let failures = 0;
  const failed = [];
  const userIds = new Array(o.users);
  const groupIds = new Array(o.groups);

  const timed = async (conn, kind, method, p, body, expected) => {
    const t = performance.now();
    const res = await conn.request(method, p, auth, body);
    const ms = performance.now() - t;
    requests++;
    let list = kinds.get(kind);
    if (!list) kinds.set(kind, (list = []));
    list.push(ms);
    if (kind === 'PATCH members') patchLatencies.push(ms);
    if (!expected.includes(res.status)) {
      failures++;
      if (failed.length < 5) failed.push(`${method} ${p.slice(0, 80)} → ${res.status} ${res.text.slice(0, 160)}`);
    }
    return res;
  };

  const pool = async (count, task) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: o.concurrency }, async (_, w) => {
        const port = ports[w % ports.length]; // with several replicas, the connections alternate between them
        const conn = o.client === 'http' ? new HttpConnection(port) : new Connection(port);
        try {
          while (next < count) await task(conn, next++);
        } finally {
          conn.close();
        }
      }),
    );
  };

  const started = performance.now();
  const phases = {};
  let t = performance.now();
  await pool(o.users, async (conn, i) => {
    await timed(conn, 'GET filter (miss)', 'GET', filterPath('Users', `userName eq "user${i}@bench.contoso.com"`), undefined, [200]);
    const res = await timed(conn, 'POST /Users', 'POST', `/scim/v2/Users?${FLAG}`, user(i), [200, 201]);
    userIds[i] = idOf(res.text);
  });
  phases.users = performance.now() - t;
  t = performance.now();
  await pool(o.groups, async (conn, i) => {
    await timed(conn, 'GET filter (miss)', 'GET', filterPath('Groups', `displayName eq "Group ${i}"`, 'excludedAttributes=members&'), undefined, [200]);
    const res = await timed(conn, 'POST /Groups', 'POST', `/scim/v2/Groups?${FLAG}`, group(i), [200, 201]);
    groupIds[i] = idOf(res.text);
  });
  phases.groups = performance.now() - t;
  t = performance.now();
  const big = groupIds[0] ?? 'missing';
  let patches = 0;
  await pool(Math.ceil(o.big / o.batch), async (conn, b) => {
    const members = [];
    for (let i = b * o.batch; i < Math.min(o.big, (b + 1) * o.batch); i++) members.push({ value: userIds[i] ?? `missing-${i}` });
    const body = JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Add', path: 'members', value: members }],
    });
    await timed(conn, 'PATCH members', 'PATCH', `/scim/v2/Groups/${big}?${FLAG}`, body, [200, 204]);
    if (++patches % o.filterEvery === 0) {
      const n = (b * 7919) % o.users;
      if (b % 2) {
        await timed(conn, 'GET filter (hit)', 'GET', filterPath('Users', `userName eq "user${n}@bench.contoso.com"`), undefined, [200]);
      } else {
        const g = (b * 31) % o.groups;
        await timed(conn, 'GET filter (hit)', 'GET', filterPath('Groups', `displayName eq "Group ${g}"`, 'excludedAttributes=members&'), undefined, [200]);
      }
    }
  });
  phases.members = performance.now() - t;
  const seconds = (performance.now() - started) / 1000;

  const all = [];
  for (const list of kinds.values()) all.push(...list);
  const byKind = {};
  for (const [kind, list] of kinds) byKind[kind] = summary(list);
  const tenth = Math.max(1, Math.floor(patchLatencies.length / 10));
  return {
    label,
    requests,
    seconds,
    rps: requests / seconds,
    ...summary(all),
    byKind,
    patchFirstTenthP50: summary(patchLatencies.slice(0, tenth)).p50,
    patchLastTenthP50: summary(patchLatencies.slice(-tenth)).p50,
    phases: Object.fromEntries(Object.entries(phases).map(([k, v]) => [k, v / 1000])),
    failures,
    failed,
    bigGroupId: big,
    userIds,
  };
}

function summary(list) {
  if (!list.length) return { count: 0, p50: NaN, p99: NaN, p999: NaN, max: NaN };
  const sorted = Float64Array.from(list).sort();
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  return { count: sorted.length, p50: pct(50), p99: pct(99), p999: pct(99.9), max: sorted[sorted.length - 1] };
}

// --- processes ---------------------------------------------------------------------------------------

const children = new Set();

function run(args, env, timeoutMs = 60_000) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`dirsync ${args[0]} ${args[1] ?? ''} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** Starts a server process that prints one JSON line `{ url, … }` on stdout when it listens. */
function startServer(args, env, stderrFile) {
  return new Promise((resolve, reject) => {
    const errFd = fs.openSync(stderrFile, 'w');
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', errFd] });
    fs.closeSync(errFd);
    children.add(child);
    const exited = new Promise((r) => child.once('exit', (code, signal) => r(code ?? signal)));
    exited.then(() => children.delete(child));
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      try {
        const started = JSON.parse(stdout);
        resolve({ child, url: started.url, exited });
      } catch {
        /* not the whole document yet */
      }
    });
    exited.then((code) => reject(new Error(`${args.join(' ')} exited ${code} before it listened:\n${fs.readFileSync(stderrFile, 'utf8').slice(-2000)}`)));
  });
}

/** CPU time (user + system) a live process has used so far, in seconds (Linux: /proc/<pid>/stat). */
function cpuSeconds(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Peak resident set size of a live process, in MiB (Linux: VmHWM). */
function peakRssMiB(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = Number(/VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1]);
  return kib / 1024;
}

async function stop(server) {
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 30_000);
  const code = await server.exited;
  clearTimeout(timer);
  return code;
}

// --- main --------------------------------------------------------------------------------------------

async function main() {
  const o = options();
  if (!fs.existsSync(path.join(root, 'dist/cli/main.js'))) {
    console.error('Build first: npx tsc -p .');
    process.exit(1);
  }
  const watchdog = setTimeout(() => {
    console.error(`The benchmark ran past --timeout ${o.timeout}s; stopping.`);
    for (const child of children) child.kill('SIGKILL');
    process.exit(1);
  }, o.timeout * 1000);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-bench-scim-'));
  const env = {
    PATH: process.env.PATH,
    HOME: tmp,
    TZ: 'UTC',
    LANG: 'C.UTF-8',
    NO_COLOR: '1',
    DIRSYNC_CONFIG_DIR: path.join(tmp, 'config'),
    DIRSYNC_ADMIN_PASSWORD: 'benchmark password',
  };
  console.error(
    `load: ${o.users} users, ${o.groups} groups, one ${o.big}-member group (${o.batch} members/PATCH), ` +
      `a filter GET before each create and after every ${o.filterEvery} PATCHes; concurrency ${o.concurrency}; ` +
      `${o.client} client; ${os.cpus().length} CPUs`,
  );
  const results = {};
  try {
    await run(['configure', '--tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--offline', '--no-consent'], env);
    const code = JSON.parse(await run(['token', 'renew', '--json'], env)).secretCode;

    if ((!o.only && !o.database) || o.only === 'bare') {
      console.error('bare node:http …');
      const bareProf = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.join(path.resolve(o.cpuProf), 'bare')] : [];
      const server = await startServer([...bareProf, self, '--bare-server'], env, path.join(tmp, 'bare.log'));
      const cpu0 = cpuSeconds(server.child.pid);
      const r = await runLoad('bare node:http', new URL(server.url).port, code, o);
      r.cpuSeconds = cpuSeconds(server.child.pid) - cpu0;
      r.peakRssMiB = peakRssMiB(server.child.pid);
      await stop(server);
      results.bare = r;
    }
    if ((!o.only && !o.database) || o.only === 'store') {
      console.error('the store alone (no HTTP) …');
      // A copy of the directory as `token renew` left it (the code's row), before dirsync serve writes to it.
      fs.copyFileSync(path.join(env.DIRSYNC_CONFIG_DIR, 'directory.db'), path.join(tmp, 'store-alone.db'));
      const out = await new Promise((resolve, reject) =>
        execFile(process.execPath, [self, '--store-alone', path.join(tmp, 'store-alone.db'), JSON.stringify(o)],
          { env: { ...env, BENCH_SECRET_CODE: code }, timeout: o.timeout * 1000 },
          (error, stdout, stderr) => (error ? reject(new Error(`store-alone run failed: ${stderr || error.message}`)) : resolve(stdout))),
      );
      results.store = JSON.parse(out);
    }
    if (o.only !== 'bare' && o.only !== 'store') {
      console.error('dirsync serve …');
      const logFile = path.join(tmp, 'serve.log');
      const profArgs = o.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(o.cpuProf)] : [];
      const server = await startServer([...profArgs, BIN, 'serve', '--port', '0', '--json'], env, logFile);
      const port = new URL(server.url).port;
      const cpu0 = cpuSeconds(server.child.pid);
      const r = await runLoad('dirsync serve', port, code, o);
      r.cpuSeconds = cpuSeconds(server.child.pid) - cpu0;
      r.peakRssMiB = peakRssMiB(server.child.pid);
      // Check (untimed) that the work was really done: the big group has every member, a user is findable.
      const conn = new Connection(port);
      const auth = `Authorization: Bearer ${code}\r\n`;
      const groupRes = await conn.request('GET', `/scim/v2/Groups/${r.bigGroupId}?${FLAG}&attributes=members`, auth);
      const memberIds = new Set((JSON.parse(groupRes.text).members ?? []).map((m) => m.value));
      const expected = r.userIds.slice(0, o.big);
      r.bigGroupComplete = memberIds.size === o.big && expected.every((id) => memberIds.has(id));
      const last = await conn.request('GET', filterPath('Users', `userName eq "USER${o.users - 1}@bench.contoso.com"`), auth);
      r.lastUserFound = JSON.parse(last.text).totalResults === 1;
      conn.close();
      const exit = await stop(server);
      const lines = fs.readFileSync(logFile, 'utf8').split('\n').filter((l) => /\s(GET|POST|PATCH)\s\/scim\/v2\S*\s\d{3}\s/.test(l)).length;
      r.logLines = lines;
      r.exitCode = exit;
      results.dirsync = r;
      if (o.cpuProf) console.error(`CPU profile of the serve child written to ${path.resolve(o.cpuProf)}`);
    }
    if (o.database === 'postgres') results.postgres = await postgresRuns(o, env, tmp);
    else if (o.database !== undefined) throw new Error('--database takes postgres');
  } finally {
    clearTimeout(watchdog);
    for (const child of children) child.kill('SIGKILL');
    if (process.env.BENCH_KEEP) console.error(`kept ${tmp}`);
    else fs.rmSync(tmp, { recursive: true, force: true });
  }
  report(results, o);
}

// --- --database postgres: one and two replicas on one PostgreSQL ------------------------------------

/** A throwaway cluster, as test/support/postgres.ts starts it. */
async function startCluster(tmp) {
  const root = '/usr/lib/postgresql';
  const version = fs.existsSync(root) ? fs.readdirSync(root).sort((a, b) => Number(b) - Number(a)).find((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb'))) : undefined;
  if (!version) throw new Error('PostgreSQL is not installed (apt-get install -y postgresql)');
  const bin = path.join(root, version, 'bin');
  // Its own temp dir (the run's is 0700 root's, which the postgres user could not enter).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-bench-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await execFileP('chown', ['postgres:postgres', dir]);
  const pgRun = (cmd, args) => (asRoot ? execFileP('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args]) : execFileP(path.join(bin, cmd), args));
  const port = await new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const p = srv.address().port;
      srv.close(() => resolve(p));
    });
  });
  await pgRun('initdb', ['-D', path.join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  // Durable commits (fsync on): a write is answered after its COMMIT reached the disk, as in production.
  await pgRun('pg_ctl', ['-D', path.join(dir, 'data'), '-l', path.join(dir, 'log'), '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c max_connections=100`, '-w', 'start']);
  return {
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    async createDatabase(name) {
      const pg = (await import('pg')).default;
      const client = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:${port}/postgres` });
      await client.connect();
      await client.query(`CREATE DATABASE ${name}`);
      await client.end();
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop: async () => {
      try {
        await pgRun('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function execFileP(file, args) {
  return new Promise((resolve, reject) =>
    execFile(file, args, { cwd: '/' }, (error, stdout, stderr) => (error ? reject(new Error(`${file} ${args[0]}: ${stderr || error.message}`)) : resolve(stdout))),
  );
}

async function postgresRuns(o, baseEnvironment, tmp) {
  const cluster = await startCluster(tmp);
  const out = {};
  try {
    for (const replicas of [1, 2]) {
      const env = { ...baseEnvironment, DIRSYNC_DATABASE_URL: await cluster.createDatabase(`bench_${replicas}`) };
      const code = JSON.parse(await run(['token', 'renew', '--json'], env)).secretCode;
      console.error(`dirsync serve, ${replicas} replica${replicas > 1 ? 's' : ''} on PostgreSQL …`);
      const servers = await Promise.all(
        Array.from({ length: replicas }, (_, i) => startServer([BIN, 'serve', '--port', '0', '--json'], env, path.join(tmp, `pg-${replicas}-${i}.log`))),
      );
      const cpu0 = servers.map((s) => cpuSeconds(s.child.pid));
      const r = await runLoad(`PostgreSQL, ${replicas} replica${replicas > 1 ? 's' : ''}`, servers.map((s) => new URL(s.url).port), code, o);
      r.cpuSeconds = servers.reduce((sum, s, i) => sum + cpuSeconds(s.child.pid) - cpu0[i], 0);
      r.peakRssMiB = Math.max(...servers.map((s) => peakRssMiB(s.child.pid)));
      const conn = new Connection(new URL(servers[servers.length - 1].url).port);
      const groupRes = await conn.request('GET', `/scim/v2/Groups/${r.bigGroupId}?${FLAG}&attributes=members`, `Authorization: Bearer ${code}\r\n`);
      r.bigGroupComplete = new Set((JSON.parse(groupRes.text).members ?? []).map((m) => m.value)).size === o.big;
      conn.close();
      for (const s of servers) await stop(s);
      out[replicas] = r;
    }
  } finally {
    await cluster.stop().catch(() => {});
  }
  return out;
}

function report({ bare, store, dirsync, postgres }, o) {
  const ms = (v) => (Number.isFinite(v) ? `${v.toFixed(2)} ms` : '-');
  const rows = [['server', 'requests', 'seconds', 'req/s', 'p50', 'p99', 'p99.9', 'max', 'peak RSS', 'CPU busy', 'CPU/req', 'failures']];
  for (const r of [bare, dirsync, postgres?.[1], postgres?.[2]].filter(Boolean)) {
    rows.push([r.label, String(r.requests), r.seconds.toFixed(1), r.rps.toFixed(0), ms(r.p50), ms(r.p99), ms(r.p999), ms(r.max), `${r.peakRssMiB.toFixed(0)} MiB`,
      `${((100 * r.cpuSeconds) / r.seconds).toFixed(0)}%`, `${((1e6 * r.cpuSeconds) / r.requests).toFixed(0)} µs`, String(r.failures)]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(
    `\nSCIM benchmark: ${o.users} users, ${o.groups} groups, ${o.big}-member group (${o.batch}/PATCH), ` +
      `concurrency ${o.concurrency}, ${o.client} client; load average (1/5/15 min) at start ${loadAtStart.map((l) => l.toFixed(2)).join(' ')}, ` +
      `${os.cpus().length} CPUs`,
  );
  console.log(line(rows[0]));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows.slice(1)) console.log(line(row));
  for (const r of [bare, dirsync, postgres?.[1], postgres?.[2]].filter(Boolean)) for (const f of r.failed) console.log(`  ${r.label} failure: ${f}`);
  if (dirsync) {
    console.log('\ndirsync serve by request kind:');
    for (const [kind, s] of Object.entries(dirsync.byKind)) {
      console.log(
        `  ${kind.padEnd(18)} ${String(s.count).padStart(7)}  p50 ${ms(s.p50).padStart(9)}  p99 ${ms(s.p99).padStart(9)}  ` +
          `p99.9 ${ms(s.p999).padStart(9)}  max ${ms(s.max).padStart(9)}`,
      );
    }
    console.log(
      `  PATCH p50, first tenth of the group ${ms(dirsync.patchFirstTenthP50)} vs last tenth ${ms(dirsync.patchLastTenthP50)} ` +
        '(cost follows the change, not the group size)',
    );
    console.log(
      `  phases: users ${dirsync.phases.users.toFixed(1)} s, groups ${dirsync.phases.groups.toFixed(1)} s, members ${dirsync.phases.members.toFixed(1)} s; ` +
        `big group complete: ${dirsync.bigGroupComplete ? 'yes' : 'NO'}; last user found: ${dirsync.lastUserFound ? 'yes' : 'NO'}; ` +
        `request log lines: ${dirsync.logLines}; exit ${dirsync.exitCode}`,
    );
  }
  let ok = true;
  if (bare && dirsync) {
    const ratio = dirsync.rps / bare.rps;
    const ratioOk = ratio >= 0.5;
    const p99Ok = dirsync.p99 < 50;
    const p999Ok = dirsync.p999 < 20;
    const maxOk = dirsync.max < 50;
    ok = ratioOk && p99Ok && p999Ok && maxOk && dirsync.failures === 0 && dirsync.bigGroupComplete && dirsync.lastUserFound;
    const verdict = (met) => (met ? 'met' : 'NOT met');
    console.log(
      `\nratio: ${(ratio * 100).toFixed(1)}% of bare (target >= 50% with --client http: ${verdict(ratioOk)}); ` +
        `p99 ${dirsync.p99.toFixed(1)} ms (< 50 ms: ${verdict(p99Ok)}); p99.9 ${dirsync.p999.toFixed(1)} ms (< 20 ms: ${verdict(p999Ok)}); ` +
        `max ${dirsync.max.toFixed(1)} ms (< 50 ms: ${verdict(maxOk)}); load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`,
    );
    console.log(
      `server CPU per request, bare / dirsync: ${((100 * bare.cpuSeconds) / bare.requests / (dirsync.cpuSeconds / dirsync.requests)).toFixed(1)}% ` +
        `(a bare server well below 100% CPU busy was held back by the generator)`,
    );
  }
  if (store) {
    const storeCpu = (1e6 * store.cpuSeconds) / store.requests;
    console.log(
      `\nthe store alone (the same SQLite calls, no HTTP): ${store.rps.toFixed(0)} req/s, ${storeCpu.toFixed(0)} µs CPU per request`,
    );
    if (bare) {
      const bareCpu = (1e6 * bare.cpuSeconds) / bare.requests;
      const ceiling = bareCpu / (bareCpu + storeCpu);
      console.log(
        `ceiling for one core: bare HTTP ${bareCpu.toFixed(0)} µs + store ${storeCpu.toFixed(0)} µs per request → ` +
          `at most ${(100 * ceiling).toFixed(1)}% of the bare server's requests/s with a SCIM layer that cost nothing`,
      );
    }
  }
  if (postgres) {
    const verdict = (met) => (met ? 'met' : 'NOT met');
    console.log('\nPostgreSQL (throughput reported, not judged: PostgreSQL, the replicas and the generator share the cores):');
    for (const r of [postgres[1], postgres[2]]) {
      const met = r.p99 < 50 && r.failures === 0 && r.bigGroupComplete;
      if (!met) ok = false;
      console.log(
        `  ${r.label}: ${r.rps.toFixed(0)} req/s, p50 ${ms(r.p50)}, p99 ${ms(r.p99)} (< 50 ms: ${verdict(r.p99 < 50)}), ` +
          `peak RSS ${r.peakRssMiB.toFixed(0)} MiB per replica at most, failures ${r.failures}, big group complete: ${r.bigGroupComplete ? 'yes' : 'NO'}`,
      );
    }
    if (dirsync) console.log(`  SQLite in the same run: ${dirsync.rps.toFixed(0)} req/s, p50 ${ms(dirsync.p50)}, p99 ${ms(dirsync.p99)}, peak RSS ${dirsync.peakRssMiB.toFixed(0)} MiB`);
  }
  const strip = (r) => r && { ...r, userIds: undefined, failed: r.failed.length ? r.failed : undefined };
  console.log(JSON.stringify({ options: o, bare: strip(bare), store, dirsync: strip(dirsync),
    postgres: postgres && { oneReplica: strip(postgres[1]), twoReplicas: strip(postgres[2]) }, ratio: bare && dirsync ? dirsync.rps / bare.rps : undefined }));
  process.exitCode = ok ? 0 : 1;
}

if (process.argv[2] === '--bare-server') bareServer();
else if (process.argv[2] === '--store-alone') await storeAlone(process.argv[3], JSON.parse(process.argv[4]));
else await main();
