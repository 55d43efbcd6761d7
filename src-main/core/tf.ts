/**
 * The tfjs namespace type. Core code never imports tfjs at run time: the trainer chooses the
 * backend (tfjs-node, wasm or cpu) and injects the namespace it loaded, so one code path serves all.
 */
import type * as tfjs from '@tensorflow/tfjs';

export type Tf = typeof tfjs;
