// CLI for the lab load generator. Example:
//   node e2e/lab/loadgen/main.ts --url http://127.0.0.1:17081/ -H 'host: echo.demo.svc' --rate 50 --duration 10s --requests 1000
import { LoadgenError, parseCli } from './options.ts';
import { runLoad } from './run-load.ts';
import { formatTable } from './stats.ts';

async function main(): Promise<number> {
  const { load, json } = parseCli(process.argv.slice(2));
  const ac = new AbortController();
  process.once('SIGINT', () => ac.abort());
  const result = await runLoad({ ...load, signal: ac.signal });
  if (json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    process.stdout.write(`${formatTable(result, result.groupByHeader)}\n`);
    process.stdout.write(
      `${result.mode} loop: sent ${result.sent}${result.dropped ? `, dropped ${result.dropped}` : ''} in ${(result.durationMs / 1000).toFixed(1)}s ` +
        `(${result.throughput} req/s), stopped by ${result.stoppedBy}\n`,
    );
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(
      `loadgen: ${err instanceof LoadgenError ? `${err.code}: ` : ''}${(err as Error).message}\n`,
    );
    process.exit(2);
  },
);
