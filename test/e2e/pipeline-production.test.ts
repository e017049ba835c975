// The whole-pipeline scenario on the production adapters, through the real wire protocols: Kafka (a real Apache
// Kafka broker), the Schema Registry (HTTP double with real compatibility checks) and a real Redis.
import { startProductionPipeline } from '../support/pipeline-driver.js';
import { type ProductionStackOptions, startProductionStack } from '../support/production-stack.js';
import { pipelineScenario } from './pipeline.scenario.js';

/** The pipeline on a production stack of its own, stopped with it. */
const onProductionStack = (options: ProductionStackOptions) => async (start: number) => {
  const stack = await startProductionStack(options);
  const pipeline = await startProductionPipeline(stack, {}, start);
  return {
    ...pipeline,
    async stop() {
      await pipeline.stop();
      await stack.stop();
    },
  };
};

pipelineScenario('Kafka + Schema Registry + Redis', onProductionStack({}));
pipelineScenario('Kafka + Schema Registry + Redis Cluster', onProductionStack({ redisCluster: true }));
