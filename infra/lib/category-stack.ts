/** Category service: admin uploads with pending records, the image handler, the listing, the cleanup. */
import { Duration } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ImageBucket } from './image-bucket.js';
import { indexArn } from './rust-function.js';
import { ServiceStack, ServiceStackProps } from './service-stack.js';
import { table } from './resources.js';

export class CategoryStack extends ServiceStack {
  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, 'category', props);
    const { config, shared } = props;
    const categories = table(this, 'Categories', config, 'categories');
    const images = new ImageBucket(this, 'CategoryImages', config);
    this.functions(
      props,
      {
        CATEGORY_TABLE: categories.tableName,
        ...images.environment('CATEGORY_BUCKET', config),
        CLEANUP_TOPIC_ARN: shared.cleanupTopic.topicArn,
        CLEANUP_MAX_AGE_SECS: String(config.cleanupMaxAgeSeconds),
      },
      { cleanup: Duration.seconds(60) },
    );
    const byStatus = indexArn(categories.tableArn, 'byStatus');
    this.fn('upload-url')
      .allowUploadsTo(images)
      .allow(['dynamodb:PutItem'], [categories.tableArn]);
    // It withdraws a copy it published when no category waits for it (DeleteObject on public/),
    // after a consistent read that tells a repeated event from an orphan (GetItem).
    this.fn('image-uploaded')
      .allowObjects(['s3:GetObject', 's3:DeleteObject'], images, 'uploads')
      .allowObjects(['s3:PutObject', 's3:DeleteObject'], images, 'public')
      .allow(['dynamodb:UpdateItem', 'dynamodb:GetItem'], [categories.tableArn]);
    this.fn('list-categories').allow(['dynamodb:Query'], [byStatus]);
    this.fn('cleanup')
      .allow(['dynamodb:Query'], [byStatus])
      .allow(['dynamodb:DeleteItem'], [categories.tableArn])
      .allow(['sns:Publish'], [shared.cleanupTopic.topicArn]);
    this.notifyOnUploads(images);
  }
}
