/** Product service: seller uploads, image handler, review, approved listing, cleanup. */
import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import { Construct } from 'constructs';
import { ImageBucket } from './image-bucket.js';
import { indexArn, sesIdentityArn } from './rust-function.js';
import { ServiceStack, ServiceStackProps } from './service-stack.js';
import { table } from './shared-stack.js';

export class ProductStack extends ServiceStack {
  readonly products: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, 'product', props);
    const { config, shared } = props;
    this.products = table(this, 'Products', config, 'id');
    this.products.addGlobalSecondaryIndex({
      indexName: 'byStatus',
      partitionKey: { name: 'status', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'createdAt', type: dynamodb.AttributeType.STRING },
    });
    this.products.addGlobalSecondaryIndex({
      indexName: 'approvedByCategory',
      partitionKey: { name: 'approvedCategory', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'createdAt', type: dynamodb.AttributeType.STRING },
    });
    const images = new ImageBucket(this, 'ProductImages', config);
    this.functions(
      props,
      {
        PRODUCT_TABLE: this.products.tableName,
        PRODUCT_BUCKET: images.bucket.bucketName,
        IMAGE_BASE_URL: images.publicBaseUrl,
        UPLOAD_URL_EXPIRES_SECS: String(config.uploadUrlExpiresSeconds),
        CLEANUP_TOPIC_ARN: shared.cleanupTopic.topicArn,
        CLEANUP_MAX_AGE_SECS: String(config.cleanupMaxAgeSeconds),
        EMAIL_FROM: config.sesSender,
      },
      { cleanup: Duration.seconds(60) },
    );
    const table_ = this.products.tableArn;
    const byStatus = indexArn(table_, 'byStatus');
    const sender = sesIdentityArn(this, config.sesSender);
    this.fn('get-upload-url')
      .allowUploadsTo(images.bucket)
      .allow(['dynamodb:PutItem'], [table_]);
    this.fn('image-uploaded').allow(['dynamodb:UpdateItem'], [table_]);
    this.fn('approved-products').allow(['dynamodb:Query'], [byStatus, indexArn(table_, 'approvedByCategory')]);
    this.fn('pending-products').allow(['dynamodb:Query'], [byStatus]);
    this.fn('approve-product').allow(['dynamodb:UpdateItem', 'dynamodb:GetItem'], [table_]).allow(['ses:SendEmail'], [sender]);
    this.fn('reject-product').allow(['dynamodb:UpdateItem'], [table_]).allow(['ses:SendEmail'], [sender]);
    this.fn('cleanup')
      .allow(['dynamodb:Query'], [byStatus])
      .allow(['dynamodb:DeleteItem'], [table_])
      .allow(['sns:Publish'], [shared.cleanupTopic.topicArn]);
    for (const bin of this.triggered('s3')) images.notify(new s3n.LambdaDestination(this.fn(bin).fn));
    for (const bin of this.triggered('schedule')) this.schedule(bin, config.cleanupEveryMinutes);
  }
}
