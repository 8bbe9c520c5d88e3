import { useState } from 'preact/hooks';
import { useLocation } from 'preact-iso';
import { api, canEditContent, type Kb } from '../api.ts';
import { Button } from '../components/button.tsx';
import { DataTable, type Column } from '../components/data-table.tsx';
import { TextField } from '../components/field.tsx';
import { FormDialog } from '../components/form-dialog.tsx';
import { Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { ResourceView } from '../components/resource-view.tsx';
import { TextAreaField } from '../components/text-area-field.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useMe } from '../hooks/use-session.ts';
import { useToast } from '../hooks/use-toast.ts';
import { required } from '../validation.ts';

export const KB_NAME_MAX = 120;
export const KB_DESCRIPTION_MAX = 2000;

export const kbPath = (kbId: string) => `/kbs/${encodeURIComponent(kbId)}`;

function CreateKbDialog({ onClose }: { onClose(): void }) {
  const toast = useToast();
  const { route } = useLocation();
  const form = useForm({
    initial: { name: '', description: '' },
    validate: (v) => ({ name: required(v.name, 'a name') }),
    submit: async (v) => {
      const kb = await api.createKb({ name: v.name.trim(), description: v.description.trim() });
      toast.success(`Knowledge base “${kb.name}” created. Add documents to it next.`);
      onClose();
      route(kbPath(kb.id));
    },
  });
  return (
    <FormDialog title="Create knowledge base" submitLabel="Create" form={form} onClose={onClose}>
      <TextField label="Name" hint="For example “Clinic procedures” or “Printer manuals”." autoComplete="off" maxLength={KB_NAME_MAX} {...form.field('name')} />
      <TextAreaField label="Description (optional)" hint="What it holds and who it is for." maxLength={KB_DESCRIPTION_MAX} {...form.field('description')} />
    </FormDialog>
  );
}

const count = (n: number, tone?: string) => (n === 0 ? <span class="muted">0</span> : <span class={tone}>{n}</span>);

const columns: Column<Kb>[] = [
  {
    header: 'Name',
    class: 'cell-wrap',
    cell: (kb) => (
      <>
        <a href={kbPath(kb.id)} class="strong-link">
          {kb.name}
        </a>
        {kb.description && <span class="cell-note">{kb.description}</span>}
      </>
    ),
  },
  { header: 'Documents', cell: (kb) => count(kb.stats.documents) },
  { header: 'Ready', cell: (kb) => count(kb.stats.ready) },
  { header: 'Processing', cell: (kb) => count(kb.stats.processing) },
  { header: 'Failed', cell: (kb) => count(kb.stats.failed, 'text-bad') },
  { header: 'Updated', cell: (kb) => <Time value={kb.updatedAt} /> },
];

function EmptyState({ canEdit, onCreate }: { canEdit: boolean; onCreate(): void }) {
  return (
    <div class="panel empty-state">
      <h2>No knowledge bases yet</h2>
      <p>
        A knowledge base is a collection of documents — manuals, policies, handbooks, web pages — that Lectern reads, splits
        into passages and indexes on this server. Questions are answered from one knowledge base at a time, with citations
        down to the page, so group documents by who should be able to ask about them.
      </p>
      {canEdit ? (
        <Button variant="primary" onClick={onCreate}>
          Create your first knowledge base
        </Button>
      ) : (
        <p class="muted">Ask an editor or admin of your organisation to create one.</p>
      )}
    </div>
  );
}

export function KbsPage() {
  const me = useMe();
  const canEdit = canEditContent(me.user);
  const kbs = useResource(() => api.listKbs().then((r) => r.kbs), []);
  const [creating, setCreating] = useState(false);

  return (
    <Page
      title="Knowledge bases"
      intro="Each knowledge base holds documents that Lectern searches and answers from."
      actions={
        canEdit && (
          <Button variant="primary" onClick={() => setCreating(true)}>
            Create knowledge base
          </Button>
        )
      }
    >
      <ResourceView resource={kbs}>
        {(rows) =>
          rows.length === 0 ? (
            <EmptyState canEdit={canEdit} onCreate={() => setCreating(true)} />
          ) : (
            <DataTable caption="Knowledge bases" columns={columns} rows={rows} rowKey={(kb) => kb.id} empty="" />
          )
        }
      </ResourceView>
      {creating && <CreateKbDialog onClose={() => setCreating(false)} />}
    </Page>
  );
}
