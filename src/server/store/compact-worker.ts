// Worker thread entry for compactor.ts: one compaction job (workerData), then exit.
import { parentPort, workerData } from 'node:worker_threads';
import { createIpam, restoreIpam } from '../../ipam/index.js';
import { compactFromLog, type CompactJob } from './compactor.js';

compactFromLog(workerData as CompactJob, (snapshot) => (snapshot ? restoreIpam(snapshot) : createIpam())).then(
  () => parentPort!.postMessage({}),
  (e: Error) => parentPort!.postMessage({ error: e.message }),
);
