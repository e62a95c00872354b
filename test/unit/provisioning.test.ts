import { describe, expect, it } from 'vitest';
import { provisioningJob, sameTenantUrl } from '../../src/provisioning/link.js';
import { describeInterval, jobUnhealthy, quarantineFix, summarizeJob } from '../../src/provisioning/status.js';

describe('which job provisions over SCIM', () => {
  it('prefers templateId scim, then customappsso…, else the only job; none among several unrelated', () => {
    const job = (templateId: string) => ({ id: `${templateId}.1`, templateId });
    expect(provisioningJob([job('AppManagement'), job('scim')])?.templateId).toBe('scim');
    expect(provisioningJob([job('AppManagement'), job('customappsso')])?.templateId).toBe('customappsso');
    expect(provisioningJob([job('whatever')])?.templateId).toBe('whatever');
    expect(provisioningJob([job('a'), job('b')])).toBeUndefined();
    expect(provisioningJob([])).toBeUndefined();
  });

  it('compares Tenant URLs without a trailing slash and with the host in any case', () => {
    expect(sameTenantUrl('https://Dirsync.Example.com/scim/v2/', 'https://dirsync.example.com/scim/v2')).toBe(true);
    expect(sameTenantUrl('https://dirsync.example.com/scim/v2', 'https://dirsync.example.com:8443/scim/v2')).toBe(false);
    expect(sameTenantUrl(undefined, 'https://dirsync.example.com/scim/v2')).toBe(false);
  });
});

describe('job status', () => {
  it('a quarantine for bad credentials tells the admin to renew with --push; escrows and deletes get their own fix', () => {
    expect(quarantineFix('EncounteredQuarantineException', 'SystemForCrossDomainIdentityManagementCredentialValidationUnavailable', 'dirsync token renew')).toMatch(
      /`dirsync token renew --push --restart-if-quarantined`/,
    );
    expect(quarantineFix('EncounteredEscrowProportionThreshold', null, 'x')).toMatch(/failed to provision/);
    expect(quarantineFix('TooManyDeletes', null, 'x')).toMatch(/Accidental deletions/);
    expect(quarantineFix('SomethingNew', null, 'x')).toMatch(/provisioning restart/);
  });

  it('summarises Graph\'s job: quarantine or a disabled schedule is unhealthy', () => {
    const active = summarizeJob({ id: 'scim.1', templateId: 'scim', schedule: { interval: 'PT40M', state: 'Active' }, status: { code: 'Active' } }, 'r');
    expect(active).toMatchObject({ state: 'Active', quarantine: null, disabled: false, interval: 'PT40M' });
    expect(jobUnhealthy(active)).toBe(false);
    const q = summarizeJob(
      { id: 'scim.1', templateId: 'scim', status: { code: 'Quarantine', quarantine: { reason: 'TooManyDeletes', currentBegan: '2026-11-30T10:00:00Z', seriesCount: 2 } } },
      'r',
    );
    expect(q.quarantine).toMatchObject({ reason: 'TooManyDeletes', since: '2026-11-30T10:00:00Z', seriesCount: 2 });
    expect(jobUnhealthy(q)).toBe(true);
    expect(jobUnhealthy(summarizeJob({ id: 'j', templateId: 'scim', schedule: { state: 'Disabled' }, status: { code: 'Paused' } }, 'r'))).toBe(true);
  });

  it('describes Entra\'s ISO-8601 intervals in words', () => {
    expect(describeInterval('PT40M')).toBe('every 40 minutes');
    expect(describeInterval('PT1H30M')).toBe('every 1 hour 30 minutes');
    expect(describeInterval('P1D')).toBe('every 1 day');
    expect(describeInterval(null)).toBe('unknown');
  });
});
