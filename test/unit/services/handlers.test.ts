import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMAND_NAMES } from '../../../src-main/contract/index.ts';
import type { Handlers } from '../../../src-main/services/studio.ts';
import { createStudio } from '../../../src-main/services/studio.ts';
import { fakeLauncher } from '../../helpers/fake-trainer.ts';
import { tmpDir } from '../../helpers/tmp.ts';

// Compile-time: a handler map missing a command does not typecheck (tsc runs over this file in
// `npm test`; if the line below stopped being an error, the directive itself would fail the build).
// @ts-expect-error 'training.active' (and the others) are missing
const _incomplete: Handlers = { 'app.info': () => ({}) as never };
void _incomplete;

test('every command of the contract reaches a handler', async () => {
  const studio = createStudio({ dataDir: tmpDir(), mode: 'cli', launcher: fakeLauncher() });
  try {
    for (const name of COMMAND_NAMES) {
      const r = await studio.dispatch(name, {});
      // Inputs are deliberately empty: a command may refuse them, but never as unknown or as a crash.
      if (!r.ok) assert.ok(['INVALID_INPUT', 'NOT_FOUND'].includes(r.error.code), `${name}: ${r.error.code} ${r.error.message}`);
    }
  } finally {
    await studio.close();
  }
});
