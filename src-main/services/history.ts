/** History commands (contract/history.ts): placeholder handlers until the area is built. */
import { StudioError } from '../contract/index.ts';
import { historyCommands } from '../contract/history.ts';
import type { AreaService, ServiceContext } from './studio-api.ts';

export type HistoryCommand = keyof typeof historyCommands;

export function createHistoryService(ctx: ServiceContext): AreaService<HistoryCommand> {
  void ctx;
  const todo = (): never => {
    throw new StudioError('INTERNAL', 'not implemented yet');
  };
  return {
    handlers: Object.fromEntries(
      (Object.keys(historyCommands) as HistoryCommand[]).map((k) => [k, todo]),
    ) as unknown as AreaService<HistoryCommand>['handlers'],
    close() {},
  };
}
