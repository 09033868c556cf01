// Why this file exists: the chat itself — `useChat` on the server's Vel stream. The page holds only
// the execution scope (tenant and delegation ids) and sends it with every request; a toggle
// switches to a revoked delegation to show how a Vela denial arrives (an `error` chunk) and that
// the chat carries on after it.
import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport } from 'ai';
import { createElement as h, useState, type FormEvent, type ReactNode } from 'react';
import { describeDenial, parseDenial, type ChatUIMessage } from '../shared/chat-message.ts';
import type { ChatScopes } from '../shared/chat-scope.ts';
import { MessageView } from './message-view.ts';

/** The message shown for a failed reply: a denial in words, else the error text. */
export function errorLine(error: Error): string {
  const denial = parseDenial(error.message);
  return denial ? describeDenial(denial) : `The reply failed: ${error.message}`;
}

/** The chat page. */
export function ChatApp({ scopes, model }: { scopes: ChatScopes; model: string }): ReactNode {
  const [transport] = useState(() => new DefaultChatTransport<ChatUIMessage>({ api: '/api/chat' }));
  const { messages, sendMessage, status, error, stop } = useChat<ChatUIMessage>({ transport });
  const [input, setInput] = useState('');
  const [useRevoked, setUseRevoked] = useState(false);
  const scope = useRevoked && scopes.revoked ? scopes.revoked : scopes.active;
  const busy = status === 'submitted' || status === 'streaming';

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = input.trim();
    if (!text || busy) return;
    setInput('');
    void sendMessage({ text }, { body: { scope } });
  };

  // A denied reply leaves an empty assistant message; it has nothing to show.
  const visible = messages.filter((message) => message.role !== 'assistant' || message.parts.some((part) => part.type !== 'step-start'));
  return h(
    'main',
    { className: 'app' },
    h(
      'header',
      null,
      h('h1', null, 'Sluice · AI SDK chat'),
      h(
        'div',
        { className: 'scope' },
        h('span', null, 'tenant ', h('code', null, scope.customerTenantId), ' · delegation ', h('code', { 'data-testid': 'delegation' }, scope.delegationId), ` · ${model}`),
        scopes.revoked
          ? h(
              'label',
              { className: 'toggle' },
              h('input', { type: 'checkbox', checked: useRevoked, onChange: (event) => setUseRevoked(event.currentTarget.checked) }),
              'Use revoked delegation',
            )
          : null,
      ),
    ),
    h(
      'section',
      { className: 'transcript', 'aria-live': 'polite' },
      visible.length === 0 ? h('p', { className: 'empty' }, 'Ask about the weather or the time in a city — e.g. “What is the weather in Lisbon?”') : null,
      ...visible.map((message) => h(MessageView, { key: message.id, message })),
      error ? h('div', { className: 'alert', role: 'alert' }, errorLine(error)) : null,
    ),
    h(
      'form',
      { onSubmit: submit },
      h('input', { type: 'text', 'aria-label': 'Message', placeholder: 'Message', value: input, onChange: (event) => setInput(event.currentTarget.value), autoFocus: true }),
      busy ? h('button', { type: 'button', className: 'secondary', onClick: () => void stop() }, 'Stop') : h('button', { type: 'submit', disabled: input.trim() === '' }, 'Send'),
    ),
  );
}
