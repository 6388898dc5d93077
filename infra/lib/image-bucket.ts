/** A private image bucket (TLS only, browser PUT CORS) served through CloudFront, notifying its handler. */
import { CfnOutput, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { StageConfig } from './config.js';

export class ImageBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly cdn: cloudfront.Distribution;
  /** Base of public image URLs: the CDN. */
  readonly publicBaseUrl: string;

  constructor(scope: Construct, id: string, config: StageConfig) {
    super(scope, id);
    const retain = config.removal === 'retain';
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: !retain,
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT],
          allowedOrigins: [config.corsOrigin],
          allowedHeaders: ['Content-Type'],
          maxAge: 3600,
        },
      ],
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Reads go through CloudFront; uploads are presigned per object and recorded by the ObjectCreated handler.',
    });
    this.cdn = new cloudfront.Distribution(this, 'Cdn', {
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
      },
      comment: `shop ${config.stage} ${id}`,
    });
    Validations.of(this.cdn).acknowledge({ id: 'AwsSolutions-CFR1', reason: 'A storefront sells worldwide: no geo restriction.' });
    Validations.of(this.cdn).acknowledge({ id: 'AwsSolutions-CFR2', reason: 'Public, read-only product images; WAF is an account-level choice of the platform team.' });
    Validations.of(this.cdn).acknowledge({ id: 'AwsSolutions-CFR3', reason: 'Image reads need no access log; CloudFront metrics are kept.' });
    Validations.of(this.cdn).acknowledge({ id: 'AwsSolutions-CFR4', reason: 'The default *.cloudfront.net certificate is used until a custom domain is configured.' });
    Validations.of(this.cdn).acknowledge({ id: 'AwsSolutions-CFR7', reason: 'The origin uses Origin Access Control (S3BucketOrigin.withOriginAccessControl).' });
    this.publicBaseUrl = `https://${this.cdn.distributionDomainName}`;
    new CfnOutput(scope, `${id}CdnDomain`, { value: this.cdn.distributionDomainName });
  }

  /** Sends ObjectCreated events to `fn`. */
  notify(fn: s3n.LambdaDestination): void {
    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, fn);
    // CDK's own singleton that writes bucket notifications (a custom resource Lambda).
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason: 'CDK-managed custom resource that configures bucket notifications at deploy time; not our code.',
      });
      Validations.of(child).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'CDK-managed: s3:PutBucketNotification is granted by CDK for the notification custom resource.',
      });
    }
  }
}
