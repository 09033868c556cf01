// Why this file exists: the OTLP export test needs a real collector endpoint; this is a minimal
// OTLP/HTTP receiver (JSON encoding) on 127.0.0.1 that decodes what the real exporters send.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean; arrayValue?: { values?: OtlpValue[] } };
type OtlpAttribute = { key: string; value: OtlpValue };

/** A decoded span with its resource. */
export interface ReceivedSpan {
  name: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  kind: number;
  attributes: Record<string, unknown>;
  events: Array<{ name: string; attributes: Record<string, unknown> }>;
  status: { code?: number; message?: string };
  resource: Record<string, unknown>;
}

/** A decoded metric data point with its resource. */
export interface ReceivedPoint {
  metric: string;
  unit: string;
  attributes: Record<string, unknown>;
  count?: number;
  sum?: number;
  value?: number;
  resource: Record<string, unknown>;
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  points: ReceivedPoint[];
  /** Raw request bodies, for searching. */
  bodies: string[];
  /** Content types seen (the exporters' encoding). */
  contentTypes: string[];
  close(): Promise<void>;
}

function value(v: OtlpValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(value);
  return undefined;
}

function attributes(list: OtlpAttribute[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((a) => [a.key, value(a.value)]));
}

/** Starts the receiver: `POST /v1/traces` and `/v1/metrics` with `application/json` bodies. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const receiver: Omit<OtlpReceiver, 'url' | 'close'> = { spans: [], points: [], bodies: [], contentTypes: [] };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const contentType = req.headers['content-type'] ?? '';
      receiver.contentTypes.push(contentType);
      if (!contentType.includes('json')) {
        res.writeHead(415, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'this test receiver decodes OTLP/HTTP JSON only' }));
        return;
      }
      const text = Buffer.concat(chunks).toString('utf8');
      receiver.bodies.push(text);
      const body = JSON.parse(text) as Record<string, unknown>;
      if (req.url === '/v1/traces') {
        for (const rs of (body.resourceSpans as Array<{ resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }>) ?? []) {
          const resource = attributes(rs.resource?.attributes);
          for (const ss of rs.scopeSpans ?? []) {
            for (const s of ss.spans ?? []) {
              receiver.spans.push({
                name: s.name as string,
                traceId: s.traceId as string,
                spanId: s.spanId as string,
                parentSpanId: (s.parentSpanId as string) ?? '',
                kind: s.kind as number,
                attributes: attributes(s.attributes as OtlpAttribute[]),
                events: ((s.events as Array<{ name: string; attributes?: OtlpAttribute[] }>) ?? []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
                status: (s.status as ReceivedSpan['status']) ?? {},
                resource,
              });
            }
          }
        }
      } else if (req.url === '/v1/metrics') {
        for (const rm of (body.resourceMetrics as Array<{ resource?: { attributes?: OtlpAttribute[] }; scopeMetrics?: Array<{ metrics?: Array<Record<string, unknown>> }> }>) ?? []) {
          const resource = attributes(rm.resource?.attributes);
          for (const sm of rm.scopeMetrics ?? []) {
            for (const m of sm.metrics ?? []) {
              const data = (m.histogram ?? m.sum ?? m.gauge) as { dataPoints?: Array<Record<string, unknown>> } | undefined;
              for (const p of data?.dataPoints ?? []) {
                receiver.points.push({
                  metric: m.name as string,
                  unit: (m.unit as string) ?? '',
                  attributes: attributes(p.attributes as OtlpAttribute[]),
                  ...(p.count !== undefined ? { count: Number(p.count) } : {}),
                  ...(p.sum !== undefined ? { sum: Number(p.sum) } : {}),
                  ...(p.asDouble !== undefined ? { value: Number(p.asDouble) } : p.asInt !== undefined ? { value: Number(p.asInt) } : {}),
                  resource,
                });
              }
            }
          }
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...receiver,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get spans() {
      return receiver.spans;
    },
    get points() {
      return receiver.points;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
