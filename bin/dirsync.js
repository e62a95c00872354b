#!/usr/bin/env node
// Tiny on purpose: everything lives in the built CLI, which imports heavy modules only when a
// command needs them. `--version` is answered here, without loading anything.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  process.stdout.write(`${JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version}\n`);
} else {
  const { main } = await import('../dist/cli/main.js');
  await main(process.argv);
}
