#!/usr/bin/env node
/**
 * SCIM benchmark: an Entra-shaped load against the dirsync SCIM server (built dist/, run `npx tsc -p .`
 * first) and, in the same run, a bare node:http server answering 200 to the same requests.
 * Load: USERS user creates, GROUPS group creates, one group of BIG members built by member-add
 * PATCHes (BATCH members each), with a filter GET (userName eq / displayName eq) after every
 * FILTER_EVERY writes. Prints requests/s for both, their ratio, p50/p99 latency and peak memory.
 *
 *   node test/bench/scim.mjs                     # 100k users, 5k groups, 50k-member group
 *   BENCH_USERS=10000 BENCH_GROUPS=500 BENCH_BIG=5000 node test/bench/scim.mjs
 * Targets: >= 50% of the bare server's requests/s; p99 < 50 ms.
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const env = (name, fallback) => Number(process.env[name] ?? fallback);
const USERS = env('BENCH_USERS', 100_000);
const GROUPS = env('BENCH_GROUPS', 5_000);
const BIG = Math.min(env('BENCH_BIG', 50_000), USERS);
const BATCH = env('BENCH_BATCH', 1);
const FILTER_EVERY = env('BENCH_FILTER_EVERY', 4);
const CONCURRENCY = env('BENCH_CONCURRENCY', 32);

// --- the server processes -------------------------------------------------------------------------

const CHILD = process.argv[2];
if (CHILD === 'child-scim' || CHILD === 'child-bare') {
  let server;
  if (CHILD === 'child-scim') {
    const { openSqliteDirectory } = await import(path.join(root, 'dist/directory/sqlite.js'));
    const { startScimServer } = await import(path.join(root, 'dist/scim/server.js'));
    const { generateSecretCode, hashSecretCode, fingerprintSecretCode } = await import(path.join(root, 'dist/secrets/code.js'));
    const store = openSqliteDirectory(process.env.BENCH_DB);
    const code = generateSecretCode();
    const now = new Date();
    await store.renewSecretCode({
      now,
      graceMs: 0,
      generate: () => ({ hash: hashSecretCode(code), fingerprint: fingerprintSecretCode(code), createdAt: now, expiresAt: new Date(now.getTime() + 180 * 86_400_000) }),
    });
    server = await startScimServer({ store, importMode: 'new-only', host: '127.0.0.1', port: 0, log: () => {} });
    process.send({ url: server.tenantUrl, code });
    process.on('message', async (m) => {
      if (m === 'stop') {
        await server.close();
        store.close();
        process.send({ maxRssKiB: process.resourceUsage().maxRSS });
        process.exit(0);
      }
    });
  } else {
    let n = 0;
    const bare = http.createServer((req, res) => {
      const chunks = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.stringify({ id: String(++n), schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'] });
        res.writeHead(req.method === 'POST' ? 201 : req.method === 'PATCH' && req.url.includes('/Groups/') ? 204 : 200, {
          'Content-Type': 'application/scim+json',
          'Content-Length': req.method === 'PATCH' && req.url.includes('/Groups/') ? 0 : Buffer.byteLength(body),
        });
        res.end(req.method === 'PATCH' && req.url.includes('/Groups/') ? undefined : body);
      });
    });
    bare.keepAliveTimeout = 65_000;
    await new Promise((r) => bare.listen(0, '127.0.0.1', r));
    process.send({ url: `http://127.0.0.1:${bare.address().port}/scim/v2`, code: 'none' });
    process.on('message', (m) => {
      if (m === 'stop') {
        process.send({ maxRssKiB: process.resourceUsage().maxRSS });
        process.exit(0);
      }
    });
  }
  // If the benchmark itself dies, do not linger.
  process.on('disconnect', () => process.exit(0));
}

// --- the load --------------------------------------------------------------------------------------

function request(agent, base, code, method, p, body) {
  const url = new URL(base + p);
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const headers = { Authorization: `Bearer ${code}`, Accept: 'application/scim+json' };
  if (payload) {
    headers['Content-Type'] = 'application/scim+json';
    headers['Content-Length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    if (payload) req.write(payload);
    req.end();
  });
}

const user = (i) => ({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
  externalId: `ext-${i}`,
  userName: `user${i}@bench.contoso.com`,
  active: true,
  displayName: `User ${i}`,
  emails: [{ primary: true, type: 'work', value: `user${i}@mail.bench.contoso.com` }],
  name: { formatted: `Given${i} Family${i}`, familyName: `Family${i}`, givenName: `Given${i}` },
  roles: [],
});

async function runLoad(label, base, code) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const latencies = [];
  let failures = 0;
  let writes = 0;
  const ids = [];
  const timed = async (method, p, body, ok) => {
    const t = performance.now();
    const res = await request(agent, base, code, method, p, body);
    latencies.push(performance.now() - t);
    if (!ok.includes(res.status)) {
      if (failures++ < 5) console.error(`${label}: ${method} ${p} → ${res.status} ${res.text.slice(0, 200)}`);
    }
    return res;
  };
  const filterAfterWrite = async (i) => {
    if (++writes % FILTER_EVERY !== 0) return;
    const q = i % 2 ? `userName eq "user${i % USERS}@bench.contoso.com"` : `displayName eq "Group ${i % GROUPS}"`;
    await timed('GET', `/${i % 2 ? 'Users' : 'Groups?excludedAttributes=members&'}${i % 2 ? '?' : ''}filter=${encodeURIComponent(q)}`, undefined, [200]);
  };
  // A pool of CONCURRENCY workers pulling tasks in order.
  const pool = async (count, task) => {
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) await task(next++);
    }));
  };
  const started = performance.now();
  await pool(USERS, async (i) => {
    const res = await timed('POST', '/Users', user(i), [201]);
    try {
      ids[i] = JSON.parse(res.text).id;
    } catch {}
    await filterAfterWrite(i);
  });
  const groupIds = [];
  await pool(GROUPS, async (i) => {
    const res = await timed('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId: `gext-${i}`,
      displayName: `Group ${i}`,
      meta: { resourceType: 'Group' },
    }, [201]);
    try {
      groupIds[i] = JSON.parse(res.text).id;
    } catch {}
    await filterAfterWrite(i);
  });
  const big = groupIds[0] ?? '0';
  await pool(Math.ceil(BIG / BATCH), async (b) => {
    const members = ids.slice(b * BATCH, Math.min(BIG, (b + 1) * BATCH)).map((value) => ({ value: value ?? String(b) }));
    await timed('PATCH', `/Groups/${big}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'Add', path: 'members', value: members }],
    }, [204]);
    await filterAfterWrite(b);
  });
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return { label, requests: latencies.length, seconds, rps: latencies.length / seconds, p50: pct(50), p99: pct(99), failures };
}

async function withChild(kind, dbFile, fn) {
  const child = fork(fileURLToPath(import.meta.url), [kind], { env: { ...process.env, BENCH_DB: dbFile }, stdio: 'inherit' });
  const ready = await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (c) => reject(new Error(`${kind} exited ${c}`)));
  });
  const result = await fn(ready);
  child.send('stop');
  const { maxRssKiB } = await new Promise((resolve) => child.once('message', resolve));
  return { ...result, peakRssMiB: maxRssKiB / 1024 };
}

async function main() {
  if (!fs.existsSync(path.join(root, 'dist/scim/server.js'))) {
    console.error('Build first: npx tsc -p .');
    process.exit(1);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-bench-'));
  console.error(`load: ${USERS} users, ${GROUPS} groups, ${BIG}-member group (${BATCH}/PATCH), a filter GET every ${FILTER_EVERY} writes, concurrency ${CONCURRENCY}`);
  try {
    const bare = await withChild('child-bare', '', ({ url, code }) => runLoad('bare node:http', url, code));
    const scim = await withChild('child-scim', path.join(dir, 'directory.db'), ({ url, code }) => runLoad('dirsync SCIM', url, code));
    const fmt = (r) =>
      `${r.label.padEnd(16)} ${String(r.requests).padStart(7)} req  ${r.rps.toFixed(0).padStart(6)} req/s  p50 ${r.p50.toFixed(2)} ms  p99 ${r.p99.toFixed(2)} ms  peak RSS ${r.peakRssMiB.toFixed(0)} MiB  failures ${r.failures}`;
    console.log(fmt(bare));
    console.log(fmt(scim));
    const ratio = scim.rps / bare.rps;
    console.log(`ratio ${(ratio * 100).toFixed(1)}% of bare (target >= 50%): ${ratio >= 0.5 ? 'met' : 'NOT met'}; p99 ${scim.p99.toFixed(1)} ms (target < 50 ms): ${scim.p99 < 50 ? 'met' : 'NOT met'}`);
    console.log(JSON.stringify({ bare, scim, ratio }));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (CHILD !== 'child-scim' && CHILD !== 'child-bare') await main();
