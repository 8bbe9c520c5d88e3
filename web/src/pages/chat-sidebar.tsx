import { useEffect, useState } from 'preact/hooks';
import { api, type Conversation } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { Time } from '../components/format.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { useDisclosure } from '../hooks/use-disclosure.ts';
import type { Resource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';

export const chatPath = (kbId: string, conversationId?: string | null): string =>
  `/kbs/${encodeURIComponent(kbId)}/chat${conversationId ? `/${encodeURIComponent(conversationId)}` : ''}`;

interface Props {
  kbId: string;
  conversations: Resource<Conversation[]>;
  current: string | null;
  onNew(): void;
  onDeleted(conversation: Conversation): void;
}

/**
 * The knowledge base's conversations: a column beside the thread on wide screens; on phones a
 * toggle opens it above the thread so the thread keeps the whole width.
 */
export function ConversationList({ kbId, conversations, current, onNew, onDeleted }: Props) {
  const me = useMe();
  const toast = useToast();
  const panel = useDisclosure<HTMLDivElement, HTMLButtonElement>();
  const [deleting, setDeleting] = useState<Conversation | null>(null);
  const { close } = panel;
  const count = conversations.data?.length;

  // Choosing a conversation on a phone should show it, not the list.
  useEffect(close, [current, close]);

  return (
    <div class="chat-sidebar" ref={panel.containerRef}>
      <div class="chat-sidebar-actions">
        <Button variant="primary" onClick={onNew}>
          New conversation
        </Button>
        <button ref={panel.buttonRef} type="button" class="button button-secondary chat-list-toggle" aria-expanded={panel.open} aria-controls="conversation-list" onClick={panel.toggle}>
          Conversations{count === undefined ? '' : ` (${count})`}
        </button>
      </div>
      <nav id="conversation-list" class={panel.open ? 'conversation-list conversation-list-open' : 'conversation-list'} aria-label="Conversations">
        <ResourceView resource={conversations}>
          {(list) =>
            list.length === 0 ? (
              <p class="empty">No conversations yet. Ask a question to start one.</p>
            ) : (
              <ul>
                {list.map((c) => (
                  <li key={c.id} class={c.id === current ? 'conversation conversation-current' : 'conversation'}>
                    <a href={chatPath(kbId, c.id)} aria-current={c.id === current ? 'page' : undefined} class="conversation-link">
                      <span class="conversation-title">{c.title}</span>
                      <span class="conversation-meta">
                        <Time value={c.updatedAt} />
                        {c.userId !== me.user.id && (c.apiKeyId ? ' · via an API key' : ' · another person')}
                      </span>
                    </a>
                    <button type="button" class="icon-button conversation-delete" aria-label={`Delete conversation “${c.title}”`} title="Delete conversation" onClick={() => setDeleting(c)}>
                      <span aria-hidden="true">×</span>
                    </button>
                  </li>
                ))}
              </ul>
            )
          }
        </ResourceView>
      </nav>
      {deleting && (
        <ConfirmDialog
          title="Delete this conversation?"
          confirmLabel="Delete conversation"
          onClose={() => setDeleting(null)}
          onConfirm={async () => {
            await api.deleteConversation(deleting.id);
            toast.success('The conversation was deleted.');
            onDeleted(deleting);
          }}
        >
          <p>
            “{deleting.title}” and its {deleting.messageCount} message{deleting.messageCount === 1 ? '' : 's'} will be deleted, including any
            feedback on its answers. This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </div>
  );
}
