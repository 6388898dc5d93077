/**
 * A private image bucket (TLS only, browser PUT CORS) served through CloudFront, notifying its
 * handler of uploads.
 *
 * Three places (the Rust side names them in shop_core::images): `uploads/` where presigned PUTs
 * land (never served, expired after a day, the only prefix that notifies the handler), `review/`
 * for checked images waiting for an admin (never served), `public/` for published images: the
 * CDN's origin path, so nothing else in the bucket has a public URL.
 */
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { StageConfig, metricsNamespace } from './config.js';
import { nagAck } from './lint.js';
import { removalPolicy, retainsData } from './removal.js';

/** The places of an image bucket (keys start with `<place>/`). */
export type Place = 'uploads' | 'review' | 'public';

/** The Content-Security-Policy of every image the CDN serves: an image, and nothing else. */
export const IMAGE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

export class ImageBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly cdn: cloudfront.Distribution;
  /** Base of public image URLs: the CDN (its origin path is `public/`). */
  readonly publicBaseUrl: string;

  constructor(scope: Construct, id: string, config: StageConfig) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      removalPolicy: removalPolicy(config, 'empty-at-create'),
      // Dev buckets go with the stack, objects and all; retained ones keep theirs.
      autoDeleteObjects: !retainsData(config),
      lifecycleRules: [
        {
          id: 'ExpireUnpublishedUploads',
          prefix: 'uploads/',
          expiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          // Copies under review whose product was rejected or deleted (approve and reject remove
          // theirs; a failed step may not): gone after 90 days. A product still waiting for a
          // review that long needs its image uploaded again.
          id: 'ExpireReviewOrphans',
          prefix: 'review/',
          expiration: Duration.days(90),
        },
      ],
      cors: [
        {
          allowedMethods: [s3.HttpMethods.PUT],
          allowedOrigins: [config.corsOrigin],
          allowedHeaders: ['Content-Type'],
          maxAge: 3600,
        },
      ],
    });
    nagAck(this.bucket, 'AwsSolutions-S1', 'Reads go through CloudFront; uploads are presigned per object and checked by the ObjectCreated handler.');
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'Headers', {
      comment: `shop ${config.stage} ${id}: images are never sniffed into another type, framed or run`,
      securityHeadersBehavior: {
        contentTypeOptions: { override: true },
        // An image domain serves images only: nothing it serves may run script, load anything
        // or be framed, whatever an object claims to be.
        contentSecurityPolicy: { contentSecurityPolicy: IMAGE_CSP, override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
        strictTransportSecurity: { accessControlMaxAge: Duration.days(365), includeSubdomains: true, override: true },
      },
    });
    // Published objects carry `Cache-Control: public, max-age=300` (the image handlers set it);
    // the CDN keeps nothing longer, so a withdrawn image is gone from the edge within 5 minutes.
    const cache = new cloudfront.CachePolicy(this, 'Cache', {
      comment: `shop ${config.stage} ${id}: published images, at most 5 minutes`,
      minTtl: Duration.seconds(0),
      defaultTtl: Duration.minutes(5),
      maxTtl: Duration.minutes(5),
    });
    this.cdn = new cloudfront.Distribution(this, 'Cdn', {
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket, { originPath: '/public' }),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        responseHeadersPolicy: headers,
        cachePolicy: cache,
      },
      comment: `shop ${config.stage} ${id}`,
    });
    // Whatever the origin path, CloudFront may read published images only.
    this.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CdnReadsPublishedImagesOnly',
        effect: iam.Effect.DENY,
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        notResources: [this.objects('public')],
      }),
    );
    nagAck(this.cdn, 'AwsSolutions-CFR1', 'A storefront sells worldwide: no geo restriction.');
    nagAck(this.cdn, 'AwsSolutions-CFR2', 'Public, read-only product images; WAF is an account-level choice of the platform team.');
    nagAck(this.cdn, 'AwsSolutions-CFR3', 'Image reads need no access log; CloudFront metrics are kept.');
    nagAck(this.cdn, 'AwsSolutions-CFR4', 'The default *.cloudfront.net certificate is used until a custom domain is configured.');
    nagAck(this.cdn, 'AwsSolutions-CFR7', 'The origin uses Origin Access Control (S3BucketOrigin.withOriginAccessControl).');
    this.publicBaseUrl = `https://${this.cdn.distributionDomainName}`;
    new CfnOutput(scope, `${id}CdnDomain`, { value: this.cdn.distributionDomainName });
  }

  /** The upload settings every image service reads (shop_core::images::UploadConfig), its bucket in `bucketVariable`. */
  environment(bucketVariable: string, config: StageConfig): Record<string, string> {
    return {
      [bucketVariable]: this.bucket.bucketName,
      IMAGE_BASE_URL: this.publicBaseUrl,
      UPLOAD_URL_EXPIRES_SECS: String(config.uploadUrlExpiresSeconds),
      UPLOAD_MAX_BYTES: String(config.uploadMaxBytes),
      METRICS_NAMESPACE: metricsNamespace(config),
    };
  }

  /** ARN pattern of every object in `place`. */
  objects(place: Place): string {
    return this.bucket.arnForObjects(`${place}/*`);
  }

  /** Sends ObjectCreated events of uploads (keys under `uploads/`) to `fn`. */
  notify(fn: s3n.LambdaDestination): void {
    this.bucket.addEventNotification(s3.EventType.OBJECT_CREATED, fn, { prefix: 'uploads/' });
    // CDK's own singleton that writes bucket notifications (a custom resource Lambda).
    const stack = Stack.of(this);
    for (const child of stack.node.children) {
      if (!child.node.id.startsWith('BucketNotificationsHandler')) continue;
      nagAck(child, 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-managed custom resource that configures bucket notifications at deploy time; not our code.');
      nagAck(child, 'AwsSolutions-IAM5[Resource::*]', 'CDK-managed: s3:PutBucketNotification is granted by CDK for the notification custom resource.');
    }
  }
}
