import { useState } from 'preact/hooks';
import { useToast } from './use-toast.ts';

/**
 * Runs one-click row actions (change role, disable…) that need no dialog: tracks which row is
 * busy, reports the outcome as a toast and reloads the list either way so it shows the truth.
 */
export function useAction(reload: () => void) {
  const toast = useToast();
  const [busy, setBusy] = useState<string | null>(null);

  const run = async (key: string, action: () => Promise<unknown>, success: string) => {
    setBusy(key);
    try {
      await action();
      toast.success(success);
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(null);
      reload();
    }
  };

  return { busy, run };
}
