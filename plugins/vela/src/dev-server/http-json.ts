// Why this file exists: every JSON route reads its body the same careful way — a hard size limit
// enforced while reading (never buffering past it), strict UTF-8, JSON parsed with a reviver that
// refuses prototype-polluting keys — and answers with the protocol's JSON and error shapes. Doing
// that once here keeps the routes about decisions, not bytes.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorBody } from '../protocol.ts';
import { VelaDevServerError } from './errors.ts';

/** Body limit of the JSON API (prepare, report, admin): 1 MiB. */
export const JSON_BODY_LIMIT = 1024 * 1024;

/** A request body, parsed and known to be a JSON object. */
export type JsonObject = Record<string, unknown>;

/** Keys refused anywhere in a JSON API body: they exist only to pollute prototypes. */
const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Thrown when the client went away while its body was being read; nothing is answered. */
export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
  readonly code = 'client_gone';
}

function payloadTooLarge(limit: number): VelaDevServerError {
  return new VelaDevServerError(413, 'payload_too_large', `request body exceeds ${limit} bytes`);
}

/**
 * Reads the whole body, refusing (413 `payload_too_large`) as soon as it exceeds `limit` bytes —
 * from `content-length` before reading anything, or while reading, at which point the chunks
 * read so far are dropped and the rest of the body is discarded unread (see {@link sendError}).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer<ArrayBuffer>> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    return Promise.reject(payloadTooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    let chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('aborted', onGone);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks = [];
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onGone = (): void => {
      cleanup();
      reject(new ClientGoneError('client closed the connection while sending its body'));
    };
    const onClose = (): void => {
      if (!req.complete) onGone();
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onGone);
    req.on('aborted', onGone);
    req.on('close', onClose);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes strict UTF-8 (400 `invalid_json` on a malformed byte sequence). */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new VelaDevServerError(400, 'invalid_json', 'request body is not valid UTF-8');
  }
}

/** Options of {@link parseJsonObject}. */
export interface ParseJsonOptions {
  /** Treat an empty body as `{}` (routes whose body is optional). */
  allowEmpty?: boolean;
  /**
   * Refuse `__proto__`/`constructor`/`prototype` keys anywhere (default true). The relay turns it
   * off: it only reads `model` and forwards the original bytes, and a tool's JSON schema may
   * legitimately have a property called `constructor`.
   */
  rejectForbiddenKeys?: boolean;
}

/**
 * Parses a body that must be a JSON object: 400 `invalid_json` for bad UTF-8 or JSON,
 * 400 `invalid_request` (field `body`) for a non-object, 400 `invalid_request` naming the key for a
 * forbidden key.
 */
export function parseJsonObject(body: Uint8Array, options: ParseJsonOptions = {}): JsonObject {
  const text = decodeUtf8(body);
  if (text.trim() === '') {
    if (options.allowEmpty) return {};
    throw new VelaDevServerError(400, 'invalid_json', 'request body is empty; expected a JSON object');
  }
  const rejectForbidden = options.rejectForbiddenKeys ?? true;
  let forbidden: string | undefined;
  let value: unknown;
  try {
    value = JSON.parse(
      text,
      rejectForbidden
        ? (key: string, nested: unknown): unknown => {
            if (FORBIDDEN_KEYS.has(key)) {
              forbidden = key;
              throw new Error('forbidden key');
            }
            return nested;
          }
        : undefined,
    );
  } catch {
    if (forbidden !== undefined) {
      throw new VelaDevServerError(400, 'invalid_request', `key "${forbidden}" is not allowed anywhere in the body`, forbidden);
    }
    throw new VelaDevServerError(400, 'invalid_json', 'request body is not valid JSON');
  }
  if (!isJsonObject(value)) {
    throw new VelaDevServerError(400, 'invalid_request', 'body: expected a JSON object', 'body');
  }
  return value;
}

/** Whether `value` is a plain JSON object (not an array, not null). */
export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Answers `status` with `payload` as JSON. */
export function sendJson(res: ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(payload);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

/**
 * Answers an error in the protocol's shape. When the request body was not (fully) read — a 413, or
 * an early 401 — the connection is closed after the answer instead of reading what is left.
 */
export function sendError(res: ServerResponse, error: VelaDevServerError, headers: Record<string, string> = {}): void {
  const body: ErrorBody = {
    error: { code: error.code, message: error.message, ...(error.field !== undefined ? { field: error.field } : {}) },
  };
  const req = res.req;
  const unread = req !== undefined && !req.complete;
  sendJson(res, error.status, body, unread ? { connection: 'close', ...headers } : headers);
  if (unread) {
    // Discard (not buffer) whatever the client is still sending, so it can read the answer; the
    // socket closes once the answer is written.
    req.resume();
  }
}
