#!/usr/bin/env node
// Benchmark: 100k groups from the fake Graph.
//   `dirsync groups list --source entra --json`  vs  a plain script doing the same paged fetch
// (client-credentials token, $select=id,displayName, $top=999, following @odata.nextLink, one JSON
// array on stdout), in the same run. Prints wall time, CPU time (user + system) and peak RSS of
// both, and the ratios. Target: dirsync ≤ 1.2× the plain script's time and ≤ 100 MiB peak.
//
//   npm run build && node test/bench/groups-entra.mjs [--groups 100000] [--runs 3]
//
// The fake Entra is TypeScript; `npm run build` compiles it to build/demo (tsconfig.demo.json), which
// this plain Node script imports.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const GROUPS = arg('--groups', 100_000);
const RUNS = arg('--runs', 3);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-bench-'));
const { startFakeEntra, DEFAULT_APP, TENANTS } = await import(path.join(ROOT, 'build/demo/test/support/fake-entra/index.js'));
const fake = await startFakeEntra({ caDir: path.join(tmp, 'ca') });
fake.tenants.get(TENANTS.contoso.id).generatedGroups = GROUPS - fake.tenants.get(TENANTS.contoso.id).groups.length;

const PLAIN = path.join(tmp, 'plain.mjs');
fs.writeFileSync(
  PLAIN,
  `// The baseline: what any script would do with fetch.
const login = process.env.DIRSYNC_LOGIN_ENDPOINT, graph = process.env.DIRSYNC_GRAPH_ENDPOINT;
const form = new URLSearchParams({ grant_type: 'client_credentials', client_id: process.env.AZURE_CLIENT_ID,
  client_secret: process.env.AZURE_CLIENT_SECRET, scope: 'https://graph.microsoft.com/.default' });
const t = await (await fetch(login + '/' + process.env.AZURE_TENANT_ID + '/oauth2/v2.0/token', { method: 'POST', body: form })).json();
let url = graph + '/v1.0/groups?$select=id,displayName&$top=999';
let first = true;
process.stdout.write('[');
while (url) {
  const res = await fetch(url, { headers: { Authorization: 'Bearer ' + t.access_token, 'Accept-Language': 'en-US' } });
  if (res.status === 429) { await new Promise((r) => setTimeout(r, 1000 * Number(res.headers.get('retry-after') ?? 1))); continue; }
  const page = await res.json();
  let chunk = '';
  for (const g of page.value) { chunk += (first ? '\\n  ' : ',\\n  ') + JSON.stringify({ name: g.displayName, id: g.id, updatedBy: 'Microsoft Entra ID', members: null, updatedAt: null }); first = false; }
  if (!process.stdout.write(chunk)) await new Promise((r) => process.stdout.once('drain', r));
  url = page['@odata.nextLink'];
}
process.stdout.write('\\n]\\n');
`,
);

const DIRSYNC = path.join(ROOT, 'bin/dirsync.js');
const MAXRSS = path.join(ROOT, 'test/support/maxrss.mjs');
const configDir = path.join(tmp, 'config');
fs.mkdirSync(configDir);
const env = {
  PATH: process.env.PATH,
  HOME: configDir,
  DIRSYNC_CONFIG_DIR: configDir,
  ...fake.env('global'),
  AZURE_TENANT_ID: TENANTS.contoso.id,
  AZURE_CLIENT_ID: DEFAULT_APP.clientId,
  AZURE_CLIENT_SECRET: DEFAULT_APP.secret,
};

function once(script, args) {
  const rssFile = path.join(tmp, `rss-${Math.random().toString(36).slice(2)}`);
  const cpuFile = `${rssFile}.cpu`;
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', MAXRSS, script, ...args], {
      env: { ...env, DIRSYNC_TEST_MAXRSS_FILE: rssFile, DIRSYNC_TEST_CPU_FILE: cpuFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let stderr = '';
    child.stdout.on('data', (d) => (bytes += d.length));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (code !== 0) return reject(new Error(`${path.basename(script)} exited ${code}: ${stderr}`));
      resolve({ ms, bytes, rssMiB: Number(fs.readFileSync(rssFile, 'utf8').trim()) / 1024, cpuMs: Number(fs.readFileSync(cpuFile, 'utf8').trim()) / 1000 });
    });
  });
}

const results = { dirsync: [], plain: [] };
await once(PLAIN, []); // warm-up (TLS session, JIT of the fake)
for (let i = 0; i < RUNS; i++) {
  results.plain.push(await once(PLAIN, []));
  results.dirsync.push(await once(DIRSYNC, ['groups', 'list', '--source', 'entra', '--json']));
}
await fake.close();
fs.rmSync(tmp, { recursive: true, force: true });

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = (rs) => ({ ms: median(rs.map((r) => r.ms)), cpu: median(rs.map((r) => r.cpuMs)), rss: Math.max(...rs.map((r) => r.rssMiB)) });
const d = summary(results.dirsync);
const p = summary(results.plain);
const ratio = d.ms / p.ms;
console.log(`groups-entra: ${GROUPS} groups, ${RUNS} runs each (median time, max peak RSS)`);
const row = (name, x) => `  ${name.padEnd(44)}${x.ms.toFixed(0).padStart(6)} ms wall  ${x.cpu.toFixed(0).padStart(6)} ms CPU  ${x.rss.toFixed(1).padStart(6)} MiB`;
console.log(row('dirsync groups list --source entra --json', d));
console.log(row('plain paged fetch script', p));
console.log(`  ratio ${ratio.toFixed(2)}× wall, ${(d.cpu / p.cpu).toFixed(2)}× CPU (target ≤ 1.2×), dirsync peak ${d.rss.toFixed(1)} MiB (target ≤ 100 MiB)`);
console.log(`  ${ratio <= 1.2 && d.rss <= 100 ? 'PASS' : 'MISS'}`);
