// The lab's crash image: runs for CRASH_AFTER_MS (default 300 ms) and exits with CRASH_EXIT_CODE
// (default 1), so restart policy and restartCount can be tested.
const after = Number(process.env.CRASH_AFTER_MS ?? 300);
const code = Number(process.env.CRASH_EXIT_CODE ?? 1);
process.stdout.write(`crash: exiting with ${code} in ${after} ms\n`);
setTimeout(() => process.exit(code), after);
