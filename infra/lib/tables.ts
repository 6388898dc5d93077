/** The data plane as `lambdas/tables.json` declares it; the local provisioning reads the same file. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { REPO_ROOT } from './declaration.js';

export interface IndexDecl {
  readonly name: string;
  /** Partition key, then the optional sort key (strings, as every key attribute). */
  readonly key: string[];
  /** `all`, `keys`, or the attributes projected besides the keys. */
  readonly projection: 'all' | 'keys' | string[];
  readonly why?: string;
}

export interface TableDecl {
  readonly name: string;
  readonly key: string;
  readonly indexes: IndexDecl[];
  readonly stream?: 'NEW_AND_OLD_IMAGES';
}

export function declaredTables(): TableDecl[] {
  return JSON.parse(readFileSync(join(REPO_ROOT, 'lambdas', 'tables.json'), 'utf8')).tables as TableDecl[];
}

export function declaredTable(name: string): TableDecl {
  const t = declaredTables().find((x) => x.name === name);
  if (!t) throw new Error(`table ${name} is not declared in lambdas/tables.json`);
  return t;
}

const attr = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/** The CDK index of a declared one. */
export function indexProps(i: IndexDecl): dynamodb.GlobalSecondaryIndexPropsV2 {
  const [pk, sk] = i.key;
  const base = { indexName: i.name, partitionKey: attr(pk), ...(sk ? { sortKey: attr(sk) } : {}) };
  if (i.projection === 'all') return base;
  if (i.projection === 'keys') return { ...base, projectionType: dynamodb.ProjectionType.KEYS_ONLY };
  return { ...base, projectionType: dynamodb.ProjectionType.INCLUDE, nonKeyAttributes: i.projection };
}

/** The table's key, indexes and stream, as declared. */
export function tableShape(name: string): Pick<dynamodb.TablePropsV2, 'partitionKey' | 'globalSecondaryIndexes' | 'dynamoStream'> {
  const t = declaredTable(name);
  return {
    partitionKey: attr(t.key),
    globalSecondaryIndexes: t.indexes.map(indexProps),
    dynamoStream: t.stream ? dynamodb.StreamViewType[t.stream] : undefined,
  };
}
