/** What every service stack has: its functions (one per declared binary) and its own HTTP API. */
import { Duration, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { ServiceDecl, service } from './declaration.js';
import { ServiceApi } from './service-api.js';
import { RustFunction } from './rust-function.js';
import { SharedStack } from './shared-stack.js';

export interface ServiceStackProps extends StackProps {
  readonly config: StageConfig;
  readonly shared: SharedStack;
}

export abstract class ServiceStack extends Stack {
  readonly decl: ServiceDecl;
  readonly fns: Record<string, RustFunction> = {};
  api?: ServiceApi;

  constructor(scope: Construct, id: string, name: string, props: ServiceStackProps) {
    super(scope, id, props);
    this.decl = service(name);
  }

  /** Creates every declared function with the same environment, then the API over the HTTP ones. */
  protected functions(props: ServiceStackProps, environment: Record<string, string>, timeouts: Record<string, Duration> = {}): void {
    for (const f of this.decl.functions) {
      this.fns[f.bin] = new RustFunction(this, f.bin, {
        config: props.config,
        service: this.decl,
        bin: f.bin,
        environment,
        alarms: props.shared.alertsTopic,
        timeout: timeouts[f.bin],
      });
    }
    if (this.decl.functions.some((f) => f.http)) {
      this.api = new ServiceApi(this, 'Http', {
        config: props.config,
        service: this.decl,
        handlers: this.fns,
        userPoolId: props.shared.userPool.userPoolId,
        userPoolClientId: props.shared.client.userPoolClientId,
        alarms: props.shared.alertsTopic,
      });
    }
  }

  /** The function of a declared binary (fails loudly if the declaration lacks it). */
  fn(bin: string): RustFunction {
    const f = this.fns[bin];
    if (!f) throw new Error(`${this.decl.name}/${bin} is not declared`);
    return f;
  }

  /** The declared triggers of `kind`, by binary. */
  protected triggered(kind: 's3' | 'sqs' | 'schedule'): string[] {
    return this.decl.functions.filter((f) => f[kind]).map((f) => f.bin);
  }
}
