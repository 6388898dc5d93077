/**
 * What happens to a stateful resource when its stack deletes it (stack deletion, a removed
 * construct, or the rollback of a failed first create), by stage: the one place that decides.
 *
 * - `data` (tables, the user pool): kept, and deletion-protected, wherever the stage retains data.
 *   A failed first create leaves them behind too: docs/deploy.md says how to remove them.
 * - `empty-at-create` (log groups, queues, buckets): kept on update and delete, but removed when the
 *   create that made them rolls back: nothing can be in them yet, and a retry of the first deploy
 *   would otherwise meet their orphans.
 *
 * Stages that do not retain (dev) destroy both.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import type { StageConfig } from './config.js';

export type Keeps = 'data' | 'empty-at-create';

export function removalPolicy(config: StageConfig, keeps: Keeps): RemovalPolicy {
  if (config.removal !== 'retain') return RemovalPolicy.DESTROY;
  return keeps === 'data' ? RemovalPolicy.RETAIN : RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
}

/** Whether the stage keeps data when its stacks delete resources (deletion protection on tables and the pool). */
export function retainsData(config: StageConfig): boolean {
  return config.removal === 'retain';
}
