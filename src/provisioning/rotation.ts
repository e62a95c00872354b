import { AuthError, DirsyncError, InterruptedError, OperationError } from '../errors.js';
import type { GraphClient } from '../entra/graph.js';
import type { LinkedJob } from '../config/store.js';
import { getJob, getSecrets, putSecrets, restartJob, validateCredentials } from './synchronization.js';

/**
 * Pushes a freshly issued Secret Code to Entra's provisioning app, in the portal's order: Test
 * Connection with the new credentials (Entra calls the Tenant URL with the new code), then Save
 * (every other saved key kept), then Test Connection on what was saved. Graph never hands a saved
 * token back and dirsync keeps only hashes, so nothing could be put back afterwards: a failure
 * before Save must leave Entra untouched, which is why Test comes first.
 */

export type PushStep = 'test' | 'save' | 'confirm';

export const STEP_WORDS: Record<PushStep, string> = {
  test: 'Test Connection with the new Secret Code (before saving)',
  save: 'saving the Tenant URL and new Secret Code in Entra',
  confirm: 'Test Connection on the saved credentials',
};

/** A push that failed at `step`. Before Save (`rollback`), Entra still holds the old code. */
export class PushError extends DirsyncError {
  override readonly code = 'push_failed';
  constructor(
    readonly step: PushStep,
    readonly rollback: boolean,
    readonly underlying: DirsyncError | undefined,
    message: string,
    hint: string,
  ) {
    super(message, { hint, details: underlying?.details, cause: underlying });
    // A sign-in or permission failure keeps its exit code (4), Ctrl-C its 130; everything else is 1.
    if (underlying instanceof AuthError || underlying instanceof InterruptedError) (this as { exitCode: number }).exitCode = underlying.exitCode;
  }
}

export interface PushResult {
  validated: boolean;
  pushed: boolean;
  restarted: boolean;
  job: { id: string; state: string };
}

const reachability =
  'Entra calls the Tenant URL from the internet: check that `dirsync serve` is running and reachable there (DNS, firewall, ' +
  'the TLS certificate — Entra requires HTTPS with a publicly trusted certificate), and that the Tenant URL (`--public-url`) is right.';

export async function pushSecretCode(
  graph: GraphClient,
  link: LinkedJob,
  tenantUrl: string,
  code: string,
  options: { restartIfQuarantined: boolean; debug?: (line: string) => void },
): Promise<PushResult> {
  const fail = (step: PushStep, error: unknown, entraSaid?: string): never => {
    const underlying = error instanceof DirsyncError ? error : undefined;
    if (!underlying && error) throw error;
    const rollback = step !== 'confirm';
    const what = entraSaid ? `Entra said: ${entraSaid}` : (underlying?.message ?? 'unknown error');
    throw new PushError(
      step,
      rollback,
      underlying,
      `The rotation failed at ${STEP_WORDS[step]}. ${what}`,
      rollback
        ? `Nothing changed in Entra and the new Secret Code was revoked: the previous code is still current. ${underlying?.hint ?? reachability}`
        : `Entra now holds the new Secret Code (it was saved), but Test Connection on it failed. ${underlying?.hint ?? reachability} ` +
          'Run `dirsync provisioning test` once it is fixed.',
    );
  };

  // 1. Test Connection with the new, not yet saved, credentials.
  let test;
  try {
    test = await validateCredentials(graph, link.servicePrincipalId, link.jobId, [
      { key: 'BaseAddress', value: tenantUrl },
      { key: 'SecretToken', value: code },
    ]);
  } catch (error) {
    return fail('test', error);
  }
  if (!test.ok) return fail('test', new OperationError('Test Connection failed.'), test.message ?? `HTTP ${test.status}`);
  options.debug?.('push: Test Connection with the new code passed');

  // 2. Save: every saved key kept except the two we replace.
  try {
    const kept = (await getSecrets(graph, link.servicePrincipalId)).filter((s) => s.key !== 'BaseAddress' && s.key !== 'SecretToken');
    options.debug?.(`push: saving BaseAddress and SecretToken, keeping ${kept.map((s) => s.key).join(', ') || 'no other keys'}`);
    await putSecrets(graph, link.servicePrincipalId, [...kept, { key: 'BaseAddress', value: tenantUrl }, { key: 'SecretToken', value: code }]);
  } catch (error) {
    return fail('save', error);
  }

  // 3. Confirm on what Entra saved.
  let confirm;
  try {
    confirm = await validateCredentials(graph, link.servicePrincipalId, link.jobId, 'saved');
  } catch (error) {
    return fail('confirm', error);
  }
  if (!confirm.ok) return fail('confirm', new OperationError('Test Connection failed.'), confirm.message ?? `HTTP ${confirm.status}`);

  let job = await getJob(graph, link.servicePrincipalId, link.jobId);
  let restarted = false;
  if (options.restartIfQuarantined && job.status?.code === 'Quarantine') {
    await restartJob(graph, link.servicePrincipalId, link.jobId, 'QuarantineState');
    restarted = true;
    job = await getJob(graph, link.servicePrincipalId, link.jobId);
  }
  return { validated: true, pushed: true, restarted, job: { id: job.id, state: job.status?.code ?? 'NotConfigured' } };
}
