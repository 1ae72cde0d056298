import { parseCli, parseDuration, validateOptions, validateTarget } from './options.ts';

const base = { maxRequests: 10, durationMs: 1000 };

describe('validateTarget', () => {
  it.each(['http://127.0.0.1:17081/', 'http://127.1.2.3/x?y=1', 'http://10.244.1.5:8080/v2'])(
    'accepts %s',
    (u) => {
      expect(validateTarget(u).href).toBe(new URL(u).href);
    },
  );
  it.each([
    ['http://localhost:17081/', 'UrlNotAllowed'],
    ['http://10.245.0.1/', 'UrlNotAllowed'],
    ['http://8.8.8.8/', 'UrlNotAllowed'],
    ['http://[::1]:80/', 'UrlNotAllowed'],
    ['https://127.0.0.1/', 'InvalidUrl'],
    ['not a url', 'InvalidUrl'],
  ])('refuses %s with %s', (u, code) => {
    expect(() => validateTarget(u)).toThrow(expect.objectContaining({ code }));
  });
  it('says how to fix a refused host', () => {
    expect(() => validateTarget('http://example.com/')).toThrow(
      /outside 127\.0\.0\.0\/8 and 10\.244\.0\.0\/16.*Host header/,
    );
  });
});

describe('validateOptions', () => {
  it('defaults to one closed-loop worker, GET, x-lab-backend, 10 s timeout', () => {
    const v = validateOptions({ url: 'http://127.0.0.1/', ...base });
    expect(v).toMatchObject({
      method: 'GET',
      mode: { kind: 'closed', concurrency: 1 },
      groupByHeader: 'x-lab-backend',
      timeoutMs: 10_000,
    });
  });
  it('a body makes the default method POST; header names are lower-cased', () => {
    const v = validateOptions({
      url: 'http://127.0.0.1/',
      ...base,
      body: '{}',
      headers: { Host: 'a.b.svc' },
    });
    expect(v.method).toBe('POST');
    expect(v.headers).toEqual({ host: 'a.b.svc' });
    expect(v.body).toEqual(new TextEncoder().encode('{}'));
  });
  it.each([
    [{ rate: 10, concurrency: 2 }, /either rate .* or concurrency/],
    [{ rate: 0 }, /rate must be/],
    [{ rate: 20_000 }, /rate must be/],
    [{ concurrency: 1.5 }, /concurrency must be an integer/],
    [{ maxRequests: 0 }, /maxRequests must be/],
    [{ maxRequests: 2_000_000 }, /maxRequests must be/],
    [{ durationMs: Number.POSITIVE_INFINITY }, /durationMs must be/],
    [{ durationMs: -1 }, /durationMs must be/],
    [{ timeoutMs: 0 }, /timeoutMs must be/],
  ])('refuses %o', (over, msg) => {
    expect(() => validateOptions({ url: 'http://127.0.0.1/', ...base, ...over })).toThrow(msg);
  });
});

describe('validateOptions: poison', () => {
  const url = 'http://127.0.0.1/';
  const body = JSON.stringify({
    inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
  });
  it('is off by default and for ratio 0', () => {
    expect(validateOptions({ url, ...base }).poison).toBeUndefined();
    expect(validateOptions({ url, ...base, poisonRatio: 0 }).poison).toBeUndefined();
  });
  it('derives the poison body from a v2 inference body', () => {
    const v = validateOptions({ url, ...base, body, poisonRatio: 0.02 });
    expect(v.poison?.ratio).toBe(0.02);
    expect(JSON.parse(new TextDecoder().decode(v.poison?.body))).toMatchObject({
      inputs: [{ data: [1000, 2, 3, 4] }],
    });
  });
  it('takes an explicit poison body as given', () => {
    expect(validateOptions({ url, ...base, body: 'a', poisonRatio: 1, poisonBody: 'b' }).poison).toEqual({
      ratio: 1,
      body: new TextEncoder().encode('b'),
    });
  });
  it('keeps a poison seed', () => {
    expect(validateOptions({ url, ...base, body, poisonRatio: 0.02, poisonSeed: 7 }).poison?.seed).toBe(7);
  });
  it.each([
    [{ poisonRatio: 0.1, body, poisonSeed: 1.5 }, /poisonSeed must be a whole number/],
    [{ poisonRatio: -0.1, body }, /poisonRatio must be a number in \[0, 1\]/],
    [{ poisonRatio: 1.5, body }, /poisonRatio must be/],
    [{ poisonRatio: Number.NaN, body }, /poisonRatio must be/],
    [{ poisonRatio: 0.1 }, /needs a poisonBody, or a body/],
    [
      { poisonRatio: 0.1, body: 'plain text' },
      /cannot derive a poison body .*not JSON; pass poisonBody \(--poison-body\)/,
    ],
  ])('refuses %o', (over, msg) => {
    expect(() => validateOptions({ url, ...base, ...over })).toThrow(msg);
  });
});

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['10s', 10_000],
    ['1.5s', 1500],
    ['2m', 120_000],
  ])('%s → %d ms', (t, ms) => expect(parseDuration('duration', t)).toBe(ms));
  it.each(['10', '10h', '', 's'])('refuses "%s"', (t) =>
    expect(() => parseDuration('duration', t)).toThrow(/needs a unit/),
  );
});

describe('parseCli', () => {
  it('maps flags to runLoad options', () => {
    const got = parseCli([
      '--url',
      'http://127.0.0.1:17081/v2',
      '-H',
      'Host: m.ns.svc',
      '--header',
      'x-a: b:c',
      '--rate',
      '50/s',
      '--duration',
      '10s',
      '--requests',
      '1000',
      '--json',
    ]);
    expect(got).toEqual({
      json: true,
      load: {
        url: 'http://127.0.0.1:17081/v2',
        headers: { host: 'm.ns.svc', 'x-a': 'b:c' },
        rate: 50,
        durationMs: 10_000,
        maxRequests: 1000,
        timeoutMs: 10_000,
      },
    });
  });
  it('maps the poison flags; a ratio may be a percentage', () => {
    const body = '{"inputs":[{"shape":[1,4],"data":[1,2,3,4]}]}';
    expect(
      parseCli(['--url', 'http://127.0.0.1/', '--body', body, '--poison-ratio', '0.02']).load,
    ).toMatchObject({ body, poisonRatio: 0.02 });
    expect(
      parseCli(['--url', 'http://127.0.0.1/', '--body', body, '--poison-ratio', '2%']).load.poisonRatio,
    ).toBe(0.02);
    expect(
      parseCli(['--url', 'http://127.0.0.1/', '--body', 'a', '--poison-ratio', '0.5', '--poison-body', 'b'])
        .load,
    ).toMatchObject({ poisonRatio: 0.5, poisonBody: 'b' });
  });
  it('has bounded defaults', () => {
    expect(parseCli(['--url', 'http://127.0.0.1/']).load).toMatchObject({
      maxRequests: 1000,
      durationMs: 10_000,
    });
  });
  it.each([
    [[], /--url is required/],
    [['--url', 'http://1.1.1.1/'], /outside/],
    [['--url', 'http://127.0.0.1/', '--bogus'], /Unknown option/],
    [['--url', 'http://127.0.0.1/', '-H', 'nocolon'], /name: value/],
    [['--url', 'http://127.0.0.1/', '--rate', 'fast'], /--rate "fast" is not a number/],
    [['--url', 'http://127.0.0.1/', '--duration', '10'], /needs a unit/],
    [
      ['--url', 'http://127.0.0.1/', '--body', '{}', '--poison-ratio', 'some'],
      /--poison-ratio "some" is not a number/,
    ],
    [
      ['--url', 'http://127.0.0.1/', '--body', '{}', '--poison-ratio', '%'],
      /--poison-ratio "%" is not a number/,
    ],
    [['--url', 'http://127.0.0.1/', '--body', '{}', '--poison-ratio', '200%'], /poisonRatio must be/],
    [['--url', 'http://127.0.0.1/', '--poison-ratio', '0.1'], /needs a poisonBody/],
  ])('refuses %j', (argv, msg) => expect(() => parseCli(argv)).toThrow(msg));
});
