/**
 * A request body over the limit: the client must read the 413 (a SCIM error), whether it sends
 * fast or slowly — not an EPIPE or a connection reset while it is still sending.
 */
import http from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startFixture, type ScimFixture } from '../support/scim-fixture.js';

let fx: ScimFixture;
afterEach(async () => {
  await fx?.close();
});

interface Outcome {
  status?: number;
  body?: any;
  /** An error the request raised after the answer was read (e.g. EPIPE once the server closed); harmless. */
  lateError?: string;
  bytesSent: number;
  /** Milliseconds from the first byte sent to the answer's status line. */
  answeredAfterMs?: number;
}

/**
 * POSTs `total` bytes of a JSON-ish body in `chunk`-sized pieces, `delayMs` apart (0: as fast as
 * the socket takes them). Like most HTTP clients it goes on sending its body after an answer has
 * arrived. Resolves once the answer has been read completely (or the request failed).
 */
function send(total: number, options: { chunk?: number; delayMs?: number; chunked?: boolean } = {}): Promise<Outcome> {
  const url = new URL(`${fx.server.tenantUrl}/Users`);
  const size = options.chunk ?? 1024 * 1024;
  const piece = Buffer.alloc(size, 'a');
  return new Promise((resolve, reject) => {
    const outcome: Outcome = { bytesSent: 0 };
    const started = Date.now();
    let done = false;
    const headers: Record<string, string> = { Authorization: `Bearer ${fx.code}`, 'Content-Type': 'application/scim+json' };
    if (!options.chunked) headers['Content-Length'] = String(total);
    const req = http.request(url, { method: 'POST', headers, agent: false }, (res) => {
      outcome.status = res.statusCode;
      outcome.answeredAfterMs = Date.now() - started;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        outcome.body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        done = true;
        resolve(outcome);
      });
      res.on('error', (error) => (done ? undefined : reject(error)));
    });
    req.on('error', (error) => {
      if (outcome.status !== undefined) outcome.lateError = (error as NodeJS.ErrnoException).code ?? error.message;
      else if (!done) reject(error);
    });
    const pump = () => {
      while (outcome.bytesSent < total && !req.destroyed) {
        const n = Math.min(size, total - outcome.bytesSent);
        outcome.bytesSent += n;
        const more = req.write(n === size ? piece : piece.subarray(0, n));
        if (outcome.bytesSent >= total) {
          req.end();
          return;
        }
        if (options.delayMs) {
          setTimeout(pump, options.delayMs);
          return;
        }
        if (!more) {
          req.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

function expect413(outcome: Outcome): void {
  expect(outcome.status).toBe(413);
  expect(outcome.body).toMatchObject({
    schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'],
    status: '413',
    detail: expect.stringMatching(/larger than 65536 bytes/),
  });
}

describe('an oversize request body is answered 413 and the client reads it', () => {
  it('a fast sender of 64 MiB (Content-Length) reads the 413 after its whole body was taken', async () => {
    fx = await startFixture({ maxBodyBytes: 64 * 1024 });
    const outcome = await send(64 * 1024 * 1024);
    expect413(outcome);
    expect(outcome.bytesSent).toBe(64 * 1024 * 1024);
    expect(outcome.lateError).toBeUndefined();
    expect(fx.logs.some((l) => /^POST \/scim\/v2\/Users 413 /.test(l) && !l.includes('body-not-drained'))).toBe(true);
    // The server is fine afterwards.
    const ok = await fetch(`${fx.server.tenantUrl}/Users?filter=userName%20eq%20%22x%22`, { headers: { Authorization: `Bearer ${fx.code}` } });
    expect(ok.status).toBe(200);
  });

  it('a fast sender of 64 MiB without a Content-Length (chunked) reads the 413', async () => {
    fx = await startFixture({ maxBodyBytes: 64 * 1024 });
    const outcome = await send(64 * 1024 * 1024, { chunked: true });
    expect413(outcome);
    expect(outcome.bytesSent).toBe(64 * 1024 * 1024);
    expect(outcome.lateError).toBeUndefined();
  });

  it('a slow sender gets the 413 when the time bound passes, mid-body, and the connection then closes', async () => {
    fx = await startFixture({ maxBodyBytes: 64 * 1024, oversize: { discardMs: 400, lingerMs: 5_000 } });
    const total = 4 * 1024 * 1024;
    // 16 KiB every 20 ms: the 4 MiB would take about 5 s.
    const outcome = await send(total, { chunk: 16 * 1024, delayMs: 20 });
    expect413(outcome);
    expect(outcome.answeredAfterMs).toBeGreaterThanOrEqual(350);
    expect(outcome.answeredAfterMs).toBeLessThan(3_000);
    expect(fx.logs.some((l) => /^POST \/scim\/v2\/Users 413 .*body-not-drained/.test(l))).toBe(true);
  });

  it('a body declared larger than the discard bound gets the 413 at once; the connection is closed after it', async () => {
    fx = await startFixture({ maxBodyBytes: 64 * 1024 });
    const url = new URL(fx.server.tenantUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    socket.setEncoding('utf8').on('data', (d) => (received += d));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => {});
    socket.write(
      `POST /scim/v2/Users HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${fx.code}\r\n` +
        `Content-Type: application/scim+json\r\nContent-Length: ${1024 * 1024 * 1024}\r\n\r\n`,
    );
    // Keep sending slowly; the answer must arrive anyway.
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const timer = setInterval(() => socket.writable && socket.write(chunk), 10);
    for (let i = 0; i < 200 && !received.includes('}'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toMatch(/\r\nconnection: close\r\n/i);
    expect(received).toMatch(/"status":"413"/);
    clearInterval(timer);
    socket.end();
    await closed;
  });

  it('Expect: 100-continue with a declared size over the limit: no invitation to send, the 413 at once', async () => {
    fx = await startFixture({ maxBodyBytes: 64 * 1024 });
    const url = new URL(fx.server.tenantUrl);
    const socket = net.connect(Number(url.port), url.hostname);
    let received = '';
    socket.setEncoding('utf8').on('data', (d) => (received += d));
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    socket.write(
      `POST /scim/v2/Users HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${fx.code}\r\n` +
        `Content-Type: application/scim+json\r\nContent-Length: ${10 * 1024 * 1024}\r\nExpect: 100-continue\r\n\r\n`,
    );
    for (let i = 0; i < 200 && !received.includes('}'); i++) await new Promise((r) => setTimeout(r, 10));
    expect(received).not.toMatch(/100 Continue/);
    expect(received).toMatch(/^HTTP\/1\.1 413 /);
    expect(received).toMatch(/"status":"413"/);
    socket.end();
    await closed;

    // Under the limit, the client is invited and the request goes through.
    const small = JSON.stringify({ userName: 'expect@contoso.com' });
    const ok = await new Promise<number | undefined>((resolve, reject) => {
      const req = http.request(`${fx.server.tenantUrl}/Users`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${fx.code}`, 'Content-Type': 'application/scim+json', 'Content-Length': String(small.length), Expect: '100-continue' },
      });
      req.on('continue', () => req.end(small));
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', reject);
    });
    expect(ok).toBe(201);
  });
});
