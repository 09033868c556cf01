// Why this file exists: the page's entry — it asks the server which execution scopes it may use
// (ids only; the server keeps every token and key) and mounts the chat.
import { createElement } from 'react';
import { createRoot } from 'react-dom/client';
import type { ChatScopes } from '../shared/chat-scope.ts';
import { ChatApp } from './chat-app.ts';

const root = createRoot(document.getElementById('root') as HTMLElement);
try {
  const response = await fetch('/api/config');
  if (!response.ok) throw new Error(`GET /api/config answered ${response.status}`);
  const config = (await response.json()) as { scopes: ChatScopes; model: string };
  root.render(createElement(ChatApp, config));
} catch (error) {
  root.render(createElement('p', { className: 'alert', role: 'alert' }, `Could not load the chat: ${error instanceof Error ? error.message : String(error)}`));
}
