/**
 * The replacement guard: what a deploy would do to the stage's stateful resources, compared with
 * the committed record of them (`infra/stateful/<stage>.json`).
 *
 * A stateful resource is one whose loss loses data or users: tables, the user pool and its app
 * client, buckets, queues, topics, the state machine, log groups. For each, the record keeps its
 * logical id and the properties whose change makes CloudFormation replace it (or Cognito refuse the
 * update), and, for a table, its global secondary indexes: DynamoDB creates or deletes one index
 * per table update, so a deploy that changes two on one table fails half-way.
 *
 * The guard fails, naming the resource and the property, when a recorded resource would be removed
 * (a renamed construct is a removal plus a new resource) or replaced, when a stateful resource is
 * not recorded, or when a table would change more than one index. An intended change passes once
 * the record says so: `record()` writes the new state, refusing two index changes on one table,
 * and asks for a reason for every change to a recorded resource, which stays beside it.
 */

export type Template = { Resources?: Record<string, { Type: string; Properties?: Record<string, unknown> }> };

/** Create-only properties by resource type (CloudFormation's "Update requires: Replacement"). */
export const STATEFUL: Record<string, string[]> = {
  'AWS::DynamoDB::GlobalTable': ['TableName', 'KeySchema', 'LocalSecondaryIndexes'],
  // Cognito fixes sign-in aliases, username settings and the schema (required attributes) at creation.
  'AWS::Cognito::UserPool': ['UserPoolName', 'AliasAttributes', 'UsernameAttributes', 'UsernameConfiguration', 'Schema'],
  'AWS::Cognito::UserPoolClient': ['UserPoolId', 'GenerateSecret'],
  'AWS::S3::Bucket': ['BucketName', 'ObjectLockEnabled'],
  'AWS::SQS::Queue': ['QueueName', 'FifoQueue'],
  'AWS::SNS::Topic': ['TopicName', 'FifoTopic'],
  'AWS::StepFunctions::StateMachine': ['StateMachineName', 'StateMachineType'],
  'AWS::Logs::LogGroup': ['LogGroupName'],
};

export interface Recorded {
  readonly type: string;
  /** The create-only properties as the template writes them (absent ones left out). */
  readonly createOnly: Record<string, unknown>;
  /** A table's global secondary indexes, by name. */
  readonly indexes?: string[];
  /** Why the last change to this resource was intended. */
  readonly reason?: string;
}

export interface StatefulRecord {
  readonly $comment?: string;
  readonly resources: Record<string, Recorded>;
}

/** The stateful resources of a stage's templates, by `<stack>/<logical id>`. */
export function stateOf(templates: Record<string, Template>): Record<string, Recorded> {
  const out: Record<string, Recorded> = {};
  for (const [stack, t] of Object.entries(templates).sort(([a], [b]) => a.localeCompare(b))) {
    for (const [id, r] of Object.entries(t.Resources ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
      const props = STATEFUL[r.Type];
      if (!props) continue;
      const p = r.Properties ?? {};
      const createOnly = Object.fromEntries(props.filter((k) => p[k] !== undefined).map((k) => [k, p[k]]));
      const gsis = r.Type === 'AWS::DynamoDB::GlobalTable' ? ((p.GlobalSecondaryIndexes as { IndexName: string }[] | undefined) ?? []) : undefined;
      out[`${stack}/${id}`] = { type: r.Type, createOnly, ...(gsis ? { indexes: gsis.map((i) => i.IndexName).sort() } : {}) };
    }
  }
  return out;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** What the deploy of `current` would do to the recorded resources that the record does not allow. */
export function findings(record: StatefulRecord, current: Record<string, Recorded>): string[] {
  const out: string[] = [];
  for (const [key, was] of Object.entries(record.resources)) {
    const now = current[key];
    if (!now) {
      out.push(`${key} (${was.type}) would be removed: a renamed or moved construct gets a new logical id, and CloudFormation deletes the old resource`);
      continue;
    }
    if (now.type !== was.type) out.push(`${key} would be replaced: its type changes from ${was.type} to ${now.type}`);
    for (const prop of new Set([...Object.keys(was.createOnly), ...Object.keys(now.createOnly)])) {
      if (!same(was.createOnly[prop], now.createOnly[prop])) {
        out.push(`${key} (${was.type}) would be replaced: ${prop} changes from ${JSON.stringify(was.createOnly[prop])} to ${JSON.stringify(now.createOnly[prop])}`);
      }
    }
    out.push(...indexFindings(key, was, now));
  }
  for (const [key, now] of Object.entries(current)) {
    if (!record.resources[key]) out.push(`${key} (${now.type}) is not recorded: record it (docs/deploy.md "Deploying safely")`);
  }
  return out;
}

/** One entry of CloudFormation's DescribeChangeSet `Changes`. */
export interface ChangeSetChange {
  readonly ResourceChange?: {
    readonly Action?: string;
    readonly LogicalResourceId?: string;
    readonly ResourceType?: string;
    readonly Replacement?: string;
    readonly Details?: { readonly Target?: { readonly Name?: string; readonly RequiresRecreation?: string } }[];
  };
}

/**
 * What a stack's real change set would do to its stateful resources: each removal, and each
 * replacement CloudFormation announces (`Replacement` True, or Conditional: it may replace), naming
 * the properties that force it. `allowed` holds the `<stack>/<logical id>` an operator accepted for
 * this deploy (deploy.yml's `allow_replacement` input).
 */
export function changeSetFindings(stack: string, changes: ChangeSetChange[], allowed: Set<string> = new Set()): string[] {
  const out: string[] = [];
  for (const { ResourceChange: rc } of changes) {
    if (!rc?.ResourceType || !STATEFUL[rc.ResourceType]) continue;
    const key = `${stack}/${rc.LogicalResourceId}`;
    if (allowed.has(key)) continue;
    if (rc.Action === 'Remove') {
      out.push(`${key} (${rc.ResourceType}) would be removed by the change set`);
    } else if (rc.Action === 'Modify' && (rc.Replacement === 'True' || rc.Replacement === 'Conditional')) {
      const props = (rc.Details ?? [])
        .filter((d) => d.Target?.RequiresRecreation && d.Target.RequiresRecreation !== 'Never')
        .map((d) => d.Target?.Name)
        .filter((n): n is string => Boolean(n));
      const forced = props.length > 0 ? `: ${[...new Set(props)].join(', ')} force it` : '';
      out.push(`${key} (${rc.ResourceType}) would be replaced by the change set (Replacement: ${rc.Replacement})${forced}`);
    }
  }
  return out;
}

/** More than one index created or deleted on one table in one deploy: DynamoDB refuses the second. */
function indexFindings(key: string, was: Recorded, now: Recorded): string[] {
  if (!was.indexes || !now.indexes) return [];
  const added = now.indexes.filter((i) => !was.indexes!.includes(i));
  const removed = was.indexes.filter((i) => !now.indexes!.includes(i));
  if (added.length + removed.length <= 1) return [];
  return [
    `${key} would change ${added.length + removed.length} global secondary indexes in one deploy (added: ${added.join(', ') || 'none'}; removed: ${removed.join(', ') || 'none'}): DynamoDB creates or deletes one per table update; deploy them one at a time`,
  ];
}

/**
 * The record of `current`, replacing `record`. Every change to a recorded resource (removed,
 * replaced, its indexes changed) needs `reason`, which is kept beside it; two index changes on one
 * table are refused even with a reason, because no single deploy can make them.
 */
export function record(previous: StatefulRecord, current: Record<string, Recorded>, reason?: string): StatefulRecord {
  const problems = findings(previous, current).filter((f) => !f.includes('is not recorded'));
  const impossible = problems.filter((f) => f.includes('global secondary indexes in one deploy'));
  if (impossible.length > 0) throw new Error(impossible.join('\n'));
  if (problems.length > 0 && !reason) throw new Error(`these changes need a reason (--reason "..."):\n${problems.join('\n')}`);
  const changed = new Set(problems.map((p) => p.split(' ')[0]));
  const resources = Object.fromEntries(
    Object.entries(current).map(([key, r]) => {
      const kept = previous.resources[key]?.reason;
      const why = changed.has(key) ? reason : kept;
      return [key, why ? { ...r, reason: why } : r];
    }),
  );
  const removed = Object.keys(previous.resources).filter((k) => !current[k]);
  const comment = removed.length > 0 ? `${COMMENT} Last removal (${removed.join(', ')}): ${reason}` : COMMENT;
  return { $comment: comment, resources };
}

const COMMENT =
  'The stage\'s stateful resources as last deployed, written by `npx tsx infra/bin/stateful-guard.ts --stage <stage> --record --reason "..."` (docs/deploy.md "Deploying safely"); the infra check fails when a synthesized template would remove or replace one of them.';
