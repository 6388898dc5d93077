/**
 * The replacement guard on a stage's real change sets, before anything executes (deploy.yml):
 * prepared by `cdk deploy --method=prepare-change-set`, described into one JSON file per stack.
 *
 *   npx tsx infra/bin/changeset-guard.ts --dir cdk.out/changesets [--allow "<stack>/<id>,..."]
 *
 * A file `<stack>.json` is `aws cloudformation describe-change-set` output; an empty object stands
 * for a stack without a change set (nothing changes). Exits 1 naming each stateful resource the
 * change sets would remove or replace that `--allow` does not name.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { changeSetFindings, ChangeSetChange } from '../lib/stateful.js';

const { values } = parseArgs({ options: { dir: { type: 'string' }, allow: { type: 'string', default: '' } } });
if (!values.dir) {
  console.error('usage: changeset-guard --dir <dir of describe-change-set JSON> [--allow "<stack>/<id>,..."]');
  process.exit(2);
}
const allowed = new Set(values.allow!.split(',').map((s) => s.trim()).filter(Boolean));
const files = readdirSync(values.dir).filter((f) => f.endsWith('.json'));
const found: string[] = [];
let changes = 0;
for (const f of files) {
  const described = JSON.parse(readFileSync(join(values.dir, f), 'utf8')) as { Changes?: ChangeSetChange[] };
  changes += described.Changes?.length ?? 0;
  found.push(...changeSetFindings(f.replace(/\.json$/, ''), described.Changes ?? [], allowed));
}
for (const f of found) console.error(`changeset-guard: ${f}`);
if (found.length > 0) {
  console.error('changeset-guard: nothing was executed. If this is intended, rerun with allow_replacement naming each resource (docs/deploy.md "Deploying safely").');
  process.exit(1);
}
console.log(`changeset-guard: ${files.length} change sets, ${changes} changes, no stateful resource removed or replaced`);
