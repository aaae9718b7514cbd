/**
 * `Journal.append` is typed by the catalogue: the compiler (npm run check, tsc over tests/) refuses a
 * wrong data shape for a catalogued type, and a type name that is not catalogued. The function below
 * is never called: tsc checks it, each `@ts-expect-error` fails the build if its line compiles.
 */
import { expect, it } from 'vitest';
import { isRecordOf, uncataloguedType } from '../../controller/domain/index.js';
import type { Journal } from '../../controller/journal/index.js';

function typeChecks(journal: Journal): void {
  // Right shapes compile.
  journal.append({ type: 'mode_changed', at: 0, door: 'd', actor: 'user:a', data: { mode: 'lockdown' } });
  journal.append({ type: 'door_closed', at: 0, door: 'd', data: {} });
  journal.appendMany([
    { type: 'exit_request', at: 0, door: 'd', data: {} },
    { type: 'alarm_condition_cleared', at: 0, door: 'd', data: { alarmId: 3 } },
  ]);
  // A type this version does not know is written only deliberately (tests of the format).
  journal.append({ type: uncataloguedType('future_record'), at: 0, data: { anything: [1] } });

  // @ts-expect-error an access row lacks its reader, direction, result, reason, badge …
  journal.append({ type: 'access', at: 0, door: 'd', data: { granted: true } });
  // @ts-expect-error a mode that does not exist
  journal.append({ type: 'mode_changed', at: 0, door: 'd', data: { mode: 'party' } });
  // @ts-expect-error a field the type does not have
  journal.append({ type: 'door_closed', at: 0, door: 'd', data: { extra: 1 } });
  // @ts-expect-error alarmId is a number
  journal.append({ type: 'alarm_acknowledged', at: 0, data: { alarmId: '3', comment: '' } });
  // @ts-expect-error a type name that is not in the catalogue (a typo)
  journal.append({ type: 'acess', at: 0, data: {} });

  const row = journal.get(1);
  if (row && isRecordOf(row, 'access')) {
    const reader: string = row.data.reader;
    void reader;
  }
  // @ts-expect-error without narrowing, the data is not one type's
  void row?.data.reader;
}

it('is type-checked by tsc (see typeChecks)', () => {
  expect(typeof typeChecks).toBe('function');
});
