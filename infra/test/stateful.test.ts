/** The replacement guard: the committed record against the app, and the app mutated as a refactor would. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { App, CfnResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { REPO_ROOT } from '../lib/declaration.js';
import { buildShop, Shop } from '../lib/shop.js';
import { changeSetFindings, findings, record, stateOf, StatefulRecord } from '../lib/stateful.js';

const GUARDED = ['staging', 'prod'];
const committed = (stage: string): StatefulRecord => JSON.parse(readFileSync(join(REPO_ROOT, 'infra', 'stateful', `${stage}.json`), 'utf8'));

/** The stage's stateful resources after `mutate` changed the app, as `cdk synth` would write them. */
function stateAfter(stage: string, mutate: (shop: Shop) => void = () => {}) {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const shop = buildShop(app, stage);
  mutate(shop);
  const templates = Object.fromEntries(Object.values(shop).map((s: Stack) => [s.stackName, Template.fromStack(s).toJSON()]));
  return stateOf(templates);
}

describe('the replacement guard', () => {
  it('finds the committed record of each guarded stage true to the app', () => {
    for (const stage of GUARDED) assert.deepEqual(findings(committed(stage), stateAfter(stage)), [], stage);
  });

  it('fails naming the resource when the Orders table construct is renamed', () => {
    const found = findings(committed('prod'), stateAfter('prod', (shop) => (shop.order.orders.node.defaultChild as CfnResource).overrideLogicalId('OrderTable')));
    assert.ok(found.some((f) => /^Shop-prod-Order\/Orders[0-9A-F]{8} \(AWS::DynamoDB::GlobalTable\) would be removed/.test(f)), found.join('\n'));
    assert.ok(found.some((f) => f.startsWith('Shop-prod-Order/OrderTable (AWS::DynamoDB::GlobalTable) is not recorded')), found.join('\n'));
  });

  it('fails naming the property when a table key changes', () => {
    const found = findings(
      committed('prod'),
      stateAfter('prod', (shop) => {
        (shop.order.orders.node.defaultChild as dynamodb.CfnGlobalTable).keySchema = [{ attributeName: 'orderId', keyType: 'HASH' }];
      }),
    );
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0], /^Shop-prod-Order\/Orders[0-9A-F]{8} \(AWS::DynamoDB::GlobalTable\) would be replaced: KeySchema changes/);
  });

  it('fails when a required attribute is added to the user pool', () => {
    const found = findings(
      committed('prod'),
      stateAfter('prod', (shop) => {
        const pool = shop.shared.userPool.node.defaultChild as cognito.CfnUserPool;
        pool.addPropertyOverride('Schema.2', { Name: 'phone_number', Required: true, Mutable: true });
      }),
    );
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0], /^Shop-prod-Shared\/Users[0-9A-F]{8} \(AWS::Cognito::UserPool\) would be replaced: Schema changes/);
  });

  it('lets one new index through but refuses two on one table, even when recorded', () => {
    const gsi = (name: string) => ({ indexName: name, partitionKey: { name: name, type: dynamodb.AttributeType.STRING } });
    const one = stateAfter('prod', (shop) => shop.order.orders.addGlobalSecondaryIndex(gsi('byA')));
    assert.deepEqual(findings(committed('prod'), one), []);
    const two = stateAfter('prod', (shop) => {
      shop.order.orders.addGlobalSecondaryIndex(gsi('byA'));
      shop.order.orders.addGlobalSecondaryIndex(gsi('byB'));
    });
    const found = findings(committed('prod'), two);
    assert.equal(found.length, 1, found.join('\n'));
    assert.match(found[0], /would change 2 global secondary indexes in one deploy \(added: byA, byB; removed: none\)/);
    assert.throws(() => record(committed('prod'), two, 'both at once'), /one per table update/);
    // One at a time: record the first, and the second is again one change.
    const step = record(committed('prod'), one);
    assert.deepEqual(findings(step, two), []);
  });

  it('accepts an intended replacement only with a reason, kept beside the resource', () => {
    const renamed = stateAfter('prod', (shop) => (shop.order.orders.node.defaultChild as CfnResource).overrideLogicalId('OrderTable'));
    assert.throws(() => record(committed('prod'), renamed), /need a reason/);
    const next = record(committed('prod'), renamed, 'orders migrated to the new table (runbook: export, import, switch)');
    assert.deepEqual(findings(next, renamed), []);
    assert.match(next.$comment ?? '', /Last removal \(Shop-prod-Order\/Orders[0-9A-F]{8}\): orders migrated/);
  });

  it('reads a real change set: a stateful replacement or removal fails naming it, unless allowed for this deploy', () => {
    const change = (Type: string, Action: string, Replacement?: string, Name?: string) => ({
      ResourceChange: {
        Action,
        LogicalResourceId: 'Orders1234',
        ResourceType: Type,
        Replacement,
        Details: Name ? [{ Target: { Name, RequiresRecreation: 'Always' } }, { Target: { Name: 'Tags', RequiresRecreation: 'Never' } }] : [],
      },
    });
    const table = 'AWS::DynamoDB::GlobalTable';
    const replaced = changeSetFindings('Shop-prod-Order', [change(table, 'Modify', 'True', 'KeySchema')]);
    assert.deepEqual(replaced, ['Shop-prod-Order/Orders1234 (AWS::DynamoDB::GlobalTable) would be replaced by the change set (Replacement: True): KeySchema force it']);
    assert.match(changeSetFindings('S', [change(table, 'Modify', 'Conditional')])[0], /Replacement: Conditional/);
    assert.match(changeSetFindings('S', [change('AWS::Cognito::UserPool', 'Remove')])[0], /S\/Orders1234 \(AWS::Cognito::UserPool\) would be removed/);
    assert.deepEqual(changeSetFindings('S', [change(table, 'Modify', 'False'), change(table, 'Add'), change('AWS::Lambda::Function', 'Modify', 'True', 'FunctionName')]), []);
    assert.deepEqual(changeSetFindings('S', [change(table, 'Remove')], new Set(['S/Orders1234'])), []);
  });
});
