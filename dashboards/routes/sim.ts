/**
 * Simulation mode only (docs/simulation.md): the routes that stand in for the door hardware and
 * readers, and the simulation panel that drives them. They do not exist on a real board.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { DEMO_BADGES } from '../../controller/demo.js';
import { DecisionReason, type DoorInputRole } from '../../controller/domain/index.js';
import { POWER_PIN_NAMES, type SimBoard } from '../../hardware/index.js';
import type { Dash } from '../context.js';
import { ApiError, addRoute } from '../http.js';
import { simPage } from '../pages/sim.js';
import { shellOf } from '../views.js';
import { CredentialFormat } from '../vocabulary.js';

const DoorParams = z.strictObject({ door: z.string().min(1).max(64) });

export function registerSimRoutes(app: FastifyInstance, dash: Dash): void {
  const { guard, controller } = dash;
  const board = controller.board as SimBoard;
  const door = (id: string) => {
    if (!controller.config.doors.some((d) => d.id === id))
      throw new ApiError(404, 'unknown_door', `no door "${id}"`);
    return id;
  };
  const input = (doorId: string, role: DoorInputRole) => {
    const cfg = controller.config.doors.find((d) => d.id === doorId)!;
    if (!cfg[role]) throw new ApiError(409, 'not_configured', `door "${doorId}" has no ${role}`);
    return `${doorId}.${role}`;
  };

  addRoute(app, guard, {
    method: 'GET',
    url: '/sim',
    auth: 'sim.use',
    kind: 'page',
    tag: 'simulation',
    summary: 'The simulation panel: present badges, open and close doors, press the exit button',
    handler: ({ t, lang, principal }) => {
      const { readers, doors } = controller.config;
      return simPage(shellOf(dash, { t, lang, principal }), {
        readers,
        doors: doors.map((d) => ({ id: d.id, name: d.name, exitButton: !!d.exitButton, tamper: !!d.tamper })),
        badges: DEMO_BADGES,
        reasons: DecisionReason.options,
      });
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/sim/badge',
    auth: 'sim.use',
    kind: 'json',
    tag: 'simulation',
    summary: 'Present a badge at a simulated reader (the same path as a serial frame)',
    body: z.strictObject({
      reader: z.string().min(1).max(64),
      credential: z.string().regex(/^[0-9A-Za-z:]{1,40}$/, 'expected a credential like 0A1B2C3D4E'),
      format: CredentialFormat.default('em4100'),
    }),
    response: z.object({
      granted: z.boolean(),
      reason: z.string(),
      door: z.string(),
      direction: z.string(),
      seq: z.number().nullable(),
    }),
    handler: ({ body }) => {
      if (!controller.config.readers.some((r) => r.id === body.reader))
        throw new ApiError(404, 'unknown_reader', `no reader "${body.reader}"`);
      const out = controller.simulateBadge(body.reader, body.credential.toUpperCase(), body.format);
      return {
        granted: out.decision.granted,
        reason: out.decision.reason,
        door: out.doorId,
        direction: out.direction,
        seq: out.row?.seq ?? null,
      };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/sim/doors/:door/contact',
    auth: 'sim.use',
    kind: 'json',
    tag: 'simulation',
    summary: 'Open or close a simulated door (its contact input, debounced like real hardware)',
    params: DoorParams,
    body: z.strictObject({ open: z.boolean() }),
    handler: ({ params, body }) => {
      const d = door(params.door);
      board.simulate(input(d, 'contact'), body.open);
      return { door: d, open: body.open };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/sim/doors/:door/exit-button',
    auth: 'sim.use',
    kind: 'json',
    tag: 'simulation',
    summary: 'Press and release the exit button',
    params: DoorParams,
    handler: ({ params }) => {
      const d = door(params.door);
      const name = input(d, 'exitButton');
      board.simulate(name, true);
      const cfg = controller.config.doors.find((x) => x.id === d)!;
      setTimeout(
        () => {
          try {
            board.simulate(name, false);
          } catch {
            // the board closed meanwhile (the controller stopped): there is no button to release
          }
        },
        (cfg.exitButton?.debounceMs ?? 0) + 200,
      ).unref();
      return { door: d, pressed: true };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/sim/doors/:door/tamper',
    auth: 'sim.use',
    kind: 'json',
    tag: 'simulation',
    summary: 'Open or close the enclosure tamper switch',
    params: DoorParams,
    body: z.strictObject({ active: z.boolean() }),
    handler: ({ params, body }) => {
      const d = door(params.door);
      board.simulate(input(d, 'tamper'), body.active);
      return { door: d, active: body.active };
    },
  });

  addRoute(app, guard, {
    method: 'POST',
    url: '/api/sim/power',
    auth: 'sim.use',
    kind: 'json',
    tag: 'simulation',
    summary:
      'Drive the UPS contacts of power.gpio: on battery, and battery low (debounced like real hardware)',
    body: z.strictObject({ onBattery: z.boolean(), lowBattery: z.boolean().optional() }),
    handler: ({ body }) => {
      const gpio = controller.config.power?.gpio;
      if (!gpio) throw new ApiError(409, 'not_configured', 'no power.gpio input is configured');
      if (body.lowBattery !== undefined && !gpio.lowBattery)
        throw new ApiError(409, 'not_configured', 'power.gpio has no lowBattery input');
      // Low battery first: a UPS reports it together with (or after) on battery, never alone at the end.
      if (body.lowBattery !== undefined) board.simulate(POWER_PIN_NAMES.lowBattery, body.lowBattery);
      board.simulate(POWER_PIN_NAMES.onBattery, body.onBattery);
      return {
        onBattery: body.onBattery,
        ...(body.lowBattery !== undefined ? { lowBattery: body.lowBattery } : {}),
      };
    },
  });

  addRoute(app, guard, {
    method: 'GET',
    url: '/api/sim/outputs',
    auth: 'sim.use',
    kind: 'json',
    tag: 'simulation',
    summary: 'The logical level of each simulated output',
    handler: () => {
      const out: Record<string, boolean> = {};
      for (const d of controller.config.doors) {
        out[`${d.id}.lock`] = board.readOutput(`${d.id}.lock`);
        if (d.buzzer) out[`${d.id}.buzzer`] = board.readOutput(`${d.id}.buzzer`);
      }
      return out;
    },
  });
}
