/** The stateful building blocks every stack makes the same way: declared tables and notice topics. */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { nagAck } from './lint.js';
import { removalPolicy, retainsData } from './removal.js';
import { tableShape } from './tables.js';

/**
 * The declared table `name` (`lambdas/tables.json`: key, indexes, stream) as every stack wants
 * it: on demand, PITR, encrypted, kept and deletion-protected where the stage retains data.
 */
export function table(scope: Construct, id: string, config: StageConfig, name: string): dynamodb.TableV2 {
  return new dynamodb.TableV2(scope, id, {
    ...tableShape(name),
    billing: dynamodb.Billing.onDemand(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    removalPolicy: removalPolicy(config, 'data'),
    deletionProtection: retainsData(config),
  });
}

/** A topic that only accepts TLS and is encrypted. */
export function topic(scope: Construct, id: string, displayName: string): sns.Topic {
  const t = new sns.Topic(scope, id, {
    displayName,
    enforceSSL: true,
  });
  nagAck(t, 'AwsSolutions-SNS2', 'Notices carry counts and order ids only; SSE with a CMK would need a key policy for CloudWatch alarms.');
  return t;
}
