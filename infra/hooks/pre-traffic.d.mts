/** Types of infra/hooks/pre-traffic.mjs, for its tests. */
export type Probe = { kind: 'http'; method: string; path: string } | { kind: 'batch' } | { kind: 'schedule' };
export interface Answer {
  FunctionError?: string;
  Payload?: Uint8Array;
}
export interface Aws {
  getDeployment(deploymentId: string): Promise<unknown>;
  invoke(name: string, version: string, payload: string): Promise<Answer>;
  report(deploymentId: string, hookExecutionId: string, status: 'Succeeded' | 'Failed'): Promise<unknown>;
}
export function targetOf(deployment: unknown): { name: string; version: string };
export function probeEvent(probe: Probe, now?: Date): Record<string, unknown>;
export function verdict(probe: Probe, answer: Answer): string | null;
export function check(
  event: { DeploymentId: string; LifecycleEventHookExecutionId: string },
  probes: Record<string, Probe>,
  aws: Aws,
  log?: { error(line: string): void },
): Promise<'Succeeded' | 'Failed'>;
export function handler(event: unknown): Promise<string>;
