// Why this file exists: the two tools the chat's model may call. They run in this server process
// between model calls (streamText executes them), so the page sees each call's input and output.
import { tool } from 'ai';
import { z } from 'zod';

const TIME_ZONES: Readonly<Record<string, string>> = Object.freeze({
  paris: 'Europe/Paris',
  lisbon: 'Europe/Lisbon',
  london: 'Europe/London',
  berlin: 'Europe/Berlin',
  'new york': 'America/New_York',
  'san francisco': 'America/Los_Angeles',
  tokyo: 'Asia/Tokyo',
  sydney: 'Australia/Sydney',
});

/** A fixed forecast per city, so the demo and its test always show the same weather. */
function forecast(city: string): { condition: string; temperatureC: number; windKmh: number } {
  const conditions = ['Sunny', 'Partly cloudy', 'Light rain', 'Overcast'];
  let hash = 0;
  for (const char of city.toLowerCase()) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return { condition: conditions[hash % conditions.length] ?? 'Sunny', temperatureC: 12 + (hash % 15), windKmh: 5 + (hash % 20) };
}

/** The chat's tools: `get_weather` and `get_time`, both by city. */
export const chatTools = {
  get_weather: tool({
    description: 'The current weather in a city',
    inputSchema: z.object({ city: z.string().min(1).max(80) }),
    execute: async ({ city }) => ({ city, ...forecast(city) }),
  }),
  get_time: tool({
    description: 'The current local time in a city',
    inputSchema: z.object({ city: z.string().min(1).max(80) }),
    execute: async ({ city }) => {
      const timeZone = TIME_ZONES[city.trim().toLowerCase()] ?? 'UTC';
      const localTime = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit' }).format(new Date());
      return { city, timeZone, localTime };
    },
  }),
};
