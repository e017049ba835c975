// The filter for kafkajs' negative-timer warning (services/platform/kafka/kafkajs-timer-warning.ts) runs in a child
// process: it changes the process's warning listeners, and what counts is what reaches stderr.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { projectPath } from '../../../services/platform/project-files.js';

const run = promisify(execFile);

/** Emits kafkajs' warning, the same warning raised elsewhere, and another warning; returns the child's stderr. */
async function stderrOf(install: boolean): Promise<string> {
  const script = `
    import { dropKafkajsTimerWarnings } from './services/platform/kafka/kafkajs-timer-warning.ts';
    if (${install}) { dropKafkajsTimerWarnings(); dropKafkajsTimerWarnings(); }
    const raised = (at) => Object.assign(new Error('-1796624056581 is a negative number.'), {
      name: 'TimeoutNegativeWarning',
      stack: 'TimeoutNegativeWarning: -1796624056581 is a negative number.\\n    at setTimeout (node:timers:120:19)\\n    at ' + at,
    });
    process.emitWarning(raised('RequestQueue.scheduleCheckPendingRequests (/app/node_modules/kafkajs/src/network/requestQueue/index.js:317:37)'));
    process.emitWarning(raised('Scorer.flush (/app/services/scorer/scorer.ts:10:1)'));
    process.emitWarning('something else', 'OtherWarning');
    await new Promise((resolve) => setImmediate(resolve));
  `;
  const { stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: projectPath('.'),
  });
  return stderr;
}

describe("kafkajs' negative-timer warning", () => {
  it('is dropped when kafkajs raised it; the same warning from elsewhere and other warnings are printed once', async () => {
    const stderr = await stderrOf(true);
    assert.equal(stderr.match(/TimeoutNegativeWarning/g)?.length, 1, stderr);
    assert.doesNotMatch(stderr, /kafkajs/);
    assert.equal(stderr.match(/OtherWarning: something else/g)?.length, 1, stderr);
  });

  it('is printed without the filter (the check can fail)', async () => {
    const stderr = await stderrOf(false);
    assert.equal(stderr.match(/TimeoutNegativeWarning/g)?.length, 2, stderr);
  });
});
