/** Banner service: admin uploads through presigned URLs, the image handler, the listing. */
import { Construct } from 'constructs';
import { ImageBucket } from './image-bucket.js';
import { indexArn } from './rust-function.js';
import { ServiceStack, ServiceStackProps } from './service-stack.js';
import { table } from './resources.js';

export class BannerStack extends ServiceStack {
  constructor(scope: Construct, id: string, props: ServiceStackProps) {
    super(scope, id, 'banner', props);
    const banners = table(this, 'Banners', props.config, 'banners');
    const images = new ImageBucket(this, 'BannerImages', props.config);
    this.functions(props, { BANNER_TABLE: banners.tableName, ...images.environment('BANNER_BUCKET', props.config) });
    this.fn('upload-url').allowUploadsTo(images);
    this.fn('image-uploaded').allowChecking(images, 'public').allow(['dynamodb:PutItem'], [banners.tableArn]);
    this.fn('list-banners').allow(['dynamodb:Query'], [indexArn(banners.tableArn, 'byStatus')]);
    this.notifyOnUploads(images);
  }
}
