/** The stateful building blocks every stack makes the same way: declared tables and notice topics. */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Duration } from 'aws-cdk-lib';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';
import { lintAck, nagAck } from './lint.js';
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

/**
 * A dead-letter queue: the end of the line for `of` (encrypted, TLS only, 14 days, emptied only
 * where the stage keeps nothing); `readBy` says who takes messages out of it.
 */
export function deadLetterQueue(scope: Construct, id: string, config: StageConfig, of: string, readBy: string): sqs.Queue {
  const q = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    removalPolicy: removalPolicy(config, 'empty-at-create'),
  });
  nagAck(q, 'AwsSolutions-SQS3', `This is the dead-letter queue of ${of}.`);
  nagAck(q, 'Serverless-SQSRedrivePolicy', `This is the dead-letter queue of ${of}: the end of the line, ${readBy}.`);
  lintAck(q, ['ES6000'], `This is the dead-letter queue of ${of}; ${readBy}.`);
  return q;
}
