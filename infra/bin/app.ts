/** The CDK app: reads the stage, instantiates the stacks, runs cdk-nag. `cdk deploy --all -c stage=dev`. */
import { App, Tags } from 'aws-cdk-lib';
import { checkWithNag } from '../lib/lint.js';
import { buildShop } from '../lib/shop.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
buildShop(app, stage);
Tags.of(app).add('project', 'shop');
Tags.of(app).add('stage', stage);
checkWithNag(app);
