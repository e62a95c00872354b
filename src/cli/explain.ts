import { ExitCode, type ExitCodeValue } from '../errors.js';
import type { Context } from './context.js';

/** `dirsync explain CODE`: an AADSTS code (`AADSTS50011`, `50011`) or a provisioning quarantine reason. */
export async function run(options: { code: string }, ctx: Context): Promise<ExitCodeValue> {
  const { explain } = await import('../diagnostics/explain.js');
  const e = explain(options.code);
  ctx.out.result(e, () => {
    const s = ctx.out.resultStyle;
    return [
      `${s.bold(e.code)}: ${e.title}`,
      '',
      'Likely causes:',
      ...e.causes.map((c) => `  - ${c}`),
      '',
      `Fix: ${e.fix}`,
      `Microsoft: ${e.docs}`,
    ].join('\n');
  });
  return ExitCode.ok;
}
