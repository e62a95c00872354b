import { SECRET_CODE_PATTERN } from '../secrets/format.js';

// OAuth parameters in query strings and form bodies (`code=` is the authorization code).
const SECRET_PARAMS =
  'access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|code|code_verifier|device_code';
// JSON members; not `code`, which our own errors and Graph errors use for error names.
const SECRET_KEYS =
  'access_token|refresh_token|id_token|client_secret|client_assertion|assertion|password|code_verifier|device_code|secretCode|secret|authorization';

// No pattern matches across a line end, so a batch of log lines is redacted exactly as each line
// would be on its own (Output.log relies on it).
const PATTERNS: [RegExp, string][] = [
  [SECRET_CODE_PATTERN, 'dsync_[redacted]'],
  // The password of a database URL (postgres://USER:PASSWORD@HOST/DB).
  [/\b(postgres(?:ql)?:\/\/[^:/@\s]*):[^@\s]*@/gi, '$1:[redacted]@'],
  [/\b(Bearer|Basic)[ \t]+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]'],
  [/eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, '[redacted-jwt]'],
  [new RegExp(`\\b(${SECRET_PARAMS})=([^&\\s"']+)`, 'gi'), '$1=[redacted]'],
  [new RegExp(`"(${SECRET_KEYS})"[ \\t]*:[ \\t]*"(?:[^"\\\\\\n]|\\\\.)*"`, 'gi'), '"$1":"[redacted]"'],
];

/**
 * Removes secrets from text bound for stderr, logs and --debug: Secret Codes, bearer tokens, JWTs,
 * OAuth parameters (code, client_secret, tokens) and any literal registered with `add` (passwords).
 */
export class Redactor {
  private readonly literals = new Set<string>();

  add(secret: string | undefined): void {
    if (secret && secret.length >= 4) this.literals.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const literal of this.literals) out = out.split(literal).join('[redacted]');
    for (const [pattern, replacement] of PATTERNS) out = out.replace(pattern, replacement);
    return out;
  }
}
