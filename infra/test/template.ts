/** What the CDK tests share: synthesizing a stage as the CLI does, and reading its templates. */
import assert from 'node:assert/strict';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import { checkWithNag } from '../lib/lint.js';
import { buildShop, Shop } from '../lib/shop.js';

/** A stage synthesized like `cdk synth -c stage=<stage>` (cdk-nag included), without bundling. */
export function synthAssembly(stage: string, context: Record<string, unknown> = {}): { shop: Shop; assembly: CloudAssembly } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const shop = buildShop(app, stage);
  checkWithNag(app);
  return { shop, assembly: app.synth() };
}

export function synth(stage: string, context: Record<string, unknown> = {}): Shop {
  return synthAssembly(stage, context).shop;
}

export type Resources = Record<string, { Type: string; Properties?: any; DependsOn?: string | string[]; DeletionPolicy?: string; UpdatePolicy?: any }>;
export const resources = (s: Stack): Resources => Template.fromStack(s).toJSON().Resources as Resources;
export const ofType = (s: Stack, type: string) => Object.entries(resources(s)).filter(([, r]) => r.Type === type);
/** Our functions carry `<service>/<bin>` as description; CDK's own helpers do not. */
export const isOurs = (f: { Properties?: any }) => typeof f.Properties?.Description === 'string' && /^[a-z]+\/[a-z-]+$/.test(f.Properties.Description);

/** Logical id of the Lambda whose description is `<service>/<bin>`. */
export function functionId(s: Stack, fn: string): string {
  const found = ofType(s, 'AWS::Lambda::Function').find(([, r]) => r.Properties?.Description === fn);
  assert.ok(found, `no function ${fn}`);
  return found[0];
}

/** IAM actions granted to a function's role, logging and tracing left out. */
export function actionsOf(s: Stack, fn: string): string[] {
  const lambda = resources(s)[functionId(s, fn)];
  const roleId = lambda.Properties.Role['Fn::GetAtt'][0];
  const actions = new Set<string>();
  for (const [, p] of ofType(s, 'AWS::IAM::Policy')) {
    if (!p.Properties.Roles.some((r: any) => r.Ref === roleId)) continue;
    for (const st of p.Properties.PolicyDocument.Statement) {
      for (const a of [st.Action].flat()) {
        if (!a.startsWith('logs:') && !a.startsWith('xray:')) actions.add(a);
      }
    }
  }
  return [...actions].sort();
}

/** A REST API's methods (CORS preflights left out): method, resource path, authorization, logical id. */
export function restMethods(s: Stack): { method: string; path: string; auth: string; id: string }[] {
  const res = resources(s);
  const pathOf = (ref: any): string => {
    if (ref?.['Fn::GetAtt']) return ''; // the API's root resource
    const r = res[ref.Ref];
    return `${pathOf(r.Properties.ParentId)}/${r.Properties.PathPart}`;
  };
  return ofType(s, 'AWS::ApiGateway::Method')
    .filter(([, m]) => m.Properties.HttpMethod !== 'OPTIONS')
    .map(([id, m]) => ({ method: m.Properties.HttpMethod, path: pathOf(m.Properties.ResourceId) || '/', auth: m.Properties.AuthorizationType, id }));
}
