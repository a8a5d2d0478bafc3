// Child process entry for compactor.ts: one compaction job (the first IPC message), then exit.
import { createIpam, restoreIpam } from '../../ipam/index.js';
import { compactFromLog, type CompactJob } from './compactor.js';

// A server killed mid-compaction closes the channel: stop too (a half-written .tmp is
// removed when the server starts again).
process.once('disconnect', () => process.exit(1));

process.once('message', (job: CompactJob) => {
  compactFromLog(job, (snapshot) => (snapshot ? restoreIpam(snapshot) : createIpam())).then(
    () => process.send!({}, () => process.exit(0)),
    (e: Error) => process.send!({ error: e.message }, () => process.exit(0)),
  );
});
