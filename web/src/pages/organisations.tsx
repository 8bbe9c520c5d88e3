import { useState } from 'preact/hooks';
import { api, type OrganisationSummary } from '../api.ts';
import { Button } from '../components/button.tsx';
import { ResourceTable, type Column } from '../components/data-table.tsx';
import { TextField } from '../components/field.tsx';
import { FormDialog } from '../components/form-dialog.tsx';
import { Time } from '../components/format.tsx';
import { Page } from '../components/page.tsx';
import { useForm } from '../hooks/use-form.ts';
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

const columns: Column<OrganisationSummary>[] = [
  { header: 'Name', cell: (o) => o.name },
  { header: 'Users', cell: (o) => String(o.userCount) },
  { header: 'Created', cell: (o) => <Time value={o.createdAt} /> },
];

export function OrganisationsPage() {
  const organisations = useResource(() => api.listOrganisations().then((r) => r.organisations), []);
  const [creating, setCreating] = useState(false);
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
    </Page>
  );
}
