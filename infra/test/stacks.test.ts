/** CDK assertion tests: synth every stage without AWS or built code, and check what each stack promises. */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Code, Function, Runtime } from 'aws-cdk-lib/aws-lambda';
import { checkWithNag } from '../lib/lint.js';
import { stageConfig } from '../lib/config.js';
import { loadDeclaration, REPO_ROOT, service } from '../lib/declaration.js';
import { wafLimit } from '../lib/rest-api.js';
import { IMAGE_SERVICES, ORDER_METRICS } from '../lib/dashboard.js';
import { buildShop, Shop } from '../lib/shop.js';
import { allStates } from './workflow/asl.js';
import { actionsOf, functionId, isOurs, ofType, resources, restMethods, synth } from './template.js';

const shop = synth('dev');
const devConfig = stageConfig('dev', () => undefined);
const services = { auth: shop.auth, banner: shop.banner, category: shop.category, product: shop.product, order: shop.order };

/** How many services have a function invoked asynchronously (S3 events, schedules): each has a failure queue. */
const asyncServices = () => loadDeclaration().filter((s) => s.functions.some((f) => f.s3 || f.schedule)).length;

describe('the CDK app', () => {
  it('synthesizes every stage with no unacknowledged cdk-nag finding', () => {
    for (const stage of ['staging', 'prod']) assert.doesNotThrow(() => synth(stage));
  });

  it('runs cdk-nag\'s Serverless pack with the AWS Solutions one: an unacknowledged serverless finding fails synth', () => {
    const app = new App();
    const stack = new Stack(app, 'Bare');
    new Function(stack, 'NoDlq', { runtime: Runtime.NODEJS_24_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => 1;') });
    checkWithNag(app);
    assert.throws(
      () => app.synth(),
      (e: Error) => {
        const report = /found in: (\S+)/.exec(e.message)?.[1];
        return Boolean(report) && readFileSync(report!, 'utf8').includes('Serverless-LambdaDLQ');
      },
    );
  });

  it('creates one function per declared function and nothing else of ours', () => {
    for (const svc of loadDeclaration()) {
      const stack = services[svc.name as keyof typeof services];
      const declared = svc.functions.map((f) => `${svc.name}/${f.name}`).sort();
      // The pool's triggers live beside the pool, in the shared stack.
      const ours = [...ofType(stack, 'AWS::Lambda::Function'), ...ofType(shop.shared, 'AWS::Lambda::Function')]
        .filter(([, r]) => isOurs(r))
        .map(([, r]) => r.Properties.Description as string)
        .filter((d) => d.startsWith(`${svc.name}/`))
        .sort();
      assert.deepEqual(ours, declared);
    }
  });

  it('holds every resource lambdas/resources.json declares with a logical id, of its kind (the local twins and the IAM check read that file)', () => {
    const kinds: Record<string, string> = {
      table: 'AWS::DynamoDB::GlobalTable',
      userPool: 'AWS::Cognito::UserPool',
      imageBucket: 'AWS::S3::Bucket',
      workQueue: 'AWS::SQS::Queue',
      queue: 'AWS::SQS::Queue',
      topic: 'AWS::SNS::Topic',
      orderWorkflow: 'AWS::StepFunctions::StateMachine',
    };
    const declared = JSON.parse(readFileSync(join(REPO_ROOT, 'lambdas', 'resources.json'), 'utf8'));
    let checked = 0;
    for (const [name, list] of Object.entries(declared.services) as [string, any[]][]) {
      // Shared ones live in the shared stack (the pool, its table, the topics) or in their
      // owner's (the order service reads the product service's table).
      const stacks = Object.values(shop) as Stack[];
      for (const r of list) {
        for (const [id, type] of [[r.logicalId, kinds[r.kind]], [r.dlqLogicalId, 'AWS::SQS::Queue']]) {
          if (!id) continue;
          const found = stacks.some((st) => ofType(st, type).some(([logical]) => new RegExp(`^${id}[0-9A-F]{8}$`).test(logical)));
          assert.ok(found, `${name}: no ${type} ${id} in the stage`);
          checked += 1;
        }
      }
    }
    assert.ok(checked >= 14, `only ${checked} logical ids checked`);
  });

  it('puts the JWT authorizer on exactly the protected routes', () => {
    for (const svc of loadDeclaration()) {
      const stack = services[svc.name as keyof typeof services];
      const expected = svc.functions
        .filter((f) => f.http)
        .map((f) => `${f.http!.method} ${f.http!.path} ${f.http!.auth === 'none' ? 'NONE' : 'JWT'}`)
        .sort();
      const actual = (
        svc.api === 'rest'
          ? restMethods(stack).map((m) => `${m.method} ${m.path} ${m.auth}`)
          : ofType(stack, 'AWS::ApiGatewayV2::Route').map(([, r]) => `${r.Properties.RouteKey} ${r.Properties.AuthorizationType ?? 'NONE'}`)
      ).sort();
      assert.deepEqual(actual, expected, svc.name);
      for (const [, a] of ofType(stack, 'AWS::ApiGatewayV2::Authorizer')) {
        assert.equal(a.Properties.AuthorizerType, 'JWT');
      }
    }
  });

  it('gives each function only the actions it uses', () => {
    const expected: Record<string, [Stack, string[]]> = {
      'auth/sign-up': [shop.auth, ['cognito-idp:AdminDeleteUser', 'cognito-idp:AdminGetUser', 'cognito-idp:DescribeUserPoolClient', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']],
      'auth/confirm-sign-up': [shop.auth, ['cognito-idp:AdminGetUser', 'cognito-idp:DescribeUserPoolClient', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query']],
      'auth/sign-in': [shop.auth, ['cognito-idp:DescribeUserPoolClient', 'dynamodb:GetItem', 'dynamodb:Query']],
      'auth/sign-out': [shop.auth, []],
      'auth/refresh-token': [shop.auth, ['cognito-idp:DescribeUserPoolClient']],
      'auth/resend-confirmation-code': [shop.auth, ['cognito-idp:AdminGetUser', 'cognito-idp:DescribeUserPoolClient', 'dynamodb:GetItem', 'dynamodb:Query']],
      'auth/mfa-setup': [shop.auth, []],
      'auth/mfa-verify': [shop.auth, ['cognito-idp:AdminListGroupsForUser', 'cognito-idp:AdminUpdateUserAttributes']],
      'auth/mfa-sign-in': [shop.auth, ['cognito-idp:DescribeUserPoolClient', 'dynamodb:GetItem', 'dynamodb:Query']],
      // The pool's CustomMessage trigger reads nothing: the event carries what the email says.
      'auth/custom-message': [shop.shared, []],
      'auth/purge-unconfirmed': [shop.auth, ['cognito-idp:AdminDeleteUser', 'cognito-idp:AdminGetUser', 'cognito-idp:ListUsers', 'dynamodb:DeleteItem']],
      'banner/upload-url': [shop.banner, ['s3:PutObject']],
      'banner/image-uploaded': [shop.banner, ['dynamodb:PutItem', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']],
      'banner/list-banners': [shop.banner, ['dynamodb:Query']],
      'category/upload-url': [shop.category, ['dynamodb:PutItem', 's3:PutObject']],
      'category/image-uploaded': [shop.category, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']],
      'category/list-categories': [shop.category, ['dynamodb:Query']],
      'category/cleanup': [shop.category, ['dynamodb:DeleteItem', 'dynamodb:Query', 'sns:Publish']],
      'product/get-upload-url': [shop.product, ['dynamodb:PutItem', 's3:PutObject']],
      'product/image-uploaded': [shop.product, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 's3:DeleteObject', 's3:GetObject', 's3:ListBucket', 's3:PutObject']],
      'product/approved-products': [shop.product, ['dynamodb:Query']],
      'product/pending-products': [shop.product, ['dynamodb:Query', 's3:GetObject']],
      'product/approve-product': [shop.product, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 's3:DeleteObject', 's3:GetObject', 's3:PutObject', 'ses:SendEmail']],
      'product/reject-product': [shop.product, ['dynamodb:UpdateItem', 's3:DeleteObject', 'ses:SendEmail']],
      'product/cleanup': [shop.product, ['dynamodb:DeleteItem', 'dynamodb:Query', 'sns:Publish']],
      'order/create-order': [
        shop.order,
        ['dynamodb:BatchGetItem', 'dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail', 'sqs:SendMessage'],
      ],
      'order/cancel-order': [shop.order, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail']],
      'order/refund-order': [shop.order, ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail']],
      'order/payment-webhook': [
        shop.order,
        ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail', 'sns:Publish', 'sqs:SendMessage'],
      ],
      'order/list-orders': [shop.order, ['dynamodb:Query']],
      'order/get-order': [shop.order, ['dynamodb:GetItem']],
      'order/queue-consumer': [
        shop.order,
        ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage', 'states:StartExecution'],
      ],
      'order/reconcile': [
        shop.order,
        ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'secretsmanager:GetSecretValue', 'ses:SendEmail', 'sns:Publish', 'states:StartExecution'],
      ],
      // The stream's event source mapping reads the stream; its on-failure queue takes what keeps
      // failing. Each decision's money moves here (settle).
      'order/status-changed': [
        shop.order,
        [
          'dynamodb:DescribeStream', 'dynamodb:GetItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams', 'dynamodb:UpdateItem',
          'secretsmanager:GetSecretValue', 'ses:SendEmail', 'sns:Publish', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage',
        ],
      ],
    };
    const declared = loadDeclaration().flatMap((s) => s.functions.map((f) => `${s.name}/${f.name}`));
    assert.deepEqual(Object.keys(expected).sort(), declared.sort(), 'every declared function has an expectation');
    // Lambda delivers a failed asynchronous invocation with the function's own role.
    const asyncFns = loadDeclaration().flatMap((s) => s.functions.filter((f) => f.s3 || f.schedule).map((f) => `${s.name}/${f.name}`));
    const onFailure = ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    for (const [fn, [stack, actions]] of Object.entries(expected)) {
      const all = asyncFns.includes(fn) ? [...actions, ...onFailure] : actions;
      assert.deepEqual(actionsOf(stack, fn), all.sort(), fn);
    }
  });

  it('grants object actions per place of the image bucket: uploads, review, public', () => {
    /** `<action> <place>` for every S3 object grant of a function's role; `<action> bucket` for one on the bucket. */
    const objectGrants = (stack: Stack, fn: string): string[] => {
      const roleId = resources(stack)[functionId(stack, fn)].Properties.Role['Fn::GetAtt'][0];
      const out: string[] = [];
      for (const [, p] of ofType(stack, 'AWS::IAM::Policy')) {
        if (!p.Properties.Roles.some((r: any) => r.Ref === roleId)) continue;
        for (const st of p.Properties.PolicyDocument.Statement) {
          for (const a of [st.Action].flat().filter((x: string) => x.startsWith('s3:'))) {
            for (const r of [st.Resource].flat()) {
              if (r['Fn::GetAtt']?.[1] === 'Arn') {
                out.push(`${a} bucket`);
                continue;
              }
              const tail = r['Fn::Join']?.[1]?.at(-1);
              assert.match(tail, /^\/(uploads|review|public)\/\*$/, `${fn}: ${a} on more than one place`);
              out.push(`${a} ${tail.split('/')[1]}`);
            }
          }
        }
      }
      return out.sort();
    };
    const expected: Record<string, [Stack, string[]]> = {
      'banner/upload-url': [shop.banner, ['s3:PutObject uploads']],
      'banner/image-uploaded': [shop.banner, ['s3:DeleteObject uploads', 's3:GetObject uploads', 's3:ListBucket bucket', 's3:PutObject public']],
      'category/upload-url': [shop.category, ['s3:PutObject uploads']],
      'category/image-uploaded': [shop.category, ['s3:DeleteObject public', 's3:DeleteObject uploads', 's3:GetObject uploads', 's3:ListBucket bucket', 's3:PutObject public']],
      'product/get-upload-url': [shop.product, ['s3:PutObject uploads']],
      'product/image-uploaded': [shop.product, ['s3:DeleteObject uploads', 's3:GetObject uploads', 's3:ListBucket bucket', 's3:PutObject review']],
      'product/pending-products': [shop.product, ['s3:GetObject review']],
      'product/approve-product': [shop.product, ['s3:DeleteObject public', 's3:GetObject review', 's3:PutObject public']],
      'product/reject-product': [shop.product, ['s3:DeleteObject public', 's3:DeleteObject review', 's3:DeleteObject uploads']],
    };
    for (const [fn, [stack, grants]] of Object.entries(expected)) assert.deepEqual(objectGrants(stack, fn), grants, fn);
  });

  it('serves published images only: CDN origin path public/, nosniff, uploads expire after a day and alone notify', () => {
    for (const stack of [shop.banner, shop.category, shop.product]) {
      const [, bucket] = ofType(stack, 'AWS::S3::Bucket')[0];
      const rules = bucket.Properties.LifecycleConfiguration.Rules;
      assert.deepEqual(
        rules.map((r: any) => [r.Prefix, r.ExpirationInDays, r.AbortIncompleteMultipartUpload?.DaysAfterInitiation, r.Status]),
        [['uploads/', 1, 1, 'Enabled'], ['review/', 90, undefined, 'Enabled']],
      );
      const [, dist] = ofType(stack, 'AWS::CloudFront::Distribution')[0];
      const cfg = dist.Properties.DistributionConfig;
      assert.deepEqual(cfg.Origins.map((o: any) => o.OriginPath), ['/public']);
      const policyId = cfg.DefaultCacheBehavior.ResponseHeadersPolicyId.Ref;
      const headers = resources(stack)[policyId].Properties.ResponseHeadersPolicyConfig;
      assert.deepEqual(headers.SecurityHeadersConfig.ContentTypeOptions, { Override: true });
      const [, policy] = ofType(stack, 'AWS::S3::BucketPolicy')[0];
      const deny = policy.Properties.PolicyDocument.Statement.find((x: any) => x.Sid === 'CdnReadsPublishedImagesOnly');
      assert.equal(deny?.Effect, 'Deny');
      assert.equal(deny.NotResource['Fn::Join'][1].at(-1), '/public/*');
      const [, notifications] = ofType(stack, 'Custom::S3BucketNotifications')[0];
      const configs = notifications.Properties.NotificationConfiguration.LambdaFunctionConfigurations;
      assert.equal(configs.length, 1);
      assert.deepEqual(configs[0].Filter.Key.FilterRules, [{ Name: 'prefix', Value: 'uploads/' }]);
    }
  });

  it('uploads one asset per service: every function of a service runs the service binary', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shop-zips-'));
    const decl = loadDeclaration();
    for (const s of decl) writeFileSync(join(dir, `shop-${s.name}.zip`), `stand-in for shop-${s.name}`);
    const built = buildShop(new App({ context: { codeDir: dir, 'aws:cdk:bundling-stacks': [] } }), 'dev');
    const keys = new Set<string>();
    for (const s of decl) {
      const stack = (built as any)[s.name] as Stack;
      const code = [...ofType(stack, 'AWS::Lambda::Function'), ...ofType(built.shared, 'AWS::Lambda::Function')]
        .filter(([, f]) => isOurs(f) && f.Properties.Description.startsWith(`${s.name}/`))
        .map(([, f]) => JSON.stringify(f.Properties.Code.S3Key));
      assert.equal(code.length, s.functions.length, s.name);
      assert.equal(new Set(code).size, 1, `${s.name}: its functions run different code`);
      keys.add(code[0]);
    }
    assert.equal(keys.size, decl.length, 'two services share one asset');
    rmSync(dir, { recursive: true });
  });

  it('runs every function on provided.al2023 with X-Ray and the stage architecture', () => {
    for (const stack of Object.values(services)) {
      for (const [, f] of ofType(stack, 'AWS::Lambda::Function')) {
        if (!isOurs(f)) continue;
        assert.equal(f.Properties.Runtime, 'provided.al2023');
        assert.deepEqual(f.Properties.Architectures, ['arm64']);
        assert.equal(f.Properties.TracingConfig.Mode, 'Active');
        // The service binary serves the function its handler setting names (`_HANDLER`).
        assert.equal(f.Properties.Handler, f.Properties.Description.split('/')[1]);
      }
    }
  });

  it('keeps image buckets private, TLS-only and reachable only through CloudFront', () => {
    for (const stack of [shop.banner, shop.category, shop.product]) {
      const buckets = ofType(stack, 'AWS::S3::Bucket');
      assert.equal(buckets.length, 1);
      const pab = buckets[0][1].Properties.PublicAccessBlockConfiguration;
      assert.deepEqual(pab, { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
      assert.equal(buckets[0][1].Properties.CorsConfiguration.CorsRules[0].AllowedMethods[0], 'PUT');
      const policies = ofType(stack, 'AWS::S3::BucketPolicy');
      assert.ok(policies.length >= 1, 'the image bucket has a policy');
      for (const [, policy] of policies) {
        const statements = policy.Properties.PolicyDocument.Statement;
        assert.ok(statements.some((s: any) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false'), 'TLS only');
        for (const s of statements.filter((x: any) => x.Effect === 'Allow')) {
          assert.notEqual(s.Principal, '*', 'public allow');
          assert.notDeepEqual(s.Principal, { AWS: '*' }, 'public allow');
        }
        assert.ok(statements.some((s: any) => s.Principal?.Service === 'cloudfront.amazonaws.com'), 'CloudFront OAC read');
      }
      assert.equal(ofType(stack, 'AWS::CloudFront::Distribution').length, 1);
    }
  });

  it('wires alarms: DLQ, failed executions, each function, each API', () => {
    const all = Object.values(services).flatMap((s) => ofType(s, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties));
    const metric = (name: string) => all.filter((a) => a.MetricName === name);
    const functions = Object.values(services).flatMap((s) => ofType(s, 'AWS::Lambda::Function')).filter(([, f]) => isOurs(f));
    assert.equal(metric('Errors').length, functions.length);
    assert.equal(metric('Throttles').length, functions.length);
    // An HTTP API's 5xx is `5xx`, a REST API's `5XXError`: one whole-API alarm each.
    assert.equal(metric('5xx').length + metric('5XXError').length, Object.values(services).length);
    // The order DLQ and one failure queue per service with asynchronously invoked functions.
    assert.equal(metric('ApproximateNumberOfMessagesVisible').length, 1 + asyncServices());
    assert.equal(metric('ExecutionsFailed').length, 1);
    // Every alarm notifies the shared alerts topic, and nothing else.
    const alerts = JSON.stringify({ 'Fn::ImportValue': Object.values(Template.fromStack(shop.shared).toJSON().Outputs as Record<string, any>)
      .find((o) => o.Export && JSON.stringify(o.Value).includes('Alerts'))?.Export?.Name });
    for (const a of all) assert.deepEqual(a.AlarmActions.map((x: unknown) => JSON.stringify(x)), [alerts], JSON.stringify(a.AlarmActions));
  });

  it('alarms on a workflow timeout or abort alone: each metric is filled when it has no data point', () => {
    const alarms = ofType(shop.order, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties).filter((a) => a.Metrics);
    assert.equal(alarms.length, 1);
    const [expr] = alarms[0].Metrics.filter((m: any) => m.Expression);
    const inputs = alarms[0].Metrics.filter((m: any) => m.MetricStat).map((m: any) => [m.Id, m.MetricStat.Metric.MetricName]);
    assert.deepEqual(inputs.map(([, n]: string[]) => n).sort(), ['ExecutionsAborted', 'ExecutionsTimedOut']);
    for (const [id] of inputs) assert.match(expr.Expression, new RegExp(`FILL\\(${id}, 0\\)`), `${id} is not filled in ${expr.Expression}`);
    assert.equal(alarms[0].TreatMissingData, 'notBreaching');
  });

  it('shifts every function\'s traffic by the stage\'s rule behind its live alias, rolled back by its own alarms; dev all at once', () => {
    const rules = { dev: undefined, staging: 'CodeDeployDefault.LambdaLinear10PercentEvery1Minute', prod: 'CodeDeployDefault.LambdaCanary10Percent5Minutes' };
    for (const [stage, rule] of Object.entries(rules)) {
      const built = stage === 'dev' ? shop : synth(stage);
      for (const svc of loadDeclaration()) {
        const stack = built[svc.name as keyof typeof services] as Stack;
        const res = resources(stack);
        const aliases = ofType(stack, 'AWS::Lambda::Alias');
        const groups = ofType(stack, 'AWS::CodeDeploy::DeploymentGroup');
        // The pool's triggers are in the shared stack (checked below).
        const here = svc.functions.filter((f) => !f.cognito);
        assert.equal(aliases.length, here.length, `${stage} ${svc.name}: one live alias per function`);
        for (const [id, a] of aliases) {
          assert.equal(a.Properties.Name, 'live', id);
          // The alias points at a published version of its own function.
          const version = res[a.Properties.FunctionVersion['Fn::GetAtt'][0]];
          assert.equal(version.Type, 'AWS::Lambda::Version');
          assert.deepEqual(version.Properties.FunctionName, a.Properties.FunctionName);
          assert.equal((version as { DeletionPolicy?: string }).DeletionPolicy, 'Delete', `${id}: old versions are pruned`);
        }
        // Every trigger reaches the alias, never $LATEST: routes, queues, streams, buckets, schedules.
        const aliasIds = new Set(aliases.map(([id]) => id));
        const targets = [
          ...ofType(stack, 'AWS::ApiGatewayV2::Integration').map(([, i]) => JSON.stringify(i.Properties.IntegrationUri)),
          ...ofType(stack, 'AWS::ApiGateway::Method')
            .filter(([, m]) => m.Properties.Integration?.Type === 'AWS_PROXY')
            .map(([, m]) => JSON.stringify(m.Properties.Integration.Uri)),
          ...ofType(stack, 'AWS::Lambda::EventSourceMapping').map(([, m]) => JSON.stringify(m.Properties.FunctionName)),
          ...ofType(stack, 'AWS::Lambda::Permission').map(([, m]) => JSON.stringify(m.Properties.FunctionName)),
          ...ofType(stack, 'AWS::Events::Rule').flatMap(([, r]) => r.Properties.Targets.map((t: any) => JSON.stringify(t.Arn))),
        ];
        for (const t of targets) assert.ok([...aliasIds].some((a) => t.includes(`"${a}"`)), `${stage} ${svc.name}: a trigger invokes ${t}, not a live alias`);
        if (!rule) {
          assert.equal(groups.length, 0, `${stage}: no CodeDeploy`);
          continue;
        }
        assert.equal(groups.length, here.length, `${stage} ${svc.name}: one deployment group per function`);
        for (const [id, g] of groups) {
          assert.equal(g.Properties.DeploymentConfigName, rule, id);
          assert.deepEqual(g.Properties.AutoRollbackConfiguration.Events.sort(), ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_ALARM', 'DEPLOYMENT_STOP_ON_REQUEST']);
          const alarms = g.Properties.AlarmConfiguration.Alarms.map((a: any) => res[a.Name.Ref]);
          assert.ok(alarms.length >= 1 && g.Properties.AlarmConfiguration.Enabled, id);
          // Scoped to this one function: its errors, and for an API function its route's 5xx.
          const fns = new Set(alarms.flatMap((a: any) => (a.Properties.Dimensions ?? []).filter((d: any) => d.Name === 'FunctionName').map((d: any) => d.Value.Ref)));
          assert.equal(fns.size, 1, `${id}: alarms of ${[...fns].join(', ')}`);
          const routes = alarms.filter((a: any) => ['5xx', '5XXError'].includes(a.Properties.MetricName));
          for (const r of routes) assert.ok(r.Properties.Dimensions.some((d: any) => d.Name === 'Resource'), `${id}: a 5xx alarm of the whole API`);
        }
        // Every new version is probed before it takes traffic: the service's hook, which knows it.
        for (const [id, a] of aliases) {
          const hook = res[a.UpdatePolicy?.CodeDeployLambdaAliasUpdate?.BeforeAllowTrafficHook?.Ref];
          assert.match(hook?.Properties?.Description ?? '', /^pre-traffic hook/, `${id}: no pre-traffic hook`);
          assert.ok(JSON.stringify(hook.Properties.Environment.Variables.PROBES).includes(`"Ref":"${a.Properties.FunctionName.Ref}"`), `${id}: the hook has no probe for it`);
        }
        const http = svc.functions.filter((f) => f.http).length;
        const routeAlarms = groups.flatMap(([, g]) => g.Properties.AlarmConfiguration.Alarms).filter((a: any) => ['5xx', '5XXError'].includes(res[a.Name.Ref].Properties.MetricName));
        assert.equal(routeAlarms.length, http, `${stage} ${svc.name}: each route's 5xx rolls back its function`);
      }
    }
  });

  it('keeps every failed asynchronous invocation and undeliverable schedule event in a queue with an alarm', () => {
    for (const stack of Object.values(services)) {
      const res = resources(stack);
      const alarmed = new Set(
        ofType(stack, 'AWS::CloudWatch::Alarm')
          .map(([, a]) => a.Properties)
          .filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible')
          .map((a) => a.Dimensions[0].Value['Fn::GetAtt'][0]),
      );
      const configs = ofType(stack, 'AWS::Lambda::EventInvokeConfig').map(([, c]) => c.Properties);
      for (const [id, p] of ofType(stack, 'AWS::Lambda::Permission')) {
        if (!['s3.amazonaws.com', 'events.amazonaws.com'].includes(p.Properties.Principal)) continue;
        // S3 and EventBridge invoke the function's `live` alias, whose invoke config holds the queue.
        const alias = p.Properties.FunctionName.Ref;
        assert.equal(res[alias]?.Type, 'AWS::Lambda::Alias', `${id}: invokes ${JSON.stringify(p.Properties.FunctionName)}, not the live alias`);
        const fn = res[alias].Properties.FunctionName.Ref;
        const config = configs.find((c) => c.FunctionName.Ref === fn && JSON.stringify(c.Qualifier).includes(`"${alias}"`));
        const queue = config?.DestinationConfig?.OnFailure?.Destination?.['Fn::GetAtt']?.[0];
        assert.ok(queue && res[queue].Type === 'AWS::SQS::Queue', `${id}: ${fn} has no on-failure queue`);
        assert.ok(alarmed.has(queue), `${queue} has no alarm`);
      }
      for (const [id, rule] of ofType(stack, 'AWS::Events::Rule')) {
        for (const t of rule.Properties.Targets) {
          const dlq = t.DeadLetterConfig?.Arn?.['Fn::GetAtt']?.[0];
          assert.ok(dlq && alarmed.has(dlq), `${id}: a target without an alarmed dead-letter queue`);
        }
      }
    }
    assert.ok(ofType(shop.order, 'AWS::Lambda::EventInvokeConfig').length >= 1);
  });

  it('builds one dashboard per service from its own stack: business metrics, API, queues, workflow and functions', () => {
    for (const s of Object.values(services)) {
      const dashboards = ofType(s, 'AWS::CloudWatch::Dashboard');
      assert.equal(dashboards.length, 1, s.decl.name);
      const [[, dash]] = dashboards;
      assert.equal(dash.Properties.DashboardName, `shop-dev-${s.decl.name}`);
      // The body is a JSON document with tokens spliced in: read its literal parts.
      const parts = dash.Properties.DashboardBody['Fn::Join'][1] as unknown[];
      assert.ok(!JSON.stringify(parts).includes('Fn::ImportValue'), `${s.decl.name}: the dashboard imports another stack's values`);
      const body = parts.filter((p) => typeof p === 'string').join('');
      const count = (needle: string) => body.split(needle).length - 1;
      assert.equal(count('"AWS/ApiGateway","5xx"') + count('"AWS/ApiGateway","5XXError"'), s.api ? 1 : 0, s.decl.name);
      assert.equal(count('"AWS/ApiGateway","Latency"'), s.api ? 1 : 0, s.decl.name);
      const fns = ofType(s, 'AWS::Lambda::Function').filter(([, f]) => isOurs(f)).length;
      for (const m of ['Errors', 'Throttles', 'Duration']) assert.equal(count(`"AWS/Lambda","${m}"`), fns, `${s.decl.name} ${m}`);
      const queues = (s.failures ? 1 : 0) + (s === shop.order ? 1 : 0);
      assert.equal(count('"AWS/SQS","ApproximateNumberOfMessagesVisible"'), queues, s.decl.name);
      assert.equal(body.includes(`"Shop/dev","UploadsRejected","Service","${s.decl.name}"`), IMAGE_SERVICES.includes(s.decl.name), `${s.decl.name} uploads`);
    }
    const parts = ofType(shop.order, 'AWS::CloudWatch::Dashboard')[0][1].Properties.DashboardBody['Fn::Join'][1] as unknown[];
    const body = parts.filter((p) => typeof p === 'string').join('');
    for (const name of ORDER_METRICS) assert.ok(body.includes(`"Shop/dev","${name}","Service","order"`), `${name} missing`);
    for (const m of ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted', 'ApproximateAgeOfOldestMessage']) {
      assert.ok(body.includes(`"${m}"`), `${m} missing`);
    }
    const imageCode = readFileSync(join(REPO_ROOT, 'lambdas', 'core', 'src', 'images.rs'), 'utf8');
    assert.ok(imageCode.includes('REJECTED_METRIC: &str = "UploadsRejected"'), 'the image handlers emit another name');
    // The functions emit what the dashboard reads.
    const emitted = readFileSync(join(REPO_ROOT, 'lambdas', 'order', 'src', 'outcomes.rs'), 'utf8');
    for (const name of ORDER_METRICS) assert.ok(emitted.includes(`"${name}"`), `order/status-changed never emits ${name}`);
    const emitter = resources(shop.order)[functionId(shop.order, 'order/status-changed')];
    assert.equal(emitter.Properties.Environment.Variables.METRICS_NAMESPACE, 'Shop/dev');
  });

  it('runs Cognito as production needs: SES mail outside dev, case-insensitive names, no OAuth, strict throttling on auth', () => {
    const pool = (stage: Shop) => ofType(stage.shared, 'AWS::Cognito::UserPool')[0][1].Properties;
    const prod = synth('prod');
    assert.notEqual(pool(shop).EmailConfiguration?.EmailSendingAccount, 'DEVELOPER', 'dev keeps Cognito\'s sender');
    const mail = pool(prod).EmailConfiguration;
    assert.equal(mail.EmailSendingAccount, 'DEVELOPER');
    // The sender's domain is the identity by default (a domain identity with DKIM, verified first).
    assert.match(JSON.stringify(mail.SourceArn), /:identity\/example\.com"/);
    for (const stage of [shop, prod]) assert.deepEqual(pool(stage).UsernameConfiguration, { CaseSensitive: false });
    const [[, client]] = ofType(shop.shared, 'AWS::Cognito::UserPoolClient');
    assert.equal(client.Properties.AllowedOAuthFlowsUserPoolClient, false);
    // A secret: the public client id alone authorizes no SignUp or code email around the API.
    assert.equal(client.Properties.GenerateSecret, true);
    assert.equal(client.Properties.CallbackURLs, undefined);
    const [[, stage]] = ofType(shop.auth, 'AWS::ApiGateway::Stage');
    const settings = stage.Properties.MethodSettings;
    const all = settings.find((m: any) => m.ResourcePath === '/*');
    const limited = settings.filter((m: any) => m !== all);
    assert.deepEqual(
      limited.map((m: any) => `${m.HttpMethod} ${m.ResourcePath.slice(1).replaceAll('~1', '/')}`).sort(),
      ['POST /confirm-sign-up', 'POST /mfa/sign-in', 'POST /mfa/verify', 'POST /refresh-token', 'POST /resend-confirmation-code', 'POST /sign-in', 'POST /sign-up'],
    );
    for (const r of limited) {
      assert.ok(r.ThrottlingRateLimit < all.ThrottlingRateLimit, r.ResourcePath);
      assert.ok(r.ThrottlingBurstLimit < all.ThrottlingBurstLimit, r.ResourcePath);
    }
  });

  it('lets the pool\'s CustomMessage trigger, beside the pool, write every code email', () => {
    const shared = resources(shop.shared);
    const [[poolId, pool]] = ofType(shop.shared, 'AWS::Cognito::UserPool');
    const trigger = functionId(shop.shared, 'auth/custom-message');
    const [[aliasId, alias]] = ofType(shop.shared, 'AWS::Lambda::Alias');
    assert.deepEqual(alias.Properties.FunctionName, { Ref: trigger });
    assert.deepEqual(pool.Properties.LambdaConfig.CustomMessage, { Ref: aliasId }, 'Cognito invokes the live alias');
    const [[, permission]] = ofType(shop.shared, 'AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'cognito-idp.amazonaws.com');
    assert.deepEqual(permission.Properties.FunctionName, { Ref: aliasId });
    assert.deepEqual(permission.Properties.SourceArn, { 'Fn::GetAtt': [poolId, 'Arn'] });
    // No pool id in its configuration: the pool names the trigger, so the trigger cannot name the pool.
    const env = shared[trigger].Properties.Environment.Variables;
    assert.equal(env.USER_POOL_ID, undefined);
    assert.equal(shared[trigger].Properties.Handler, 'custom-message');
    // Nothing else of the auth service is here, and the auth stack has no second copy.
    assert.equal(ofType(shop.shared, 'AWS::Lambda::Function').filter(([, f]) => isOurs(f)).length, 1);
    assert.throws(() => functionId(shop.auth, 'auth/custom-message'));
  });

  it('fronts the auth API with a WAF that answers one client IP 429 per strict route, and logs who called', () => {
    const auth = resources(shop.auth);
    const [[aclId, acl]] = ofType(shop.auth, 'AWS::WAFv2::WebACL');
    assert.equal(acl.Properties.Scope, 'REGIONAL');
    const [[, association]] = ofType(shop.auth, 'AWS::WAFv2::WebACLAssociation');
    assert.deepEqual(association.Properties.WebACLArn, { 'Fn::GetAtt': [aclId, 'Arn'] });
    assert.match(JSON.stringify(association.Properties.ResourceArn), /restapis.*stages.*RestApiDeploymentStagelive/);
    const perIp = acl.Properties.Rules.filter((r: any) => r.Statement.RateBasedStatement);
    const strict = service('auth').functions.filter((f) => f.http?.limit === 'strict');
    assert.deepEqual(perIp.map((r: any) => r.Name).sort(), strict.map((f) => `PerIp-${f.name}`).sort());
    for (const r of perIp) {
      const rate = r.Statement.RateBasedStatement;
      assert.equal(rate.AggregateKeyType, 'IP', r.Name);
      assert.equal(r.Action.Block.CustomResponse.ResponseCode, 429, r.Name);
      const fn = r.Name.replace('PerIp-', '');
      assert.equal(rate.Limit, wafLimit(devConfig.wafApiRequestsPer5MinPerIp, fn), r.Name);
      const path = strict.find((f) => f.name === fn)!.http!.path;
      // The route's own path (with or without a trailing slash), never a longer one ending the same.
      const scope = rate.ScopeDownStatement;
      const route = scope.AndStatement ? scope.AndStatement.Statements[0] : scope;
      assert.deepEqual(route.OrStatement.Statements.map((st: any) => st.ByteMatchStatement.SearchString), [path, `${path}/`]);
      const excluded = scope.AndStatement
        ? scope.AndStatement.Statements[1].NotStatement.Statement.OrStatement.Statements.map((st: any) => st.ByteMatchStatement.SearchString)
        : [];
      const longer = strict.map((f) => f.http!.path).filter((p) => p !== path && p.endsWith(path));
      assert.deepEqual(excluded, longer.flatMap((p) => [p, `${p}/`]), r.Name);
    }
    const signIn = perIp.find((r: any) => r.Name === 'PerIp-sign-in').Statement.RateBasedStatement.ScopeDownStatement;
    assert.ok(JSON.stringify(signIn).includes('/mfa/sign-in'), 'the sign-in rule leaves TOTP sign-in to its own rule');
    // The email routes are the tightest.
    const limitOf = (fn: string) => perIp.find((r: any) => r.Name === `PerIp-${fn}`).Statement.RateBasedStatement.Limit;
    assert.ok(limitOf('sign-up') < limitOf('sign-in'));
    assert.ok(acl.Properties.Rules.some((r: any) => r.Statement.ManagedRuleGroupStatement?.Name === 'AWSManagedRulesAmazonIpReputationList'));
    const [[, stage]] = ofType(shop.auth, 'AWS::ApiGateway::Stage');
    assert.match(stage.Properties.AccessLogSetting.Format, /"sourceIp":"\$context.identity.sourceIp"/);
    // The HTTP APIs' field name, so the runbook's queries read this log too.
    assert.match(stage.Properties.AccessLogSetting.Format, /"routeKey":"\$context.httpMethod \$context.resourcePath"/);
    // The functions add the stage's CORS headers (a REST API passes theirs on), API Gateway's own answers carry them too.
    for (const f of service('auth').functions.filter((x) => x.http)) {
      const env = auth[functionId(shop.auth, `auth/${f.name}`)].Properties.Environment.Variables;
      assert.equal(env.CORS_ALLOW_ORIGIN, devConfig.corsOrigin, f.name);
    }
    const gatewayResponses = ofType(shop.auth, 'AWS::ApiGateway::GatewayResponse').map(([, g]) => g.Properties);
    assert.deepEqual(gatewayResponses.map((g) => g.ResponseType).sort(), ['DEFAULT_4XX', 'DEFAULT_5XX']);
    for (const g of gatewayResponses) assert.equal(g.ResponseParameters['gatewayresponse.header.Access-Control-Allow-Origin'], `'${devConfig.corsOrigin}'`);
    // No HTTP API is left for auth: nothing bypasses the WAF.
    assert.equal(ofType(shop.auth, 'AWS::ApiGatewayV2::Api').length, 0);
    assert.throws(() => wafLimit({ 'sign-up': 5 }, 'sign-up'), /at least 10/);
    // The account's API Gateway CloudWatch role (REST access logs need it): set unless the platform already does.
    assert.equal(ofType(shop.auth, 'AWS::ApiGateway::Account').length, 1);
    assert.equal(ofType(synth('dev', { apiGatewayCloudWatchRole: 'false' }).auth, 'AWS::ApiGateway::Account').length, 0);
  });

  it('offers TOTP MFA and, outside dev, gates every admin route on it with one Cognito read', () => {
    const prod = synth('prod');
    for (const stage of [shop, prod]) {
      const [[, pool]] = ofType(stage.shared, 'AWS::Cognito::UserPool');
      assert.equal(pool.Properties.MfaConfiguration, 'OPTIONAL');
      assert.deepEqual(pool.Properties.EnabledMfas, ['SOFTWARE_TOKEN_MFA']);
    }
    const admins = loadDeclaration().flatMap((s) => s.functions.filter((f) => f.http?.auth === 'admin').map((f) => [s.name, `${s.name}/${f.name}`]));
    assert.ok(admins.length >= 5);
    const stackOf = (stage: Shop, name: string): Stack => (stage as any)[name];
    for (const [name, fn] of admins) {
      const env = (stage: Shop) => resources(stackOf(stage, name))[functionId(stackOf(stage, name), fn)].Properties.Environment.Variables;
      assert.equal(env(prod).ADMIN_MFA_REQUIRED, 'true', fn);
      assert.ok(env(prod).USER_POOL_ID, fn);
      assert.ok(actionsOf(stackOf(prod, name), fn).includes('cognito-idp:AdminGetUser'), fn);
      assert.equal(env(shop).ADMIN_MFA_REQUIRED, undefined, `${fn}: dev needs no MFA`);
      assert.ok(!actionsOf(stackOf(shop, name), fn).includes('cognito-idp:AdminGetUser'), fn);
    }
    // Nobody else asks Cognito about MFA.
    for (const stack of [prod.order, prod.product]) {
      for (const [, f] of ofType(stack, 'AWS::Lambda::Function').filter(([, f]) => isOurs(f))) {
        const fn = f.Properties.Description as string;
        if (admins.some(([, a]) => a === fn)) continue;
        assert.equal(f.Properties.Environment.Variables.ADMIN_MFA_REQUIRED, undefined, fn);
      }
    }
  });

  it('retains the order DLQ and the failure queues with the data in prod (except when their first create rolls back), not in dev', () => {
    const prod = synth('prod');
    for (const [stack, policy] of [[shop.order, 'Delete'], [prod.order, 'RetainExceptOnCreate'], [prod.product, 'RetainExceptOnCreate']] as const) {
      const queues = Object.entries(Template.fromStack(stack).toJSON().Resources as Record<string, any>).filter(([, r]) => r.Type === 'AWS::SQS::Queue');
      const kept = queues.filter(([id]) => id.startsWith('OrderDlq') || id.startsWith('AsyncFailures'));
      assert.ok(kept.length >= 1);
      for (const [id, q] of kept) assert.equal(q.DeletionPolicy, policy, id);
    }
  });

  it('gives the functions CDK adds a log group with the stage retention, created before they run', () => {
    for (const stack of Object.values(services)) {
      const res = resources(stack);
      const helpers = ofType(stack, 'AWS::Lambda::Function').filter(([, f]) => !isOurs(f));
      for (const [id] of helpers) {
        const group = Object.entries(res).find(
          ([, r]) => r.Type === 'AWS::Logs::LogGroup' && JSON.stringify(r.Properties?.LogGroupName ?? '').includes(`{"Ref":"${id}"}`),
        );
        assert.ok(group, `${id} has no log group`);
        assert.equal(group[1].Properties.RetentionInDays, 14);
        for (const [cid, c] of Object.entries(res).filter(([, r]) => r.Type.startsWith('Custom::S3'))) {
          assert.ok([(c as any).DependsOn ?? []].flat().includes(group[0]), `${cid} may run before ${group[0]} exists`);
        }
      }
    }
  });

  it('gives the order queue a DLQ and a visibility timeout six times the consumer timeout', () => {
    const queues = ofType(shop.order, 'AWS::SQS::Queue').map(([, q]) => q.Properties);
    const main = queues.find((q) => q.RedrivePolicy);
    assert.ok(main);
    assert.equal(main.RedrivePolicy.maxReceiveCount, 5);
    assert.equal(main.SqsManagedSseEnabled, true);
    const consumer = resources(shop.order)[functionId(shop.order, 'order/queue-consumer')];
    assert.ok(main.VisibilityTimeout >= 6 * consumer.Properties.Timeout);
    const mapping = ofType(shop.order, 'AWS::Lambda::EventSourceMapping')[0][1].Properties;
    assert.deepEqual(mapping.FunctionResponseTypes, ['ReportBatchItemFailures']);
  });

  it('builds an Express state machine from the ASL file with substitutions, error logs without execution data, tracing', () => {
    const [, sm] = ofType(shop.order, 'AWS::StepFunctions::StateMachine')[0];
    assert.equal(sm.Properties.StateMachineType, 'EXPRESS');
    assert.equal(sm.Properties.LoggingConfiguration.Level, 'ERROR');
    assert.equal(sm.Properties.LoggingConfiguration.IncludeExecutionData, false);
    assert.equal(sm.Properties.TracingConfiguration.Enabled, true);
    assert.deepEqual(Object.keys(sm.Properties.DefinitionSubstitutions).sort(), ['AlertsTopicArn', 'OrdersTable', 'ProductsTable', 'Sender']);
    const standard = buildShop(new App({ context: { workflowType: 'STANDARD', 'aws:cdk:bundling-stacks': [] } }), 'dev');
    assert.equal(ofType(standard.order, 'AWS::StepFunctions::StateMachine')[0][1].Properties.StateMachineType, 'STANDARD');
  });

  it('grants the workflow role exactly what the ASL tasks call, on the resources they name', () => {
    const asl = JSON.parse(readFileSync(join(REPO_ROOT, 'stepfunctions', 'order-processing.asl.json'), 'utf8'));
    const [, sm] = ofType(shop.order, 'AWS::StepFunctions::StateMachine')[0];
    const subs = sm.Properties.DefinitionSubstitutions;
    const sub = (v: string) => subs[/^\$\{(\w+)\}$/.exec(v)?.[1] ?? ''];
    /** Does the grant's resource (an ARN expression) name the table whose name expression is given? */
    const isTable = (nameExpr: any) => (arn: any): boolean => {
      if (nameExpr?.Ref) return arn?.['Fn::GetAtt']?.[0] === nameExpr.Ref && arn['Fn::GetAtt'][1] === 'Arn';
      const ref = /^(.*):ExportsOutputRef(.+)[0-9A-F]{8}$/.exec(nameExpr?.['Fn::ImportValue'] ?? '');
      const att = /^(.*):ExportsOutputFnGetAtt(.+)Arn[0-9A-F]{8}$/.exec(arn?.['Fn::ImportValue'] ?? '');
      return !!ref && !!att && ref[1] === att[1] && ref[2] === att[2];
    };
    const needed: { what: string; action: string; matches: (arn: any) => boolean }[] = [];
    const ddbAction = (api: string) => `dynamodb:${api[0].toUpperCase()}${api.slice(1)}`;
    const states = allStates(asl);
    for (const [name, st] of states) {
      if (st.Type !== 'Task') continue;
      const [, service, api] = /^arn:aws:states:::(?:aws-sdk:)?([a-z0-9]+):([A-Za-z]+)$/.exec(st.Resource) ?? [];
      const p = st.Parameters;
      if (service === 'dynamodb' && api === 'transactWriteItems') {
        // Items written in the Task, or built by the Map whose result the Task sends (one Pass state per kind of slot).
        const planner = states.find(([, m]) => m.Type === 'Map' && m.ResultPath === p['TransactItems.$'])?.[1];
        const items = p.TransactItems ?? Object.values<any>(planner?.ItemProcessor.States ?? {}).filter((x) => x.Type === 'Pass' && ['Update', 'Put', 'Delete', 'ConditionCheck'].some((k) => k in (x.Parameters ?? {}))).map((x) => x.Parameters);
        assert.ok(items.length > 0, `${name}: no transaction items found`);
        for (const item of items) {
          const [kind, body] = Object.entries<any>(item)[0];
          const action = { Update: 'dynamodb:UpdateItem', Put: 'dynamodb:PutItem', Delete: 'dynamodb:DeleteItem', ConditionCheck: 'dynamodb:ConditionCheckItem' }[kind];
          assert.ok(action, `${name}: ${kind}`);
          needed.push({ what: `${name} ${kind} ${body.TableName}`, action, matches: isTable(sub(body.TableName)) });
        }
      } else if (service === 'dynamodb') {
        needed.push({ what: `${name} ${p.TableName}`, action: ddbAction(api), matches: isTable(sub(p.TableName)) });
      } else if (service === 'sesv2' && api === 'sendEmail') {
        // The sender's address, or the domain identity that verifies it.
        const sender: string = sub(p.FromEmailAddress);
        const identities = [sender, sender.slice(sender.lastIndexOf('@') + 1)];
        needed.push({ what: name, action: 'ses:SendEmail', matches: (arn) => identities.some((i) => JSON.stringify(arn).includes(`:identity/${i}"`)) });
      } else if (service === 'sns' && api === 'publish') {
        needed.push({ what: name, action: 'sns:Publish', matches: (arn) => JSON.stringify(arn) === JSON.stringify(sub(p.TopicArn)) });
      } else {
        assert.fail(`${name}: no IAM mapping for ${st.Resource}`);
      }
    }
    const roleId = sm.Properties.RoleArn['Fn::GetAtt'][0];
    const grants: { action: string; resource: any }[] = [];
    for (const [, pol] of ofType(shop.order, 'AWS::IAM::Policy')) {
      if (!pol.Properties.Roles.some((r: any) => r.Ref === roleId)) continue;
      for (const st of pol.Properties.PolicyDocument.Statement) {
        for (const action of [st.Action].flat()) {
          if (action.startsWith('logs:') || action.startsWith('xray:')) continue;
          for (const resource of [st.Resource].flat()) grants.push({ action, resource });
        }
      }
    }
    for (const n of needed) {
      assert.ok(grants.some((g) => g.action === n.action && n.matches(g.resource)), `the workflow role lacks ${n.action} for ${n.what}`);
    }
    for (const g of grants) {
      assert.ok(needed.some((n) => n.action === g.action && n.matches(g.resource)), `the workflow role grants ${g.action} on ${JSON.stringify(g.resource)}, which no task uses`);
    }
  });

  it('re-drives stuck orders only after every execution for them has timed out, on a schedule', () => {
    const asl = JSON.parse(readFileSync(join(REPO_ROOT, 'stepfunctions', 'order-processing.asl.json'), 'utf8'));
    const reconcile = resources(shop.order)[functionId(shop.order, 'order/reconcile')];
    const after = Number(reconcile.Properties.Environment.Variables.RECONCILE_AFTER_SECS);
    // The last moment an execution can still run: the consumer starts it on the last receive the
    // queue allows, then it runs up to the workflow's timeout.
    const queue = ofType(shop.order, 'AWS::SQS::Queue').map(([, q]) => q.Properties).find((q) => q.RedrivePolicy);
    const lastStart = queue.RedrivePolicy.maxReceiveCount * queue.VisibilityTimeout;
    assert.ok(asl.TimeoutSeconds > 0 && after > lastStart + asl.TimeoutSeconds, `reconcile after ${after}s, last start ${lastStart}s, workflow timeout ${asl.TimeoutSeconds}s`);
    const rules = ofType(shop.order, 'AWS::Events::Rule').map(([, r]) => r.Properties);
    assert.equal(rules.length, 1);
    assert.equal(rules[0].ScheduleExpression, 'rate(5 minutes)');
    const [, table] = ofType(shop.order, 'AWS::DynamoDB::GlobalTable')[0];
    const byStatus = table.Properties.GlobalSecondaryIndexes.find((i: any) => i.IndexName === 'byStatus');
    assert.equal(byStatus.Projection.ProjectionType, 'KEYS_ONLY');
  });

  it('creates every table on demand with PITR and encryption, retained and deletion-protected in staging and prod only', () => {
    const stages = [['dev', shop, 'Delete', false], ['staging', synth('staging'), 'Retain', true], ['prod', synth('prod'), 'Retain', true]] as const;
    for (const [stage, built, policy, protectedTables] of stages) {
      const stacks = [built.shared, built.auth, built.banner, built.category, built.product, built.order];
      const tables = stacks.flatMap((s) => ofType(s, 'AWS::DynamoDB::GlobalTable').map(([id, t]) => [s, id, t] as const));
      assert.equal(tables.length, 5, `${stage}: users, banners, categories, products, orders`);
      for (const [s, id, t] of tables) {
        const what = `${stage} ${id}`;
        assert.equal(t.Properties.BillingMode, 'PAY_PER_REQUEST', what);
        assert.equal(t.Properties.Replicas[0].PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, true, what);
        assert.equal(t.Properties.SSESpecification.SSEEnabled, true, what);
        assert.equal(t.Properties.Replicas[0].DeletionProtectionEnabled ?? false, protectedTables, what);
        assert.equal((Template.fromStack(s).toJSON().Resources as any)[id].DeletionPolicy, policy, what);
      }
    }
  });

  it('gives every protected route the Cognito JWT authorizer of this pool: issuer and audience', () => {
    for (const s of Object.values(services)) {
      const authorizers = ofType(s, 'AWS::ApiGatewayV2::Authorizer').map(([, a]) => a.Properties);
      const routes = ofType(s, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
      const protectedRoutes = routes.filter((r) => r.AuthorizationType === 'JWT');
      const declared = loadDeclaration().find((d) => d.name === s.decl.name)!.functions.filter((f) => f.http && f.http.auth !== 'none');
      assert.equal(protectedRoutes.length, declared.length, s.decl.name);
      if (declared.length === 0) continue;
      assert.equal(authorizers.length, 1, s.decl.name);
      const jwt = authorizers[0].JwtConfiguration;
      const issuer = JSON.stringify(jwt.Issuer);
      assert.match(issuer, /https:\/\/cognito-idp\./, 'issuer is the Cognito pool URL');
      assert.match(issuer, /ExportsOutputRefUsers/, 'issuer names this stage\'s user pool');
      assert.equal(jwt.Audience.length, 1);
      assert.match(JSON.stringify(jwt.Audience[0]), /ExportsOutputRefUsersAppClient/, 'audience is the app client');
    }
  });

  it('serves images for at most 5 minutes with a strict CSP, and expires review orphans', () => {
    for (const stack of [shop.banner, shop.category, shop.product]) {
      const [[, dist]] = ofType(stack, 'AWS::CloudFront::Distribution');
      const res = resources(stack);
      const behavior = dist.Properties.DistributionConfig.DefaultCacheBehavior;
      const cache = res[behavior.CachePolicyId.Ref].Properties.CachePolicyConfig;
      assert.ok(cache.MaxTTL <= 300 && cache.DefaultTTL <= 300, `${stack.stackName}: cached ${cache.MaxTTL} s`);
      const headers = res[behavior.ResponseHeadersPolicyId.Ref].Properties.ResponseHeadersPolicyConfig.SecurityHeadersConfig;
      assert.match(headers.ContentSecurityPolicy.ContentSecurityPolicy, /default-src 'none'/);
      assert.ok(headers.ContentSecurityPolicy.Override && headers.ContentTypeOptions.Override);
      assert.equal(headers.FrameOptions.FrameOption, 'DENY');
      const [[, bucket]] = ofType(stack, 'AWS::S3::Bucket');
      const rules = bucket.Properties.LifecycleConfiguration.Rules;
      assert.ok(rules.some((r: any) => r.Prefix === 'review/' && r.ExpirationInDays > 0), `${stack.stackName}: review/ never expires`);
    }
  });

  it('bounds sign-up abuse: a WAF on the pool per IP, alarms on sign-ups and SES reputation, a budget, the caller\'s IP in access logs', () => {
    const res = resources(shop.shared);
    const [[aclId, acl]] = ofType(shop.shared, 'AWS::WAFv2::WebACL');
    assert.equal(acl.Properties.Scope, 'REGIONAL');
    const [rule] = acl.Properties.Rules;
    const rate = rule.Statement.RateBasedStatement;
    // Counted, not blocked: every call through the API comes from the auth functions' few Lambda IPs.
    assert.deepEqual([rule.Action, rate.AggregateKeyType, rate.Limit], [{ Count: {} }, 'IP', 100]);
    const targets = rate.ScopeDownStatement.OrStatement.Statements.map((st: any) => st.ByteMatchStatement.SearchString);
    for (const op of ['SignUp', 'ConfirmSignUp', 'InitiateAuth', 'ResendConfirmationCode']) assert.ok(targets.includes(`AWSCognitoIdentityProviderService.${op}`), op);
    const [[, assoc]] = ofType(shop.shared, 'AWS::WAFv2::WebACLAssociation');
    assert.deepEqual(assoc.Properties.WebACLArn, { 'Fn::GetAtt': [aclId, 'Arn'] });
    assert.equal(res[assoc.Properties.ResourceArn['Fn::GetAtt'][0]].Type, 'AWS::Cognito::UserPool');
    const alarms = ofType(shop.shared, 'AWS::CloudWatch::Alarm').map(([, a]) => JSON.stringify(a.Properties));
    for (const m of ['"SignUps"', '"CodeEmails"', '"Reputation.BounceRate"', '"Reputation.ComplaintRate"', '"CountedRequests"']) assert.ok(alarms.some((a) => a.includes(m)), `no alarm on ${m}`);
    const [[, budget]] = ofType(shop.shared, 'AWS::Budgets::Budget');
    assert.deepEqual(budget.Properties.Budget.CostFilters.Service, ['Amazon Cognito', 'Amazon Simple Email Service']);
    assert.equal(budget.Properties.NotificationsWithSubscribers[0].Subscribers[0].SubscriptionType, 'SNS');
    const policies = ofType(shop.shared, 'AWS::SNS::TopicPolicy').map(([, p]) => JSON.stringify(p.Properties.PolicyDocument));
    assert.ok(policies.some((p) => p.includes('budgets.amazonaws.com')), 'Budgets may not publish to the alerts topic');
    for (const s of Object.values(services)) {
      for (const [, st] of ofType(s, 'AWS::ApiGatewayV2::Stage')) assert.match(st.Properties.AccessLogSettings.Format, /sourceIp/);
    }
    const strict = loadDeclaration().find((d) => d.name === 'auth')!.functions.filter((f) => f.http?.limit === 'strict').map((f) => f.name);
    for (const bin of ['confirm-sign-up', 'refresh-token']) assert.ok(strict.includes(bin), `${bin} is not strictly limited`);
  });

  it('alerts on every change of the admins group, however made, and on every admin\'s TOTP enrolment', () => {
    const res = resources(shop.shared);
    const [[, rule]] = ofType(shop.shared, 'AWS::Events::Rule');
    const pattern = rule.Properties.EventPattern;
    assert.deepEqual([pattern.source, pattern['detail-type']], [['aws.cognito-idp'], ['AWS API Call via CloudTrail']]);
    for (const call of ['AdminAddUserToGroup', 'AdminRemoveUserFromGroup', 'DeleteGroup']) assert.ok(pattern.detail.eventName.includes(call), call);
    assert.deepEqual(pattern.detail.requestParameters.groupName, ['admins']);
    assert.equal(res[pattern.detail.requestParameters.userPoolId[0].Ref].Type, 'AWS::Cognito::UserPool');
    const [target] = rule.Properties.Targets;
    assert.equal(res[target.Arn.Ref].Properties.DisplayName, 'Shop alarms and order alerts');
    const policies = ofType(shop.shared, 'AWS::SNS::TopicPolicy').map(([, p]) => JSON.stringify(p.Properties.PolicyDocument));
    assert.ok(policies.some((p) => p.includes('events.amazonaws.com')), 'EventBridge may not publish to the alerts topic');
    const enrolments = ofType(shop.shared, 'AWS::CloudWatch::Alarm').find(([, a]) => a.Properties.MetricName === 'AdminMfaEnrolments');
    assert.ok(enrolments, 'no alarm on admins\' TOTP enrolments');
    assert.deepEqual([enrolments[1].Properties.Threshold, enrolments[1].Properties.Dimensions], [1, [{ Name: 'Service', Value: 'auth' }]]);
    // The handler counts under the name the alarm watches.
    const code = readFileSync(join(REPO_ROOT, 'lambdas', 'auth', 'src', 'handlers.rs'), 'utf8');
    assert.ok(code.includes('pub const ADMIN_MFA_ENROLMENTS: &str = "AdminMfaEnrolments";'));
  });

  it('sets the pool\'s issuer format and expects the same one in every authorizer, original or updated', () => {
    for (const format of ['ORIGINAL', 'UPDATED']) {
      const built = format === 'ORIGINAL' ? shop : synth('dev', { cognitoIssuer: format });
      const [[, pool]] = ofType(built.shared, 'AWS::Cognito::UserPool');
      assert.deepEqual(pool.Properties.IssuerConfiguration, { Type: format });
      const host = format === 'UPDATED' ? 'https://issuer-cognito-idp.' : 'https://cognito-idp.';
      for (const s of [built.auth, built.order, built.product]) {
        for (const [, a] of ofType(s, 'AWS::ApiGatewayV2::Authorizer')) {
          assert.ok(JSON.stringify(a.Properties.JwtConfiguration.Issuer).includes(host), `${format}: ${JSON.stringify(a.Properties.JwtConfiguration.Issuer)}`);
        }
      }
    }
  });
});
