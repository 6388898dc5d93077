/**
 * A service's REST API (`"api": "rest"` in lambdas/services.json: the auth service), for what an
 * HTTP API cannot do: take an AWS WAF web ACL. The WAF sees each client's own IP (the pool's WAF
 * sees only the auth functions' few Lambda IPs), so it can block one client per route without
 * shutting out the rest (docs/api.md, "Sign-up is not a billing lever"):
 * - per client IP and route, a rate rule on every strict route (sign-up, confirmation, sign-in,
 *   resend, refresh, TOTP): above the stage's `wafApiRequestsPer5MinPerIp` for the route (or its
 *   `*`), that IP gets 429 on that route until its rate falls;
 * - AWS's IP reputation list (known bots and scanners) is blocked.
 * The paths stay the declaration's (`/sign-up`, ...) under the stage `live`; the URL is the
 * `ApiUrl` output as before. The functions get payload 1.0 and add the stage's CORS headers
 * themselves (a REST API adds none outside its preflight: `shop_core::http::rest`); API Gateway's
 * and the WAF's own answers carry them from here.
 */
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { nagAck } from './lint.js';
import { removalPolicy } from './removal.js';
import { alarm } from './rust-function.js';
import type { ApiMetric, ServiceApiProps } from './service-api.js';

/** The REST API's one stage (the local runner's `gateway::REST_STAGE`). */
export const REST_STAGE = 'live';

/** The per-IP limit in 5 minutes of a route's function (`*`: every other strict route). */
export function wafLimit(limits: Record<string, number>, fn: string): number {
  const limit = limits[fn] ?? limits['*'];
  // AWS WAF's rate-based rules take 10 to 2,000,000,000 requests per window.
  if (!(typeof limit === 'number' && limit >= 10)) throw new Error(`wafApiRequestsPer5MinPerIp has no limit of at least 10 for ${fn} (nor "*")`);
  return limit;
}

export class RestServiceApi extends Construct {
  readonly api: apigateway.RestApi;
  readonly webAcl: wafv2.CfnWebACL;

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    const { config, service } = props;
    const http = service.functions.filter((f) => f.http);
    const protectedRoutes = http.filter((f) => f.http!.auth !== 'none');
    if (protectedRoutes.length > 0) {
      throw new Error(`${service.name}: a REST API here fronts public routes only; ${protectedRoutes.map((f) => f.name).join(', ')} need the JWT authorizer of an HTTP API`);
    }
    for (const f of Object.keys(config.wafApiRequestsPer5MinPerIp)) {
      if (f !== '*' && !http.some((h) => h.name === f)) throw new Error(`wafApiRequestsPer5MinPerIp names ${f}, which is no route of ${service.name}`);
    }
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicy(config, 'empty-at-create'),
    });
    const shifted = config.delivery !== 'all-at-once';
    const strict = http.filter((f) => f.http!.limit === 'strict');
    const origin = config.corsOrigin;
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `shop-${config.stage}-${service.name}`,
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // Access logs need the account's API Gateway CloudWatch role (one per account and region);
      // a platform that already sets it turns this off (`apiGatewayCloudWatchRole`).
      cloudWatchRole: config.apiGatewayCloudWatchRole,
      deployOptions: {
        stageName: REST_STAGE,
        accessLogDestination: new apigateway.LogGroupLogDestination(accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            // The same field as the HTTP APIs' logs, so one Logs Insights query reads both.
            routeKey: '$context.httpMethod $context.resourcePath',
            status: '$context.status',
            latency: '$context.responseLatency',
            integrationError: '$context.integrationErrorMessage',
            waf: '$context.wafResponseCode',
            // Who is calling: the per-IP view an abuse investigation starts from.
            sourceIp: '$context.identity.sourceIp',
          }),
        ),
        throttlingBurstLimit: config.routeBurstLimit,
        throttlingRateLimit: config.routeRateLimit,
        // Password guessing and email floods: the routes the declaration marks strict get the
        // stage's lower limits (below Cognito's account quotas, which every real user shares).
        methodOptions: Object.fromEntries(
          strict.map((f) => [`${f.http!.path}/${f.http!.method}`, { throttlingBurstLimit: config.authBurstLimit, throttlingRateLimit: config.authRateLimit }]),
        ),
        // Per-method metrics: each route's 5xx is one of its function's rollback alarms.
        metricsEnabled: shifted,
        // As the functions: a sampled trace from the edge to Cognito.
        tracingEnabled: true,
      },
      defaultCorsPreflightOptions: {
        allowOrigins: [origin],
        allowMethods: config.cors.allowMethods,
        allowHeaders: config.cors.allowHeaders,
        maxAge: Duration.seconds(config.cors.maxAgeSeconds),
      },
    });
    // API Gateway's own answers (throttled, unknown route, integration failure) carry CORS too,
    // or a browser could not read them.
    const corsHeaders = { 'Access-Control-Allow-Origin': `'${origin}'`, 'Access-Control-Expose-Headers': `'${config.cors.exposeHeaders.join(',')}'` };
    for (const [gid, type] of [['Default4xx', apigateway.ResponseType.DEFAULT_4XX], ['Default5xx', apigateway.ResponseType.DEFAULT_5XX]] as const) {
      this.api.addGatewayResponse(gid, { type, responseHeaders: corsHeaders });
    }
    for (const f of http) {
      const handler = props.handlers[f.name];
      if (!handler) throw new Error(`${service.name}/${f.name} is declared but has no function in the stack`);
      handler.fn.addEnvironment('CORS_ALLOW_ORIGIN', origin);
      handler.fn.addEnvironment('CORS_EXPOSE_HEADERS', config.cors.exposeHeaders.join(','));
      const method = this.api.root.resourceForPath(f.http!.path).addMethod(f.http!.method, new apigateway.LambdaIntegration(handler.live), {
        authorizationType: apigateway.AuthorizationType.NONE,
      });
      nagAck(method, 'AwsSolutions-APIG4', `${f.http!.method} ${f.http!.path} is public by contract (SPEC section 3: no auth).`);
      nagAck(method, 'AwsSolutions-COG4', `${f.http!.method} ${f.http!.path} is public by contract: it is where a Cognito session starts.`);
    }
    nagAck(this.api, 'AwsSolutions-APIG2', 'Each function validates its body and answers 400 with the field at fault (docs/api.md); a request model here would answer differently.');
    nagAck(this.api.deploymentStage, 'AwsSolutions-APIG6', 'Access logs of every request (with the source IP) and per-method metrics are on; execution logs would copy request bodies (passwords, codes) into CloudWatch.');
    nagAck(this.api, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]', 'The account-wide API Gateway CloudWatch role uses AmazonAPIGatewayPushToCloudWatchLogs, the policy AWS defines for it.');
    this.webAcl = this.waf(props, strict.map((f) => ({ name: f.name, path: f.http!.path })));

    for (const f of http) {
      const deployment = props.handlers[f.name]?.deployment;
      if (!deployment) continue;
      const route5xx = new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5XXError',
        dimensionsMap: { ApiName: this.api.restApiName, Method: f.http!.method, Resource: f.http!.path, Stage: REST_STAGE },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
      deployment.addAlarm(alarm(this, `Route5xx-${f.name}`, route5xx, props.alarms));
    }
    alarm(this, 'Api5xx', this.metric('5xx', 'Sum', Duration.minutes(5)), props.alarms);
    new CfnOutput(scope, 'ApiUrl', {
      value: `https://${this.api.restApiId}.execute-api.${Stack.of(this).region}.${Stack.of(this).urlSuffix}/${REST_STAGE}`,
      description: `${service.name} API base URL`,
    });
  }

  /** One of the API's standard metrics (REST names: `4XXError`, `5XXError`). */
  metric(name: ApiMetric, statistic: string, period: Duration): cloudwatch.Metric {
    const metricName = { Count: 'Count', '4xx': '4XXError', '5xx': '5XXError', Latency: 'Latency' }[name];
    return new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: { ApiName: this.api.restApiName, Stage: REST_STAGE }, statistic, period });
  }

  private waf(props: ServiceApiProps, strict: { name: string; path: string }[]): wafv2.CfnWebACL {
    const { config, service } = props;
    const name = `shop-${config.stage}-${service.name}-api`;
    const visibility = (metricName: string) => ({ cloudWatchMetricsEnabled: true, metricName, sampledRequestsEnabled: true });
    const endsWith = (suffix: string): wafv2.CfnWebACL.StatementProperty => ({
      byteMatchStatement: { fieldToMatch: { uriPath: {} }, positionalConstraint: 'ENDS_WITH', searchString: suffix, textTransformations: [{ priority: 0, type: 'NONE' }] },
    });
    // The route under any base path (`/live/sign-up`, a custom domain's `/auth/sign-up`), with or
    // without a trailing slash, and not another route whose path ends with this one's
    // (`/mfa/sign-in` is not `/sign-in`: each is counted by its own rule only).
    const routeOnly = (path: string, all: string[]): wafv2.CfnWebACL.StatementProperty => {
      const route: wafv2.CfnWebACL.StatementProperty = { orStatement: { statements: [endsWith(path), endsWith(`${path}/`)] } };
      const longer = all.filter((p) => p !== path && p.endsWith(path));
      if (longer.length === 0) return route;
      const others = longer.flatMap((p) => [endsWith(p), endsWith(`${p}/`)]);
      return { andStatement: { statements: [route, { notStatement: { statement: { orStatement: { statements: others } } } }] } };
    };
    const acl = new wafv2.CfnWebACL(this, 'Acl', {
      name,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(name),
      customResponseBodies: {
        TooManyRequests: { contentType: 'APPLICATION_JSON', content: '{"message":"Too Many Requests"}' },
      },
      rules: [
        {
          name: 'IpReputation',
          priority: 0,
          overrideAction: { none: {} },
          statement: { managedRuleGroupStatement: { vendorName: 'AWS', name: 'AWSManagedRulesAmazonIpReputationList' } },
          visibilityConfig: visibility(`${name}-ip-reputation`),
        },
        ...strict.map((f, i) => ({
          name: `PerIp-${f.name}`,
          priority: i + 1,
          action: {
            block: {
              customResponse: {
                responseCode: 429,
                customResponseBodyKey: 'TooManyRequests',
                responseHeaders: [
                  { name: 'retry-after', value: '300' },
                  { name: 'access-control-allow-origin', value: config.corsOrigin },
                ],
              },
            },
          },
          statement: {
            rateBasedStatement: {
              limit: wafLimit(config.wafApiRequestsPer5MinPerIp, f.name),
              evaluationWindowSec: 300,
              aggregateKeyType: 'IP',
              scopeDownStatement: routeOnly(f.path, strict.map((o) => o.path)),
            },
          },
          visibilityConfig: visibility(`${name}-per-ip-${f.name}`),
        })),
      ],
    });
    new wafv2.CfnWebACLAssociation(this, 'AclAssociation', { resourceArn: this.api.deploymentStage.stageArn, webAclArn: acl.attrArn });
    return acl;
  }
}
