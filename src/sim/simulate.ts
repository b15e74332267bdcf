import { fullMeshProtocol, hyparviewProtocol } from './protocols.js';
import {
  runSimulation,
  type SimProgress,
  type SimulationOptions,
  type SimulationRun,
} from './run.js';

/** The overlays the simulator can run, by their `--overlay` name. */
export const SIMULATED_OVERLAYS = ['hyparview', 'full'] as const;
export type SimulatedOverlay = (typeof SIMULATED_OVERLAYS)[number];

/** Runs `options` with the named overlay's core. */
export function simulate(
  overlay: SimulatedOverlay,
  options: SimulationOptions,
  onProgress?: (progress: SimProgress) => void,
): SimulationRun {
  switch (overlay) {
    case 'hyparview':
      return runSimulation(hyparviewProtocol(), options, onProgress);
    case 'full':
      return runSimulation(fullMeshProtocol(), options, onProgress);
  }
}
