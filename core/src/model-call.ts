// Why this file exists: the ModelCall and the values that flow through the hooks (Decision, Outcome,
// StreamEvent) are the whole contract between integrations and plugins; they live in one place.
import type { UIMessageChunk } from 'ai';
import type { ExecutionScope } from './scope.ts';
import type { Usage } from './usage.ts';

/** Which integration made the call. */
export type CallSource = 'agents' | 'openai' | 'ai-sdk';

/** Which wire API the call uses. */
export type ModelApi = 'chat_completions' | 'responses';

/**
 * A named model slot an agent asks for (`agent.model = 'agent'`), resolved by governance to a model.
 * `locked`: the slot always uses `requiredModel`; `tenant`: the tenant may choose within policy.
 */
export interface ModelSlot {
  slotId: string;
  label: string;
  selectionMode: 'locked' | 'tenant';
  /** Provider-qualified model id, e.g. `openai/gpt-4.1-mini`. */
  requiredModel: string;
}

/** Where and how to send the model request, as handed out by an authorizer (e.g. a Vela relay). */
export interface RelaySettings {
  /** OpenAI-compatible base URL, e.g. `http://localhost:4000/relay/v1`. */
  baseURL: string;
  /** A (single-use) credential for `baseURL`. Never log it. */
  apiKey: string;
  /** The model the relay resolved the call to; replaces the requested one. */
  model?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** When the credential stops working (ISO 8601). */
  expiresAt?: string;
}

/** `prepare` answered allow (or nobody answered). */
export interface Allow {
  outcome: 'allow';
  /** The authorizer's id for this execution (audit key). */
  executionId?: string;
  /** Where to send the request; absent = the integration's default client. */
  relay?: RelaySettings;
  /** Remaining budget after this call's hold, when the authorizer reports it. */
  budget?: { remainingUsd?: number };
  /** Name of the plugin that answered; absent when nobody answered. */
  decidedBy?: string;
}

/** `prepare` refused the call. */
export interface Denial {
  outcome: 'deny' | 'blocked';
  /** Machine-readable reason, e.g. `delegation_revoked`, `budget_exceeded`, `queue_full`. */
  code: string;
  message: string;
  executionId?: string;
  retryAfterMs?: number;
  decidedBy?: string;
}

/** What a `prepare` tap may answer. Returning `undefined` passes the decision to the next tap. */
export type Decision = Allow | Denial;

/** A failure normalized for reports: stable `type`, message, HTTP status when there was one. */
export interface CallError {
  /** Error class or provider error type, e.g. `RateLimitError`, `APIConnectionError`. */
  type: string;
  message: string;
  statusCode?: number;
  /** Provider error code when given, e.g. `rate_limit_exceeded`. */
  code?: string;
}

interface OutcomeTimings {
  /** From call creation to settlement. */
  durationMs: number;
  /** From call creation to the first stream event, for streamed calls that produced one. */
  timeToFirstTokenMs?: number;
}

/** How a call ended. `onReport` receives exactly one per call. */
export type Outcome =
  | (OutcomeTimings & {
      status: 'completed';
      usage: Usage | undefined;
      finishReason?: string;
      responseId?: string;
      /** The model that answered, as the provider named it. */
      responseModel?: string;
      costUsd?: number;
      /** The native final response (ChatCompletion, Response, ModelResponse, generate result), when there is one. */
      response?: unknown;
    })
  | (OutcomeTimings & { status: 'failed'; error: CallError; cause: unknown })
  | (OutcomeTimings & { status: 'aborted'; reason: string })
  | (OutcomeTimings & { status: 'denied'; denial: Denial });

/**
 * The Vel protocol event: an AI SDK v7 UI message stream chunk. The Vel plugin fills these;
 * core only carries them.
 */
export type VelEvent = UIMessageChunk;

/** Which native shape a {@link StreamEvent} carries. */
export type StreamEventSource = 'openai.chat' | 'openai.responses' | 'agents.model' | 'ai-sdk';

/**
 * One native stream event as it passes through `onEvent`. `native` is the SDK's own object, untouched
 * (ChatCompletionChunk, ResponseStreamEvent, Agents model StreamEvent, LanguageModelV4StreamPart).
 * `vel` is empty until the Vel plugin (tapping first) replaces it.
 */
export interface StreamEvent {
  source: StreamEventSource;
  native: unknown;
  vel: readonly VelEvent[];
}

/**
 * One model request, from creation until its single report. Plugins read it and may write
 * `attributes`, `model`, `estimatedCostUsd` (in beforePrepare); integrations own the rest.
 */
export interface ModelCall {
  /** Unique per call; also the authorizer's idempotency key. */
  readonly id: string;
  readonly source: CallSource;
  readonly api: ModelApi;
  /** Whether the response is streamed. */
  readonly stream: boolean;
  /** The requested model (relay settings may resolve it to another). */
  model: string;
  /** The model slot, for calls made through a slot-aware integration. */
  slot: ModelSlot | undefined;
  scope: ExecutionScope | undefined;
  estimatedCostUsd: number | undefined;
  /** Aborted when the caller aborts or the consumer stops reading; the request is cancelled with it. */
  readonly signal: AbortSignal;
  /** Free-form values plugins share about this call (`runId`, `priority`, ...). */
  readonly attributes: Record<string, unknown>;
  /** The native request (body, ModelRequest or call options), for reading. */
  readonly request: unknown;
  /** `performance.now()` at creation. */
  readonly createdAt: number;
  /** The decision, once `prepare` has answered. */
  decision: Decision | undefined;
  /**
   * `performance.now()` when the decision was made — the call allowed (after `prepare`, before
   * `onAllow`) or denied; the creation time when no pre-request hook is tapped.
   */
  decidedAt: number | undefined;
}
