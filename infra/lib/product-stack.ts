/** Product service: seller uploads, image handler, review, approved listing, cleanup. */
import { CfnOutput, Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { ImageBucket } from './image-bucket.js';
import { indexArn, sesIdentityArns } from './rust-function.js';
import { ServiceStack, ServiceStackProps } from './service-stack.js';
import { table } from './resources.js';

export class ProductStack extends ServiceStack {
  readonly products: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, 'product', props);
    const { config, shared } = props;
    this.products = table(this, 'Products', config, 'products');
    // Read by the smoke walk after a deploy (shop-ops smoke --products-table), for its synthetic product.
    new CfnOutput(this, 'ProductsTableName', { value: this.products.tableName });
    const images = new ImageBucket(this, 'ProductImages', config);
    this.functions(
      props,
      {
        PRODUCT_TABLE: this.products.tableName,
        ...images.environment('PRODUCT_BUCKET', config),
        CLEANUP_TOPIC_ARN: shared.cleanupTopic.topicArn,
        CLEANUP_MAX_AGE_SECS: String(config.cleanupMaxAgeSeconds),
        EMAIL_FROM: config.sesSender,
      },
      { cleanup: Duration.seconds(60) },
    );
    const table_ = this.products.tableArn;
    const byStatus = indexArn(table_, 'byStatus');
    const sender = sesIdentityArns(this, config);
    this.fn('get-upload-url')
      .allowUploadsTo(images)
      .allow(['dynamodb:PutItem'], [table_]);
    // Reads the product first: only one still waiting for this image gets it under review.
    this.fn('image-uploaded').allowChecking(images, 'review').allow(['dynamodb:GetItem', 'dynamodb:UpdateItem'], [table_]);
    this.fn('approved-products').allow(['dynamodb:Query'], [byStatus, indexArn(table_, 'approvedByCategory')]);
    // Review links are presigned GETs of review/ signed with this role.
    this.fn('pending-products').allow(['dynamodb:Query'], [byStatus]).allowObjects(['s3:GetObject'], images, 'review');
    // Approval publishes review/ -> public/ (and withdraws the copy if the product was rejected meanwhile).
    this.fn('approve-product')
      .allow(['dynamodb:UpdateItem', 'dynamodb:GetItem'], [table_])
      .allowObjects(['s3:GetObject'], images, 'review')
      .allowObjects(['s3:PutObject', 's3:DeleteObject'], images, 'public')
      .allow(['ses:SendEmail'], sender);
    // Rejection deletes the image in every place.
    this.fn('reject-product')
      .allow(['dynamodb:UpdateItem'], [table_])
      .allowObjects(['s3:DeleteObject'], images, 'uploads')
      .allowObjects(['s3:DeleteObject'], images, 'review')
      .allowObjects(['s3:DeleteObject'], images, 'public')
      .allow(['ses:SendEmail'], sender);
    this.fn('cleanup')
      .allow(['dynamodb:Query'], [byStatus])
      .allow(['dynamodb:DeleteItem'], [table_])
      .allow(['sns:Publish'], [shared.cleanupTopic.topicArn]);
    this.notifyOnUploads(images);
  }
}
