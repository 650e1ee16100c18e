// Verifies an export of privateca's audit log (`npm run audit:export > audit.jsonl`) with node:crypto
// alone, as docs/audit.md defines it:   node docs/verify-audit.mjs audit.jsonl audit.pub
import { createHash, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';

const [file, keyFile] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const fail = (seq, why) => (console.log(`BAD at seq ${seq}: ${why}`), process.exit(1));
// RFC 8785 for the values events hold: keys sorted by UTF-16 code units, no white space.
const canonical = (v) =>
  v === null || typeof v !== 'object' ? JSON.stringify(v)
  : Array.isArray(v) ? `[${v.map(canonical).join(',')}]`
  : `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`).join(',')}}`;

let checkpoint;
let prev = Buffer.alloc(32);
let seq = 0;
for (const line of lines) {
  const c = line.checkpoint ?? line.archivedThrough;
  if (c) {
    const text = `privateca audit checkpoint v1\nsize ${c.size}\nhash ${c.hash}\ntime ${c.time}\n`;
    const ok = verify('sha256', Buffer.from(text), { key: readFileSync(keyFile), dsaEncoding: 'der' }, Buffer.from(c.signature, 'base64'));
    if (!ok) fail(c.size, 'the checkpoint signature does not verify');
    if (line.checkpoint) checkpoint = c;
    else [prev, seq] = [Buffer.from(c.hash, 'hex'), c.size]; // events up to it were archived
    continue;
  }
  const { hash, ...event } = line;
  if (event.seq !== ++seq) fail(seq, `the next event has seq ${event.seq}`);
  prev = createHash('sha256').update(prev).update(canonical(event), 'utf8').digest();
  if (prev.toString('hex') !== hash) fail(seq, 'it does not hash to its recorded chain hash');
  if (checkpoint && seq === checkpoint.size && hash !== checkpoint.hash) fail(seq, 'the chain is not the one the checkpoint signed');
}
if (checkpoint && seq < checkpoint.size) fail(seq + 1, `the checkpoint covers ${checkpoint.size} events, the export ends at ${seq}`);
console.log(`OK: ${seq} events${checkpoint ? `, checkpoint of ${checkpoint.size} signed ${checkpoint.time}` : ''}`);
