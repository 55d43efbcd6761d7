/** Export commands (contract/export.ts): placeholder handlers until the area is built. */
import { StudioError } from '../contract/index.ts';
import { exportCommands } from '../contract/export.ts';
import type { AreaService, ServiceContext } from './studio-api.ts';

export type ExportCommand = keyof typeof exportCommands;

export function createExportService(ctx: ServiceContext): AreaService<ExportCommand> {
  void ctx;
  const todo = (): never => {
    throw new StudioError('INTERNAL', 'not implemented yet');
  };
  return {
    handlers: Object.fromEntries(
      (Object.keys(exportCommands) as ExportCommand[]).map((k) => [k, todo]),
    ) as unknown as AreaService<ExportCommand>['handlers'],
    close() {},
  };
}
