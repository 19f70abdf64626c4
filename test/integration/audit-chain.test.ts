// The audit chain against DynamoDB Local: tampering of every kind is found by /audit/verify, and
// concurrent writers never share a seq.
import { describe, expect, it } from 'vitest';
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { useApi } from '../support/api.js';
import { appendAudit } from '../../functions/adapters/audit.js';
import { listAudit } from '../../functions/adapters/audit.js';

const api = useApi();
const table = () => `${api.tables.prefix}audit`;

async function seed(stream: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendAudit([{ stream, actor: 'test', action: 'test.step', details: { i, note: `step ${i}` } }], new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
  }
}

async function verify(stream: string) {
  const r = await api.call('GET', `/audit/verify?stream=${encodeURIComponent(stream)}`);
  expect(r.status).toBe(200);
  return r.body as { valid: boolean; checked: number; firstBrokenSeq?: number; head: { seq: number } | null };
}

const key = (stream: string, seq: number) => ({ stream: { S: stream }, seq: { N: String(seq) } });

async function rawGet(stream: string, seq: number) {
  const out = await api.tables.client.send(new GetItemCommand({ TableName: table(), Key: key(stream, seq) }));
  return out.Item!;
}

describe('audit verification finds tampering', () => {
  it('an untouched stream verifies', async () => {
    await seed('target:clean', 5);
    expect(await verify('target:clean')).toMatchObject({ valid: true, checked: 5, head: { seq: 5 } });
  });

  it('an altered record', async () => {
    await seed('target:altered', 5);
    const item = await rawGet('target:altered', 3);
    item.details!.M!.note = { S: 'rewritten' };
    await api.tables.client.send(new PutItemCommand({ TableName: table(), Item: item }));
    expect(await verify('target:altered')).toMatchObject({ valid: false, firstBrokenSeq: 3 });
  });

  it('an altered record whose hash was recomputed breaks the next link', async () => {
    await seed('target:rehashed', 5);
    const { hashRecord } = await import('../../functions/core/audit.js');
    const page = await listAudit('target:rehashed', 10, 0);
    const rec = { ...page.items[1]!, details: { i: 99 } };
    const { hash: _h, ...rest } = rec;
    void _h;
    const forged = { ...rest, hash: hashRecord(rest) };
    const { marshall } = await import('@aws-sdk/util-dynamodb');
    await api.tables.client.send(new PutItemCommand({ TableName: table(), Item: marshall(forged) }));
    expect(await verify('target:rehashed')).toMatchObject({ valid: false, firstBrokenSeq: 3 });
  });

  it('a record deleted in the middle', async () => {
    await seed('target:gap', 5);
    await api.tables.client.send(new DeleteItemCommand({ TableName: table(), Key: key('target:gap', 2) }));
    expect(await verify('target:gap')).toMatchObject({ valid: false, firstBrokenSeq: 2 });
  });

  it('the last record deleted (cut off the end) is caught by the head', async () => {
    await seed('target:cut', 5);
    await api.tables.client.send(new DeleteItemCommand({ TableName: table(), Key: key('target:cut', 5) }));
    expect(await verify('target:cut')).toMatchObject({ valid: false, firstBrokenSeq: 5, head: { seq: 5 } });
  });

  it('two records swapped', async () => {
    await seed('target:swap', 5);
    const a = await rawGet('target:swap', 2);
    const b = await rawGet('target:swap', 3);
    await api.tables.client.send(new PutItemCommand({ TableName: table(), Item: { ...b, seq: { N: '2' } } }));
    await api.tables.client.send(new PutItemCommand({ TableName: table(), Item: { ...a, seq: { N: '3' } } }));
    expect(await verify('target:swap')).toMatchObject({ valid: false, firstBrokenSeq: 2 });
  });
});

describe('concurrent appends', () => {
  it('never share a seq and leave a valid chain', async () => {
    const stream = 'target:race';
    const writers = 12;
    await Promise.all(
      Array.from({ length: writers }, (_, w) =>
        (async () => {
          for (let i = 0; i < 3; i++) await appendAudit([{ stream, actor: `writer-${w}`, action: 'race', details: { w, i } }], new Date());
        })(),
      ),
    );
    const page = await listAudit(stream, 1000, 0);
    const seqs = page.items.map((r) => r.seq);
    expect(seqs).toEqual(Array.from({ length: writers * 3 }, (_, i) => i + 1));
    expect(new Set(page.items.map((r) => `${r.details.w}/${r.details.i}`)).size).toBe(writers * 3);
    expect(await verify(stream)).toMatchObject({ valid: true, checked: writers * 3 });
  });
});
