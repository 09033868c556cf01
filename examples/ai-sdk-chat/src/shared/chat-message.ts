// Why this file exists: what the server puts on each reply besides its parts — usage from the Vel
// `finish` chunk, cost from Vela's audit in a `message-metadata` chunk — and how the page reads an
// `error` chunk that carries a Sluice denial. Server and page both import it (no Node APIs here).
import type { UIMessage } from 'ai';

/** Token usage of a reply, summed over its model calls (the Sluice normalized usage). */
export interface ChatUsage {
  inputTokens?: number;
  outputTokens?: number;
  totalTokens?: number;
  cachedInputTokens?: number;
  reasoningTokens?: number;
}

/** Metadata of an assistant reply. */
export interface ChatMessageMetadata {
  /** From the Vel `finish` chunk. */
  usage?: ChatUsage;
  model?: string;
  responseId?: string;
  /** What Vela charged for the reply's model calls (its audit), sent before `finish`. */
  costUsd?: number;
  /** How many model calls (Vela executions) the reply took. */
  modelCalls?: number;
}

/** The chat's UI message: any parts, with {@link ChatMessageMetadata}. */
export type ChatUIMessage = UIMessage<ChatMessageMetadata>;

/** A refusal read back from an error text. */
export interface ChatDenial {
  kind: 'deny' | 'blocked';
  /** The authorizer's reason code, e.g. `delegation_revoked`, `budget_exceeded`. */
  reasonCode: string;
  message: string;
}

// `ExecutionDeniedError.message` (core/src/errors.ts): "Model call denied (<code>): <message>".
const DENIAL_TEXT = /^Model call (denied|blocked) \(([^)]+)\): ([\s\S]*)$/;

/** Reads a denial out of an `error` chunk's text; undefined for any other error. */
export function parseDenial(errorText: string): ChatDenial | undefined {
  const match = DENIAL_TEXT.exec(errorText);
  if (!match) return undefined;
  return { kind: match[1] === 'denied' ? 'deny' : 'blocked', reasonCode: match[2] ?? '', message: match[3] ?? '' };
}

/** The line the page shows for a denial: "Denied by Vela: delegation_revoked — …". */
export function describeDenial(denial: ChatDenial): string {
  const who = denial.reasonCode.startsWith('queue_') ? 'the concurrency limit' : 'Vela';
  return `${denial.kind === 'deny' ? 'Denied' : 'Blocked'} by ${who}: ${denial.reasonCode} — ${denial.message}`;
}

/** Formats a cost in dollars with enough digits to show fractions of a cent. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 0.01) return `$${usd.toFixed(4)}`;
  return `$${usd.toPrecision(3)}`;
}
