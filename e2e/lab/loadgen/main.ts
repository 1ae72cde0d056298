// CLI for the lab load generator. Example:
//   node e2e/lab/loadgen/main.ts --url http://127.0.0.1:17081/ -H 'host: echo.demo.svc' --rate 50 --duration 10s --requests 1000
//   node e2e/lab/loadgen/main.ts --url http://127.0.0.1:17081/v2/models/m/infer -H 'host: m.ns.lab' --rate 20 \
//     --body '{"inputs":[{"name":"features","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}' --poison-ratio 2%
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
    if (result.poisonRatio > 0) {
      const { poisoned, count } = result.total;
      process.stdout.write(
        `poisoned ${poisoned} of ${count} (${((poisoned / Math.max(count, 1)) * 100).toFixed(2)}%, ratio ${result.poisonRatio})\n`,
      );
    }
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
