/**
 * In-memory stand-ins for the AWS services the order workflow calls, with AWS's semantics where
 * moto is kinder: DynamoDB evaluates the condition and update expressions the workflow sends
 * (a small parser for the subset it uses; anything else throws, so a new form is never silently
 * accepted), cancels transactions that overlap on an item with `TransactionConflict`, and every
 * service raises the error names Step Functions gives them (`DynamoDb.*` through `aws-sdk:`
 * integrations, `DynamoDB.*` through the optimized ones). Errors can be injected per state.
 */

export type AttributeValue = { S: string } | { N: string } | { BOOL: boolean };
export type Item = Record<string, AttributeValue>;

/** An error as a Task raises it; Step Functions matches `name` against Retry and Catch. */
export class AwsError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

// ---------------------------------------------------------------------------------------------
// Expressions: the subset of DynamoDB's condition and update syntax the workflow uses.

type Token = { kind: 'name' | 'value' | 'op' | 'paren' | 'comma' | 'word'; text: string };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  const re = /\s*(?:(#[A-Za-z0-9_]+|[A-Za-z_][A-Za-z0-9_]*)|(:[A-Za-z0-9_]+)|(<>|<=|>=|=|<|>|\+|-)|([()])|(,))/y;
  let i = 0;
  while (i < src.length) {
    if (/^\s*$/.test(src.slice(i))) break;
    re.lastIndex = i;
    const m = re.exec(src);
    if (!m) throw syntax(src, src.slice(i));
    i = re.lastIndex;
    if (m[1]) {
      const upper = m[1].toUpperCase();
      out.push({ kind: ['AND', 'OR', 'NOT', 'SET'].includes(upper) ? 'word' : 'name', text: m[1] });
    } else if (m[2]) out.push({ kind: 'value', text: m[2] });
    else if (m[3]) out.push({ kind: 'op', text: m[3] });
    else if (m[4]) out.push({ kind: 'paren', text: m[4] });
    else out.push({ kind: 'comma', text: ',' });
  }
  return out;
}

/** DynamoDB's answer to an expression it cannot parse (the name gets the integration's prefix). */
function syntax(src: string, near: string): AwsError {
  return new AwsError('ValidationException', `Invalid expression: Syntax error; token: "${near}", near: "${src}"`);
}

/**
 * Words DynamoDB refuses as bare attribute names in an expression (a part of its reserved-word
 * list: the ones a shop's attributes are likely to be named; use `#name` for them).
 */
const RESERVED = new Set(
  ('ABORT ACTION ADD ALL ALTER AND ANY AS ASC BETWEEN BY CASE CAST CHECK COLUMN COMMENT COUNT CREATE ' +
    'DATA DATE DAY DELETE DESC DROP ELSE END EXISTS FROM GROUP HASH IN INDEX INSERT INTO IS ITEM ITEMS ' +
    'JOIN KEY KEYS LIMIT NAME NOT NULL NUMBER OR ORDER OWNER RANGE ROLE SELECT SET SIZE SOURCE STATE ' +
    'STATUS TABLE TIME TIMESTAMP TO TOTAL TYPE UPDATE USER VALUE VALUES WHERE YEAR ZONE').split(' '),
);

/**
 * What DynamoDB refuses before it evaluates anything: an expression name or value no expression
 * uses, a number that is not one, a key that is not the table's (`id`).
 */
function validateRequest(req: any): void {
  const expressions = ['KeyConditionExpression', 'FilterExpression', 'ConditionExpression', 'UpdateExpression', 'ProjectionExpression']
    .map((k) => req[k])
    .filter((e): e is string => typeof e === 'string')
    .join(' ');
  const used = new Set(expressions.match(/[#:][A-Za-z0-9_]+/g) ?? []);
  for (const [kind, map] of [['ExpressionAttributeNames', req.ExpressionAttributeNames], ['ExpressionAttributeValues', req.ExpressionAttributeValues]] as const) {
    const unused = Object.keys(map ?? {}).filter((k) => !used.has(k));
    if (unused.length > 0) throw new AwsError('ValidationException', `Value provided in ${kind} unused in expressions: keys: {${unused.join(', ')}}`);
  }
  const numbers = [...Object.values(req.ExpressionAttributeValues ?? {}), ...Object.values(req.Key ?? {})] as AttributeValue[];
  for (const v of numbers) {
    if ('N' in v && (v.N.trim() === '' || !Number.isFinite(Number(v.N)))) {
      throw new AwsError('ValidationException', `A value provided cannot be converted into a number: ${JSON.stringify(v.N)}`);
    }
  }
  if (req.Key !== undefined && (Object.keys(req.Key).length !== 1 || !('id' in req.Key))) {
    throw new AwsError('ValidationException', 'The provided key element does not match the schema');
  }
}

interface ExprContext {
  names: Record<string, string>;
  values: Record<string, AttributeValue>;
}

class Parser {
  private pos = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly ctx: ExprContext,
    private readonly src: string,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.pos];
  }
  private next(): Token {
    const t = this.tokens[this.pos++];
    if (!t) throw syntax(this.src, '<end>');
    return t;
  }
  private isWord(w: string): boolean {
    const t = this.peek();
    return t?.kind === 'word' && t.text.toUpperCase() === w;
  }
  done(): boolean {
    return this.pos >= this.tokens.length;
  }

  attrName(t: Token): string {
    if (t.kind !== 'name') throw syntax(this.src, t.text);
    if (!t.text.startsWith('#') && RESERVED.has(t.text.toUpperCase())) {
      throw new AwsError('ValidationException', `Invalid expression: Attribute name is a reserved keyword; reserved keyword: ${t.text}`);
    }
    if (t.text.startsWith('#')) {
      const n = this.ctx.names[t.text];
      if (n === undefined) throw new AwsError('ValidationException', `undefined attribute name ${t.text}`);
      return n;
    }
    return t.text;
  }

  operand(item: Item | undefined): AttributeValue | undefined {
    const t = this.next();
    if (t.kind === 'value') {
      const v = this.ctx.values[t.text];
      if (v === undefined) throw new AwsError('ValidationException', `undefined attribute value ${t.text}`);
      return v;
    }
    return item?.[this.attrName(t)];
  }

  /** condition := and (OR and)* */
  condition(item: Item | undefined): boolean {
    let v = this.conjunction(item);
    while (this.isWord('OR')) {
      this.next();
      const rhs = this.conjunction(item);
      v = v || rhs;
    }
    return v;
  }
  private conjunction(item: Item | undefined): boolean {
    let v = this.factor(item);
    while (this.isWord('AND')) {
      this.next();
      const rhs = this.factor(item);
      v = v && rhs;
    }
    return v;
  }
  private factor(item: Item | undefined): boolean {
    if (this.isWord('NOT')) {
      this.next();
      return !this.factor(item);
    }
    const t = this.peek();
    if (t?.kind === 'paren' && t.text === '(') {
      this.next();
      const v = this.condition(item);
      this.expect(')');
      return v;
    }
    if (t?.kind === 'name' && (t.text === 'attribute_exists' || t.text === 'attribute_not_exists')) {
      this.next();
      this.expect('(');
      const name = this.attrName(this.next());
      this.expect(')');
      const present = item?.[name] !== undefined;
      return t.text === 'attribute_exists' ? present : !present;
    }
    const lhs = this.operand(item);
    const op = this.next();
    if (op.kind !== 'op') throw syntax(this.src, op.text);
    const rhs = this.operand(item);
    return compare(lhs, op.text, rhs);
  }
  private expect(text: string): void {
    const t = this.next();
    if (t.text !== text) throw syntax(this.src, t.text);
  }

  /** update := SET name = operand [(+|-) operand] (, ...)* */
  update(item: Item): Item {
    if (!this.isWord('SET')) throw new Error(`fake DynamoDB supports SET updates only: "${this.src}"`);
    this.next();
    const out: Item = { ...item };
    for (;;) {
      const target = this.attrName(this.next());
      this.expect('=');
      let value = this.operand(item);
      const t = this.peek();
      if (t?.kind === 'op' && (t.text === '+' || t.text === '-')) {
        this.next();
        const rhs = this.operand(item);
        if (!value || !rhs || !('N' in value) || !('N' in rhs)) {
          throw new AwsError('ValidationException', 'An operand in the update expression has an incorrect data type');
        }
        const n = t.text === '+' ? Number(value.N) + Number(rhs.N) : Number(value.N) - Number(rhs.N);
        value = { N: String(n) };
      }
      if (!value) throw new AwsError('ValidationException', 'The provided expression refers to an attribute that does not exist in the item');
      out[target] = value;
      if (this.peek()?.kind !== 'comma') break;
      this.next();
    }
    if (!this.done()) throw syntax(this.src, this.peek()?.text ?? '');
    return out;
  }
}

function compare(a: AttributeValue | undefined, op: string, b: AttributeValue | undefined): boolean {
  // DynamoDB: a comparison with a missing attribute or across types is false.
  if (!a || !b) return false;
  if ('N' in a && 'N' in b) {
    const [x, y] = [Number(a.N), Number(b.N)];
    return { '=': x === y, '<>': x !== y, '<': x < y, '<=': x <= y, '>': x > y, '>=': x >= y }[op] ?? false;
  }
  if ('S' in a && 'S' in b) {
    const [x, y] = [a.S, b.S];
    return { '=': x === y, '<>': x !== y, '<': x < y, '<=': x <= y, '>': x > y, '>=': x >= y }[op] ?? false;
  }
  if ('BOOL' in a && 'BOOL' in b) return op === '=' ? a.BOOL === b.BOOL : op === '<>' ? a.BOOL !== b.BOOL : false;
  return false;
}

function evalCondition(expr: string | undefined, item: Item | undefined, ctx: ExprContext): boolean {
  if (!expr) return true;
  const p = new Parser(tokenize(expr), ctx, expr);
  const v = p.condition(item);
  if (!p.done()) throw syntax(expr, '');
  return v;
}

function applyUpdate(expr: string, item: Item, ctx: ExprContext): Item {
  return new Parser(tokenize(expr), ctx, expr).update(item);
}

// ---------------------------------------------------------------------------------------------

interface UpdateRequest {
  TableName: string;
  Key: Item;
  UpdateExpression: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, AttributeValue>;
}

/** An error to raise at a state, `times` times; `afterApply` raises it after the write took effect (a lost response). */
export interface Injection {
  error: string;
  times: number;
  afterApply?: boolean;
}

export interface Email {
  to: string[];
  subject: string;
  body: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FakeAws {
  readonly tables = new Map<string, Map<string, Item>>();
  readonly emails: Email[] = [];
  readonly alerts: { subject: string; message: string }[] = [];
  /** Every call a Task made, by state name, in order. */
  readonly calls: string[] = [];
  private readonly injections = new Map<string, Injection[]>();
  private readonly hooks = new Map<string, () => void>();
  /** Items inside a running transaction: another write to them is cancelled with TransactionConflict. */
  private readonly locked = new Set<string>();
  /** How long a transaction holds its items (ms); 0 = instantaneous, so only injected conflicts happen. */
  transactionMs = 0;
  /** Transactions cancelled because another one held an item (not counting injected ones). */
  conflicts = 0;

  table(name: string): Map<string, Item> {
    let t = this.tables.get(name);
    if (!t) {
      t = new Map();
      this.tables.set(name, t);
    }
    return t;
  }

  put(table: string, item: Item): void {
    this.table(table).set(keyOf(item), item);
  }

  get(table: string, id: string): Item | undefined {
    return this.table(table).get(id);
  }

  /** Raise `error` the next `times` times `state` runs. */
  inject(state: string, error: string, times = 1, afterApply = false): void {
    const list = this.injections.get(state) ?? [];
    list.push({ error, times, afterApply });
    this.injections.set(state, list);
  }

  /**
   * The injections no call ever reached: a renamed state, or one the path never takes, would
   * otherwise leave a failure test green without injecting anything (run() refuses them).
   */
  unreached(): string[] {
    return [...this.injections.entries()].filter(([state]) => !this.calls.includes(state)).map(([state, list]) => `${state} (${list.map((i) => i.error).join(', ')})`);
  }

  /** Run `fn` once, right after the next call of `state` (another writer acting in between). */
  after(state: string, fn: () => void): void {
    this.hooks.set(state, fn);
  }

  private injected(state: string, afterApply: boolean, prefix: string): void {
    const list = this.injections.get(state);
    const hit = list?.find((i) => i.times > 0 && !!i.afterApply === afterApply);
    if (!hit) return;
    hit.times -= 1;
    if (hit.error === 'TransactionConflict') {
      throw new AwsError(`${prefix}.TransactionCanceledException`, 'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]');
    }
    throw new AwsError(`${prefix}.${hit.error}`, `injected ${hit.error}`);
  }

  /** The handler for one Task state, chosen by its Resource as Step Functions routes it. */
  handler(state: string, resource: string): (input: any) => Promise<unknown> {
    const [, service, action] = resource.match(/^arn:aws:states:::(?:aws-sdk:)?([a-z0-9]+):([A-Za-z]+)$/) ?? [];
    const sdk = resource.includes(':aws-sdk:');
    const prefix = { dynamodb: sdk ? 'DynamoDb' : 'DynamoDB', sesv2: 'SesV2', sns: 'SNS' }[service ?? ''];
    if (!prefix || !action) throw new Error(`no fake for ${resource} (state ${state})`);
    const op = `${service}:${action}`;
    return async (input: any) => {
      this.calls.push(state);
      this.injected(state, false, prefix);
      const result = await this.call(op, input, prefix);
      this.injected(state, true, prefix);
      const hook = this.hooks.get(state);
      this.hooks.delete(state);
      hook?.();
      return result;
    };
  }

  private async call(op: string, input: any, prefix: string): Promise<unknown> {
    try {
      return await this.dispatch(op, input, prefix);
    } catch (e) {
      // DynamoDB's own refusals reach the workflow with the integration's prefix, like the rest.
      if (e instanceof AwsError && !e.name.includes('.') && op.startsWith('dynamodb:')) e.name = `${prefix}.${e.name}`;
      throw e;
    }
  }

  private async dispatch(op: string, input: any, prefix: string): Promise<unknown> {
    if (op.startsWith('dynamodb:')) {
      for (const req of op === 'dynamodb:transactWriteItems' ? (input.TransactItems ?? []).map((t: any) => t.Update ?? t) : [input]) {
        validateRequest(req);
      }
    }
    switch (op) {
      case 'dynamodb:query':
        return this.query(input);
      case 'dynamodb:getItem':
        return this.getItem(input);
      case 'dynamodb:updateItem':
        return this.updateItem(input, prefix);
      case 'dynamodb:transactWriteItems':
        return this.transact(input, prefix);
      case 'sesv2:sendEmail':
        this.emails.push({
          to: input.Destination.ToAddresses,
          subject: input.Content.Simple.Subject.Data,
          body: input.Content.Simple.Body.Text.Data,
        });
        return { MessageId: `m-${this.emails.length}` };
      case 'sns:publish':
        this.alerts.push({ subject: input.Subject, message: input.Message });
        return { MessageId: `a-${this.alerts.length}` };
      default:
        throw new Error(`no fake for ${op}`);
    }
  }

  private query(input: any): unknown {
    const ctx = { names: input.ExpressionAttributeNames ?? {}, values: input.ExpressionAttributeValues ?? {} };
    const all = [...this.table(input.TableName).values()];
    const keyed = all.filter((i) => evalCondition(input.KeyConditionExpression, i, ctx));
    const matched = keyed.filter((i) => evalCondition(input.FilterExpression, i, ctx));
    if (input.Select === 'COUNT') return { Count: matched.length, ScannedCount: keyed.length };
    return { Items: matched, Count: matched.length, ScannedCount: keyed.length };
  }

  private getItem(input: any): unknown {
    const item = this.table(input.TableName).get(keyOf(input.Key));
    if (!item) return {};
    if (!input.ProjectionExpression) return { Item: item };
    const names: Record<string, string> = input.ExpressionAttributeNames ?? {};
    const projected: Item = {};
    for (const raw of String(input.ProjectionExpression).split(',').map((s) => s.trim())) {
      const name = raw.startsWith('#') ? names[raw] : raw;
      if (name !== undefined && item[name] !== undefined) projected[name] = item[name];
    }
    return { Item: projected };
  }

  private updateItem(input: UpdateRequest, prefix: string): unknown {
    const key = `${input.TableName}/${keyOf(input.Key)}`;
    if (this.locked.has(key)) throw new AwsError(`${prefix}.TransactionConflictException`, 'Transaction is ongoing for the item');
    const table = this.table(input.TableName);
    const current = table.get(keyOf(input.Key));
    const ctx = { names: input.ExpressionAttributeNames ?? {}, values: input.ExpressionAttributeValues ?? {} };
    if (!evalCondition(input.ConditionExpression, current, ctx)) {
      throw new AwsError(`${prefix}.ConditionalCheckFailedException`, 'The conditional request failed');
    }
    table.set(keyOf(input.Key), applyUpdate(input.UpdateExpression, current ?? { ...input.Key }, ctx));
    return {};
  }

  private async transact(input: { TransactItems: { Update: UpdateRequest }[] }, prefix: string): Promise<unknown> {
    const updates = input.TransactItems.map((t) => {
      if (!t.Update) throw new Error('fake DynamoDB supports Update transaction items only');
      return t.Update;
    });
    const keys = updates.map((u) => `${u.TableName}/${keyOf(u.Key)}`);
    if (new Set(keys).size !== keys.length) {
      throw new AwsError(`${prefix}.ValidationException`, 'Transaction request cannot include multiple operations on one item');
    }
    if (keys.length > 100) throw new AwsError(`${prefix}.ValidationException`, 'Member must have length less than or equal to 100');
    const conflicts = keys.map((k) => (this.locked.has(k) ? 'TransactionConflict' : 'None'));
    if (conflicts.includes('TransactionConflict')) {
      this.conflicts += 1;
      throw new AwsError(`${prefix}.TransactionCanceledException`, `Transaction cancelled, please refer cancellation reasons for specific reasons [${conflicts.join(', ')}]`);
    }
    keys.forEach((k) => this.locked.add(k));
    try {
      if (this.transactionMs > 0) await sleep(this.transactionMs);
      const reasons = updates.map((u) => {
        const current = this.table(u.TableName).get(keyOf(u.Key));
        const ctx = { names: u.ExpressionAttributeNames ?? {}, values: u.ExpressionAttributeValues ?? {} };
        return evalCondition(u.ConditionExpression, current, ctx) ? 'None' : 'ConditionalCheckFailed';
      });
      if (reasons.includes('ConditionalCheckFailed')) {
        throw new AwsError(`${prefix}.TransactionCanceledException`, `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.join(', ')}]`);
      }
      for (const u of updates) {
        const table = this.table(u.TableName);
        const ctx = { names: u.ExpressionAttributeNames ?? {}, values: u.ExpressionAttributeValues ?? {} };
        table.set(keyOf(u.Key), applyUpdate(u.UpdateExpression, table.get(keyOf(u.Key)) ?? { ...u.Key }, ctx));
      }
      return {};
    } finally {
      keys.forEach((k) => this.locked.delete(k));
    }
  }
}

function keyOf(item: Item): string {
  const id = item.id;
  if (!id || !('S' in id)) throw new AwsError('ValidationException', 'The provided key element does not match the schema');
  return id.S;
}
