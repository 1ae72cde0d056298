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
  ])('refuses %j', (argv, msg) => expect(() => parseCli(argv)).toThrow(msg));
});
