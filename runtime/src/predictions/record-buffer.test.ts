import { describe, expect, test } from '@jest/globals';
import fc from 'fast-check';
import { RecordBuffer, recordBytes, recordTooLarge, retryDelayMs, type BufferedRecord } from './record-buffer.ts';

const rec = (i: number, size = 10): BufferedRecord => ({ key: `id-${i}`, value: 'x'.repeat(size) });

describe('record buffer', () => {
  test('refuses a record that would take it past its bound, and takes records again once acknowledged ones leave', () => {
    const one = recordBytes(rec(0));
    const b = new RecordBuffer(3 * one);
    expect([b.push(rec(0)), b.push(rec(1)), b.push(rec(2)), b.push(rec(3))]).toEqual([true, true, true, false]);
    expect(b.bytes).toBe(3 * one);
    expect(b.nextBatch(2, Infinity).map((r) => r.key)).toEqual(['id-0', 'id-1']);
    // In flight, the records still count: nothing more fits until the broker acknowledges them.
    expect(b.push(rec(4))).toBe(false);
    expect(b.ack()).toBe(2);
    expect(b.records).toBe(1);
    expect(b.push(rec(5))).toBe(true);
    expect(b.nextBatch(10, Infinity).map((r) => r.key)).toEqual(['id-2', 'id-5']);
  });

  test('a failed batch stays at the head and is sent again first; one batch in flight at a time', () => {
    const b = new RecordBuffer(1 << 20);
    for (let i = 0; i < 5; i++) b.push(rec(i));
    expect(b.nextBatch(3, Infinity).map((r) => r.key)).toEqual(['id-0', 'id-1', 'id-2']);
    expect(b.nextBatch(3, Infinity)).toEqual([]);
    expect(b.nack()).toBe(3);
    expect(b.inFlight).toBe(0);
    expect(b.records).toBe(5);
    expect(b.nextBatch(10, Infinity).map((r) => r.key)).toEqual(['id-0', 'id-1', 'id-2', 'id-3', 'id-4']);
  });

  test('a batch stops at its byte limit but always holds at least one record', () => {
    const b = new RecordBuffer(1 << 20);
    b.push(rec(0, 1000));
    b.push(rec(1, 10));
    expect(b.nextBatch(10, 100).map((r) => r.key)).toEqual(['id-0']);
    b.ack();
    expect(b.nextBatch(10, 10_000).map((r) => r.key)).toEqual(['id-1']);
  });

  test('rejects a bound that is not a positive whole number of bytes', () => {
    expect(() => new RecordBuffer(0)).toThrow(RangeError);
    expect(() => new RecordBuffer(1.5)).toThrow(RangeError);
  });

  test('property: under any mix of writes, successes and failures, the bound holds and every accepted record is acknowledged once, in order', () => {
    const op = fc.oneof(fc.record({ push: fc.integer({ min: 0, max: 300 }) }), fc.record({ send: fc.integer({ min: 1, max: 8 }), ok: fc.boolean() }));
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 5000 }), fc.array(op, { maxLength: 300 }), (bound, ops) => {
        const b = new RecordBuffer(bound);
        const accepted: string[] = [];
        const delivered: string[] = [];
        let n = 0;
        for (const o of ops) {
          if ('push' in o) {
            const r = rec(n++, o.push);
            if (b.push(r)) accepted.push(r.key);
          } else {
            const batch = b.nextBatch(o.send, 600);
            if (o.ok) {
              delivered.push(...batch.map((r) => r.key));
              b.ack();
            } else b.nack();
          }
          expect(b.bytes).toBeLessThanOrEqual(bound);
        }
        for (let batch = b.nextBatch(1000, Infinity); batch.length > 0; batch = b.nextBatch(1000, Infinity)) {
          delivered.push(...batch.map((r) => r.key));
          b.ack();
        }
        expect(delivered).toEqual(accepted);
        expect(b.bytes).toBe(0);
      }),
    );
  });

  test('compacts its queue: a long run of records leaves memory proportional to what is held', () => {
    const b = new RecordBuffer(1 << 30);
    for (let i = 0; i < 100_000; i++) {
      b.push(rec(i));
      if (i % 10 === 9) {
        b.nextBatch(10, Infinity);
        b.ack();
      }
    }
    expect(b.records).toBe(0);
    expect((b as unknown as { queue: unknown[] }).queue.length).toBeLessThan(4096);
  });
});

describe('retry delay', () => {
  test('doubles from the base, is capped, and jitter scales it to between half and all of it', () => {
    expect([1, 2, 3, 4, 10].map((a) => retryDelayMs(a, 100, 2000, 0.999999))).toEqual([100, 200, 400, 800, 2000]);
    expect(retryDelayMs(1, 100, 2000, 0)).toBe(50);
    expect(retryDelayMs(1000, 100, 2000, 0)).toBe(1000);
    expect(retryDelayMs(3, 100, 2000, 0.5)).toBe(300);
  });
});

describe('record size limit (the broker\'s message.max.bytes)', () => {
  test('counts UTF-8 bytes of key and value: ASCII up to the limit passes, multi-byte text is measured', () => {
    expect(recordTooLarge('k', 'x'.repeat(99), 100)).toBe(false);
    expect(recordTooLarge('k', 'x'.repeat(100), 100)).toBe(true);
    expect(recordTooLarge('', 'é'.repeat(50), 100)).toBe(false); // 100 bytes
    expect(recordTooLarge('', 'é'.repeat(51), 100)).toBe(true); // 102 bytes, 51 UTF-16 units
    expect(recordTooLarge('', '€'.repeat(34), 100)).toBe(true); // 102 bytes
  });
});
