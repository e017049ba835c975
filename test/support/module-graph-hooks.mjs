// Module customization hooks (node:module register) that append every URL the process loads to the file named
// by RELAYGUARD_MODULE_GRAPH_OUT, one a line: see module-graph.ts.
import { appendFileSync } from 'node:fs';

export async function load(url, context, nextLoad) {
  appendFileSync(process.env.RELAYGUARD_MODULE_GRAPH_OUT, `${url}\n`);
  return nextLoad(url, context);
}
