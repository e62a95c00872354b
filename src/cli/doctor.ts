import fs from 'node:fs';
import { createRequire } from 'node:module';
import { ExitCode, UsageError, type ExitCodeValue } from '../errors.js';
import type { CheckResult, DoctorReport } from '../diagnostics/types.js';
import { describeDuration, parseDuration } from '../util/duration.js';
import { configStore, directoryExists, openDirectory, profileFlag } from './common.js';
import type { Context } from './context.js';

export interface DoctorOptions {
  /** --bundle FILE: also write the support bundle there. */
  bundle?: string;
  /** --timeout DURATION: the bound of each network probe (default 10s). */
  timeout?: string;
}

/**
 * `dirsync doctor`: the checks of src/diagnostics, rendered as one line each (with the fix under
 * a problem) or as `{ ok, checks }` with --json. Exit 0 when nothing fails (warnings alone are 0),
 * 1 when a check fails. Never prompts and never opens a browser.
 */
export async function run(options: DoctorOptions, ctx: Context): Promise<ExitCodeValue> {
  const timeoutMs = parseDuration(options.timeout ?? '10s', '--timeout');
  if (timeoutMs <= 0) throw new UsageError('--timeout must be longer than 0.', { hint: 'For example --timeout 10s.' });
  const { runDoctor } = await import('../diagnostics/doctor.js');
  const profile = configStore(ctx).profile(ctx.profile);
  const spinner = ctx.out.spinner(`Checking profile "${ctx.profile}" (each network check waits at most ${describeDuration(timeoutMs)})…`);
  let report: DoctorReport;
  try {
    report = await runDoctor({
      profileName: ctx.profile,
      profile,
      env: ctx.env,
      now: ctx.now,
      timeoutMs,
      signInCache: ctx.paths.signInCache,
      profileFlag: profileFlag(ctx),
      signal: ctx.signal,
      debug: (line) => ctx.out.debug(line),
      readSecretCode: async () => {
        if (!directoryExists(ctx)) return undefined;
        const directory = await openDirectory(ctx);
        try {
          return await directory.currentSecretCode();
        } finally {
          directory.close();
        }
      },
    });
  } finally {
    spinner.stop();
  }

  if (options.bundle) {
    const { buildBundle, writeBundle } = await import('../diagnostics/bundle.js');
    const version = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
    writeBundle(
      options.bundle,
      buildBundle({ version, profileName: ctx.profile, configDir: ctx.paths.configDir, profile, env: ctx.env, now: ctx.now(), report }),
      ctx.env,
    );
  }

  ctx.out.result(report, () => render(ctx, report.checks));
  const failed = report.checks.filter((c) => c.status === 'fail').length;
  const warned = report.checks.filter((c) => c.status === 'warn').length;
  if (failed) ctx.out.warn(`${failed} check${failed === 1 ? '' : 's'} failed${warned ? `, ${warned} warning${warned === 1 ? '' : 's'}` : ''}: the fix is under each.`);
  else if (warned) ctx.out.success(`No check failed; ${warned} warning${warned === 1 ? '' : 's'}.`);
  else ctx.out.success('Every check passed.');
  if (options.bundle) ctx.out.hint(`Support bundle written to ${options.bundle} (no secrets; attach it to the ticket).`);
  else if (failed) ctx.out.hint(`For a ticket: \`dirsync doctor --bundle dirsync-bundle.json${profileFlag(ctx)}\` writes a redacted support bundle.`);
  return failed ? ExitCode.failed : ExitCode.ok;
}

function render(ctx: Context, checks: CheckResult[]): string {
  const s = ctx.out.resultStyle;
  const width = Math.max(...checks.map((c) => c.id.length));
  const mark = (c: CheckResult) =>
    c.status === 'pass' ? s.green('✓') : c.status === 'warn' ? s.yellow('!') : c.status === 'fail' ? s.red('✗') : s.dim('-');
  return checks
    .map((c) => {
      const line = `${mark(c)} ${c.id.padEnd(width)}  ${c.status === 'skip' ? s.dim(c.summary) : c.summary}${c.cause ? ` [${c.cause}]` : ''}`;
      return c.fix ? `${line}\n  ${' '.repeat(width)}  → ${c.fix}` : line;
    })
    .join('\n');
}
