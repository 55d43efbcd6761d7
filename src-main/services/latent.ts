/** Latent commands (contract/latent.ts): placeholder handlers until the area is built. */
import { StudioError } from '../contract/index.ts';
import { latentCommands } from '../contract/latent.ts';
import type { AreaService, ServiceContext } from './studio-api.ts';

export type LatentCommand = keyof typeof latentCommands;

export function createLatentService(ctx: ServiceContext): AreaService<LatentCommand> {
  void ctx;
  const todo = (): never => {
    throw new StudioError('INTERNAL', 'not implemented yet');
  };
  return {
    handlers: Object.fromEntries(
      (Object.keys(latentCommands) as LatentCommand[]).map((k) => [k, todo]),
    ) as unknown as AreaService<LatentCommand>['handlers'],
    close() {},
  };
}
