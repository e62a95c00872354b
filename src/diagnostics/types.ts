import type { DoctorCause } from '../entra/aadsts.js';

export type { DoctorCause } from '../entra/aadsts.js';

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'skip';

/** One line of `dirsync doctor`: what was checked, how it went, why, and what to change. */
export interface CheckResult {
  /** Stable: config, login-host, graph-host, clock, tenant, app-registration, last-failure, app-credential, signin, graph, provisioning-job, secret-code. */
  id: string;
  status: CheckStatus;
  /** Set when the check does not pass (warn or fail); null otherwise. */
  cause: DoctorCause | null;
  summary: string;
  /** The command or setting to change; null when passing or skipped. */
  fix: string | null;
}

export interface DoctorReport {
  ok: boolean;
  checks: CheckResult[];
}

export const pass = (id: string, summary: string): CheckResult => ({ id, status: 'pass', cause: null, summary, fix: null });
export const skip = (id: string, summary: string): CheckResult => ({ id, status: 'skip', cause: null, summary, fix: null });
export const fail = (id: string, cause: DoctorCause, summary: string, fix: string): CheckResult => ({ id, status: 'fail', cause, summary, fix });
export const warn = (id: string, cause: DoctorCause, summary: string, fix: string): CheckResult => ({ id, status: 'warn', cause, summary, fix });

/** A problem as a probe classifies it: the cause, in words, and the fix. */
export interface Diagnosis {
  cause: DoctorCause;
  summary: string;
  fix: string;
}
