// Why this file exists: the two kinds of caller credentials — app (`Authorization: Bearer <app
// token>` + `Vela-App-Id`) and admin (`Authorization: Bearer <admin token>`) — checked one way:
// hashed, compared in constant time, and refused with one message whatever was wrong, so a 401
// never tells an unknown app from a bad token.

import type { IncomingMessage } from 'node:http';
import type { ServerContext } from './context.ts';
import type { AppRecord } from './database.ts';
import { VelaDevServerError } from './errors.ts';
import { secretMatches } from './secrets.ts';

/** The bearer credential of a request, if any. */
export function bearerToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

function unauthorized(): VelaDevServerError {
  return new VelaDevServerError(401, 'unauthorized', 'missing or invalid app credentials (Authorization: Bearer <app token>, Vela-App-Id)');
}

/** The calling app, or 401 `unauthorized`. */
export function authenticateApp(context: ServerContext, req: IncomingMessage): AppRecord {
  const token = bearerToken(req);
  const appIdHeader = req.headers['vela-app-id'];
  const appId = typeof appIdHeader === 'string' ? appIdHeader : undefined;
  const app = appId !== undefined && appId.length <= 200 ? context.db.getApp(appId) : undefined;
  // Always compare (against a dummy hash for an unknown app), so timing is the same.
  const matches = secretMatches(app?.tokenHash, token ?? '');
  if (app === undefined || token === undefined || !matches) throw unauthorized();
  return app;
}

/** Whether the request carries the admin token. */
export function isAdmin(context: ServerContext, req: IncomingMessage): boolean {
  const token = bearerToken(req);
  return secretMatches(context.adminTokenHash, token ?? '') && token !== undefined;
}

/** 401 `unauthorized` unless the request carries the admin token. */
export function requireAdmin(context: ServerContext, req: IncomingMessage): void {
  if (!isAdmin(context, req)) {
    throw new VelaDevServerError(401, 'unauthorized', 'missing or invalid admin credentials (Authorization: Bearer <admin token>)');
  }
}
