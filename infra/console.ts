// The operator console on the API's own origin: GET /console and /console/{proxy+} on the REST API, answered
// by a small Lambda function whose bundle carries the built assets (console/dist, ~60 KB of text), served
// from memory with the console's Content-Security-Policy (functions/console/assets.ts).
//
// Why a function and not S3 behind an API Gateway S3 integration or CloudFront: the console then lives on
// exactly the API's origin, so `connect-src 'self'` holds and no CORS is opened; there is no bucket to
// secure, log and replicate, no BucketDeployment custom resource (a CDK-managed function with broad S3
// permissions), and no separate deployment step — the assets ship with the stack and always match the API
// they were built against. The console is a handful of cacheable files (hashed names, a year of caching),
// so the function runs seldom.
//
// Only the assets are public (the same as /healthz and /openapi.json): every API call the console makes
// carries the operator's bearer token and goes through the authorizer like any other client's.
import { CfnOutput, Duration, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigateway';
import { Construct } from 'constructs';
import { DcpFunction } from './function.js';

/** The methods this construct adds, besides the route table's. */
export const CONSOLE_METHODS = ['GET /console', 'GET /console/{proxy+}'] as const;

export interface ConsoleProps {
  readonly restApi: apigw.RestApi;
}

export class Console extends Construct {
  readonly function: DcpFunction;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    this.function = new DcpFunction(this, 'ConsoleFunction', {
      entry: 'functions/console/handler.ts',
      description: 'Deployment Control Plane: operator console assets',
      timeout: Duration.seconds(5),
      memorySize: 256,
      // Build the console when stale, then put console/dist next to the handler as console/.
      afterBundling: (inputDir, outputDir) => [
        `cd "${inputDir}" && npx --no-install tsx scripts/build-console.ts --if-stale`,
        `cp -R "${inputDir}/console/dist" "${outputDir}/console"`,
      ],
    });
    const integration = new apigw.LambdaIntegration(this.function.function, { allowTestInvoke: false });
    const root = props.restApi.root.addResource('console');
    const proxy = root.addResource('{proxy+}');
    for (const resource of [root, proxy]) {
      const method = resource.addMethod('GET', integration, { operationName: resource === root ? 'getConsole' : 'getConsoleAsset', authorizationType: apigw.AuthorizationType.NONE });
      Validations.of(method).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          `GET ${resource.path} serves the operator console's static assets, public like /healthz: they hold no data; ` +
          'every API call the console makes carries a bearer token checked by the authorizer.',
      });
    }
    new CfnOutput(this, 'ConsoleUrl', {
      description: 'The operator console (sign in with an API token)',
      value: `${props.restApi.url.replace(/\/$/, '')}/console/index.html`,
    });
  }
}
