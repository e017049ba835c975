// The whole-pipeline scenario on the production adapters, through the real wire protocols: Kafka (a real Apache
// Kafka broker), the Schema Registry (HTTP double with real compatibility checks) and a real Redis.
import { startProductionPipeline } from '../support/pipeline-driver.js';
import { startProductionStack } from '../support/production-stack.js';
import { pipelineScenario } from './pipeline.scenario.js';

pipelineScenario('Kafka + Schema Registry + Redis', async (start) => {
  const stack = await startProductionStack();
  const pipeline = await startProductionPipeline(stack, {}, start);
  return {
    ...pipeline,
    async stop() {
      await pipeline.stop();
      await stack.stop();
    },
  };
});

pipelineScenario('Kafka + Schema Registry + Redis Cluster', async (start) => {
  const stack = await startProductionStack({ redisCluster: true });
  const pipeline = await startProductionPipeline(stack, {}, start);
  return {
    ...pipeline,
    async stop() {
      await pipeline.stop();
      await stack.stop();
    },
  };
});
