import { useState } from 'preact/hooks';
import { api, type ApiKey, type ApiKeyRole, type CreatedApiKey } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ConfirmDialog } from '../components/confirm-dialog.tsx';
import { CopyButton } from '../components/copy-button.tsx';
import { ResourceTable, type Column } from '../components/data-table.tsx';
import { Dialog } from '../components/dialog.tsx';
import { SelectField, TextField } from '../components/field.tsx';
import { FormDialog } from '../components/form-dialog.tsx';
import { roleLabels, roleOptions, Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useToast } from '../hooks/use-toast.ts';
import { required } from '../validation.ts';

const KEY_ROLES: readonly ApiKeyRole[] = ['admin', 'editor', 'viewer'];

function NewKeyDialog({ created, onClose }: { created: CreatedApiKey; onClose(): void }) {
  return (
    <Dialog title={`API key “${created.name}” created`} onClose={onClose}>
      <p class="banner banner-warning">
        Copy this key now and store it somewhere safe. <strong>You will not see it again</strong>; if it is lost, revoke
        it and create a new one.
      </p>
      <p class="secret-label" id="new-key-label">
        {roleLabels[created.role]} key
      </p>
      <code id="new-api-key" class="secret" aria-labelledby="new-key-label">
        {created.key}
      </code>
      <CopyButton text={created.key} targetId="new-api-key" />
      <p class="muted">
        Send it as <code>Authorization: Bearer &lt;key&gt;</code>.
      </p>
      <div class="form-actions">
        <Button variant="primary" onClick={onClose}>
          Done
        </Button>
      </div>
    </Dialog>
  );
}

function CreateKeyDialog({ onClose, onCreated }: { onClose(): void; onCreated(key: CreatedApiKey): void }) {
  const form = useForm({
    initial: { name: '', role: 'viewer' },
    validate: (v) => ({ name: required(v.name, 'a name') }),
    submit: async (v) => onCreated(await api.createApiKey({ name: v.name.trim(), role: v.role as ApiKeyRole })),
  });
  return (
    <FormDialog title="Create API key" submitLabel="Create key" form={form} onClose={onClose}>
      <TextField label="Name" hint="Where it is used, e.g. “ci” or “intranet search”." autoComplete="off" {...form.field('name')} />
      <SelectField label="Role" hint="What the key may do, like a user with that role." options={roleOptions(KEY_ROLES)} {...form.field('role')} />
    </FormDialog>
  );
}

export function ApiKeysPage() {
  const toast = useToast();
  const keys = useResource(() => api.listApiKeys().then((r) => r.apiKeys), []);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [revoking, setRevoking] = useState<ApiKey | null>(null);

  const columns: Column<ApiKey>[] = [
    { header: 'Name', cell: (k) => k.name },
    { header: 'Role', cell: (k) => roleLabels[k.role] },
    { header: 'Key', cell: (k) => <code>{k.prefix}…</code> },
    {
      header: 'Created',
      cell: (k) => (
        <>
          <Time value={k.createdAt} />
          {k.createdBy && <span class="muted"> by {k.createdBy.name}</span>}
        </>
      ),
    },
    { header: 'Last used', cell: (k) => <Time value={k.lastUsedAt} fallback="Never" /> },
    {
      header: 'Actions',
      class: 'cell-actions',
      cell: (k) => (
        <Button size="small" variant="danger" onClick={() => setRevoking(k)}>
          Revoke<span class="visually-hidden"> {k.name}</span>
        </Button>
      ),
    },
  ];

  return (
    <Page
      title="API keys"
      intro="Keys let scripts and integrations call the Lectern API. Each key acts with the role you give it."
      actions={
        <Button variant="primary" onClick={() => setCreating(true)}>
          Create API key
        </Button>
      }
    >
      <ResourceTable resource={keys} caption="Active API keys" columns={columns} rowKey={(k) => k.id} empty="No active API keys." />
      {creating && (
        <CreateKeyDialog
          onClose={() => setCreating(false)}
          onCreated={(key) => {
            setCreating(false);
            setCreated(key);
            keys.reload();
          }}
        />
      )}
      {created && <NewKeyDialog created={created} onClose={() => setCreated(null)} />}
      {revoking && (
        <ConfirmDialog
          title={`Revoke “${revoking.name}”?`}
          confirmLabel="Revoke key"
          onClose={() => setRevoking(null)}
          onConfirm={async () => {
            await api.revokeApiKey(revoking.id);
            toast.success(`The key “${revoking.name}” no longer works.`);
            keys.reload();
          }}
        >
          <p>Anything still using this key will be refused immediately. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </Page>
  );
}
