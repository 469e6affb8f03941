// room_config/*: the app's callback configuration (one per SDKAppID: Url and
// CallbackCommandList), stored durably; it wins over the config file's `callback`.
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { CALLBACK_COMMANDS, MAX_CALLBACK_URL, isCallbackCommand, isCallbackUrl } from '../../callbacks/commands.js';
import type { CallbackAdmin } from '../../callbacks/service.js';
import { textProblem } from '../../core/checks.js';
import { CODE, TencentError } from './codes.js';
import type { Command, CommandContext } from './commands.js';

const Target = Type.Object({ Url: Type.String(), CallbackCommandList: Type.Array(Type.String()) });

function command<S extends TSchema>(c: Command<S>): Command {
  return c as unknown as Command;
}

function admin(ctx: CommandContext): CallbackAdmin {
  if (!ctx.callbacks) throw new TencentError(CODE.internal, 'callbacks are not available on this server');
  return ctx.callbacks;
}

function target(ctx: CommandContext, b: Static<typeof Target>) {
  // Kept as given: text no store can keep (a NUL, a lone surrogate) is refused, as in every command.
  const problem = textProblem(b.Url);
  if (problem !== null) throw new TencentError(CODE.invalidParam, `invalid parameter Url: ${problem}`);
  if (b.Url.length > MAX_CALLBACK_URL) throw new TencentError(CODE.invalidParam, `invalid parameter Url: at most ${MAX_CALLBACK_URL} characters`);
  if (!isCallbackUrl(b.Url)) throw new TencentError(CODE.invalidParam, 'invalid parameter Url: must be an absolute http:// or https:// URL, without a user or password');
  const refused = admin(ctx).urlProblem(b.Url);
  if (refused) throw new TencentError(CODE.invalidParam, `invalid parameter Url: ${refused}`);
  const bad = b.CallbackCommandList.find((c) => !isCallbackCommand(c));
  if (bad !== undefined) {
    const shown = bad.length > 64 ? `${bad.slice(0, 64)}…` : bad;
    throw new TencentError(CODE.invalidParam, `invalid parameter CallbackCommandList: unknown callback ${JSON.stringify(shown)}; known: ${CALLBACK_COMMANDS.join(', ')}`);
  }
  return { url: b.Url, commands: [...new Set(b.CallbackCommandList)] };
}

/** 100301's message, as Tencent's update_callback page gives it. */
const MISSING = 'Callback configuration does not exist, you can create it using the Create Callback Configuration interface.';

export const ROOM_CONFIG: Record<string, Command> = {
  set_callback: command({
    schema: Target,
    async run(ctx, b) {
      if ((await admin(ctx).set(ctx.appId, target(ctx, b))) === 'exists') {
        throw new TencentError(CODE.callbackExists, 'callback configuration already exists, use the update interface');
      }
      return undefined;
    },
  }),

  update_callback: command({
    schema: Target,
    async run(ctx, b) {
      if ((await admin(ctx).update(ctx.appId, target(ctx, b))) === 'missing') {
        throw new TencentError(CODE.callbackMissing, MISSING);
      }
      return undefined;
    },
  }),

  get_callback: command({
    schema: Type.Object({}),
    async run(ctx) {
      const cfg = admin(ctx).get(ctx.appId);
      if (!cfg) throw new TencentError(CODE.callbackMissing, MISSING);
      return { Url: cfg.url, CallbackCommandList: cfg.commands ? [...cfg.commands] : [...CALLBACK_COMMANDS] };
    },
  }),

  delete_callback: command({
    schema: Type.Object({}),
    async run(ctx) {
      await admin(ctx).delete(ctx.appId);
      return undefined;
    },
  }),
};
