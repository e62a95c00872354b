/**
 * The one error hierarchy. Each class carries its exit code (README "Exit codes") and a message
 * that says what to do next. Domain modules throw these; only src/cli/main.ts turns them into exits.
 */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  notConfigured: 3,
  auth: 4,
  securityCheck: 5,
  tokenExpiring: 10,
  tokenInvalid: 11,
  provisioningUnhealthy: 12,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

export interface ErrorDetails {
  /** The next step for the reader, shown on its own line ("→ …"). */
  hint?: string;
  /** Extra facts for support engineers, shown with --debug and in --json errors. */
  details?: Record<string, string | number | boolean | undefined>;
  cause?: unknown;
}

export class DirsyncError extends Error {
  readonly exitCode: ExitCodeValue = ExitCode.failed;
  readonly code: string = 'failed';
  readonly hint?: string;
  readonly details?: Record<string, string | number | boolean | undefined>;
  constructor(message: string, extra: ErrorDetails = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = new.target.name;
    this.hint = extra.hint;
    this.details = extra.details;
  }
}

/** The operation failed: network, server, unreadable state, unexpected. Exit 1. */
export class OperationError extends DirsyncError {}

/** Bad flag, malformed value, or a value missing where nothing may be asked. Exit 2. */
export class UsageError extends DirsyncError {
  override readonly exitCode = ExitCode.usage;
  override readonly code = 'usage';
}

/** The profile has no tenant configuration. Exit 3. */
export class NotConfiguredError extends DirsyncError {
  override readonly exitCode = ExitCode.notConfigured;
  override readonly code = 'not_configured';
}

/** Sign-in or consent failed, was denied, or is required. Exit 4. */
export class AuthError extends DirsyncError {
  override readonly exitCode = ExitCode.auth;
  override readonly code = 'auth';
}

/** Wrong admin password, or the check is locked. Exit 5. */
export class SecurityCheckError extends DirsyncError {
  override readonly exitCode = ExitCode.securityCheck;
  override readonly code = 'security_check';
}

/** A config file or database that cannot be read. Exit 1; never reset behind the user's back. */
export class StateError extends DirsyncError {
  override readonly code = 'state';
}

/** Ctrl-C, or a prompt cancelled. Exit 130. */
export class InterruptedError extends DirsyncError {
  override readonly exitCode = ExitCode.interrupted;
  override readonly code = 'interrupted';
  constructor(message = 'Interrupted.') {
    super(message);
  }
}
