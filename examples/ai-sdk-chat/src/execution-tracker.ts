// Why this file exists: one chat reply is several model calls (a step per call, tools between
// them), each its own Vela execution. To show what a reply cost, the route has to know which
// executions were its own — this plugin collects them per reply from the calls' allow decisions.
import type { SluicePlugin } from '@sluice/core';

const NAME = 'chat-execution-tracker';

/** The call attribute that names the chat reply a model call belongs to. */
export const CHAT_REPLY_ATTRIBUTE = 'example.chat.reply_id';

/** The plugin returned by {@link executionTracker}. */
export interface ExecutionTracker extends SluicePlugin {
  /** Starts collecting the executions of calls whose {@link CHAT_REPLY_ATTRIBUTE} is `replyId`. */
  track(replyId: string): void;
  /** The execution ids allowed so far for `replyId`, in order. */
  executionIds(replyId: string): readonly string[];
  /** Stops collecting for `replyId` and forgets it. */
  forget(replyId: string): void;
}

/** Collects the Vela execution ids of each chat reply's model calls. */
export function executionTracker(): ExecutionTracker {
  const byReply = new Map<string, string[]>();
  return {
    name: NAME,
    apply(hooks) {
      hooks.onAllow.tap(NAME, (call, allow) => {
        const replyId = call.attributes[CHAT_REPLY_ATTRIBUTE];
        if (typeof replyId !== 'string' || allow.executionId === undefined) return;
        byReply.get(replyId)?.push(allow.executionId);
      });
    },
    track: (replyId) => void byReply.set(replyId, []),
    executionIds: (replyId) => byReply.get(replyId) ?? [],
    forget: (replyId) => void byReply.delete(replyId),
  };
}
