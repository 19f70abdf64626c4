// The HTTPS API (SPEC §5): an API Gateway REST API built from the one route table. Every route is a
// method on its group's Lambda function; every route except the public ones sits behind the bearer-token
// authorizer; API Gateway's own errors are problem documents; access logs, throttling and tracing are on,
// and a WAF web ACL can be attached to the stage.
import { Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { GATEWAY_RESPONSES, PROBLEM_CONTENT_TYPE, PROBLEM_TYPE_PREFIX, titleFor } from '../functions/core/problems.js';
import { API_GROUPS, ROUTES, fullPath, type ApiGroup, type RouteSpec } from '../functions/core/routes/index.js';
import type { TableId } from '../functions/core/tables.js';
import { API_TABLE_ACCESS, type ApiFunctionName, type TableAccess, type TableGrants } from './access.js';
import type { DataTable } from './data.js';
import { DcpFunction } from './function.js';

export interface ThrottleLimits {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests allowed in a burst. */
  readonly burstLimit: number;
}

/**
 * Stage-wide limits and per-route limits by kind of route. Writes get less than reads; the machine routes
 * (heartbeats and attestations from many targets) get their own budget so a fleet cannot starve operators.
 */
export interface ApiThrottling {
  readonly stage: ThrottleLimits;
  readonly read: ThrottleLimits;
  readonly write: ThrottleLimits;
  readonly machine: ThrottleLimits;
  readonly public: ThrottleLimits;
}

export const DEFAULT_THROTTLING: ApiThrottling = {
  stage: { rateLimit: 200, burstLimit: 400 },
  read: { rateLimit: 100, burstLimit: 200 },
  write: { rateLimit: 20, burstLimit: 40 },
  machine: { rateLimit: 100, burstLimit: 200 },
  public: { rateLimit: 10, burstLimit: 20 },
};

/**
 * Route groups that need more than the default 20 s and 512 MB. POST /rollouts plans the whole rollout
 * before answering (every target of the channel decided, 10,000 and more): more memory for the fact
 * batches, and time to finish the plan even when API Gateway has answered 504 after its 29 s — the
 * rollout is then listed by GET /rollouts?releaseId=…, and a second request is refused while it runs.
 */
export const API_FUNCTION_SIZING: Readonly<Partial<Record<ApiGroup, { timeoutSeconds: number; memorySize: number }>>> = {
  rollouts: { timeoutSeconds: 60, memorySize: 1024 },
};

export type RouteKind = Exclude<keyof ApiThrottling, 'stage'>;

export function routeKind(route: RouteSpec): RouteKind {
  if (route.scopes.length === 0) return 'public';
  if (route.scopes.every((scope) => scope === 'target')) return 'machine';
  return route.method === 'GET' ? 'read' : 'write';
}

export function isPublic(route: RouteSpec): boolean {
  return route.scopes.length === 0;
}

// Execution logs carry errors only, and never request or response bodies: those can hold tokens and secrets.
// Writing them (and access logs) to CloudWatch needs API Gateway's account-wide CloudWatch role, which this
// stack does not create (ApiProps.logging); metrics need nothing.
const stageLogging = (logging: boolean) =>
  ({
    loggingLevel: logging ? apigw.MethodLoggingLevel.ERROR : apigw.MethodLoggingLevel.OFF,
    dataTraceEnabled: false,
    metricsEnabled: true,
  }) as const;

export interface ApiProps {
  readonly tables: Readonly<Record<TableId, DataTable>>;
  /** Stage name; it is part of the URL before the base path. */
  readonly stageName?: string;
  readonly throttling?: ApiThrottling;
  /** ARN of a regional WAFv2 web ACL to associate with the stage. */
  readonly wafWebAclArn?: string;
  /**
   * Access logs and error execution logs to CloudWatch (default off). API Gateway writes them with the
   * role set once per account and region in its account settings (AWS::ApiGateway::Account). A stack must
   * not own that account-wide setting — two stacks would fight over it and deleting one would switch
   * logging off for every API of the account — so turn this on (`-c dcp:apiLogging=on`) where the account
   * has the role; a stage with logging and no such role fails to deploy.
   */
  readonly logging?: boolean;
}

export class Api extends Construct {
  readonly restApi: apigw.RestApi;
  readonly functions: Readonly<Record<ApiFunctionName, DcpFunction>>;
  /** The access log group, when logging is on. */
  readonly accessLogs?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    const throttling = props.throttling ?? DEFAULT_THROTTLING;

    const functions = {} as Record<ApiFunctionName, DcpFunction>;
    const bind = (name: ApiFunctionName, fn: DcpFunction, grants: TableGrants) => {
      for (const [tableId, access] of Object.entries(grants) as [TableId, TableAccess][]) {
        fn.bindTable(props.tables[tableId], access);
      }
      functions[name] = fn;
    };

    const authorizerFunction = new DcpFunction(this, 'AuthorizerFunction', {
      entry: 'functions/api/authorizer.ts',
      description: 'Deployment Control Plane: bearer-token authorizer',
      timeout: Duration.seconds(5),
      memorySize: 256,
    });
    bind('authorizer', authorizerFunction, API_TABLE_ACCESS.authorizer);

    for (const group of API_GROUPS) {
      const sizing = API_FUNCTION_SIZING[group];
      const fn = new DcpFunction(this, `${pascal(group)}Function`, {
        entry: `functions/api/${group}.ts`,
        description: `Deployment Control Plane: ${group} routes`,
        // API Gateway gives up after 29 s; answer (or fail) well before that.
        timeout: Duration.seconds(sizing?.timeoutSeconds ?? 20),
        ...(sizing?.memorySize !== undefined ? { memorySize: sizing.memorySize } : {}),
      });
      bind(group, fn, API_TABLE_ACCESS[group]);
    }
    this.functions = functions;

    const logging = props.logging ?? false;
    const STAGE_LOGGING = stageLogging(logging);
    const accessLogs = logging ? new logs.LogGroup(this, 'AccessLogs', { retention: logs.RetentionDays.ONE_YEAR }) : undefined;
    this.accessLogs = accessLogs;

    this.restApi = new apigw.RestApi(this, 'RestApi', {
      restApiName: 'deployment-control-plane',
      description: 'Deployment Control Plane HTTPS API',
      endpointConfiguration: { types: [apigw.EndpointType.REGIONAL] },
      // Not `cloudWatchRole: true`: that creates the account-wide AWS::ApiGateway::Account (see ApiProps.logging).
      cloudWatchRole: false,
      deployOptions: {
        stageName: props.stageName ?? 'prod',
        ...(accessLogs ? { accessLogDestination: new apigw.LogGroupLogDestination(accessLogs), accessLogFormat: accessLogFormat() } : {}),
        ...STAGE_LOGGING,
        tracingEnabled: true,
        throttlingRateLimit: throttling.stage.rateLimit,
        throttlingBurstLimit: throttling.stage.burstLimit,
        methodOptions: Object.fromEntries(
          ROUTES.map((route) => {
            const limits = throttling[routeKind(route)];
            // A method setting replaces the stage-wide one for that method, logging included, so it repeats it.
            return [
              `${fullPath(route)}/${route.method}`,
              {
                ...STAGE_LOGGING,
                throttlingRateLimit: limits.rateLimit,
                throttlingBurstLimit: limits.burstLimit,
              },
            ];
          }),
        ),
      },
    });

    if (!logging) {
      Validations.of(this.restApi.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG1',
        reason:
          'Access logs need API Gateway\'s account-wide CloudWatch role, which this stack must not own (one per ' +
          'account and region, shared by every API). Deploy with -c dcp:apiLogging=on where the account has it. ' +
          'Without it, every request is still traced in X-Ray, counted in the stage metrics, and every change audited.',
      });
      Validations.of(this.restApi.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG6',
        reason:
          'Execution logging needs the same account-wide API Gateway CloudWatch role as access logs; it is ' +
          'switched on together with them (-c dcp:apiLogging=on). Stage metrics and X-Ray tracing are on regardless.',
      });
    }

    const authorizer = new apigw.RequestAuthorizer(this, 'BearerTokenAuthorizer', {
      authorizerName: 'bearer-token',
      handler: authorizerFunction.function,
      identitySources: [apigw.IdentitySource.header('Authorization')],
      // No caching: a revoked token is refused on its very next request.
      resultsCacheTtl: Duration.seconds(0),
    });

    // Bodies and query strings are validated by the handlers against the route table's zod schemas, so the
    // answers carry field-level problem documents. No models are attached, so of what this validator can
    // check only the declared path parameters apply.
    const validator = this.restApi.addRequestValidator('RequestValidator', {
      requestValidatorName: 'declared-parameters',
      validateRequestBody: true,
      validateRequestParameters: true,
    });

    const integrations = new Map<ApiGroup, apigw.LambdaIntegration>();
    for (const group of API_GROUPS) {
      // One invoke permission per function for this API (`<api>/*/*/*`) instead of one per method: each
      // function serves only its own group's routes (it answers 404 to any other path), and 55 per-method
      // permissions were an eighth of the stack's resources (CloudFormation allows 500 per stack).
      integrations.set(group, new apigw.LambdaIntegration(functions[group].function, { scopePermissionToMethod: false }));
    }

    for (const route of ROUTES) {
      const resource = this.restApi.root.resourceForPath(fullPath(route));
      const method = resource.addMethod(route.method, integrations.get(route.group), {
        operationName: route.operationId,
        requestValidator: validator,
        requestParameters: Object.fromEntries(pathParameters(route).map((name) => [`method.request.path.${name}`, true])),
        ...(isPublic(route)
          ? { authorizationType: apigw.AuthorizationType.NONE }
          : { authorizer, authorizationType: apigw.AuthorizationType.CUSTOM }),
      });
      if (isPublic(route)) {
        Validations.of(method).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: `${route.method} ${fullPath(route)} is public by design (SPEC §5: liveness and the API description need no token).`,
        });
      }
    }
    Validations.of(this.restApi).acknowledge({
      id: 'AwsSolutions-COG4',
      reason:
        'Callers are API tokens and machine clients, not Cognito users: the REQUEST Lambda authorizer checks ' +
        'bearer tokens whose hashes live in the tokens table (SPEC §5).',
    });

    for (const response of GATEWAY_RESPONSES) {
      this.restApi.addGatewayResponse(`Problem${pascal(response.type)}`, {
        type: apigw.ResponseType.of(response.type),
        ...(response.status !== undefined ? { statusCode: String(response.status) } : {}),
        responseHeaders: {
          'Content-Type': `'${PROBLEM_CONTENT_TYPE}'`,
          ...(response.status === 401 ? { 'WWW-Authenticate': "'Bearer'" } : {}),
        },
        templates: { 'application/json': problemTemplate(response) },
      });
    }

    // The association ties the stage to an existing regional web ACL (WAF rules are owned elsewhere).
    if (props.wafWebAclArn) {
      new wafv2.CfnWebACLAssociation(this, 'WebAclAssociation', {
        resourceArn: this.restApi.deploymentStage.stageArn,
        webAclArn: props.wafWebAclArn,
      });
    } else {
      Validations.of(this.restApi.deploymentStage).acknowledge({
        id: 'AwsSolutions-APIG3',
        reason:
          'No web ACL was given for this deployment. The stage ARN is exported; set context dcp:wafWebAclArn ' +
          'to associate a regional WAFv2 web ACL with the stage.',
      });
    }
  }

  get stageArn(): string {
    return this.restApi.deploymentStage.stageArn;
  }
}

function pathParameters(route: RouteSpec): string[] {
  return [...fullPath(route).matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1]!);
}

function pascal(name: string): string {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/i)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

type GatewayResponseSpec = (typeof GATEWAY_RESPONSES)[number];

/**
 * A problem document as a gateway response template. Templates only substitute `$context` variables, so
 * the document is plain JSON with the request id spliced in. The DEFAULT_4XX/5XX catch-alls cover answers
 * of several statuses, so they carry API Gateway's own message and leave `status` out rather than guess it.
 */
export function problemTemplate(response: GatewayResponseSpec): string {
  const detailPlaceholder = '"__DETAIL__"';
  const document = {
    type: `${PROBLEM_TYPE_PREFIX}${response.code}`,
    title:
      response.status !== undefined
        ? titleFor(response.status)
        : response.type === 'DEFAULT_5XX'
          ? 'Server Error'
          : 'Client Error',
    ...(response.status !== undefined ? { status: response.status } : {}),
    detail: response.status !== undefined ? response.detail : '__DETAIL__',
    code: response.code,
    requestId: '$context.requestId',
  };
  const json = JSON.stringify(document);
  // $context.error.messageString is already a quoted JSON string.
  return response.status !== undefined ? json : json.replace(detailPlaceholder, '$context.error.messageString');
}

function accessLogFormat(): apigw.AccessLogFormat {
  const F = apigw.AccessLogField;
  // Every value is quoted: some variables print "-" when absent, which would not be valid JSON unquoted.
  // The error message is the exception: its ...String form arrives quoted and escaped already.
  const format = JSON.stringify({
      requestId: F.contextRequestId(),
      extendedRequestId: F.contextExtendedRequestId(),
      requestTime: F.contextRequestTime(),
      sourceIp: F.contextIdentitySourceIp(),
      userAgent: F.contextIdentityUserAgent(),
      httpMethod: F.contextHttpMethod(),
      resourcePath: F.contextResourcePath(),
      path: F.contextPath(),
      protocol: F.contextProtocol(),
      status: F.contextStatus(),
      responseLength: F.contextResponseLength(),
      responseLatency: F.contextResponseLatency(),
      integrationLatency: F.contextIntegrationLatency(),
      integrationStatus: F.contextIntegrationStatus(),
      tokenId: F.contextAuthorizer('tokenId'),
      authorizerStatus: F.contextAuthorizerStatus(),
      authorizerLatency: F.contextAuthorizerLatency(),
      errorType: F.contextErrorResponseType(),
      errorMessage: F.contextErrorMessageString(),
      wafStatus: F.contextWafResponseCode(),
      xrayTraceId: F.contextXrayTraceId(),
  });
  const errorMessage = F.contextErrorMessageString();
  return apigw.AccessLogFormat.custom(format.replace(`"${errorMessage}"`, errorMessage));
}
