// `npm run lab -- up | down | status | images`
import { down, images, status, up } from './lab.ts';
import { labPaths } from './lab-config.ts';

const log = (msg: string): void => {
  process.stderr.write(`[lab] ${msg}\n`);
};

async function main(): Promise<number> {
  const cmd = process.argv[2];
  switch (cmd) {
    case 'up':
      await up(log);
      return 0;
    case 'down':
      await down(log);
      return 0;
    case 'images': {
      // Rebuild what changed and push it; the running kubelet pulls the new digests for new pods.
      const d = await images(log);
      for (const [name, ref] of Object.entries(d.refs)) process.stdout.write(`${name.padEnd(10)} ${ref}\n`);
      return 0;
    }
    case 'status': {
      const s = await status();
      for (const c of s.components) {
        // The operator is the demo's, not a lab part: absent is not a fault of the lab.
        const idle = c.name === 'operator' ? 'not running (npm run demo starts it)' : 'stopped';
        process.stdout.write(`${c.name.padEnd(24)} ${c.pid === undefined ? idle : `running (pid ${c.pid})`}\n`);
      }
      process.stdout.write(`api server ready: ${s.apiserverReady}\n${s.nodes}`);
      if (s.apiserverReady) process.stdout.write(`\nenvironment: source ${labPaths.env}\n`);
      return 0;
    }
    default:
      process.stderr.write('usage: npm run lab -- up | down | status | images\n');
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
