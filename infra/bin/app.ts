/** The CDK app: reads the stage, instantiates the stacks, runs cdk-nag. `cdk deploy --all -c stage=dev`. */
import { App, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildShop } from '../lib/shop.js';

const app = new App();
const stage = String(app.node.tryGetContext('stage') ?? 'dev');
buildShop(app, stage);
Tags.of(app).add('project', 'shop');
Tags.of(app).add('stage', stage);
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
