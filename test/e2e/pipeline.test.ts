// The whole-pipeline scenario in one process on the embedded adapters.
import { startPipeline } from '../support/pipeline-driver.js';
import { pipelineScenario } from './pipeline.scenario.js';

pipelineScenario('embedded', (start) => startPipeline({}, start));
