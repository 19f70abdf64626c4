// The release artifact bucket (SPEC §6): KMS-free SSE-S3 encryption, versioning (an overwritten or
// deleted artifact can be recovered), every kind of public access blocked, TLS required by bucket policy,
// server access logs in a bucket of their own. Objects are written and read only through URLs presigned
// by the artifacts function (infra/access.ts API_BUCKET_ACCESS), which gets the bucket name in its env.
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ARTIFACTS_BUCKET_ENV } from '../functions/adapters/artifacts.js';
import { API_BUCKET_ACCESS, type ApiFunctionName } from './access.js';
import type { Api } from './api.js';

export const ARTIFACT_PREFIX = 'artifacts/';

export class Artifacts extends Construct {
  readonly bucket: s3.Bucket;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: { api: Api }) {
    super(scope, id);
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This is the server access log bucket of the artifact bucket; logging it into itself would loop.',
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      versioned: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'artifact-bucket/',
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(90), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    for (const [name, access] of Object.entries(API_BUCKET_ACCESS) as [ApiFunctionName, readonly ('read' | 'write')[]][]) {
      const fn = props.api.functions[name];
      const actions = [...(access.includes('read') ? ['s3:GetObject'] : []), ...(access.includes('write') ? ['s3:PutObject'] : [])];
      iam.Grant.addToPrincipal({ grantee: fn.role, actions, resourceArns: [this.bucket.arnForObjects(`${ARTIFACT_PREFIX}*`)] });
      fn.function.addEnvironment(ARTIFACTS_BUCKET_ENV, this.bucket.bucketName);
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalIdHint(this.bucket)}>/${ARTIFACT_PREFIX}*]`,
        reason: 'Artifacts are content-addressed objects under artifacts/; the function presigns URLs for whichever one a release names.',
      });
    }
  }
}

function logicalIdHint(bucket: s3.Bucket): string {
  return `${Stack.of(bucket).resolve((bucket.node.defaultChild as s3.CfnBucket).logicalId) as string}.Arn`;
}
