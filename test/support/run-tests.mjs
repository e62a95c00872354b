// `npm test`: the whole suite, the SCIM suites once more on PostgreSQL, then the leak check over everything the suite's dirsync processes
// printed. The transcripts go to a directory of this run only, so parallel runs cannot mix.
// Ends with one plain "N passed, N failed" line for CI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dirsync-transcripts-'));
const env = { ...process.env, DIRSYNC_TEST_TRANSCRIPTS: dir };
const vitest = path.join('node_modules', 'vitest', 'vitest.mjs');
const totals = { passed: 0, failed: 0, skipped: 0 };

function run(args, name) {
  const report = path.join(dir, `${name}.report.json`);
  const r = spawnSync(
    process.execPath,
    [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
    { stdio: 'inherit', env },
  );
  try {
    const json = JSON.parse(fs.readFileSync(report, 'utf8'));
    totals.passed += json.numPassedTests;
    totals.failed += json.numFailedTests;
    totals.skipped += json.numPendingTests + json.numTodoTests;
  } catch {
    totals.failed += 1; // no report: the run itself broke
  }
  return r.status ?? 1;
}

const args = process.argv.slice(2);
let status = run(args, 'suite');
// The whole suite (no file named): the SCIM suites again with the directory in PostgreSQL.
if (status === 0 && args.length === 0) status = run(['--config', 'vitest.postgres.config.ts'], 'postgres');
if (status === 0) status = run(['--config', 'vitest.leak.config.ts'], 'leak');
fs.rmSync(dir, { recursive: true, force: true });
console.log(`\n${totals.passed} passed, ${totals.failed} failed${totals.skipped ? `, ${totals.skipped} skipped` : ''}`);
process.exit(status);
