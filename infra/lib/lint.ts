/**
 * Acknowledgements for cfn-lint rules (the serverless rules of `cfn-lint-serverless` included),
 * written next to the resource they excuse, with the reason, as cdk-nag's are. cfn-lint reads
 * them from the resource's `Metadata.cfn-lint.config.ignore_checks`.
 */
import { App, CfnResource, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { IConstruct } from 'constructs';

/** cdk-nag's packs every synth runs (the app and its tests): AWS Solutions and Serverless. */
export function checkWithNag(app: App): void {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
}

/** Tells cfn-lint to skip `rules` on the resource of `c`, for `reason` (kept in the template too). */
export function lintAck(c: IConstruct, rules: string[], reason: string): void {
  const resource = c instanceof CfnResource ? c : (c.node.defaultChild as CfnResource | undefined);
  if (!resource) throw new Error(`${c.node.path} has no CloudFormation resource to acknowledge`);
  const existing = (resource.getMetadata('cfn-lint') as { config?: { ignore_checks?: string[] } } | undefined)?.config?.ignore_checks ?? [];
  resource.addMetadata('cfn-lint', { config: { ignore_checks: [...new Set([...existing, ...rules])] } });
  const reasons = (resource.getMetadata('cfn-lint-reasons') as Record<string, string> | undefined) ?? {};
  resource.addMetadata('cfn-lint-reasons', { ...reasons, ...Object.fromEntries(rules.map((r) => [r, reason])) });
}

/** Acknowledges the cdk-nag finding `id` on `c` for `reason` (shown in the synth report). */
export function nagAck(c: IConstruct, id: string, reason: string): void {
  Validations.of(c).acknowledge({ id, reason });
}
