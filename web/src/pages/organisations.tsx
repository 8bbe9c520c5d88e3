import { useEffect, useState } from 'preact/hooks';
import { api, type OrganisationSummary } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ResourceTable, type Column } from '../components/data-table.tsx';
import { TextField } from '../components/field.tsx';
import { FormDialog } from '../components/form-dialog.tsx';
import { Badge, Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { useForm } from '../hooks/use-form.ts';
import { useMe } from '../hooks/use-session.ts';
import { useResource } from '../hooks/use-resource.ts';
import { useToast } from '../hooks/use-toast.ts';
import { email, password, passwordHint, required } from '../validation.ts';

function CreateOrganisationDialog({ onClose, onCreated }: { onClose(): void; onCreated(): void }) {
  const toast = useToast();
  // Dotted names match the server's validation paths, so its field errors land on the right input.
  const form = useForm({
    initial: { name: '', 'admin.name': '', 'admin.email': '', 'admin.password': '' },
    validate: (v) => ({
      name: required(v.name, 'the organisation name'),
      'admin.name': required(v['admin.name'], 'the admin’s name'),
      'admin.email': email(v['admin.email']),
      'admin.password': password(v['admin.password']),
    }),
    submit: async (v) => {
      const { organisation, admin } = await api.createOrganisation({
        name: v.name.trim(),
        admin: { name: v['admin.name'], email: v['admin.email'].trim(), password: v['admin.password'] },
      });
      toast.success(`${organisation.name} was created; ${admin.email} can now sign in as its owner.`);
      onCreated();
      onClose();
    },
  });
  return (
    <FormDialog title="Create organisation" submitLabel="Create organisation" form={form} onClose={onClose}>
      <TextField label="Organisation name" autoComplete="off" {...form.field('name')} />
      <fieldset class="fieldset">
        <legend>Its first administrator</legend>
        <TextField label="Name" autoComplete="off" {...form.field('admin.name')} />
        <TextField label="Email" type="email" autoComplete="off" {...form.field('admin.email')} />
        <TextField label="Initial password" type="password" autoComplete="new-password" hint={passwordHint} {...form.field('admin.password')} />
      </fieldset>
    </FormDialog>
  );
}

/** Deleting is confirmed by typing the organisation's name: a click alone must not erase a tenant. */
function DeleteOrganisationDialog({ organisation, onClose, onStarted }: { organisation: OrganisationSummary; onClose(): void; onStarted(): void }) {
  const toast = useToast();
  const form = useForm({
    initial: { confirm: '' },
    validate: (v) => ({ confirm: v.confirm.trim() === organisation.name ? undefined : `Type ${organisation.name} exactly to confirm.` }),
    submit: async (v) => {
      await api.deleteOrganisation(organisation.id, v.confirm.trim());
      toast.success(`${organisation.name} is being deleted. It disappears from the list once everything of it is gone.`);
      onStarted();
      onClose();
    },
  });
  return (
    <FormDialog title={`Delete ${organisation.name}?`} submitLabel="Delete organisation" danger form={form} onClose={onClose}>
      <div class="confirm-message">
        <p>
          Everything of {organisation.name} is deleted for good: its {organisation.userCount} user{organisation.userCount === 1 ? '' : 's'} (signed out at once), API keys, knowledge
          bases, documents and their files, conversations, usage and audit log. Only an entry in your audit log records the deletion. This cannot be undone; export its data first
          if it may be needed.
        </p>
      </div>
      <TextField label="Type the organisation’s name to confirm" autoComplete="off" {...form.field('confirm')} />
    </FormDialog>
  );
}

const DELETION_POLL_MS = 2_000;

export function OrganisationsPage() {
  const me = useMe();
  const organisations = useResource(() => api.listOrganisations().then((r) => r.organisations), []);
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<OrganisationSummary | null>(null);
  const inProgress = organisations.data?.some((o) => o.deleting) ?? false;
  // A deletion runs in the background: the list follows it until the organisation is gone.
  useEffect(() => {
    if (!inProgress) return;
    const timer = setInterval(organisations.reload, DELETION_POLL_MS);
    return () => clearInterval(timer);
    // oxlint-disable-next-line react/exhaustive-deps -- reload is stable for the page's life
  }, [inProgress]);
  const columns: Column<OrganisationSummary>[] = [
    { header: 'Name', cell: (o) => o.name },
    { header: 'Users', cell: (o) => String(o.userCount) },
    { header: 'Created', cell: (o) => <Time value={o.createdAt} /> },
    {
      header: 'Actions',
      class: 'cell-actions',
      cell: (o) =>
        o.deleting ? (
          <Badge tone="bad">Deleting…</Badge>
        ) : o.id === me.organisation.id ? null : (
          <Button size="small" variant="danger" onClick={() => setDeleting(o)}>
            Delete<span class="visually-hidden"> {o.name}</span>
          </Button>
        ),
    },
  ];
  return (
    <Page
      title="Organisations"
      intro="Organisations on this Lectern instance. Each one is separate: its users and data are not visible to the others."
      actions={
        <Button variant="primary" onClick={() => setCreating(true)}>
          Create organisation
        </Button>
      }
    >
      <ResourceTable resource={organisations} caption="Organisations" columns={columns} rowKey={(o) => o.id} empty="No organisations." />
      {creating && <CreateOrganisationDialog onClose={() => setCreating(false)} onCreated={organisations.reload} />}
      {deleting && <DeleteOrganisationDialog organisation={deleting} onClose={() => setDeleting(null)} onStarted={organisations.reload} />}
    </Page>
  );
}
