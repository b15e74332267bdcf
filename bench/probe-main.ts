import { MARKER, type ProbeRequest, probe } from './probe.js';

/** The child process of `runProbe()`: one probe, its result on one marked line. */
const request = JSON.parse(process.argv[2] ?? '{}') as ProbeRequest;
const result = await probe(request);
process.stdout.write(`${MARKER}${JSON.stringify(result)}\n`);
