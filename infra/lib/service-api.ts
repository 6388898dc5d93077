/** A service's own HTTP API: routes from the declaration, the Cognito JWT authorizer on protected ones (`rest-api.ts`: the REST API of a service declared `"api": "rest"`). */
import { CfnOutput, CfnResource, Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { ServiceDecl } from './declaration.js';
import { RustFunction, alarm } from './rust-function.js';
import { nagAck } from './lint.js';
import { removalPolicy } from './removal.js';

export interface ServiceApiProps {
  readonly config: StageConfig;
  readonly service: ServiceDecl;
  /** The Lambda of each HTTP function, by its declared name. */
  readonly handlers: Record<string, RustFunction>;
  /** The `iss` the JWT authorizer accepts: the pool's (SharedStack.issuer). */
  readonly issuer: string;
  readonly userPoolClientId: string;
  readonly alarms: sns.ITopic;
}

/** The API metrics the dashboard and alarms read, by their HTTP API names. */
export type ApiMetric = 'Count' | '4xx' | '5xx' | 'Latency';

export class ServiceApi extends Construct {
  readonly api: apigw.HttpApi;

  constructor(scope: Construct, id: string, props: ServiceApiProps) {
    super(scope, id);
    const { config, service } = props;
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `shop-${config.stage}-${service.name}`,
      // API Gateway answers preflights and adds CORS headers to requests with an Origin itself,
      // ignoring any from the functions (which send none); `infra/stages.json` "cors".
      corsPreflight: {
        allowOrigins: [config.corsOrigin],
        allowMethods: config.cors.allowMethods.map((m) => m as apigw.CorsHttpMethod),
        allowHeaders: config.cors.allowHeaders,
        exposeHeaders: config.cors.exposeHeaders,
        maxAge: Duration.seconds(config.cors.maxAgeSeconds),
      },
    });
    const authorizer = new HttpJwtAuthorizer('Cognito', props.issuer, {
      jwtAudience: [props.userPoolClientId],
    });
    const routes: Record<string, apigw.HttpRoute> = {};
    for (const fn of service.functions) {
      if (!fn.http) continue;
      const handler = props.handlers[fn.name];
      if (!handler) throw new Error(`${service.name}/${fn.name} is declared but has no function in the stack`);
      const route = (routes[fn.name] = new apigw.HttpRoute(this, `Route-${fn.name}`, {
        httpApi: this.api,
        routeKey: apigw.HttpRouteKey.with(fn.http.path, fn.http.method as apigw.HttpMethod),
        integration: new HttpLambdaIntegration(`Integration-${fn.name}`, handler.live),
        authorizer: fn.http.auth === 'none' ? undefined : authorizer,
      }));
      if (fn.http.auth === 'none') {
        nagAck(route, 'AwsSolutions-APIG4', `${fn.http.method} ${fn.http.path} is public by contract (SPEC section 3: no auth).`);
      }
    }
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: removalPolicy(config, 'empty-at-create'),
    });
    const stage = this.api.defaultStage?.node.defaultChild as apigw.CfnStage;
    stage.accessLogSettings = {
      destinationArn: accessLogs.logGroupArn,
      format: JSON.stringify({
        requestId: '$context.requestId',
        routeKey: '$context.routeKey',
        status: '$context.status',
        latency: '$context.responseLatency',
        integrationError: '$context.integrationErrorMessage',
        sub: '$context.authorizer.claims.sub',
        // Who is calling: the per-IP view an abuse investigation starts from.
        sourceIp: '$context.identity.sourceIp',
      }),
    };
    // Where CodeDeploy shifts traffic, each route's own 5xx (detailed metrics) is one of its
    // function's rollback alarms.
    const shifted = config.delivery !== 'all-at-once';
    stage.defaultRouteSettings = {
      throttlingBurstLimit: config.routeBurstLimit,
      throttlingRateLimit: config.routeRateLimit,
      ...(shifted ? { detailedMetricsEnabled: true } : {}),
    };
    for (const fn of service.functions) {
      const deployment = props.handlers[fn.name]?.deployment;
      if (!fn.http || !deployment) continue;
      const route5xx = new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName: '5xx',
        dimensionsMap: { ApiId: this.api.apiId, Method: fn.http.method, Resource: fn.http.path, Stage: '$default' },
        statistic: 'Sum',
        period: Duration.minutes(1),
      });
      deployment.addAlarm(alarm(this, `Route5xx-${fn.name}`, route5xx, props.alarms));
    }
    // Password guessing and email floods: the routes the declaration marks strict get the stage's lower limits.
    const strict = service.functions.filter((f) => f.http?.limit === 'strict');
    if (strict.length > 0) {
      // API Gateway refuses RouteSettings that name a route it does not have yet, and
      // CloudFormation creates the stage as early as it can: the stage waits for those routes.
      for (const f of strict) stage.addResourceDependency(routes[f.name].node.defaultChild as CfnResource);
      stage.routeSettings = Object.fromEntries(
        // A JSON map in CloudFormation: its values keep CloudFormation's own (Pascal) case.
        strict.map((f) => [`${f.http!.method} ${f.http!.path}`, { ThrottlingBurstLimit: config.authBurstLimit, ThrottlingRateLimit: config.authRateLimit }]),
      );
    }
    alarm(this, 'Api5xx', this.metric('5xx', 'Sum', Duration.minutes(5)), props.alarms);
    new CfnOutput(scope, 'ApiUrl', { value: this.api.apiEndpoint, description: `${service.name} API base URL` });
  }

  /** One of the API's standard metrics. */
  metric(name: ApiMetric, statistic: string, period: Duration): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName: name, dimensionsMap: { ApiId: this.api.apiId, Stage: '$default' }, statistic, period });
  }
}
