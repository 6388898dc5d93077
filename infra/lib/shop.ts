/** Every stack of one stage, wired together. Stacks are named Shop-<stage>-<Part> and deploy alone. */
import { App } from 'aws-cdk-lib';
import { AuthStack } from './auth-stack.js';
import { BannerStack } from './banner-stack.js';
import { CategoryStack } from './category-stack.js';
import { serviceDashboard } from './dashboard.js';
import { ackAsyncPermissions, expireHelperLogs } from './helper-functions.js';
import { stageConfig } from './config.js';
import { OrderStack } from './order-stack.js';
import { ProductStack } from './product-stack.js';
import { SharedStack } from './shared-stack.js';

export interface Shop {
  shared: SharedStack;
  auth: AuthStack;
  banner: BannerStack;
  category: CategoryStack;
  product: ProductStack;
  order: OrderStack;
}

export function buildShop(app: App, stage: string): Shop {
  const config = stageConfig(stage, (k) => app.node.tryGetContext(k));
  const env = config.account && config.region ? { account: config.account, region: config.region } : undefined;
  const name = (part: string) => `Shop-${stage}-${part}`;
  const shared = new SharedStack(app, name('Shared'), { env, config });
  const props = { env, config, shared };
  const product = new ProductStack(app, name('Product'), props);
  const shop = {
    shared,
    auth: new AuthStack(app, name('Auth'), props),
    banner: new BannerStack(app, name('Banner'), props),
    category: new CategoryStack(app, name('Category'), props),
    product,
    order: new OrderStack(app, name('Order'), { ...props, products: product.products }),
  };
  for (const stack of [shop.auth, shop.banner, shop.category, shop.product, shop.order]) {
    serviceDashboard(stack, config, stack === shop.order ? shop.order : undefined);
  }
  for (const stack of Object.values(shop)) {
    expireHelperLogs(stack, config);
    ackAsyncPermissions(stack);
  }
  return shop;
}
