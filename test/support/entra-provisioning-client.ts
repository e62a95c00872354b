/**
 * Plays Microsoft Entra's provisioning service against a SCIM Tenant URL, over real HTTP, in either
 * of Entra's PATCH dialects: 'legacy' (the default job: "Replace"/"Add"/"Remove", active as
 * "False", member removal by a value list) and 'aadOptscim062020' (the flag on the Tenant URL:
 * lowercase ops, active as a boolean, path-less replace with dotted and URN keys,
 * `members[value eq "…"]`). Request shapes follow Microsoft's "Develop and plan provisioning for a
 * SCIM endpoint" and "Known issues and resolutions with SCIM 2.0 protocol compliance".
 */
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';

export type Dialect = 'legacy' | 'aadOptscim062020';

export interface ScimResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  text: string;
}

export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface EntraUser {
  userName: string;
  externalId: string;
  givenName: string;
  familyName: string;
  email: string;
  displayName?: string;
  department?: string;
  employeeNumber?: string;
  managerId?: string;
}

export class EntraProvisioningClient {
  constructor(
    readonly tenantUrl: string,
    readonly token: string | undefined,
    readonly dialect: Dialect = 'aadOptscim062020',
  ) {}

  /** One request; the flag rides on every URL in the aadOptscim062020 dialect, as Entra does. */
  request(
    method: string,
    path: string,
    body?: unknown,
    options: { userAgent?: string | null; rawBody?: string | Buffer; headers?: Record<string, string> } = {},
  ): Promise<ScimResponse> {
    let target = `${this.tenantUrl}${path}`;
    if (this.dialect === 'aadOptscim062020') target += `${target.includes('?') ? '&' : '?'}aadOptscim062020`;
    const url = new URL(target);
    const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
    const headers: Record<string, string> = { Accept: 'application/scim+json', ...(options.headers ?? {}) };
    if (this.token !== undefined) headers.Authorization = `Bearer ${this.token}`;
    if (options.userAgent) headers['User-Agent'] = options.userAgent;
    if (payload !== undefined) {
      headers['Content-Type'] = 'application/scim+json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, agent: false, rejectUnauthorized: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: parsed, text });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.setTimeout(15_000, () => req.destroy(new Error(`timeout: ${method} ${path}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  private op(name: 'add' | 'replace' | 'remove'): string {
    return this.dialect === 'legacy' ? name[0]!.toUpperCase() + name.slice(1) : name;
  }

  /** Test Connection: a filter on a random userName, without a User-Agent. Expects 200 + empty list. */
  testConnection(): Promise<ScimResponse> {
    const filter = encodeURIComponent(`userName eq "${randomUUID()}"`);
    return this.request('GET', `/Users?filter=${filter}`, undefined, { userAgent: null });
  }

  findUser(userName: string): Promise<ScimResponse> {
    return this.request('GET', `/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
  }

  getUser(id: string): Promise<ScimResponse> {
    return this.request('GET', `/Users/${id}`);
  }

  createUser(u: EntraUser): Promise<ScimResponse> {
    const body: Record<string, unknown> = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ENTERPRISE],
      externalId: u.externalId,
      userName: u.userName,
      active: true,
      displayName: u.displayName ?? `${u.givenName} ${u.familyName}`,
      emails: [{ primary: true, type: 'work', value: u.email }],
      meta: { resourceType: 'User' },
      name: { formatted: `${u.givenName} ${u.familyName}`, familyName: u.familyName, givenName: u.givenName },
      roles: [],
    };
    if (u.department || u.employeeNumber) {
      body[ENTERPRISE] = { department: u.department, employeeNumber: u.employeeNumber };
    }
    return this.request('POST', '/Users', body);
  }

  /** Updates several attributes, shaped as each dialect sends it. */
  updateUser(id: string, changes: { displayName?: string; email?: string; givenName?: string; familyName?: string; employeeNumber?: string }): Promise<ScimResponse> {
    const ops: Record<string, unknown>[] = [];
    if (this.dialect === 'legacy') {
      if (changes.displayName) ops.push({ op: 'Replace', path: 'displayName', value: changes.displayName });
      if (changes.email) ops.push({ op: 'Replace', path: 'emails[type eq "work"].value', value: changes.email });
      if (changes.givenName) ops.push({ op: 'Replace', path: 'name.givenName', value: changes.givenName });
      if (changes.familyName) ops.push({ op: 'Replace', path: 'name.familyName', value: changes.familyName });
      if (changes.employeeNumber) ops.push({ op: 'Replace', path: `${ENTERPRISE}:employeeNumber`, value: changes.employeeNumber });
    } else {
      if (changes.email) ops.push({ op: 'replace', path: 'emails[type eq "work"].value', value: changes.email });
      const value: Record<string, unknown> = {};
      if (changes.displayName) value.displayName = changes.displayName;
      if (changes.givenName) value['name.givenName'] = changes.givenName;
      if (changes.familyName) value['name.familyName'] = changes.familyName;
      if (changes.employeeNumber) value[`${ENTERPRISE}:employeeNumber`] = changes.employeeNumber;
      if (Object.keys(value).length) ops.push({ op: 'replace', value });
    }
    return this.patch('Users', id, ops);
  }

  setManager(id: string, managerId: string): Promise<ScimResponse> {
    return this.patch('Users', id, [{ op: this.op('add'), path: `${ENTERPRISE}:manager`, value: managerId }]);
  }

  setActive(id: string, active: boolean): Promise<ScimResponse> {
    const value = this.dialect === 'legacy' ? (active ? 'True' : 'False') : active;
    return this.patch('Users', id, [{ op: this.op('replace'), path: 'active', value }]);
  }

  deleteUser(id: string): Promise<ScimResponse> {
    return this.request('DELETE', `/Users/${id}`);
  }

  findGroup(displayName: string): Promise<ScimResponse> {
    return this.request('GET', `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${displayName}"`)}`);
  }

  getGroup(id: string, withMembers = false): Promise<ScimResponse> {
    return this.request('GET', `/Groups/${id}${withMembers ? '' : '?excludedAttributes=members'}`);
  }

  createGroup(displayName: string, externalId = randomUUID()): Promise<ScimResponse> {
    return this.request('POST', '/Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group', 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
      externalId,
      displayName,
      meta: { resourceType: 'Group' },
    });
  }

  addMembers(groupId: string, memberIds: string[]): Promise<ScimResponse> {
    return this.patch('Groups', groupId, [
      { op: this.op('add'), path: 'members', value: memberIds.map((value) => ({ $ref: null, value })) },
    ]);
  }

  removeMembers(groupId: string, memberIds: string[]): Promise<ScimResponse> {
    if (this.dialect === 'legacy') {
      return this.patch('Groups', groupId, [{ op: 'Remove', path: 'members', value: memberIds.map((value) => ({ value })) }]);
    }
    return this.patch('Groups', groupId, memberIds.map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })));
  }

  renameGroup(groupId: string, displayName: string): Promise<ScimResponse> {
    if (this.dialect === 'legacy') {
      return this.patch('Groups', groupId, [{ op: 'Replace', path: 'displayName', value: displayName }]);
    }
    return this.patch('Groups', groupId, [{ op: 'replace', value: { id: groupId, displayName } }]);
  }

  deleteGroup(id: string): Promise<ScimResponse> {
    return this.request('DELETE', `/Groups/${id}`);
  }

  patch(resource: 'Users' | 'Groups', id: string, operations: Record<string, unknown>[]): Promise<ScimResponse> {
    return this.request('PATCH', `/${resource}/${id}`, { schemas: [PATCH_OP], Operations: operations });
  }

  /**
   * Entra's cycle for one user: look it up by userName; create it if absent; on 409 (a create that
   * raced or was retried) look it up again and update instead. Returns the SCIM id.
   */
  async provisionUser(u: EntraUser): Promise<{ id: string; created: boolean }> {
    const found = await this.findUser(u.userName);
    if (found.status !== 200) throw new Error(`filter failed: ${found.status} ${found.text}`);
    if (found.body.totalResults > 0) {
      const id = found.body.Resources[0].id as string;
      await this.updateUser(id, { displayName: u.displayName ?? `${u.givenName} ${u.familyName}`, email: u.email });
      return { id, created: false };
    }
    const created = await this.createUser(u);
    if (created.status === 201) return { id: created.body.id, created: true };
    if (created.status === 409) {
      const again = await this.findUser(u.userName);
      if (again.body?.totalResults === 1) return { id: again.body.Resources[0].id, created: false };
    }
    throw new Error(`create failed: ${created.status} ${created.text}`);
  }
}

export function entraUser(n: number | string, domain = 'contoso.com'): EntraUser {
  return {
    userName: `user${n}@${domain}`,
    externalId: randomUUID(),
    givenName: `Given${n}`,
    familyName: `Family${n}`,
    email: `user${n}@mail.${domain}`,
  };
}
