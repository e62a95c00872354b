// Start-up benchmark (not part of `npm test`): `dirsync --version`, `--help` and `token status`
// against bare `node -e 0`, measured in the same run, interleaved, several runs each. Reports medians
// and the ratio to bare node. Target: ≤ 1.3×.
//   node test/bench/startup.mjs [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'dirsync.js');
const runs = Number(process.argv[2] ?? 30);

// A configured profile with a Secret Code, so `token status` does its real work.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-bench-'));
const env = { ...process.env, DIRSYNC_CONFIG_DIR: dir, DIRSYNC_ADMIN_PASSWORD: 'benchmark password', NO_COLOR: '1' };
execFileSync(process.execPath, [bin, 'configure', '--tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--offline', '--no-consent'], { env, stdio: 'ignore' });
execFileSync(process.execPath, [bin, 'token', 'renew'], { env, stdio: 'ignore' });

const cases = {
  'node -e 0 (baseline)': ['-e', '0'],
  'dirsync --version': [bin, '--version'],
  'dirsync --help': [bin, '--help'],
  'dirsync token status': [bin, 'token', 'status'],
};

const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (let i = 0; i < runs + 3; i++) {
  for (const [name, args] of Object.entries(cases)) {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (r.status !== 0) throw new Error(`${name} exited ${r.status}`);
    if (i >= 3) times[name].push(ms); // the first runs warm the file cache
  }
}
fs.rmSync(dir, { recursive: true, force: true });

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const base = median(times['node -e 0 (baseline)']);
console.log(`node ${process.version}, ${os.cpus().length} CPUs, ${runs} runs each (medians)`);
for (const [name, xs] of Object.entries(times)) {
  const m = median(xs);
  console.log(`${name.padEnd(24)} ${m.toFixed(1).padStart(7)} ms   ${(m / base).toFixed(2)}×`);
}
