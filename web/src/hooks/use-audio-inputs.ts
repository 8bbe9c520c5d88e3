import { useCallback, useEffect, useState } from 'preact/hooks';

/**
 * The audio inputs, for the microphone picker, kept up to date as devices come and go. Labels are
 * empty until the person has allowed the microphone once: `refresh` reads them again after that.
 */
export function useAudioInputs(): { devices: MediaDeviceInfo[]; refresh(): void } {
  const [devices, setDevices] = useState<MediaDeviceInfo[]>([]);

  const refresh = useCallback(() => {
    void (async () => {
      const all = await navigator.mediaDevices?.enumerateDevices().catch(() => []);
      setDevices((all ?? []).filter((d) => d.kind === 'audioinput'));
    })();
  }, []);

  useEffect(() => {
    refresh();
    const media = navigator.mediaDevices;
    media?.addEventListener('devicechange', refresh);
    return () => media?.removeEventListener('devicechange', refresh);
  }, [refresh]);

  return { devices, refresh };
}
