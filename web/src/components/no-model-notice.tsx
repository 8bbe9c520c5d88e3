import { api, canManageUsers, type ModelsStatus, type User } from '../api.ts';
import { useResource } from '../hooks/use-resource.ts';

// Said before the first question rather than discovered in the answers: without a language model
// every answer is quoted passages, and whoever runs the server can change that.

/** Whether answers are quotes: no language model in use (locally or in the cloud). */
export const answersAreQuotes = (models: ModelsStatus): boolean => models.roles.find((r) => r.role === 'llm')?.using === null;

export function NoModelNotice({ user }: { user: User }) {
  const models = useResource(() => api.systemModels(), []);
  if (!models.data || !answersAreQuotes(models.data)) return null;
  return (
    <aside class="banner banner-info no-model-notice" aria-labelledby="no-model-heading">
      <p>
        <strong id="no-model-heading">No language model is installed.</strong> Until one is, answers are quotes: the passages of your documents that
        best match the question, each cited to its page.
      </p>
      {canManageUsers(user) ? (
        <p>
          To have answers written, the server's operator downloads a model on the server (<code>{models.data.fetchCommand}</code>);{' '}
          <a href="/system">the System page</a> shows which models are installed and which are missing.
        </p>
      ) : (
        <p>An administrator of your organisation can have one added to the server.</p>
      )}
    </aside>
  );
}
