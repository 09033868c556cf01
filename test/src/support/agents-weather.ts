// Why this file exists: the Agents SDK side of the shared scenario — tools and agent — with the
// SDK's default OpenAI trace exporter switched off, so no test can send traces anywhere.
import { Agent, setTracingDisabled, tool } from '@openai/agents';
import { z } from 'zod';

setTracingDisabled(true);

export const toolCalls: Array<{ name: string; input: unknown }> = [];

export const getWeather = tool({
  name: 'get_weather',
  description: 'Current weather for a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    toolCalls.push({ name: 'get_weather', input: { city } });
    return `Sunny, 22°C in ${city}`;
  },
});

export const getTime = tool({
  name: 'get_time',
  description: 'Local time in a city',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    toolCalls.push({ name: 'get_time', input: { city } });
    return `14:05 in ${city}`;
  },
});

export function weatherAgent(model = 'agent'): Agent {
  return new Agent({ name: 'weather', instructions: 'Answer with the weather and time.', model, tools: [getWeather, getTime] });
}
