/**
 * The replacement guard on a synthesized stage (`infra/lib/stateful.ts`).
 *
 *   npx tsx infra/bin/stateful-guard.ts --stage prod                        # check cdk.out/prod
 *   npx tsx infra/bin/stateful-guard.ts --stage prod --record --reason "…"  # accept an intended change
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../lib/declaration.js';
import { findings, record, stateOf, StatefulRecord, Template } from '../lib/stateful.js';

const { values } = parseArgs({
  options: {
    stage: { type: 'string' },
    templates: { type: 'string' },
    record: { type: 'boolean', default: false },
    reason: { type: 'string' },
  },
});
const stage = values.stage;
if (!stage) {
  console.error('usage: stateful-guard --stage <stage> [--templates cdk.out/<stage>] [--record --reason "..."]');
  process.exit(2);
}
const dir = values.templates ?? join(REPO_ROOT, 'cdk.out', stage);
const templates: Record<string, Template> = {};
for (const f of readdirSync(dir).filter((f) => f.endsWith('.template.json'))) {
  templates[f.replace('.template.json', '')] = JSON.parse(readFileSync(join(dir, f), 'utf8'));
}
if (Object.keys(templates).length === 0) {
  console.error(`stateful-guard: no templates in ${dir} (synthesize the stage first)`);
  process.exit(2);
}
const file = join(REPO_ROOT, 'infra', 'stateful', `${stage}.json`);
const previous: StatefulRecord = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { resources: {} };
const current = stateOf(templates);
if (values.record) {
  try {
    writeFileSync(file, `${JSON.stringify(record(previous, current, values.reason), null, 2)}\n`);
  } catch (e) {
    console.error(`stateful-guard: ${(e as Error).message}`);
    process.exit(1);
  }
  console.log(`stateful-guard: recorded ${Object.keys(current).length} stateful resources of ${stage} in infra/stateful/${stage}.json`);
} else {
  const found = findings(previous, current);
  for (const f of found) console.error(`stateful-guard ${stage}: ${f}`);
  if (found.length > 0) process.exit(1);
  console.log(`stateful-guard ${stage}: ${Object.keys(current).length} stateful resources, none removed or replaced`);
}
