/**
 * The first real deploy, checked as far as no AWS account allows: what CloudFormation, API Gateway
 * and Cognito refuse on a fresh account, and the deploy order and cross-stack references read
 * from the synthesized assembly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { loadDeclaration, REPO_ROOT } from '../lib/declaration.js';
import { PLACEHOLDER_RULE } from '../lib/rust-function.js';
import { Shop } from '../lib/shop.js';
import { ofType, resources, restMethods, synth, synthAssembly } from './template.js';

const STAGES = ['dev', 'staging', 'prod'];
const built = Object.fromEntries(STAGES.map((stage) => [stage, synthAssembly(stage)]));
const stacksOf = (shop: Shop): Stack[] => Object.values(shop);
const stages = JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'stages.json'), 'utf8'));

/**
 * What an export may name: resources that an ordinary change (a function or queue renamed or
 * removed, a service dropped) never deletes. Replacing one of these is itself a data migration
 * with its own two-phase procedure (docs/deploy.md: "what stays exported").
 */
const STABLE_EXPORTS = ['AWS::Cognito::UserPool', 'AWS::Cognito::UserPoolClient', 'AWS::DynamoDB::GlobalTable', 'AWS::SNS::Topic'];

describe('the first deploy on a fresh account', () => {
  it('creates every API stage after each route its RouteSettings names (API Gateway refuses unknown routes)', () => {
    let checked = 0;
    for (const stage of STAGES) {
      for (const stack of stacksOf(built[stage].shop)) {
        const res = resources(stack);
        // A REST API's stage: its per-method settings name methods of the API, and its deployment
        // (which the stage is created from) waits for every method.
        const methods = restMethods(stack);
        for (const [id, st] of ofType(stack, 'AWS::ApiGateway::Stage')) {
          const deployment = res[st.Properties.DeploymentId.Ref];
          const waits = [deployment.DependsOn ?? []].flat();
          for (const m of methods) assert.ok(waits.includes(m.id), `${stage} ${stack.stackName}/${id}: its deployment may be made before ${m.method} ${m.path}`);
          for (const setting of st.Properties.MethodSettings ?? []) {
            if (setting.ResourcePath === '/*') continue;
            const path = setting.ResourcePath.slice(1).replaceAll('~1', '/');
            assert.ok(methods.some((m) => m.path === path && m.method === setting.HttpMethod), `${stage} ${stack.stackName}/${id}: MethodSettings names ${setting.HttpMethod} ${path}, which is no method of this API`);
            checked += 1;
          }
        }
        for (const [id, st] of ofType(stack, 'AWS::ApiGatewayV2::Stage')) {
          const dependsOn = [st.DependsOn ?? []].flat();
          for (const key of Object.keys(st.Properties.RouteSettings ?? {})) {
            const route = Object.entries(res).find(([, r]) => r.Type === 'AWS::ApiGatewayV2::Route' && r.Properties?.RouteKey === key);
            assert.ok(route, `${stage} ${stack.stackName}/${id}: RouteSettings names ${key}, which is no route of this API`);
            assert.ok(dependsOn.includes(route[0]), `${stage} ${stack.stackName}/${id} may be created before the route ${key} (${route[0]})`);
            checked += 1;
          }
        }
      }
    }
    assert.ok(checked >= 2 * 5, `only ${checked} route settings checked`);
  });

  it('never points a pool at an SES identity the same deploy creates (CreateUserPool refuses an unverified one)', () => {
    for (const stage of STAGES) {
      const stacks = stacksOf(built[stage].shop);
      const created = stacks.flatMap((s) => ofType(s, 'AWS::SES::EmailIdentity').map(([id, r]) => ({ id, name: r.Properties.EmailIdentity })));
      for (const s of stacks) {
        for (const [id, pool] of ofType(s, 'AWS::Cognito::UserPool')) {
          const source = JSON.stringify(pool.Properties.EmailConfiguration?.SourceArn ?? '');
          for (const identity of created) {
            assert.ok(!source.includes(`identity/${identity.name}"`) && !source.includes(`"${identity.id}"`), `${stage} ${id} mails through ${identity.name}, created in this deploy`);
          }
        }
      }
    }
  });

  it('mails through the verifying identity by name, in the stack\'s own region when the stack has none', () => {
    const prod = built.prod.shop;
    const [[, pool]] = ofType(prod.shared, 'AWS::Cognito::UserPool');
    const mail = pool.Properties.EmailConfiguration;
    assert.equal(mail.From, 'noreply@example.com');
    const arn = JSON.stringify(mail.SourceArn);
    assert.match(arn, /:identity\/example\.com"/);
    assert.match(arn, /\{"Ref":"AWS::Region"\}/, 'an environment-agnostic stack must not pin a region into the identity ARN');
    const byAddress = synth('prod', { sesIdentity: 'noreply@example.com' });
    assert.match(JSON.stringify(ofType(byAddress.shared, 'AWS::Cognito::UserPool')[0][1].Properties.EmailConfiguration.SourceArn), /:identity\/noreply@example\.com"/);
    assert.throws(() => synth('prod', { sesIdentity: 'other.example' }), /sesIdentity must verify the sender/);
  });

  it('lets the emailing functions send to the verified recipients of an account still in the SES sandbox', () => {
    /** The identity names `ses:SendEmail` is granted on, for every function of `stack` that sends. */
    const sendable = (stack: Stack): string[] => {
      const out = new Set<string>();
      for (const [, p] of ofType(stack, 'AWS::IAM::Policy')) {
        for (const st of p.Properties.PolicyDocument.Statement) {
          if (![st.Action].flat().includes('ses:SendEmail')) continue;
          for (const r of [st.Resource].flat()) out.add(JSON.stringify(r).match(/identity\/([^"]+)"/)![1]);
        }
      }
      return [...out].sort();
    };
    const plain = built.dev.shop;
    assert.deepEqual(sendable(plain.order), ['example.com', 'noreply@example.com']);
    const sandbox = synth('dev', { sesSandboxRecipients: 'qa@example.org, example.net' });
    for (const stack of [sandbox.order, sandbox.product]) {
      assert.deepEqual(sendable(stack), ['example.com', 'example.net', 'noreply@example.com', 'qa@example.org']);
    }
  });

  it('lets sign-up write what it sends, and a changed email take effect only once verified', () => {
    const sent = ['email', 'name'];
    assert.deepEqual([...stages.defaults.appClientWriteAttributes].sort(), sent, 'stages.json: the attributes sign-up writes');
    for (const stage of STAGES) {
      const shop = built[stage].shop;
      const [[, client]] = ofType(shop.shared, 'AWS::Cognito::UserPoolClient');
      assert.deepEqual([...client.Properties.WriteAttributes].sort(), sent, `${stage}: SignUp would be refused (NotAuthorizedException)`);
      // updated_at marks when an account's sessions count from (the admin gate): a client that
      // could write it would let a token thief move it back.
      assert.ok(!client.Properties.WriteAttributes.includes('updated_at'), `${stage}: the app client may write updated_at`);
      const [[, pool]] = ofType(shop.shared, 'AWS::Cognito::UserPool');
      assert.deepEqual(pool.Properties.UserAttributeUpdateSettings, { AttributesRequireVerificationBeforeUpdate: ['email'] }, stage);
    }
    // What sign-up sends (lambdas/auth): the attributes the client must allow.
    const code = readFileSync(join(REPO_ROOT, 'lambdas', 'auth', 'src', 'cognito.rs'), 'utf8');
    for (const a of sent) assert.ok(code.includes(`.user_attributes(attribute("${a}"`), `sign-up no longer sends ${a}: update appClientWriteAttributes`);
  });

  it('deploys in dependency order, and no stack consumes an export an ordinary change could remove', () => {
    for (const stage of STAGES) {
      const { assembly } = built[stage];
      const stacks = assembly.stacks;
      const exports = new Map<string, { stack: string; type: string }>();
      for (const s of stacks) {
        const t = s.template;
        for (const out of Object.values<any>(t.Outputs ?? {})) {
          const name = out.Export?.Name;
          if (!name) continue;
          const logical = out.Value?.Ref ?? out.Value?.['Fn::GetAtt']?.[0];
          exports.set(name, { stack: s.stackName, type: t.Resources[logical]?.Type ?? `(${JSON.stringify(out.Value)})` });
        }
      }
      let imports = 0;
      for (const s of stacks) {
        const deps = new Set(s.dependencies.map((d) => d.id));
        // Stack ids and names are the same here (Shop-<stage>-<Part>).
        const walk = (v: unknown): void => {
          if (Array.isArray(v)) return v.forEach(walk);
          if (!v || typeof v !== 'object') return;
          for (const [k, x] of Object.entries(v)) {
            if (k === 'Fn::ImportValue') {
              imports += 1;
              const e = exports.get(x as string);
              assert.ok(e, `${s.stackName} imports ${JSON.stringify(x)}, which no stack exports`);
              assert.ok(STABLE_EXPORTS.includes(e.type), `${s.stackName} imports ${x}: a ${e.type} of ${e.stack}, which an ordinary change may remove or replace`);
              assert.ok(deps.has(e.stack), `${s.stackName} imports from ${e.stack} but may deploy before it`);
            } else walk(x);
          }
        };
        walk(s.template.Resources);
      }
      // The shared stack deploys first and depends on nothing.
      const shared = stacks.find((s) => s.stackName === `Shop-${stage}-Shared`);
      const isStack = (id: string) => stacks.some((x) => x.id === id);
      assert.ok(shared && shared.dependencies.filter((d) => isStack(d.id)).length === 0, `${stage}: Shared depends on another stack`);
      assert.ok(imports > 0, 'the services read the pool and the tables');
    }
  });

  it('removes on a failed first create what cannot hold data yet, and keeps tables and the pool', () => {
    const policies = (shop: Shop, type: string) => stacksOf(shop).flatMap((s) => ofType(s, type).map(([id, r]) => [`${s.stackName}/${id}`, r.DeletionPolicy] as const));
    for (const stage of ['staging', 'prod']) {
      const shop = built[stage].shop;
      for (const type of ['AWS::Logs::LogGroup', 'AWS::SQS::Queue', 'AWS::S3::Bucket']) {
        const found = policies(shop, type);
        assert.ok(found.length > 0, type);
        for (const [id, policy] of found) assert.equal(policy, 'RetainExceptOnCreate', `${stage} ${id}`);
      }
      for (const type of ['AWS::DynamoDB::GlobalTable', 'AWS::Cognito::UserPool']) {
        for (const [id, policy] of policies(shop, type)) assert.equal(policy, 'Retain', `${stage} ${id}`);
      }
    }
  });

  it('cannot deploy a stand-in for code that was not built, yet synthesizes for list, diff and destroy', () => {
    const stackOf = (shop: Shop): Stack[] => [shop.auth, shop.banner, shop.category, shop.product, shop.order];
    for (const s of stackOf(built.prod.shop)) {
      const t = Template.fromStack(s).toJSON();
      const rule = t.Rules?.[PLACEHOLDER_RULE];
      assert.ok(rule, `${s.stackName}: stand-in code without a rule refusing the deploy`);
      // The assertion compares the parameter's default with another value: false unless overridden.
      for (const a of rule.Assertions) {
        const [left, right] = a.Assert['Fn::Equals'];
        assert.notEqual(t.Parameters[left.Ref].Default, right);
        assert.match(a.AssertDescription, /shop-[a-z]+\.zip is missing: run "bash scripts\/build-lambdas\.sh prod"/);
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'shop-zips-'));
    for (const s of loadDeclaration()) writeFileSync(join(dir, `shop-${s.name}.zip`), `stand-in for shop-${s.name}`);
    for (const s of stackOf(synth('prod', { codeDir: dir }))) {
      assert.equal(Template.fromStack(s).toJSON().Rules?.[PLACEHOLDER_RULE], undefined, `${s.stackName}: built code refused`);
    }
    rmSync(dir, { recursive: true });
  });
});
