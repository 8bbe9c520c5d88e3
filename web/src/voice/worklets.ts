// Loading the audio worklets. scripts/build-web.ts bundles each web/src/worklets/<name>.ts as
// /assets/<name>-worklet.js and defines LECTERN_WORKLETS with their content-hashed URLs, which
// /assets/* may be cached forever under.

declare const LECTERN_WORKLETS: Record<string, string> | undefined;

export type WorkletName = 'capture' | 'playback';

export function workletUrl(name: WorkletName): string {
  const built = typeof LECTERN_WORKLETS === 'undefined' ? undefined : LECTERN_WORKLETS[name];
  return built ?? `/assets/${name}-worklet.js`;
}

const loaded = new WeakMap<BaseAudioContext, Map<WorkletName, Promise<void>>>();

/** Adds the worklet's module to the context once, however many nodes use it. */
export function loadWorklet(context: BaseAudioContext, name: WorkletName): Promise<void> {
  let modules = loaded.get(context);
  if (!modules) loaded.set(context, (modules = new Map()));
  let module = modules.get(name);
  if (!module) {
    module = context.audioWorklet.addModule(workletUrl(name));
    // A failed load may be retried with the next start.
    module.catch(() => modules.delete(name));
    modules.set(name, module);
  }
  return module;
}
