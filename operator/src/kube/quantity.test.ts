import { describe, expect, test } from '@jest/globals';
import { parseQuantity, quantityValue, sameQuantity } from './quantity.ts';

const n = (nanos: bigint | number) => BigInt(nanos);
const G = 10n ** 9n;

describe('parseQuantity (value in nano-units)', () => {
  test.each([
    // decimal SI
    ['0', n(0)],
    ['1', G],
    ['+1', G],
    ['-1', -G],
    ['1000m', G],
    ['250m', 250_000_000n],
    ['1.5', 1_500_000_000n],
    ['1.', G],
    ['.5', 500_000_000n],
    ['007', 7n * G],
    ['1n', n(1)],
    ['1u', n(1000)],
    ['2k', 2000n * G],
    ['1M', 10n ** 6n * G],
    ['1G', 10n ** 9n * G],
    ['1T', 10n ** 12n * G],
    ['1P', 10n ** 15n * G],
    ['1E', 10n ** 18n * G], // exa, not an exponent
    ['1.5G', 1_500_000_000n * G],
    // binary SI
    ['1Ki', 1024n * G],
    ['1024Mi', 2n ** 30n * G],
    ['1Gi', 2n ** 30n * G],
    ['1.5Gi', 1536n * 2n ** 20n * G],
    ['0.5Ki', 512n * G],
    ['1Ti', 2n ** 40n * G],
    ['1Pi', 2n ** 50n * G],
    ['1Ei', 2n ** 60n * G],
    // exponent forms
    ['1e3', 1000n * G],
    ['1E3', 1000n * G],
    ['1e+3', 1000n * G],
    ['1.5e3', 1500n * G],
    ['12e-3', 12_000_000n],
    ['1e-9', n(1)],
    ['1e0', G],
    // rounded up to the nano, as the server stores it
    ['0.1n', n(1)],
    ['1.0000000001', G + 1n],
    ['-0.1n', n(-1)],
    ['1e-100', n(1)],
    // capped like the server caps binary SI
    ['100000Ei', (2n ** 63n - 1n) * G],
    // JSON numbers and blanks, as the server's JSON decoding
    [2, 2n * G],
    [0.5, 500_000_000n],
    [1e21, 10n ** 21n * G],
    [' 1Gi ', 2n ** 30n * G],
  ])('%j is %s nanos', (input, want) => {
    expect(parseQuantity(input)).toBe(want);
  });

  test.each([
    [''],
    ['.'],
    ['-'],
    ['1K'],
    ['1ki'],
    ['1Gb'],
    ['1e'],
    ['1e1.5'],
    ['1 Gi'],
    ['1.2.3'],
    ['e3'],
    ['0x10'],
    ['1e99999'],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [null],
    [undefined],
    [{}],
    [true],
  ])('%j is not a quantity', (input) => {
    expect(parseQuantity(input)).toBeUndefined();
  });
});

describe('sameQuantity', () => {
  test.each([
    ['1000m', '1', true],
    ['1024Mi', '1Gi', true],
    ['1Gi', '1073741824', true],
    ['1k', '1e3', true],
    ['0.5', '500m', true],
    [1, '1', true],
    [2, '2000m', true],
    ['1.5Gi', '1536Mi', true],
    ['1', '1001m', false],
    ['1Gi', '1G', false],
    ['1', '-1', false],
    ['1', 'one', false],
    ['x', 'x', false], // not quantities at all: equality is the caller's business
    [undefined, '1', false],
  ])('%j and %j: %s', (a, b, want) => {
    expect(sameQuantity(a, b)).toBe(want);
    expect(sameQuantity(b, a)).toBe(want);
  });
});

describe('quantityValue', () => {
  test.each([
    ['500m', 0.5],
    ['2', 2],
    ['128Mi', 128 * 2 ** 20],
    ['1e3', 1000],
    ['-1500m', -1.5],
    ['1n', 1e-9],
    [2, 2],
  ])('%j is %d', (input, want) => {
    expect(quantityValue(input)).toBe(want);
  });
  test('undefined for a non-quantity', () => {
    expect(quantityValue('lots')).toBeUndefined();
  });
});
