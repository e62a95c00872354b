// Start-up benchmark (not part of `npm test`). Measured alternately in one run, several runs each:
//   - bare `node -e 0`;
//   - the floor (floor.mjs): only loads the libraries `token status` is built on (commander, conf,
//     chalk, date-fns, better-sqlite3) and opens the directory database;
//   - `dirsync --version`, `dirsync --help`, `dirsync token status` (on a configured temp profile).
// Reports medians and the ratios within the run. Targets: `--version` ≤ 1.3× bare node; `--help`
// and `token status` ≤ 1.15× the floor.
//   node test/bench/startup.mjs [runs]
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'dirsync.js');
const floor = path.join(root, 'test', 'bench', 'floor.mjs');
const runs = Number(process.argv[2] ?? 30);
const WARMUP = 3;

// A configured profile with a Secret Code, so `token status` does its real work.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-bench-'));
const env = { ...process.env, DIRSYNC_CONFIG_DIR: dir, DIRSYNC_ADMIN_PASSWORD: 'benchmark password', NO_COLOR: '1' };
execFileSync(process.execPath, [bin, 'configure', '--tenant-id', '72f988bf-86f1-41af-91ab-2d7cd011db47', '--offline', '--no-consent'], { env, stdio: 'ignore' });
execFileSync(process.execPath, [bin, 'token', 'renew'], { env, stdio: 'ignore' });

const cases = {
  'node -e 0': ['-e', '0'],
  floor: [floor, path.join(dir, 'directory.db')],
  'dirsync --version': [bin, '--version'],
  'dirsync --help': [bin, '--help'],
  'dirsync token status': [bin, 'token', 'status'],
};

const times = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
try {
  for (let i = 0; i < runs + WARMUP; i++) {
    for (const [name, args] of Object.entries(cases)) {
      const start = process.hrtime.bigint();
      const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (r.status !== 0) throw new Error(`${name} exited ${r.status}: ${r.stderr}`);
      if (i >= WARMUP) times[name].push(ms); // the first runs warm the file cache
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const m = Object.fromEntries(Object.entries(times).map(([k, xs]) => [k, median(xs)]));
const node = m['node -e 0'];
const base = m.floor;
console.log(`node ${process.version}, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}, ${runs} runs each (medians)`);
console.log(`${''.padEnd(22)} ${'ms'.padStart(7)}   ÷ node   ÷ floor   target`);
const target = { 'dirsync --version': '≤ 1.3× node', 'dirsync --help': '≤ 1.15× floor', 'dirsync token status': '≤ 1.15× floor' };
for (const [name, ms] of Object.entries(m)) {
  console.log(
    `${name.padEnd(22)} ${ms.toFixed(1).padStart(7)}   ${(ms / node).toFixed(2).padStart(5)}×   ${(ms / base).toFixed(2).padStart(5)}×   ${target[name] ?? ''}`,
  );
}
