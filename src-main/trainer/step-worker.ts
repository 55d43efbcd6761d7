/**
 * Entry of a training worker thread (core/parallel/engine.ts starts threads - 1 of them inside the
 * trainer process): loads the backend the main thread trains on (wasm with the studio's kernels),
 * then serves one model replica for data-parallel steps (core/parallel/replica.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { serveReplica } from '../core/parallel/replica.ts';
import { selectBackend, type BackendChoice } from './backend.ts';

const port = parentPort;
if (!port) throw new Error('step-worker.ts runs as a worker thread of the trainer, not on its own');
const { backend } = workerData as { backend: BackendChoice };
const { tf, info } = await selectBackend(backend);
if (info.backend !== backend) throw new Error(`the training worker thread could not load the '${backend}' backend: ${info.skipped.map((s) => s.reason).join('; ')}`);
serveReplica(tf, port);
