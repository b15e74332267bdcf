import { renderCharts } from '../report/charts.js';
import { writeFiles } from '../report/files.js';
import type { SimulationRun } from './run.js';

/**
 * A run's files for a researcher: result.json (what --json prints), timeseries.json (samples,
 * faults, reach curves, latency CDF) and the SVG charts. Returns the paths written.
 */
export async function writeRunFiles(dir: string, run: SimulationRun): Promise<string[]> {
  const { result, samples, latencyCdf } = run;
  const files: Record<string, string> = {
    'result.json': `${JSON.stringify(result, null, 2)}\n`,
    'timeseries.json': `${JSON.stringify({ seed: result.seed, measureFromMs: result.simulated.measureFromMs, samples, faults: result.faults, reach: result.reach, latencyCdf })}\n`,
    ...(await renderCharts({
      reach: result.reach,
      degreeHistogram: result.overlay.degreeHistogram,
      latencyCdf,
      samples,
      faults: result.faults,
      fromMs: result.simulated.measureFromMs,
      clock: 'virtual',
    })),
  };
  return writeFiles(dir, files);
}
