import { UsageError } from '../errors.js';
import { AADSTS, AADSTS_REFERENCE, aadstsDocs } from '../entra/aadsts.js';
import { quarantineFix } from '../provisioning/status.js';

/** What `dirsync explain CODE` prints (`--json` keys). */
export interface Explanation {
  code: string;
  title: string;
  causes: string[];
  fix: string;
  docs: string;
}

const QUARANTINE_DOCS = 'https://learn.microsoft.com/entra/identity/app-provisioning/application-provisioning-quarantine-status';

/** Entra's provisioning quarantine reasons (synchronizationQuarantine.reason). */
const QUARANTINE: Record<string, { title: string; causes: string[]; docs?: string }> = {
  EncounteredQuarantineException: {
    title: "Entra's provisioning job is quarantined: the Tenant URL refused its credentials or did not answer.",
    causes: [
      'The Secret Code Entra holds expired or was revoked (`dirsync token status`).',
      '`dirsync serve` is not reachable at the Tenant URL from the internet (DNS, firewall, TLS certificate).',
      'The Tenant URL saved in Entra is not this directory\'s.',
    ],
  },
  EncounteredBaseEscrowThreshold: {
    title: 'Entra quarantined the job: too many users or groups failed to provision (escrows).',
    causes: ['Requests to the Tenant URL fail for many objects (see the serve log).', 'Attribute mappings send values the directory rejects.'],
  },
  EncounteredTotalEscrowThreshold: {
    title: 'Entra quarantined the job: the total number of failed objects passed its threshold.',
    causes: ['Requests to the Tenant URL fail for many objects (see the serve log).', 'Attribute mappings send values the directory rejects.'],
  },
  EncounteredEscrowProportionThreshold: {
    title: 'Entra quarantined the job: the share of failed objects passed its threshold.',
    causes: ['Requests to the Tenant URL fail for many objects (see the serve log).', 'Attribute mappings send values the directory rejects.'],
  },
  TooManyDeletes: {
    title: 'Entra stopped provisioning to prevent accidental deletions.',
    causes: ['A scoping change (assignments, scoping filter) took many users or groups out of scope.', 'Many users or groups were deleted or disabled in Entra ID at once.'],
    docs: 'https://learn.microsoft.com/entra/identity/app-provisioning/accidental-deletions',
  },
  QuarantinedOnDemand: {
    title: 'An administrator put the provisioning job in quarantine.',
    causes: ['Someone quarantined the job on purpose (Graph or the admin center).'],
  },
  IngestionInterrupted: {
    title: 'Entra could not read from Microsoft Entra ID itself.',
    causes: ['A transient problem inside Microsoft Entra.'],
  },
};

function aadsts(code: number): Explanation | undefined {
  const entry = AADSTS[code];
  if (!entry) return undefined;
  return {
    code: `AADSTS${code}`,
    title: entry.what,
    causes: entry.causes ?? [entry.what],
    fix: `Review ${entry.review}.`,
    docs: aadstsDocs(code),
  };
}

function quarantine(name: string): Explanation | undefined {
  const key = Object.keys(QUARANTINE).find((k) => k.toLowerCase() === name.toLowerCase());
  if (!key) return undefined;
  const q = QUARANTINE[key]!;
  return { code: key, title: q.title, causes: q.causes, fix: quarantineFix(key, null, 'dirsync token renew'), docs: q.docs ?? QUARANTINE_DOCS };
}

/** Every code `explain` knows, for "did you mean". */
export function knownCodes(): string[] {
  return [...Object.keys(AADSTS).map((c) => `AADSTS${c}`), ...Object.keys(QUARANTINE)];
}

/**
 * `AADSTS50011`, `50011` or a quarantine reason (`TooManyDeletes`, any case). An unknown code is a
 * usage error (exit 2) naming the nearest known ones.
 */
export function explain(input: string): Explanation {
  const text = input.trim();
  const numeric = /^(?:aadsts)?\s*(\d{4,8})$/i.exec(text);
  const found = numeric ? aadsts(Number(numeric[1])) : quarantine(text);
  if (found) return found;
  const nearest = nearestCodes(text, 3);
  throw new UsageError(`dirsync does not know the code "${text}".`, {
    hint:
      `Nearest known codes: ${nearest.join(', ')}. ` +
      (numeric ? `Microsoft's sign-in error reference covers every AADSTS code: ${AADSTS_REFERENCE}.` : 'Quarantine reasons: ' + Object.keys(QUARANTINE).join(', ') + '.'),
  });
}

export function nearestCodes(text: string, count: number): string[] {
  const digits = /^(?:aadsts)?\s*(\d+)$/i.exec(text.trim())?.[1];
  const candidates = digits ? Object.keys(AADSTS).map((c) => `AADSTS${c}`) : knownCodes();
  const key = digits ? `AADSTS${digits}` : text;
  return candidates
    .map((c) => ({ c, d: distance(key.toLowerCase(), c.toLowerCase()), n: digits ? Math.abs(Number(c.slice(6)) - Number(digits)) : 0 }))
    .sort((a, b) => a.d - b.d || a.n - b.n || a.c.localeCompare(b.c))
    .slice(0, count)
    .map((x) => x.c);
}

/** Levenshtein distance. */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}
