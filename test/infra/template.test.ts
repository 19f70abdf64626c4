// Template tests of the synthesized stack: what the API, tables, functions and grants must be. The
// expectations come from the shared definitions (route table, tables, gateway responses, access map),
// so a route or table added there is checked here without editing this file.
import { Stack, type CfnResource } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { API_CURSOR_READERS, API_TABLE_ACCESS, type ApiFunctionName } from '../../infra/access.js';
import { DEFAULT_THROTTLING, routeKind } from '../../infra/api.js';
import { CONSOLE_METHODS } from '../../infra/console.js';
import { CONTEXT, createApp } from '../../infra/create-app.js';
import type { DcpFunction } from '../../infra/function.js';
import { GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE } from '../../functions/core/problems.js';
import { API_GROUPS, ROUTES, fullPath } from '../../functions/core/routes/index.js';
import { TABLE_IDS, TABLES, tableEnvVar, type TableId } from '../../functions/core/tables.js';

// Synthesized CloudFormation, read loosely.
type Json = Record<string, any>;

const WEB_ACL_ARN = 'arn:aws:wafv2:eu-west-1:111122223333:regional/webacl/dcp/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b';

// Prepare: one synth for the whole file, bundling skipped (the code is not what these tests look at), with
// API Gateway logging on (the default stack, without it, is checked by operations.test.ts).
const { stack } = createApp({
  nag: false,
  context: { 'aws:cdk:bundling-stacks': [], [CONTEXT.wafWebAclArn]: WEB_ACL_ARN, [CONTEXT.apiLogging]: 'on' },
});
const template = Template.fromStack(stack);
const resources: Record<string, Json> = template.toJSON().Resources;

const logicalId = (c: IConstruct): string => Stack.of(c).resolve((c.node.defaultChild as CfnResource).logicalId);
const ofType = (type: string): [string, Json][] => Object.entries(resources).filter(([, r]) => r.Type === type);
const refTo = (value: unknown): string | undefined =>
  (value as Json)?.Ref ?? (value as Json)?.['Fn::GetAtt']?.[0];

const fnOf = (name: ApiFunctionName): DcpFunction => stack.api.functions[name];
const tableLogicalId = (id: TableId): string => logicalId(stack.data.tables[id].table);

/** Statements of every policy attached to a role. */
function statementsOf(roleLogicalId: string): Json[] {
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as Json[]).some((r) => r.Ref === roleLogicalId))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);
}

const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'];

/** Table id → DynamoDB actions a role may perform on the table itself (index grants are checked apart). */
function tableActions(roleLogicalId: string): Map<TableId, Set<string>> {
  const byLogicalId = new Map(TABLE_IDS.map((id) => [tableLogicalId(id), id]));
  const result = new Map<TableId, Set<string>>();
  for (const statement of statementsOf(roleLogicalId)) {
    const actions = asList<string>(statement.Action).filter((a) => a.startsWith('dynamodb:'));
    if (actions.length === 0) continue;
    for (const resource of asList<Json>(statement.Resource)) {
      const join = resource['Fn::Join']?.[1] as unknown[] | undefined;
      if (join) {
        // `<table arn>/index/<name>`: a named index of a table the role is granted, for queries only.
        const tableId = byLogicalId.get(refTo(join[0]) ?? '');
        const indexName = /^\/index\/(.+)$/.exec(String(join[1]))?.[1];
        expect(tableId, JSON.stringify(resource)).toBeDefined();
        expect(TABLES[tableId!].indexes?.map((i) => i.indexName)).toContain(indexName);
        expect(actions.sort()).toEqual(['dynamodb:Query', 'dynamodb:Scan']);
        continue;
      }
      const tableId = byLogicalId.get(refTo(resource) ?? '');
      // Anything else (a wildcard, another resource) would be a grant this test does not expect.
      expect(tableId, `dynamodb statement on ${JSON.stringify(resource)}`).toBeDefined();
      const set = result.get(tableId!) ?? new Set<string>();
      actions.forEach((a) => set.add(a));
      result.set(tableId!, set);
    }
  }
  return result;
}

/** Full path of every API Gateway resource, rebuilt from PathPart/ParentId. */
function resourcePaths(): Map<string, string> {
  const restApiId = logicalId(stack.api.restApi);
  const byId = new Map(ofType('AWS::ApiGateway::Resource'));
  const paths = new Map<string, string>();
  const pathOf = (id: string): string => {
    const known = paths.get(id);
    if (known) return known;
    const r = byId.get(id)!;
    const parent = r.Properties.ParentId;
    const parentPath = parent['Fn::GetAtt']?.[0] === restApiId ? '' : pathOf(parent.Ref);
    const p = `${parentPath}/${r.Properties.PathPart}`;
    paths.set(id, p);
    return p;
  };
  for (const id of byId.keys()) pathOf(id);
  return paths;
}

describe('HTTPS API routes', () => {
  const paths = resourcePaths();
  const authorizerId = ofType('AWS::ApiGateway::Authorizer')[0]![0];
  const methods = ofType('AWS::ApiGateway::Method').map(([, m]) => ({
    key: `${m.Properties.HttpMethod} ${paths.get(m.Properties.ResourceId.Ref) ?? '/'}`,
    props: m.Properties,
  }));

  it('has exactly one method per route in the route table, and the console\'s', () => {
    const expected = [...ROUTES.map((r) => `${r.method} ${fullPath(r)}`), ...CONSOLE_METHODS].sort();
    expect(methods.map((m) => m.key).sort()).toEqual(expected);
  });

  it.each(ROUTES.map((r) => [`${r.method} ${fullPath(r)}`, r] as const))('%s: auth and integration', (key, route) => {
    const method = methods.find((m) => m.key === key)!.props;
    if (route.scopes.length === 0) {
      expect(method.AuthorizationType).toBe('NONE');
      expect(method.AuthorizerId).toBeUndefined();
    } else {
      expect(method.AuthorizationType).toBe('CUSTOM');
      expect(method.AuthorizerId).toEqual({ Ref: authorizerId });
    }
    expect(method.Integration.Type).toBe('AWS_PROXY');
    expect(JSON.stringify(method.Integration.Uri)).toContain(`"${logicalId(fnOf(route.group).function)}"`);
    expect(method.RequestValidatorId).toBeDefined();
  });

  it('serves /healthz, /openapi.json and the console\'s assets without a token', () => {
    const publicKeys = methods.filter((m) => m.props.AuthorizationType === 'NONE').map((m) => m.key).sort();
    expect(publicKeys).toEqual(['GET /console', 'GET /console/{proxy+}', 'GET /healthz', 'GET /openapi.json']);
  });

  it('uses a REQUEST authorizer on the Authorization header with caching off', () => {
    const [, authorizer] = ofType('AWS::ApiGateway::Authorizer')[0]!;
    expect(authorizer.Properties).toMatchObject({
      Type: 'REQUEST',
      IdentitySource: 'method.request.header.Authorization',
      AuthorizerResultTtlInSeconds: 0,
    });
    expect(JSON.stringify(authorizer.Properties.AuthorizerUri)).toContain(`"${logicalId(fnOf('authorizer').function)}"`);
  });
});

describe('gateway responses', () => {
  const byType = new Map(ofType('AWS::ApiGateway::GatewayResponse').map(([, r]) => [r.Properties.ResponseType, r.Properties]));

  it.each(GATEWAY_RESPONSES.map((g) => [g.type, g] as const))('%s is a problem document', (type, spec) => {
    const response = byType.get(type)!;
    expect(response, type).toBeDefined();
    expect(response.ResponseParameters['gatewayresponse.header.Content-Type']).toBe(`'${PROBLEM_CONTENT_TYPE}'`);
    expect(response.StatusCode).toBe(spec.status === undefined ? undefined : String(spec.status));
    // API Gateway substitutes the variables; a quoted message stands in for the one that is not quoted.
    const body = JSON.parse(
      (response.ResponseTemplates['application/json'] as string).replace('$context.error.messageString', '"message"'),
    ) as Json;
    expect(body).toMatchObject({ type: `urn:dcp:problem:${spec.code}`, code: spec.code });
    expect(typeof body.title).toBe('string');
    expect(typeof body.detail).toBe('string');
    if (spec.status !== undefined) expect(body.status).toBe(spec.status);
  });

  it('asks for a bearer token on 401', () => {
    expect(byType.get('UNAUTHORIZED')!.ResponseParameters['gatewayresponse.header.WWW-Authenticate']).toBe("'Bearer'");
  });
});

describe('stage', () => {
  const [, stage] = ofType('AWS::ApiGateway::Stage')[0]!;
  const settings = stage.Properties.MethodSettings as Json[];
  const settingOf = (resourcePath: string, httpMethod: string) =>
    settings.find((s) => s.ResourcePath === resourcePath && s.HttpMethod === httpMethod);
  const encoded = (p: string) => `/${p.replaceAll('/', '~1')}`;

  it('writes JSON access logs to its own log group', () => {
    const { DestinationArn, Format } = stage.Properties.AccessLogSetting;
    expect(refTo(DestinationArn)).toBe(logicalId(stack.api.accessLogs!));
    const line = JSON.parse((Format as string).replace('$context.error.messageString', '"message"')) as Json;
    expect(line).toMatchObject({ requestId: '$context.requestId', status: '$context.status', tokenId: '$context.authorizer.tokenId' });
    expect(resources[logicalId(stack.api.accessLogs!)]!.Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('traces with X-Ray and logs errors without request bodies', () => {
    expect(stage.Properties.TracingEnabled).toBe(true);
    for (const s of settings) {
      expect(s).toMatchObject({ LoggingLevel: 'ERROR', DataTraceEnabled: false, MetricsEnabled: true });
    }
  });

  it('throttles the stage and every route, writes below reads', () => {
    expect(settingOf('/*', '*')).toMatchObject({
      ThrottlingRateLimit: DEFAULT_THROTTLING.stage.rateLimit,
      ThrottlingBurstLimit: DEFAULT_THROTTLING.stage.burstLimit,
    });
    for (const route of ROUTES) {
      const limits = DEFAULT_THROTTLING[routeKind(route)];
      expect(settingOf(encoded(fullPath(route)), route.method), `${route.method} ${fullPath(route)}`).toMatchObject({
        ThrottlingRateLimit: limits.rateLimit,
        ThrottlingBurstLimit: limits.burstLimit,
      });
    }
    expect(DEFAULT_THROTTLING.write.rateLimit).toBeLessThan(DEFAULT_THROTTLING.read.rateLimit);
    expect(routeKind(ROUTES.find((r) => r.operationId === 'createToken')!)).toBe('write');
    expect(routeKind(ROUTES.find((r) => r.operationId === 'listTokens')!)).toBe('read');
    expect(routeKind(ROUTES.find((r) => r.operationId === 'heartbeat')!)).toBe('machine');
  });

  it('associates the given WAF web ACL with the stage', () => {
    const [, association] = ofType('AWS::WAFv2::WebACLAssociation')[0]!;
    expect(association.Properties.WebACLArn).toBe(WEB_ACL_ARN);
    expect(JSON.stringify(association.Properties.ResourceArn)).toContain(`"Ref":"${logicalId(stack.api.restApi.deploymentStage)}"`);
    expect(template.toJSON().Outputs.ApiStageArn.Export).toBeDefined();
  });
});

describe('tables', () => {
  const keySchema = (pk: { name: string }, sk?: { name: string }) => [
    { AttributeName: pk.name, KeyType: 'HASH' },
    ...(sk ? [{ AttributeName: sk.name, KeyType: 'RANGE' }] : []),
  ];

  it.each([...TABLE_IDS])('%s matches the shared definition and is protected', (id) => {
    const spec = TABLES[id];
    const table = resources[tableLogicalId(id)]!;
    expect(table.Type).toBe('AWS::DynamoDB::GlobalTable');
    expect(table.DeletionPolicy).toBe('Retain');
    const p = table.Properties;
    expect(p.KeySchema).toEqual(keySchema(spec.partitionKey, spec.sortKey));
    expect((p.GlobalSecondaryIndexes ?? []).map((i: Json) => ({ name: i.IndexName, keys: i.KeySchema }))).toEqual(
      (spec.indexes ?? []).map((i) => ({ name: i.indexName, keys: keySchema(i.partitionKey, i.sortKey) })),
    );
    const attributeTypes = Object.fromEntries((p.AttributeDefinitions as Json[]).map((a) => [a.AttributeName, a.AttributeType]));
    for (const key of [spec.partitionKey, spec.sortKey, ...(spec.indexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey])]) {
      if (key) expect(attributeTypes[key.name], key.name).toBe(key.type);
    }
    expect(p.TimeToLiveSpecification).toEqual(
      spec.timeToLiveAttribute ? { AttributeName: spec.timeToLiveAttribute, Enabled: true } : undefined,
    );
    expect(p.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
    expect(p.Replicas).toHaveLength(1);
    expect(p.Replicas[0]).toMatchObject({
      DeletionProtectionEnabled: true,
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });
});

describe('functions', () => {
  const ours = [...Object.values(stack.api.functions), stack.bootstrapAdmin.onEvent];

  it('run the newest Node.js on arm64 with tracing, JSON logs and their own log group', () => {
    for (const fn of ours) {
      const p = resources[logicalId(fn.function)]!.Properties;
      expect(p, fn.node.path).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: logicalId(fn.logGroup) } },
      });
      expect(resources[logicalId(fn.role)]!.Properties.ManagedPolicyArns, fn.node.path).toBeUndefined();
    }
  });

  it('one function per API group plus the authorizer', () => {
    expect(Object.keys(stack.api.functions).sort()).toEqual([...API_GROUPS, 'authorizer'].sort());
  });
});

describe('least privilege', () => {
  it.each(Object.keys(API_TABLE_ACCESS) as ApiFunctionName[])('%s gets exactly its tables, with their env vars', (name) => {
    const fn = fnOf(name);
    const grants = API_TABLE_ACCESS[name];
    const actual = tableActions(logicalId(fn.role));
    expect([...actual.keys()].sort()).toEqual(Object.keys(grants).sort());
    for (const [tableId, actions] of actual) {
      const writes = WRITE_ACTIONS.filter((a) => actions.has(a));
      expect(writes, `${name} on ${tableId}`).toEqual(grants[tableId] === 'readWrite' ? WRITE_ACTIONS : []);
      expect(actions.has('dynamodb:GetItem')).toBe(true);
    }
    const env = resources[logicalId(fn.function)]!.Properties.Environment?.Variables ?? {};
    for (const tableId of Object.keys(grants) as TableId[]) {
      expect(env[tableEnvVar(tableId)], tableEnvVar(tableId)).toEqual({ Ref: tableLogicalId(tableId) });
    }
  });

  it('the audit function only reads: the audit table, and targets for tenant checks', () => {
    const actions = tableActions(logicalId(fnOf('audit').role));
    expect([...actions.keys()].sort()).toEqual(['audit', 'targets']);
    const reads = ['dynamodb:BatchGetItem', 'dynamodb:ConditionCheckItem', 'dynamodb:DescribeTable', 'dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'];
    expect([...actions.get('audit')!].sort()).toEqual(reads);
    expect([...actions.get('targets')!].sort()).toEqual(reads);
  });

  it('the authorizer only reads the tokens table', () => {
    const actions = tableActions(logicalId(fnOf('authorizer').role));
    expect([...actions.keys()]).toEqual(['tokens']);
    expect(WRITE_ACTIONS.filter((a) => actions.get('tokens')!.has(a))).toEqual([]);
  });

  it('names index ARNs one by one instead of index/*', () => {
    const statements = statementsOf(logicalId(fnOf('targets').role));
    const indexResources = statements.flatMap((s) => asList<Json>(s.Resource)).filter((r) => r['Fn::Join']);
    expect(JSON.stringify(indexResources)).not.toContain('index/*');
    expect(JSON.stringify(indexResources)).toContain('/index/byTenant');
  });

  // Neither X-Ray nor CloudWatch Logs' vended log delivery (state machine logging) has resource-level permissions.
  const LOG_DELIVERY_ACTIONS = new Set([
    'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries', 'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
  ]);
  const stateMachineRoles = new Set(ofType('AWS::StepFunctions::StateMachine').map(([, m]) => refTo(m.Properties.RoleArn)));

  it('grants wildcard resources only for X-Ray, and log delivery to state machines', () => {
    for (const [, policy] of ofType('AWS::IAM::Policy')) {
      const ofStateMachine = (policy.Properties.Roles as Json[]).every((r) => stateMachineRoles.has(r.Ref));
      for (const s of policy.Properties.PolicyDocument.Statement as Json[]) {
        if (asList(s.Resource).includes('*')) {
          const allowed = (a: string) => a.startsWith('xray:') || (ofStateMachine && LOG_DELIVERY_ACTIONS.has(a));
          expect(asList<string>(s.Action).every(allowed), JSON.stringify(s.Action)).toBe(true);
        }
      }
    }
  });
});

describe('bootstrap admin token', () => {
  const secretId = logicalId(stack.bootstrapAdmin.secret);

  it('is a generated secret of at least 40 characters without punctuation', () => {
    const { GenerateSecretString } = resources[secretId]!.Properties;
    expect(GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(40);
    expect(GenerateSecretString.ExcludePunctuation).toBe(true);
  });

  it('is stored by a custom resource that may read the secret and write only the tokens table', () => {
    const [, custom] = ofType('Custom::BootstrapAdminToken')[0]!;
    expect(custom.Properties.SecretArn).toEqual({ Ref: secretId });
    const onEvent = stack.bootstrapAdmin.onEvent;
    const statements = statementsOf(logicalId(onEvent.role));
    expect(statements.some((s) => asList(s.Action).includes('secretsmanager:GetSecretValue') && refTo(s.Resource) === secretId)).toBe(true);
    expect([...tableActions(logicalId(onEvent.role)).keys()].sort()).toEqual(['audit', 'tokens']);
  });

  it('outputs the secret ARN and the API URL', () => {
    const outputs = template.toJSON().Outputs as Json;
    expect(outputs.AdminTokenSecretArn.Value).toEqual({ Ref: secretId });
    expect(JSON.stringify(outputs.ApiUrl.Value)).toContain('/api/v1/deployment-server');
  });
});

describe('cursor secret', () => {
  const secretId = logicalId(stack.api.cursorSecret);

  it('is generated by the stack, and exactly the functions with list routes may read it, by ARN in their environment', () => {
    expect(resources[secretId]!.Properties.GenerateSecretString.PasswordLength).toBeGreaterThanOrEqual(40);
    for (const [name, fn] of Object.entries(stack.api.functions)) {
      const statements = statementsOf(logicalId(fn.role));
      const reads = statements.filter((s) => asList(s.Action).includes('secretsmanager:GetSecretValue'));
      const env = (resources[logicalId(fn.function)]!.Properties.Environment?.Variables ?? {}) as Json;
      if (API_CURSOR_READERS.includes(name as ApiFunctionName)) {
        expect(reads.map((s) => [asList(s.Action), refTo(s.Resource)]), name).toEqual([[['secretsmanager:GetSecretValue'], secretId]]);
        expect(env.DCP_CURSOR_SECRET_ARN, name).toEqual({ Ref: secretId });
      } else {
        expect(reads, name).toEqual([]);
        expect(env.DCP_CURSOR_SECRET_ARN, name).toBeUndefined();
      }
    }
  });
});
