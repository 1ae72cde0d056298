// The codec process: reads job frames on stdin, answers each on stdout (codec-jobs.ts), one at a
// time, and exits when stdin closes. A process rather than a worker thread because V8 keeps the
// pages of a terminated worker's heap in the process (nodejs/node#51868): after one 60 MB JSON body
// the runtime's RSS stayed 300–400 MiB above its baseline; a process gives all of it back on exit.
import { FrameReader } from './codec-frames.ts';
import { answer, type JobHeader } from './codec-jobs.ts';

const reader = new FrameReader<JobHeader>();
process.stdin.on('data', (chunk: Buffer) => {
  for (const job of reader.push(chunk)) {
    for (const part of answer(job)) process.stdout.write(part);
  }
});
// With stdin closed and stdout flushed nothing is left to do: the process exits by itself.
